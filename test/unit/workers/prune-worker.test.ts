import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FilesystemStore } from '../../../runtime/objectstore/fs-store.js';
import type { ObjectStore } from '../../../runtime/objectstore/object-store.js';
import { pruneBackup, runPrune } from '../../../runtime/workers/prune-worker.js';
import { createLogger } from '../../../runtime/logging/logger.js';

const quiet = createLogger({}, { level: 'error', write: () => undefined });

describe('silo prune (worker)', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'silo-prune-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const seed = async (store: ObjectStore, prefix: string) => {
    await store.putSmall(`${prefix}backup.xbstream`, Buffer.from('data'));
    await store.putSmall(`${prefix}metadata.json`, Buffer.from('{}'));
  };

  it('deletes metadata.json before the data, so a half-done prune leaves an incomplete backup', async () => {
    const fs = new FilesystemStore(root);
    await seed(fs, 'p/db/b1/ID1/');
    const calls: string[][] = [];
    const recording: ObjectStore = Object.assign(Object.create(fs) as ObjectStore, {
      delete: async (keys: string[]) => {
        calls.push(keys);
        await fs.delete(keys);
      },
    });
    expect(await pruneBackup(recording, 'p/db/b1/ID1/')).to.equal(2);
    expect(calls).to.deep.equal([['p/db/b1/ID1/metadata.json'], ['p/db/b1/ID1/backup.xbstream']]);
    expect(await fs.list('p/db/b1/ID1/')).to.deep.equal([]);
  });

  it('deletes only under the listed prefixes, counts an empty prefix as deleted, and reports by index', async () => {
    const fs = new FilesystemStore(root);
    await seed(fs, 'p/db/b1/ID1/');
    await seed(fs, 'p/db/b2/ID2/');
    await seed(fs, 'p/db/b10/ID3/'); // shares the beginning "p/db/b1" with b1
    const result = await runPrune(
      { SILO_STORE_TYPE: 'filesystem', SILO_FS_ROOT: root, SILO_PRUNE_PREFIXES: JSON.stringify(['p/db/b1/ID1/', 'p/db/gone/ID9/']) },
      quiet,
    );
    expect(result).to.deep.equal({ outcome: 'completed', deleted: [0, 1], failed: [], objects: 2 });
    expect((await fs.list('p/db/')).sort()).to.deep.equal([
      'p/db/b10/ID3/backup.xbstream',
      'p/db/b10/ID3/metadata.json',
      'p/db/b2/ID2/backup.xbstream',
      'p/db/b2/ID2/metadata.json',
    ]);
  });

  it('reports a failing prefix with the exit reason and goes on with the others', async () => {
    const fs = new FilesystemStore(root);
    await seed(fs, 'p/db/b2/ID2/');
    const failing: ObjectStore = Object.assign(Object.create(fs) as ObjectStore, {
      list: async (prefix: string) => {
        if (prefix.includes('b1')) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
        return fs.list(prefix);
      },
    });
    const result = await runPrune({ SILO_PRUNE_PREFIXES: JSON.stringify(['p/db/b1/ID1/', 'p/db/b2/ID2/']) }, quiet, failing);
    expect(result).to.deep.equal({
      outcome: 'failed',
      reason: 'network',
      deleted: [1],
      objects: 2,
      failed: [{ index: 0, error: 'connect ECONNREFUSED 127.0.0.1:1' }],
    });
    expect(await fs.list('p/db/b2/')).to.deep.equal([]);
  });
});
