/**
 * Recovery resolution against a real S3 listing (MinIO through runtime/objectstore/s3-store.ts):
 * prefix semantics, sizes from HEAD, and how the store's refusals come back as reasons. The
 * backups are written as the worker writes them (data object, then metadata.json through the
 * real writer); no database or Kubernetes is involved.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { ExternalCluster } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { isFailure, type Failure } from '../../../../runtime/controller/mysql/cluster/cluster-reasons.js';
import {
  checkDestination,
  resolveFromObjectStore,
  type ResolvedRecovery,
} from '../../../../runtime/controller/mysql/cluster/recovery-resolve.js';
import { S3Store } from '../../../../runtime/objectstore/s3-store.js';
import { useStack } from '../../../stack/mocha.js';
import { id, objectStore, storeBackup } from '../../../unit/controller/mysql/cluster/recovery-fixtures.js';

const stack = useStack('minio');

describe('recovery resolution against MinIO (S3 listing and HEAD)', function () {
  this.timeout(60_000);
  const env = () => stack.env();
  const path = `recovery-resolve-${randomBytes(4).toString('hex')}`;
  const s3 = (extra: { secretAccessKey?: string; endpoint?: string; bucket?: string } = {}) =>
    new S3Store({
      bucket: extra.bucket ?? env().MINIO_BUCKET,
      endpoint: extra.endpoint ?? env().MINIO_ENDPOINT,
      forcePathStyle: true,
      region: 'us-east-1',
      accessKeyId: env().MINIO_ACCESS_KEY,
      secretAccessKey: extra.secretAccessKey ?? env().MINIO_SECRET_KEY,
    });
  const entry = (name: string): ExternalCluster => ({ name, objectStore: objectStore({ bucket: env().MINIO_BUCKET, path }) });
  const resolved = (r: ResolvedRecovery | Failure): ResolvedRecovery => {
    if (isFailure(r)) throw new Error(`expected a resolution, got ${r.reason}: ${r.message}`);
    return r;
  };
  const refused = (r: ResolvedRecovery | Failure): Failure => {
    if (!isFailure(r)) throw new Error(`expected a failure, got backup ${r.backupID}`);
    return r;
  };

  before(async () => {
    const store = s3();
    await storeBackup(store, { path, cluster: 'prod', backupName: 'sunday', backupId: id(1) });
    await storeBackup(store, { path, cluster: 'prod', backupName: 'monday', backupId: id(2), type: 'incremental', parent: id(1) });
    await storeBackup(store, { path, cluster: 'prod', backupName: 'tuesday', backupId: id(3), withoutMetadata: true });
    await storeBackup(store, { path, cluster: 'prod-2', backupName: 'nightly', backupId: id(4) });
    await storeBackup(store, { path, cluster: 'production', backupName: 'nightly', backupId: id(5) });
  });

  it("resolves each cluster's own newest complete chain, never a neighbour sharing its name as a prefix", async () => {
    const prod = resolved(await resolveFromObjectStore(s3(), entry('prod')));
    expect(prod.chain.map((l) => l.backupId)).to.deep.equal([id(1), id(2)]);
    expect(prod.chain.map((l) => l.dataKey)).to.deep.equal([
      `${path}/prod/sunday/${id(1)}/backup.xbstream`,
      `${path}/prod/monday/${id(2)}/backup.xbstream`,
    ]);
    expect(prod.skipped.map((s) => [s.backupId, s.why])).to.deep.equal([
      [id(3), 'it has no metadata.json: it never finished, or is being deleted'],
    ]);
    expect(resolved(await resolveFromObjectStore(s3(), entry('prod-2'))).backupID).to.equal(id(4));
    expect(resolved(await resolveFromObjectStore(s3(), entry('production'))).backupID).to.equal(id(5));
    const empty = refused(await resolveFromObjectStore(s3(), entry('pro')));
    expect(empty.reason).to.equal('NoCompleteBackups');
    expect(empty.message).to.contain(`s3://${env().MINIO_BUCKET}/${path}/pro/`);
  });

  it('pins a backup ID, and names the nearest ones when it is not there', async () => {
    expect(resolved(await resolveFromObjectStore(s3(), entry('prod'), id(1))).chain).to.have.length(1);
    const missing = refused(await resolveFromObjectStore(s3(), entry('prod'), id(4)));
    expect(missing.reason).to.equal('BackupIDNotFound');
    expect(missing.message).to.contain(`before it ${id(1)}, ${id(2)}`);
    expect(missing.message).to.not.contain(id(3)); // no metadata.json: not an ID to pin
  });

  it("checks a new Cluster's destination by listing it", async () => {
    const destination = (clusterName: string) => ({ clusterName, objectStore: objectStore({ bucket: env().MINIO_BUCKET, path }) });
    const taken = (await checkDestination(s3(), destination('prod')))!;
    expect(taken.reason).to.equal('DestinationNotEmpty');
    expect(taken.message).to.contain(`already holds 2 complete backups (newest ${id(2)})`);
    expect(await checkDestination(s3(), destination('pro'))).to.equal(undefined);
    const source = resolved(await resolveFromObjectStore(s3(), entry('prod')));
    expect((await checkDestination(s3(), { ...destination('prod'), continueLineage: true }, source))!.reason).to.equal(
      'DestinationIsRecoverySource',
    );
  });

  it("maps the store's refusals: wrong secret, missing bucket, nothing listening", async () => {
    const denied = refused(await resolveFromObjectStore(s3({ secretAccessKey: 'not-the-secret-key' }), entry('prod')));
    expect(denied.reason).to.equal('ObjectStoreAccessDenied');
    expect(denied.message).to.contain('SignatureDoesNotMatch');

    const noBucket = refused(await resolveFromObjectStore(s3({ bucket: `missing-${randomBytes(3).toString('hex')}` }), entry('prod')));
    expect(noBucket.reason).to.equal('ObjectStoreBucketNotFound');

    const unreachable = refused(await resolveFromObjectStore(s3({ endpoint: 'http://127.0.0.1:9' }), entry('prod')));
    expect(unreachable.reason).to.equal('ObjectStoreUnreachable');
    expect(unreachable.message).to.contain('ECONNREFUSED');
  });
});
