// A volume that fills up mid-backup: a real 2 MiB tmpfs (needs root, as CI has).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { streamBackup } from '../../../runtime/datapath/backup-pipeline.js';
import { ObjectStoreError } from '../../../runtime/objectstore/object-store.js';
import { FilesystemStore } from '../../../runtime/objectstore/fs-store.js';
import { classifyFailure } from '../../../runtime/workers/exit-codes.js';
import { EXIT } from '../../../runtime/contracts/worker-result.js';

describe('full volume mid-backup (real tmpfs)', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'silo-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
  });
  after(() => {
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails as storage-full (exit 7) and leaves no partial file', async () => {
    const store = new FilesystemStore(dir);
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 8; i++) yield Buffer.alloc(1024 * 1024, i);
      })(),
    );
    const error = await streamBackup({ source, store, key: 'db/backup.xbstream', compression: { algorithm: 'none' } }).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(ObjectStoreError);
    expect(error.failure).to.equal('storage-full');
    expect(EXIT[classifyFailure(error)]).to.equal(EXIT.storageFull);
    expect(readdirSync(join(dir, 'db'))).to.deep.equal([]);
  });
});
