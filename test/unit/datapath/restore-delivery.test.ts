/**
 * The restore's delivery threads (decision 0019): into a restore command reading a FIFO, the
 * crypto thread opens age and hashes, a second thread decompresses and writes to the command.
 * What the stream path guaranteed must hold here too: no clean end for bad bytes, the command's
 * own failure named, memory flat however far zstd expands, and nothing left running.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { compress } from 'zstd-napi';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { AgeEncryptStream } from '../../../runtime/datapath/age/age-stream.js';
import { ChecksumMismatchError, StoredDataDamagedError, streamRestore } from '../../../runtime/datapath/restore-pipeline.js';
import { ProcessSink, RESTORE_PIPE_BYTES, RestoreCommandError } from '../../../runtime/datapath/sinks/process-sink.js';
import { FilesystemStore } from '../../../runtime/objectstore/fs-store.js';
import { createLogger } from '../../../runtime/logging/logger.js';

const MiB = 1024 * 1024;
const logger = createLogger({}, { write: () => undefined });
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

async function ageEncrypt(plain: Buffer, recipient: string): Promise<Buffer> {
  const stage = new AgeEncryptStream([recipient]);
  const parts: Buffer[] = [];
  stage.on('data', (part: Buffer) => parts.push(part));
  const ended = new Promise((resolve, reject) => stage.on('end', resolve).on('error', reject));
  stage.end(plain);
  await ended;
  return Buffer.concat(parts);
}

describe('restore delivery threads: into a FIFO-fed restore command', () => {
  let dir: string;
  let store: FilesystemStore;
  const keys = generateAgeKeyPair();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'silo-deliver-'));
    mkdirSync(join(dir, 'store'));
    store = new FilesystemStore(join(dir, 'store'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const fifoSink = (script: string) => {
    const sink = new ProcessSink('sh', ['-c', script], { logger, stdin: 'fifo' });
    expect(sink.pipeFd, 'a FIFO was made').to.be.a('number');
    return sink;
  };
  const put = (key: string, bytes: Buffer) => writeFileSync(join(dir, 'store', key), bytes);

  it('delivers concatenated zstd frames of an age file byte for byte, reporting the stored bytes', async () => {
    const plain = Buffer.concat([randomBytes(3 * MiB + 11), Buffer.alloc(5 * MiB, 'silo'), randomBytes(70_001)]);
    const half = 4 * MiB;
    const stored = await ageEncrypt(Buffer.concat([compress(plain.subarray(0, half)), compress(plain.subarray(half))]), keys.recipient);
    put('k', stored);
    const out = join(dir, 'out.bin');
    const result = await streamRestore({
      store,
      key: 'k',
      expectedSha256: sha256(stored),
      compression: 'zstd',
      identity: keys.identity,
      sink: fifoSink(`cat > ${out}`),
    });
    expect(result.storedBytes).to.equal(stored.length);
    expect(sha256(readFileSync(out))).to.equal(sha256(plain));
  });

  it("the command reads a pipe of RESTORE_PIPE_BYTES, not the kernel's 64 KiB (decision 0025)", async () => {
    const plain = randomBytes(2 * MiB);
    put('k', plain);
    const size = join(dir, 'pipe-size');
    // F_GETPIPE_SZ (1032) on the command's own stdin, once data has arrived, then the rest read and dropped.
    const sink = fifoSink(`head -c 1 > /dev/null; perl -e 'print fcntl(STDIN, 1032, 0)' > ${size}; cat > /dev/null`);
    expect(await sink.pipeWidened).to.equal(RESTORE_PIPE_BYTES);
    await streamRestore({ store, key: 'k', expectedSha256: sha256(plain), compression: 'none', sink });
    expect(readFileSync(size, 'utf8')).to.equal(String(RESTORE_PIPE_BYTES));
  });

  it('without perl the pipe keeps its size and the restore is delivered whole', async () => {
    const plain = randomBytes(3 * MiB);
    put('k', plain);
    // A PATH with mkfifo (the FIFO is still made) and no perl; the command is named by absolute paths.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(execFileSync('sh', ['-c', 'command -v mkfifo']).toString().trim(), join(bin, 'mkfifo'));
    const path = process.env.PATH;
    const out = join(dir, 'out.bin');
    let sink: ProcessSink;
    try {
      process.env.PATH = bin;
      sink = new ProcessSink('/bin/sh', ['-c', `/bin/cat > ${out}`], { logger, stdin: 'fifo' });
    } finally {
      process.env.PATH = path;
    }
    expect(sink.pipeFd, 'a FIFO was made').to.be.a('number');
    expect(await sink.pipeWidened).to.equal(undefined);
    await streamRestore({ store, key: 'k', expectedSha256: sha256(plain), compression: 'none', sink });
    expect(sha256(readFileSync(out))).to.equal(sha256(plain));
  });

  it('a truncated zstd object is damaged data, and the command never sees a clean end', async () => {
    const packed = compress(randomBytes(2 * MiB));
    put('k', packed.subarray(0, packed.length - 100));
    const marker = join(dir, 'finished');
    const error = await streamRestore({
      store,
      key: 'k',
      expectedSha256: sha256(packed),
      compression: 'zstd',
      sink: fifoSink(`cat > /dev/null && touch ${marker}`),
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).to.be.instanceOf(ChecksumMismatchError);
    expect(existsSync(marker), 'the restore command saw EOF').to.equal(false);
  });

  it('a flipped byte inside an age payload is StoredDataDamaged, not a key problem', async () => {
    const stored = await ageEncrypt(compress(randomBytes(MiB)), keys.recipient);
    const damaged = Buffer.from(stored);
    damaged[damaged.length - 5000] ^= 0x01;
    put('k', damaged);
    const error = await streamRestore({
      store,
      key: 'k',
      expectedSha256: sha256(stored),
      compression: 'zstd',
      identity: keys.identity,
      sink: fifoSink('cat > /dev/null'),
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).to.be.instanceOf(StoredDataDamagedError);
    expect(error!.message).to.match(/damaged/);
  });

  it('a command that stops reading early is named with its exit status', async () => {
    const plain = randomBytes(8 * MiB);
    put('k', plain);
    const error = await streamRestore({
      store,
      key: 'k',
      expectedSha256: sha256(plain),
      compression: 'none',
      sink: fifoSink('head -c 1000 > /dev/null; exit 5'),
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).to.be.instanceOf(RestoreCommandError);
    expect(error!.message).to.equal('restore command exited with status 5 before reading all data');
  });

  it('512 MiB of zeros from a few KiB of zstd: the process stays within 64 MiB of where it started', async () => {
    const zeros = Buffer.alloc(512 * MiB);
    const packed = compress(zeros);
    put('k', packed);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    try {
      await streamRestore({
        store,
        key: 'k',
        expectedSha256: sha256(packed),
        compression: 'zstd',
        sink: fifoSink(`test "$(wc -c)" -eq ${zeros.length}`),
      });
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).to.be.lessThan(64 * MiB);
  });

  it('an abort kills the command and leaves no thread running', async () => {
    const plain = randomBytes(4 * MiB);
    put('k', plain);
    const controller = new AbortController();
    const sink = fifoSink('sleep 30');
    const pending = streamRestore({
      store,
      key: 'k',
      expectedSha256: sha256(plain),
      compression: 'none',
      sink,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('deadline')), 200);
    const error = await pending.then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/deadline|abort/i);
    const exited = await new Promise((resolve) =>
      sink.child.exitCode !== null || sink.child.signalCode ? resolve(true) : sink.child.on('exit', () => resolve(true)),
    );
    expect(exited).to.equal(true);
    expect(sink.child.signalCode).to.equal('SIGKILL');
  });
});
