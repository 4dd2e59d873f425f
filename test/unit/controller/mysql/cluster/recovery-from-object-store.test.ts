import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ExternalCluster } from '../../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { isFailure, type Failure } from '../../../../../runtime/controller/mysql/cluster/cluster-reasons.js';
import {
  describeSkipped,
  nearestIds,
  resolveFromObjectStore,
  type ResolvedRecovery,
} from '../../../../../runtime/controller/mysql/cluster/recovery-resolve.js';
import { FilesystemStore } from '../../../../../runtime/objectstore/fs-store.js';
import { dataKey, metadataKey } from '../../../../../runtime/objectstore/object-layout.js';
import { ObjectStoreError, type ObjectStore } from '../../../../../runtime/objectstore/object-store.js';
import { MYSQL_ENGINE } from '../../../../../runtime/contracts/engines.js';
import { id, locationOf, objectStore, storeBackup, type StoredBackup } from './recovery-fixtures.js';

const PATH = 'production';
const entry = (name = 'prod', extra: Partial<ExternalCluster['objectStore']> = {}): ExternalCluster => ({
  name,
  objectStore: objectStore({ path: PATH, ...extra }),
});
const backup = (cluster: string, backupName: string, n: number, extra: Partial<StoredBackup> = {}): StoredBackup => ({
  path: PATH,
  cluster,
  backupName,
  backupId: id(n),
  ...extra,
});

function resolved(result: ResolvedRecovery | Failure): ResolvedRecovery {
  if (isFailure(result)) throw new Error(`expected a resolution, got ${result.reason}: ${result.message}`);
  return result;
}
function refused(result: ResolvedRecovery | Failure): Failure {
  if (!isFailure(result)) throw new Error(`expected a failure, got backup ${result.backupID}`);
  return result;
}

/** A filesystem store whose calls fail as a named store failure would. */
class FaultyStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly fault: { method: 'list' | 'getSmall' | 'size'; failure: ObjectStoreError['failure']; keyIncludes?: string },
  ) {}
  private check(method: string, key: string): void {
    if (method === this.fault.method && (!this.fault.keyIncludes || key.includes(this.fault.keyIncludes)))
      throw new ObjectStoreError(this.fault.failure, `${method} ${key}: injected ${this.fault.failure}`);
  }
  url = (key: string) => this.inner.url(key);
  createWriteStream = (key: string) => this.inner.createWriteStream(key);
  createReadStream = (key: string, range?: { start: number; end?: number }) => this.inner.createReadStream(key, range);
  putSmall = (key: string, body: Buffer) => this.inner.putSmall(key, body);
  delete = (keys: string[]) => this.inner.delete(keys);
  async getSmall(key: string): Promise<Buffer> {
    this.check('getSmall', key);
    return this.inner.getSmall(key);
  }
  async size(key: string): Promise<number | undefined> {
    this.check('size', key);
    return this.inner.size(key);
  }
  async list(prefix: string): Promise<string[]> {
    this.check('list', prefix);
    return this.inner.list(prefix);
  }
}

describe('recovery from the object store alone (resolveFromObjectStore)', () => {
  let root: string;
  let store: FilesystemStore;
  const now = new Date('2026-03-01T12:00:00Z');

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'silo-resolve-'));
    store = new FilesystemStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('takes the newest complete backup, with its keys, checksum, size and codec from metadata.json', async () => {
    await storeBackup(store, backup('prod', 'nightly-a', 1));
    await storeBackup(store, backup('prod', 'nightly-b', 3, { compression: 'gzip' }));
    const newest = await storeBackup(store, backup('prod', 'nightly-c', 5, { encrypted: true }));

    const r = resolved(await resolveFromObjectStore(store, entry(), undefined, now));
    expect(r.backupID).to.equal(id(5));
    expect(r.source).to.deep.equal({ kind: 'objectStore', externalCluster: 'prod' });
    expect(r.sourceCluster).to.equal('prod');
    expect(r.sourcePrefix).to.equal('production/prod/');
    expect(r.objectStore.bucket).to.equal('backups');
    expect(r.linksFrom).to.equal('metadata');
    expect(r.skipped).to.deep.equal([]);
    expect(r.resolvedAt).to.equal(now.toISOString());
    const where = locationOf(backup('prod', 'nightly-c', 5));
    expect(r.chain).to.deep.equal([
      {
        backupId: id(5),
        type: 'full',
        metadataKey: metadataKey(where),
        dataKey: dataKey(where, MYSQL_ENGINE.dataObject),
        sha256: newest.sha256,
        sizeBytes: newest.sizes.storedBytes,
        compression: 'zstd',
        encrypted: true,
        endGTID: newest.gtid!.end,
        endBinlog: newest.binlog!.end,
        stoppedAt: newest.stoppedAt,
      },
    ]);
  });

  it('skips incomplete backups (no metadata.json, not JSON, invalid, missing or short data object) and says why', async () => {
    await storeBackup(store, backup('prod', 'good', 1));
    await storeBackup(store, backup('prod', 'wrong-size', 2, { extraBytes: 7 }));
    await storeBackup(store, backup('prod', 'no-data', 3, { withoutData: true }));
    await storeBackup(store, backup('prod', 'invalid', 4));
    const invalidKey = metadataKey(locationOf(backup('prod', 'invalid', 4)));
    const invalid = JSON.parse((await store.getSmall(invalidKey)).toString());
    delete invalid.sha256;
    await store.putSmall(invalidKey, Buffer.from(JSON.stringify(invalid)));
    await storeBackup(store, backup('prod', 'not-json', 5));
    await store.putSmall(metadataKey(locationOf(backup('prod', 'not-json', 5))), Buffer.from('{"formatVersion": 1, "kind": '));
    await storeBackup(store, backup('prod', 'running', 6, { withoutMetadata: true }));

    const r = resolved(await resolveFromObjectStore(store, entry(), undefined, now));
    expect(r.backupID).to.equal(id(1));
    expect(r.skipped.map((s) => [s.backupName, s.backupId])).to.deep.equal([
      ['running', id(6)],
      ['not-json', id(5)],
      ['invalid', id(4)],
      ['no-data', id(3)],
      ['wrong-size', id(2)],
    ]);
    const why = r.skipped.map((s) => s.why);
    expect(why[0]).to.match(/no metadata\.json/);
    expect(why[1]).to.match(/not JSON/);
    expect(why[2]).to.match(/metadata\.json is invalid.*sha256/);
    expect(why[3]).to.match(/data object backup\.xbstream is missing/);
    const stored = (await store.size(dataKey(locationOf(backup('prod', 'wrong-size', 2)), MYSQL_ENGINE.dataObject)))!;
    expect(why[4]).to.equal(`its data object is ${stored} bytes, metadata.json says ${stored - 7}`);
    const line = describeSkipped(r.skipped);
    expect(line).to.match(/^skipped 5 newer backups: /);
    expect(line).to.contain(`${id(6)} (it has no metadata.json`);
    expect(line.split('\n')).to.have.length(1);
  });

  it('skips a metadata.json that names another backup ID or a backup that is not physical', async () => {
    await storeBackup(store, backup('prod', 'good', 1));
    await storeBackup(store, backup('prod', 'renamed', 2));
    const renamed = metadataKey(locationOf(backup('prod', 'renamed', 2)));
    const md = JSON.parse((await store.getSmall(renamed)).toString());
    await store.putSmall(renamed, Buffer.from(JSON.stringify({ ...md, backupId: id(9) })));
    await storeBackup(store, backup('prod', 'command', 3));
    const command = metadataKey(locationOf(backup('prod', 'command', 3)));
    const cmd = JSON.parse((await store.getSmall(command)).toString());
    await store.putSmall(command, Buffer.from(JSON.stringify({ ...cmd, kind: 'command', method: 'command' })));

    const r = resolved(await resolveFromObjectStore(store, entry(), undefined, now));
    expect(r.backupID).to.equal(id(1));
    expect(r.skipped.map((s) => s.why)).to.deep.equal([
      'it is not a physical backup Silo restores (kind command, method command)',
      `its metadata.json names backup ID ${id(9)}`,
    ]);
  });

  it('restores a full backup and two incrementals as one chain, oldest first', async () => {
    await storeBackup(store, backup('prod', 'sunday', 1));
    await storeBackup(store, backup('prod', 'monday', 2, { type: 'incremental', parent: id(1) }));
    await storeBackup(store, backup('prod', 'tuesday', 3, { type: 'incremental', parent: id(2) }));

    const r = resolved(await resolveFromObjectStore(store, entry(), undefined, now));
    expect(r.backupID).to.equal(id(3));
    expect(r.chain.map((l) => [l.backupId, l.type, l.parentBackupId])).to.deep.equal([
      [id(1), 'full', undefined],
      [id(2), 'incremental', id(1)],
      [id(3), 'incremental', id(2)],
    ]);
    expect(r.chain.map((l) => l.dataKey)).to.deep.equal([
      `production/prod/sunday/${id(1)}/backup.xbstream`,
      `production/prod/monday/${id(2)}/backup.xbstream`,
      `production/prod/tuesday/${id(3)}/backup.xbstream`,
    ]);
  });

  it('passes over an incremental whose parent is incomplete, and refuses it when pinned', async () => {
    await storeBackup(store, backup('prod', 'sunday', 1));
    await storeBackup(store, backup('prod', 'monday', 2, { type: 'incremental', parent: id(1), withoutMetadata: true }));
    await storeBackup(store, backup('prod', 'tuesday', 3, { type: 'incremental', parent: id(2) }));

    const r = resolved(await resolveFromObjectStore(store, entry(), undefined, now));
    expect(r.backupID).to.equal(id(1));
    expect(r.chain).to.have.length(1);
    expect(r.skipped.map((s) => [s.backupId, s.why])).to.deep.equal([
      [id(3), `its parent ${id(2)} has no metadata.json: it never finished, or is being deleted`],
      [id(2), 'it has no metadata.json: it never finished, or is being deleted'],
    ]);

    const pinned = refused(await resolveFromObjectStore(store, entry(), id(3), now));
    expect(pinned.reason).to.equal('BackupChainIncomplete');
    expect(pinned.message).to.contain(`backup ${id(3)} under s3://backups/production/prod/ cannot be restored: its parent ${id(2)} has no`);
  });

  it('refuses a chain whose parent is not under the prefix, or that names no parent', async () => {
    await storeBackup(store, backup('prod', 'orphan', 2, { type: 'incremental', parent: id(1) }));
    const orphan = refused(await resolveFromObjectStore(store, entry(), id(2), now));
    expect(orphan.reason).to.equal('BackupChainIncomplete');
    expect(orphan.message).to.contain(`its parent ${id(1)} is not under the prefix`);

    await storeBackup(store, backup('prod', 'parentless', 3, { type: 'differential' }));
    const parentless = refused(await resolveFromObjectStore(store, entry(), id(3), now));
    expect(parentless.reason).to.equal('BackupChainIncomplete');
    expect(parentless.message).to.contain('it is differential but its metadata.json names no parentBackupId');

    const none = refused(await resolveFromObjectStore(store, entry(), undefined, now));
    expect(none.reason).to.equal('NoCompleteBackups');
    expect(none.message).to.match(/^no complete backup is under s3:\/\/backups\/production\/prod\/: skipped 2 backups: /);
  });

  it('refuses parent links that loop', async () => {
    await storeBackup(store, backup('prod', 'a', 1, { type: 'incremental', parent: id(2) }));
    await storeBackup(store, backup('prod', 'b', 2, { type: 'incremental', parent: id(1) }));
    const f = refused(await resolveFromObjectStore(store, entry(), id(2), now));
    expect(f.reason).to.equal('BackupChainIncomplete');
    expect(f.message).to.contain('its parent links loop');
  });

  it('takes exactly the pinned backup ID, even when newer ones exist', async () => {
    for (const n of [1, 2, 3]) await storeBackup(store, backup('prod', `b${n}`, n));
    const r = resolved(await resolveFromObjectStore(store, entry(), id(2), now));
    expect(r.backupID).to.equal(id(2));
    expect(r.chain.map((l) => l.backupId)).to.deep.equal([id(2)]);
    expect(r.skipped).to.deep.equal([]);
  });

  it('refuses a pinned backup ID that is not there, naming up to three IDs before and after it', async () => {
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 10, 11]) await storeBackup(store, backup('prod', `b${n}`, n));
    const f = refused(await resolveFromObjectStore(store, entry(), id(6), now));
    expect(f.reason).to.equal('BackupIDNotFound');
    expect(f.message).to.contain(`backup ID ${id(6)} (spec.bootstrap.recovery.backupID) is not under s3://backups/production/prod/`);
    expect(f.message).to.contain(`before it ${id(3)}, ${id(4)}, ${id(5)}; after it ${id(7)}, ${id(8)}, ${id(9)}`);
    for (const far of [id(1), id(2), id(10), id(11)]) expect(f.message).to.not.contain(far);
    expect(f.message).to.contain('set spec.bootstrap.recovery.backupID to one of the IDs present');

    const early = refused(await resolveFromObjectStore(store, entry(), id(0), now));
    expect(early.message).to.contain(`the nearest IDs present are after it ${id(1)}, ${id(2)}, ${id(3)}`);
  });

  it('refuses a pinned backup that is there but incomplete', async () => {
    await storeBackup(store, backup('prod', 'b1', 1));
    await storeBackup(store, backup('prod', 'b2', 2, { withoutData: true }));
    const f = refused(await resolveFromObjectStore(store, entry(), id(2), now));
    expect(f.reason).to.equal('BackupIncomplete');
    expect(f.message).to.contain('its data object backup.xbstream is missing');
  });

  it('never mixes clusters whose names share a prefix: prod, prod-2 and production', async () => {
    await storeBackup(store, backup('prod', 'nightly', 1));
    await storeBackup(store, backup('prod-2', 'nightly', 5));
    await storeBackup(store, backup('production', 'nightly', 6));
    await storeBackup(store, backup('prod-2', 'broken', 7, { withoutMetadata: true }));

    const prod = resolved(await resolveFromObjectStore(store, entry('prod'), undefined, now));
    expect(prod.backupID).to.equal(id(1));
    expect(prod.chain[0].dataKey).to.equal(`production/prod/nightly/${id(1)}/backup.xbstream`);
    expect(prod.skipped).to.deep.equal([]);
    const pinnedElsewhere = refused(await resolveFromObjectStore(store, entry('prod'), id(5), now));
    expect(pinnedElsewhere.reason).to.equal('BackupIDNotFound');

    const prod2 = resolved(await resolveFromObjectStore(store, entry('prod-2'), undefined, now));
    expect(prod2.backupID).to.equal(id(5));
    expect(prod2.sourcePrefix).to.equal('production/prod-2/');

    const none = refused(await resolveFromObjectStore(store, entry('pro'), undefined, now));
    expect(none.reason).to.equal('NoCompleteBackups');
    expect(none.message).to.contain('no backups are under s3://backups/production/pro/: the prefix is empty');
  });

  it('reads the prefix at the bucket root when the store has no path', async () => {
    await storeBackup(store, { path: '', cluster: 'prod', backupName: 'nightly', backupId: id(1) });
    const r = resolved(await resolveFromObjectStore(store, entry('prod', { path: '' }), undefined, now));
    expect(r.sourcePrefix).to.equal('prod/');
    expect(r.chain[0].metadataKey).to.equal(`prod/nightly/${id(1)}/metadata.json`);
  });

  it('refuses an entry without an object store', async () => {
    const f = refused(await resolveFromObjectStore(store, { name: 'prod' }, undefined, now));
    expect(f.reason).to.equal('RecoverySourceHasNoObjectStore');
  });

  describe('store errors fail the resolution instead of skipping a backup', () => {
    const cases: Array<[string, ConstructorParameters<typeof FaultyStore>[1], string]> = [
      ['list refused', { method: 'list', failure: 'auth' }, 'ObjectStoreAccessDenied'],
      ['list cannot connect', { method: 'list', failure: 'network' }, 'ObjectStoreUnreachable'],
      ['bucket missing', { method: 'list', failure: 'not-found' }, 'ObjectStoreBucketNotFound'],
      ['newest metadata.json unreachable', { method: 'getSmall', failure: 'network', keyIncludes: 'b2' }, 'ObjectStoreUnreachable'],
      ['newest data object size refused', { method: 'size', failure: 'auth', keyIncludes: 'b2' }, 'ObjectStoreAccessDenied'],
      ['other store error', { method: 'getSmall', failure: 'other' }, 'ObjectStoreFailed'],
    ];
    for (const [name, fault, reason] of cases) {
      it(`${name} → ${reason}`, async () => {
        await storeBackup(store, backup('prod', 'b1', 1));
        await storeBackup(store, backup('prod', 'b2', 2));
        const f = refused(await resolveFromObjectStore(new FaultyStore(store, fault), entry(), undefined, now));
        expect(f.reason).to.equal(reason);
        expect(f.message).to.contain('reading s3://backups/production/prod/ failed: ');
        expect(f.message).to.contain('injected');
      });
    }

    it('a metadata.json that vanishes between listing and reading is skipped, not an error', async () => {
      await storeBackup(store, backup('prod', 'b1', 1));
      await storeBackup(store, backup('prod', 'b2', 2));
      const vanishing = new FaultyStore(store, { method: 'getSmall', failure: 'not-found', keyIncludes: 'b2' });
      const r = resolved(await resolveFromObjectStore(vanishing, entry(), undefined, now));
      expect(r.backupID).to.equal(id(1));
      expect(r.skipped[0].why).to.equal('its metadata.json disappeared while resolving');
    });

    it('anything that is not a store error is thrown', async () => {
      const broken = new FaultyStore(store, { method: 'list', failure: 'auth' });
      broken.list = async () => {
        throw new TypeError('a bug');
      };
      let thrown: unknown;
      await resolveFromObjectStore(broken, entry(), undefined, now).catch((e) => (thrown = e));
      expect(thrown).to.be.instanceOf(TypeError);
    });
  });
});

describe('nearestIds', () => {
  it('takes up to n IDs on each side, nearest last before and first after', () => {
    const ids = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2'];
    expect(nearestIds(ids, 'a5')).to.deep.equal({ before: ['a2', 'a3', 'a4'], after: ['b1', 'b2'] });
    expect(nearestIds(ids, 'a0', 2)).to.deep.equal({ before: [], after: ['a1', 'a2'] });
  });
});
