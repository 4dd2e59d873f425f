/**
 * The three stores a MySQL objectStore can name: S3 (`bucket` and the S3 fields beside it), Azure
 * Blob (`azure`) or GCS (`gcs`); admission allows exactly one. This file is the one place that tells
 * them apart: the root URL a Backup's status.destinationPath starts with, and the worker-env store
 * spec (runtime/contracts/worker-env.ts, the same contract backup-operator.io's BackupStorage uses)
 * with every credential as a secretKeyRef. The controller's own read-only client is built in
 * cluster/cluster-store-client.ts from the same spec.
 */
import type { ObjectStore } from '../../../../src/api/common/types.js';
import type { SecretSource, StoreSpec } from '../../../contracts/worker-env.js';

export type StoreProvider = 's3' | 'azure' | 'gcs';

/** URL schemes of destinationPath: `gs://` as gsutil writes it; `azure://<container>/` names the container alone, like `s3://<bucket>/`. */
const SCHEME: Record<StoreProvider, string> = { s3: 's3', azure: 'azure', gcs: 'gs' };

export function providerOf(store: ObjectStore): StoreProvider {
  if (store.azure) return 'azure';
  if (store.gcs) return 'gcs';
  return 's3';
}

/** The bucket (S3, GCS) or blob container (Azure); '' only for a spec admission would have refused. */
export function bucketOf(store: ObjectStore): string {
  return store.azure?.container ?? store.gcs?.bucket ?? store.bucket ?? '';
}

/**
 * `s3://<bucket>/`, `gs://<bucket>/` or `azure://<container>/`: the provider and the bucket alone,
 * never the endpoint, so two spellings of one endpoint still compare equal (decision 0050).
 */
export const storeRoot = (store: ObjectStore): string => `${SCHEME[providerOf(store)]}://${bucketOf(store)}/`;

/** "bucket x", "GCS bucket x" or "Azure container x", for messages. */
export function describeBucket(store: ObjectStore): string {
  const provider = providerOf(store);
  const noun = provider === 'azure' ? 'Azure container' : provider === 'gcs' ? 'GCS bucket' : 'bucket';
  return `${noun} ${bucketOf(store)}`;
}

/** True when `value` (a recorded annotation, parsed) names a store of one of the three providers. */
export function isStoreSpec(value: unknown): value is ObjectStore {
  if (!value || typeof value !== 'object') return false;
  const store = value as ObjectStore;
  return typeof (store.azure?.container ?? store.gcs?.bucket ?? store.bucket) === 'string';
}

const ref = (r?: { name: string; key: string }): SecretSource | undefined =>
  r ? { secretKeyRef: { name: r.name, key: r.key } } : undefined;

/**
 * The store as worker env describes it, credentials as secretKeyRef only. `caFile`: where the S3
 * endpoint's CA bundle is mounted, when it has one.
 */
export function workerStoreSpec(store: ObjectStore, caFile?: string): StoreSpec {
  if (store.azure) {
    const { container, endpoint, storageAccount, credentials } = store.azure;
    return {
      type: 'azure',
      container,
      endpoint,
      account: storageAccount,
      accountKey: ref(credentials.accountKey),
      connectionString: ref(credentials.connectionString),
    };
  }
  if (store.gcs) {
    const { bucket, endpoint, projectId, credentials } = store.gcs;
    return { type: 'gcs', bucket, endpoint, project: projectId, credentials: ref(credentials?.serviceAccount) };
  }
  const credentials = store.credentials && !store.inheritFromIAMRole ? store.credentials : undefined;
  return {
    type: 's3',
    bucket: store.bucket ?? '',
    endpoint: store.endpoint,
    region: store.region ?? 'us-east-1',
    forcePathStyle: store.forcePathStyle ?? false,
    insecure: store.insecure ?? false,
    storageClass: store.storageClass,
    accessKeyId: ref(credentials?.accessKeyId),
    secretAccessKey: ref(credentials?.secretAccessKey),
    sessionToken: ref(credentials?.sessionToken),
    caFile,
  };
}
