// Silo's output read by the tools people use by hand, and theirs read by Silo:
// the age CLI both ways, the zstd CLI, and mbstream on a downloaded archive.
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect } from 'chai';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { AgeDecryptStream, AgeEncryptStream } from '../../../runtime/datapath/age/age-stream.js';
import { streamBackup } from '../../../runtime/datapath/backup-pipeline.js';
import { createCompressor } from '../../../runtime/datapath/stages/compression.js';
import { ProcessSource } from '../../../runtime/datapath/sources/process-source.js';
import { FilesystemStore } from '../../../runtime/objectstore/fs-store.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { mariadbInstance } from '../../stack/components/mariadb.js';
import { useStack } from '../../stack/mocha.js';

const stack = useStack('tools', 'mariadb');
const logger = createLogger({}, { write: () => undefined });

describe('interop with the age, zstd and mbstream CLIs', function () {
  this.timeout(120_000);
  let dir: string;
  const keys = generateAgeKeyPair();
  const data = Buffer.concat([randomBytes(200_000), Buffer.alloc(300_000, 'x')]);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'silo-interop-'));
    writeFileSync(join(dir, 'id.txt'), keys.identity + '\n');
    writeFileSync(join(dir, 'plain'), data);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the age CLI decrypts what Silo encrypted', async () => {
    await pipeline(createReadStream(join(dir, 'plain')), new AgeEncryptStream([keys.recipient]), createWriteStream(join(dir, 'silo.age')));
    expect(execFileSync('age', ['-d', '-i', join(dir, 'id.txt'), join(dir, 'silo.age')], { maxBuffer: 1 << 24 }).equals(data)).to.equal(
      true,
    );
  });

  it('Silo decrypts what the age CLI encrypted, with an age-keygen identity', async () => {
    execFileSync('age-keygen', ['-o', join(dir, 'cli-id.txt')], { stdio: 'ignore' });
    const recipient = execFileSync('age-keygen', ['-y', join(dir, 'cli-id.txt')])
      .toString()
      .trim();
    execFileSync('age', ['-r', recipient, '-o', join(dir, 'cli.age'), join(dir, 'plain')]);
    await pipeline(
      createReadStream(join(dir, 'cli.age')),
      new AgeDecryptStream(readFileSync(join(dir, 'cli-id.txt'), 'utf8')),
      createWriteStream(join(dir, 'out')),
    );
    expect(readFileSync(join(dir, 'out')).equals(data)).to.equal(true);
  });

  it("the zstd CLI decompresses Silo's zstd stream", async () => {
    await pipeline(Readable.from([data]), createCompressor({ algorithm: 'zstd', level: 3 }), createWriteStream(join(dir, 'silo.zst')));
    expect(execFileSync('zstd', ['-d', '-c', '-q', join(dir, 'silo.zst')], { maxBuffer: 1 << 24 }).equals(data)).to.equal(true);
  });

  it('a stored mariabackup archive decrypts with age, decompresses with zstd and extracts with mbstream', async () => {
    const db = mariadbInstance(stack.ctx);
    const store = new FilesystemStore(join(dir, 'store'));
    const source = new ProcessSource({
      command: 'mariabackup',
      args: ['--backup', '--stream=xbstream', `--target-dir=${join(dir, 't')}`, `--socket=${db.socket}`, '--user=root'],
      logger,
    });
    await streamBackup({ source, store, key: 'db/backup.xbstream', compression: { algorithm: 'zstd' }, recipients: [keys.recipient] });
    execFileSync('mkdir', ['-p', join(dir, 'x')]);
    execFileSync('sh', [
      '-c',
      `age -d -i ${join(dir, 'id.txt')} ${join(dir, 'store/db/backup.xbstream')} | zstd -d -q | mbstream -x -C ${join(dir, 'x')}`,
    ]);
    const files = readdirSync(join(dir, 'x'));
    expect(files).to.include.members(['ibdata1', 'xtrabackup_checkpoints']);
  });
});
