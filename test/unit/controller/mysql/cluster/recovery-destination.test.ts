import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { checkDestination, destinationOverlapsSource } from '../../../../../runtime/controller/mysql/cluster/recovery-resolve.js';
import { FilesystemStore } from '../../../../../runtime/objectstore/fs-store.js';
import { ObjectStoreError } from '../../../../../runtime/objectstore/object-store.js';
import { id, objectStore, storeBackup } from './recovery-fixtures.js';

describe("the new Cluster's backup destination (checkDestination)", () => {
  let root: string;
  let store: FilesystemStore;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'silo-destination-'));
    store = new FilesystemStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const destination = (clusterName: string, extra: { path?: string; bucket?: string; continueLineage?: boolean } = {}) => ({
    clusterName,
    objectStore: objectStore({ path: extra.path ?? 'production', ...(extra.bucket ? { bucket: extra.bucket } : {}) }),
    ...(extra.continueLineage !== undefined ? { continueLineage: extra.continueLineage } : {}),
  });
  const source = (sourcePrefix: string, bucket = 'backups') => ({ objectStore: objectStore({ bucket }), sourcePrefix });

  it('passes an empty destination, and a Cluster with no backup store', async () => {
    expect(await checkDestination(store, destination('restored'))).to.equal(undefined);
    expect(await checkDestination(store, { clusterName: 'restored' })).to.equal(undefined);
  });

  it('refuses a destination that already holds a complete backup, naming the prefix and continueLineage', async () => {
    await storeBackup(store, { path: 'production', cluster: 'restored', backupName: 'nightly', backupId: id(1) });
    await storeBackup(store, { path: 'production', cluster: 'restored', backupName: 'nightly', backupId: id(2) });
    const f = (await checkDestination(store, destination('restored')))!;
    expect(f.reason).to.equal('DestinationNotEmpty');
    expect(f.message).to.contain(
      `s3://backups/production/restored/ (spec.backup.objectStore) already holds 2 complete backups (newest ${id(2)}) of an earlier Cluster named restored`,
    );
    expect(f.message).to.contain('spec.backup.continueLineage: true');
    expect(await checkDestination(store, destination('restored', { continueLineage: true }))).to.equal(undefined);
  });

  it('ignores incomplete backups there and backups of clusters sharing the name as a prefix', async () => {
    await storeBackup(store, { path: 'production', cluster: 'restored', backupName: 'nightly', backupId: id(1), withoutMetadata: true });
    await storeBackup(store, { path: 'production', cluster: 'restored-2', backupName: 'nightly', backupId: id(1) });
    await storeBackup(store, { path: 'production', cluster: 'restoredx', backupName: 'nightly', backupId: id(1) });
    expect(await checkDestination(store, destination('restored'))).to.equal(undefined);
  });

  it('maps a store error to its reason', async () => {
    const refusing = Object.assign(Object.create(store) as FilesystemStore, {
      list: async () => {
        throw new ObjectStoreError('auth', 'AccessDenied; check the access key and secret in the credentials Secret');
      },
    });
    const f = (await checkDestination(refusing, destination('restored')))!;
    expect(f.reason).to.equal('ObjectStoreAccessDenied');
    expect(f.message).to.contain('reading s3://backups/production/restored/ failed: AccessDenied');
  });

  describe('never under the recovery source, whatever continueLineage says', () => {
    const overlapping: Array<[string, ReturnType<typeof destination>, string, string]> = [
      ['the same prefix', destination('prod'), 'production/prod/', 'is'],
      ['a prefix under the source', destination('x', { path: 'production/prod' }), 'production/prod/', 'lies under'],
      ['a prefix containing the source', destination('production', { path: '' }), 'production/prod/', 'contains'],
      ['the same prefix, continuing the lineage', destination('prod', { continueLineage: true }), 'production/prod/', 'is'],
    ];
    for (const [name, dest, prefix, relation] of overlapping) {
      it(`refuses ${name}`, async () => {
        const f = (await checkDestination(store, dest, source(prefix)))!;
        expect(f.reason).to.equal('DestinationIsRecoverySource');
        expect(f.message).to.contain(`which ${relation} its recovery source's prefix s3://backups/${prefix}`);
        expect(f.message).to.contain('continueLineage does not lift this');
        expect(destinationOverlapsSource(dest, source(prefix))).to.deep.equal(f);
      });
    }

    it('passes a sibling prefix, another bucket, and no recovery at all', async () => {
      expect(destinationOverlapsSource(destination('prod-2'), source('production/prod/'))).to.equal(undefined);
      expect(destinationOverlapsSource(destination('prod'), source('production/prod-2/'))).to.equal(undefined);
      expect(destinationOverlapsSource(destination('prod', { bucket: 'other-bucket' }), source('production/prod/'))).to.equal(undefined);
      expect(destinationOverlapsSource(destination('prod'), undefined)).to.equal(undefined);
      expect(await checkDestination(store, destination('restored'), source('production/prod/'))).to.equal(undefined);
    });
  });
});
