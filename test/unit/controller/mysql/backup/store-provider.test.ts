/**
 * The three object-store forms of a MySQL objectStore (S3 fields, azure, gcs): the worker env the
 * Jobs get (credentials only as secretKeyRef, decoded by the worker into the store factory's
 * config), the destinationPath root, and the checks that compare stores by provider and bucket.
 */
import { expect } from 'chai';
import type { ObjectStore } from '../../../../../src/api/common/types.js';
import { storeConfigFromEnv, toProcessEnv } from '../../../../../runtime/contracts/worker-env.js';
import { destinationUrl, storeEnv } from '../../../../../runtime/controller/mysql/backup/backup-store.js';
import { describeBucket, isStoreSpec, providerOf, storeRoot } from '../../../../../runtime/controller/mysql/backup/store-provider.js';
import { destinationOverlapsSource, storeFailure } from '../../../../../runtime/controller/mysql/cluster/recovery-resolve.js';
import { classifyAzureError } from '../../../../../runtime/objectstore/azure-store.js';
import { classifyGcsError } from '../../../../../runtime/objectstore/gcs-store.js';
import { renderPruneJob } from '../../../../../runtime/controller/mysql/retention/prune-job.js';
import { prefixOf, recordedStore, type BackupObject } from '../../../../../runtime/controller/mysql/retention/remote-deletion.js';

const AZURE: ObjectStore = {
  path: 'prod',
  azure: {
    container: 'backups',
    storageAccount: 'devstoreaccount1',
    endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
    credentials: { accountKey: { name: 'azure', key: 'key' } },
  },
};
const AZURE_CS: ObjectStore = { azure: { container: 'backups', credentials: { connectionString: { name: 'azure', key: 'cs' } } } };
const GCS: ObjectStore = {
  path: 'prod',
  gcs: {
    bucket: 'backups',
    endpoint: 'http://127.0.0.1:4443',
    projectId: 'silo',
    credentials: { serviceAccount: { name: 'gcs', key: 'serviceAccount.json' } },
  },
};
const S3: ObjectStore = {
  bucket: 'backups',
  path: 'prod',
  credentials: { accessKeyId: { name: 's3', key: 'id' }, secretAccessKey: { name: 's3', key: 'secret' } },
};
const SECRETS: Record<string, string> = {
  'azure/key': 'a2V5',
  'azure/cs': 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/a;',
  'gcs/serviceAccount.json': '{"type":"service_account"}',
};

/** What the worker's store factory gets from the Job's env, with Secret references resolved as the kubelet would. */
const workerSees = (store: ObjectStore) =>
  storeConfigFromEnv(toProcessEnv(storeEnv(store).env, { secret: ({ name, key }) => SECRETS[`${name}/${key}`] }));

describe('MySQL object stores: S3, Azure Blob and GCS', () => {
  it('tells the provider and the bucket apart, and roots destinationPath at <scheme>://<bucket>/', () => {
    expect([S3, AZURE, GCS].map(providerOf)).to.deep.equal(['s3', 'azure', 'gcs']);
    expect([S3, AZURE, GCS].map(storeRoot)).to.deep.equal(['s3://backups/', 'azure://backups/', 'gs://backups/']);
    expect(destinationUrl(AZURE, 'prod/db/')).to.equal('azure://backups/prod/db/');
    expect([S3, AZURE, GCS].map(describeBucket)).to.deep.equal(['bucket backups', 'Azure container backups', 'GCS bucket backups']);
    expect([S3, AZURE, GCS].every(isStoreSpec)).to.equal(true);
    expect(isStoreSpec({ path: 'x' })).to.equal(false);
  });

  it('gives an Azure Job its container, account and endpoint, and the key only as a secretKeyRef', () => {
    const { env, volumes } = storeEnv(AZURE);
    expect(env.find((e) => e.name === 'SILO_AZURE_ACCOUNT_KEY')).to.deep.equal({
      name: 'SILO_AZURE_ACCOUNT_KEY',
      valueFrom: { secretKeyRef: { name: 'azure', key: 'key' } },
    });
    expect(env.some((e) => e.name.startsWith('SILO_S3_') || e.name.startsWith('AWS_'))).to.equal(false);
    expect(volumes).to.deep.equal([]);
    expect(workerSees(AZURE)).to.deep.equal({
      type: 'azure',
      container: 'backups',
      endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
      accountName: 'devstoreaccount1',
      accountKey: 'a2V5',
      connectionString: undefined,
    });
    expect(workerSees(AZURE_CS)).to.include({ type: 'azure', container: 'backups', connectionString: SECRETS['azure/cs'] });
  });

  it('gives a GCS Job its bucket, endpoint and project, and the key file only as a secretKeyRef; no key means none', () => {
    const { env } = storeEnv(GCS);
    expect(env.find((e) => e.name === 'SILO_GCS_CREDENTIALS')?.valueFrom).to.deep.equal({
      secretKeyRef: { name: 'gcs', key: 'serviceAccount.json' },
    });
    expect(workerSees(GCS)).to.deep.equal({
      type: 'gcs',
      bucket: 'backups',
      apiEndpoint: 'http://127.0.0.1:4443',
      projectId: 'silo',
      credentials: '{"type":"service_account"}',
    });
    const anonymous = storeEnv({ gcs: { bucket: 'backups', endpoint: 'http://127.0.0.1:4443' } }).env;
    expect(anonymous.map((e) => e.name)).to.deep.equal(['SILO_STORE_TYPE', 'SILO_GCS_BUCKET', 'SILO_GCS_ENDPOINT', 'SILO_COMPRESSION']);
  });

  it('keeps the S3 env as before: region default, path style, credentials by reference', () => {
    expect(workerSees({ ...S3, credentials: undefined, inheritFromIAMRole: true })).to.include({
      type: 's3',
      bucket: 'backups',
      region: 'us-east-1',
      forcePathStyle: false,
      accessKeyId: undefined,
    });
  });

  it('never lets a recovered Cluster write under its source in the same container, but a same-named bucket elsewhere is another store', () => {
    const destination = { clusterName: 'restored', objectStore: { ...AZURE, path: 'prod/db' } };
    const sameContainer = destinationOverlapsSource(destination, { objectStore: AZURE, sourcePrefix: 'prod/db/' });
    expect(sameContainer?.reason).to.equal('DestinationIsRecoverySource');
    expect(sameContainer?.message).to.contain('azure://backups/prod/db/restored/');
    expect(destinationOverlapsSource(destination, { objectStore: GCS, sourcePrefix: 'prod/db/' })).to.equal(undefined);
    expect(
      destinationOverlapsSource(
        { ...destination, objectStore: { ...S3, path: 'prod/db' } },
        { objectStore: GCS, sourcePrefix: 'prod/db/' },
      ),
    ).to.equal(undefined);
  });

  it('prunes an Azure or GCS backup with that store and its prefix from destinationPath', () => {
    const backup = (destinationPath: string, store: ObjectStore) =>
      ({
        metadata: { name: 'b1', annotations: { 'mysql.cloudnative-mysql.io/remote-store': JSON.stringify(store) } },
        spec: { cluster: { name: 'db' } },
        status: { backupId: '20261122T000000Z', destinationPath },
      }) as unknown as BackupObject;
    const azureBackup = backup('azure://backups/prod/db/b1/20261122T000000Z/', AZURE);
    expect(recordedStore(azureBackup)).to.deep.equal(AZURE);
    expect(prefixOf(azureBackup, AZURE, 'db')).to.deep.equal({ prefix: 'prod/db/b1/20261122T000000Z/' });
    expect(prefixOf(backup('gs://backups/prod/db/b1/20261122T000000Z/', GCS), AZURE, 'db')).to.deep.equal({
      problem:
        'its status.destinationPath gs://backups/prod/db/b1/20261122T000000Z/ is not in Azure container backups of the object store it resolves to now; delete the objects by hand',
    });
    const job = renderPruneJob({
      namespace: 'ns',
      cluster: 'db',
      store: GCS,
      entries: [{ backupName: 'b1', prefix: 'prod/db/b1/20261122T000000Z/', why: 'expired' }],
      workerImage: 'silo:test',
    });
    const env = job.spec!.template.spec!.containers[0].env!;
    expect(env.find((e) => e.name === 'SILO_STORE_TYPE')?.value).to.equal('gcs');
    expect(env.find((e) => e.name === 'SILO_GCS_CREDENTIALS')?.valueFrom?.secretKeyRef).to.deep.equal({
      name: 'gcs',
      key: 'serviceAccount.json',
    });
  });

  it("maps Azure's and GCS's refusals and unreachable endpoints to the Cluster's store reasons", () => {
    const reason = (error: unknown) => storeFailure(error, 'azure://backups/prod/db/')?.reason;
    expect(reason(classifyAzureError({ code: 'AuthorizationFailure', statusCode: 403 }, 'listing'))).to.equal('ObjectStoreAccessDenied');
    expect(reason(classifyAzureError({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED' }, 'listing'))).to.equal(
      'ObjectStoreUnreachable',
    );
    expect(reason(classifyAzureError({ code: 'ContainerNotFound', statusCode: 404 }, 'listing'))).to.equal('ObjectStoreBucketNotFound');
    expect(reason(classifyGcsError({ code: 403, message: 'Forbidden' }, 'listing'))).to.equal('ObjectStoreAccessDenied');
    expect(reason(classifyGcsError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'listing'))).to.equal(
      'ObjectStoreUnreachable',
    );
  });
});
