import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { streamBackup } from '../../../runtime/datapath/backup-pipeline.js';
import { ChecksumMismatchError, streamRestore, verifyStoredChecksum } from '../../../runtime/datapath/restore-pipeline.js';
import { ProcessSink } from '../../../runtime/datapath/sinks/process-sink.js';
import { ProcessSource, SourceFailedError } from '../../../runtime/datapath/sources/process-source.js';
import { FilesystemStore } from '../../../runtime/objectstore/fs-store.js';
import { createLogger } from '../../../runtime/logging/logger.js';

const logLines: string[] = [];
const logger = createLogger({}, { write: (line) => logLines.push(line) });

for (const stdin of ['pipe', 'fifo'] as const)
  describe(`backup and restore pipelines (filesystem store, real processes, restore command's stdin: ${stdin})`, () => {
    let dir: string;
    let store: FilesystemStore;
    const keys = generateAgeKeyPair();
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'silo-pipe-'));
      store = new FilesystemStore(join(dir, 'store'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const input = () => {
      const file = join(dir, 'input.bin');
      writeFileSync(file, Buffer.concat([randomBytes(300_000), Buffer.alloc(700_000, 'a')]));
      return file;
    };

    for (const algorithm of ['none', 'gzip', 'zstd'] as const) {
      it(`command backup → ${algorithm} + age → store → verified restore into a command's stdin`, async () => {
        const file = input();
        const result = await streamBackup({
          source: new ProcessSource({ command: 'cat', args: [file], logger }),
          store,
          key: 'b/data',
          compression: { algorithm },
          recipients: [keys.recipient],
        });
        const stored = readFileSync(join(dir, 'store/b/data'));
        expect(result.storedBytes).to.equal(stored.length);
        expect(result.sha256).to.equal(createHash('sha256').update(stored).digest('hex'));
        expect(result.sourceBytes).to.equal(1_000_000);
        const out = join(dir, 'restored.bin');
        await streamRestore({
          store,
          key: 'b/data',
          expectedSha256: result.sha256,
          compression: algorithm,
          identity: keys.identity,
          sink: new ProcessSink('sh', ['-c', `cat > ${out}`], { logger, stdin }),
        });
        expect(readFileSync(out).equals(readFileSync(file))).to.equal(true);
      });
    }

    it('a source that exits non-zero leaves no object and names the failure', async () => {
      const failing = new ProcessSource({
        command: 'sh',
        args: ['-c', 'head -c 200000 /dev/urandom; echo "disk on fire" >&2; exit 3'],
        logger,
      });
      const error = await streamBackup({ source: failing, store, key: 'b/data', compression: { algorithm: 'zstd' } }).then(
        () => undefined,
        (e) => e,
      );
      expect(error).to.be.instanceOf(SourceFailedError);
      expect(error.message).to.equal('backup command sh exited with status 3; its output was not stored');
      expect(await store.list('')).to.deep.equal([]);
      expect(existsSync(join(dir, 'store/b/data.partial'))).to.equal(false);
      expect(logLines.some((l) => JSON.parse(l).line === 'disk on fire')).to.equal(true);
    });

    it('a source killed mid-stream leaves no object', async () => {
      const source = new ProcessSource({ command: 'sh', args: ['-c', 'head -c 100000 /dev/zero; kill -9 $$'], logger });
      const error = await streamBackup({ source, store, key: 'b/data', compression: { algorithm: 'none' } }).then(
        () => undefined,
        (e) => e,
      );
      expect(error.message).to.match(/was killed by SIGKILL; its output was not stored/);
      expect(await store.list('')).to.deep.equal([]);
    });

    it('one corrupted stored byte: the restore command is killed and never sees a clean end', async () => {
      const file = input();
      const result = await streamBackup({
        source: new ProcessSource({ command: 'cat', args: [file], logger }),
        store,
        key: 'b/data',
        compression: { algorithm: 'gzip' },
      });
      const path = join(dir, 'store/b/data');
      const stored = readFileSync(path);
      stored[stored.length - 20] ^= 0xff; // inside the gzip trailer region: decompression may still "succeed"
      writeFileSync(path, stored);
      const marker = join(dir, 'restore-finished');
      const error = await streamRestore({
        store,
        key: 'b/data',
        expectedSha256: result.sha256,
        compression: 'none',
        sink: new ProcessSink('sh', ['-c', `cat > /dev/null && touch ${marker}`], { logger, stdin }),
      }).then(
        () => undefined,
        (e) => e,
      );
      expect(error).to.be.instanceOf(ChecksumMismatchError);
      expect(error.message).to.match(
        /^checksum mismatch for b\/data: metadata.json records sha256 [0-9a-f]{12}…, the stored bytes hash to [0-9a-f]{12}…/,
      );
      expect(existsSync(marker), 'the restore command saw EOF and finished').to.equal(false);
      await verifyStoredChecksum(store, 'b/data', result.sha256).then(
        () => expect.fail('verify passed'),
        (e) => expect(e).to.be.instanceOf(ChecksumMismatchError),
      );
    });

    it('a restore command that fails is reported with its status', async () => {
      const file = input();
      const result = await streamBackup({
        source: new ProcessSource({ command: 'cat', args: [file], logger }),
        store,
        key: 'k',
        compression: { algorithm: 'none' },
      });
      const error = await streamRestore({
        store,
        key: 'k',
        expectedSha256: result.sha256,
        compression: 'none',
        sink: new ProcessSink('sh', ['-c', 'cat >/dev/null; exit 7'], { logger, stdin }),
      }).then(
        () => undefined,
        (e) => e,
      );
      expect(error.message).to.equal('restore command exited with status 7');
    });

    it('the wrong age identity fails before the restore command gets any byte', async () => {
      const file = input();
      const result = await streamBackup({
        source: new ProcessSource({ command: 'cat', args: [file], logger }),
        store,
        key: 'k',
        compression: { algorithm: 'zstd' },
        recipients: [keys.recipient],
      });
      const out = join(dir, 'out.bin');
      const error = await streamRestore({
        store,
        key: 'k',
        expectedSha256: result.sha256,
        compression: 'zstd',
        identity: generateAgeKeyPair().identity,
        sink: new ProcessSink('sh', ['-c', `cat > ${out}`], { logger, stdin }),
      }).then(
        () => undefined,
        (e) => e,
      );
      expect(error.message).to.equal('no age identity matches this file: it was encrypted to other recipients');
      expect(existsSync(out) ? readFileSync(out).length : 0).to.equal(0);
    });
  });
