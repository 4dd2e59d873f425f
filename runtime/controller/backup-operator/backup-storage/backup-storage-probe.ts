/**
 * Reachability of a BackupStorage: S3 HeadBucket, GCS bucket metadata, Azure
 * container properties — with the credentials held in memory for this call only
 * (docs/decisions/0003-secret-get-cluster-wide.md). Results are reasons plus one
 * sentence built from our own words and the SDK's error code, never from values.
 */
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { BackupStorageSpec } from '../../../../src/api/backup-operator.io/types.js';
import { createAzureContainerClient } from '../../../objectstore/azure-store.js';
import { createGcsClient } from '../../../objectstore/gcs-store.js';
import { createS3Client } from '../../../objectstore/s3-store.js';
import { BACKUP_STORAGE_REASONS as R } from './backup-storage-reasons.js';

export type ProbeReason =
  typeof R.Ready | typeof R.BucketNotFound | typeof R.AccessDenied | typeof R.EndpointUnreachable | typeof R.CheckFailed;

export interface ProbeResult {
  readonly reason: ProbeReason;
  readonly message: string;
}

/** A probe never waits longer than this; an unreachable endpoint is a finding, not a hang. */
export const PROBE_TIMEOUT_MS = 10_000;

const NETWORK =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|socket hang up|TimeoutError|AbortError|timed? ?out|aborted|fetch failed/i;

/** Silo's own store errors are sentences written without secrets; their failure class picks the reason. */
function fromObjectStoreError(error: any): ProbeResult {
  const reason: ProbeReason =
    error.failure === 'auth' ? R.AccessDenied : error.failure === 'network' ? R.EndpointUnreachable : R.CheckFailed;
  return { reason, message: String(error.message) };
}

/** What an SDK error says about itself: its HTTP status, its name, and all its text for the network patterns. */
function describeError(error: any): { status: number | undefined; name: string; text: string } {
  const status: number | undefined = error?.$metadata?.httpStatusCode ?? error?.statusCode ?? error?.code;
  const name = String(error?.name ?? error?.Code ?? '');
  const text = `${name} ${error?.code ?? ''} ${error?.cause?.code ?? ''} ${error?.message ?? ''}`;
  return { status, name, text };
}

const isNotFoundError = (status: number | undefined, name: string): boolean =>
  status === 404 || /NotFound|NoSuchBucket|ContainerNotFound/.test(name);

const isAccessError = (status: number | undefined, name: string): boolean =>
  status === 403 ||
  status === 401 ||
  /AccessDenied|Forbidden|InvalidAccessKeyId|SignatureDoesNotMatch|AuthenticationFailed|AuthorizationFailure/.test(name);

const isNetworkError = (status: number | undefined, text: string): boolean =>
  NETWORK.test(text) || (status === undefined && /connect|network/i.test(text));

function classify(error: any, where: string, bucketWord: string): ProbeResult {
  if (error?.name === 'ObjectStoreError') return fromObjectStoreError(error);
  const { status, name, text } = describeError(error);
  if (isNotFoundError(status, name)) {
    return {
      reason: R.BucketNotFound,
      message: `the ${bucketWord} ${where} does not exist; create it or fix the name in spec.parameters.`,
    };
  }
  if (isAccessError(status, name)) {
    return {
      reason: R.AccessDenied,
      message: `the credentials were refused for the ${bucketWord} ${where} (HTTP ${status ?? name}); check the keys in the credentials Secret and their permissions.`,
    };
  }
  if (isNetworkError(status, text)) {
    return {
      reason: R.EndpointUnreachable,
      message: `the endpoint for ${where} could not be reached within ${PROBE_TIMEOUT_MS / 1000} s (${name || 'network error'}); check spec.parameters.endpoint and the network path.`,
    };
  }
  return {
    reason: R.CheckFailed,
    message: `checking the ${bucketWord} ${where} failed (${name || 'error'}${status ? `, HTTP ${status}` : ''}); check spec.parameters and the credentials Secret.`,
  };
}

const withTimeout = async <T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> => {
  const signal = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  return await Promise.race([
    work(signal),
    new Promise<never>((_, reject) =>
      signal.addEventListener('abort', () => reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), { once: true }),
    ),
  ]);
};

/** Checks that the bucket/container exists and the credentials may use it. `secrets` are decoded Secret values. */
export async function probeStorage(spec: BackupStorageSpec, secrets: Readonly<Record<string, string>>): Promise<ProbeResult> {
  const p = spec.parameters;
  try {
    if (spec.type === 's3') {
      const client = createS3Client({
        bucket: p.bucket ?? '',
        endpoint: p.endpoint,
        region: p.region,
        forcePathStyle: p.s3ForcePathStyle === 'true',
        insecure: p.insecure === 'true',
        accessKeyId: secrets.accessKeyId ?? secrets.AWS_ACCESS_KEY_ID,
        secretAccessKey: secrets.secretAccessKey ?? secrets.AWS_SECRET_ACCESS_KEY,
        sessionToken: secrets.sessionToken ?? secrets.AWS_SESSION_TOKEN,
      });
      try {
        await withTimeout((abortSignal) => client.send(new HeadBucketCommand({ Bucket: p.bucket }), { abortSignal }));
      } finally {
        client.destroy();
      }
      return { reason: R.Ready, message: `bucket "${p.bucket}" is reachable with the credentials Secret.` };
    }
    if (spec.type === 'gcs') {
      const storage = createGcsClient({
        bucket: p.bucket ?? '',
        apiEndpoint: p.endpoint,
        projectId: p.projectId,
        credentials: secrets['serviceAccount.json'],
      });
      const [exists] = await withTimeout(() => storage.bucket(p.bucket ?? '').exists());
      if (!exists) return classify({ statusCode: 404 }, `"${p.bucket}"`, 'bucket');
      return { reason: R.Ready, message: `bucket "${p.bucket}" is reachable with the credentials Secret.` };
    }
    const container = createAzureContainerClient({
      container: p.container ?? '',
      endpoint: p.endpoint,
      accountName: p.storageAccount ?? secrets.accountName,
      accountKey: secrets.accountKey,
      connectionString: secrets.connectionString,
    });
    await withTimeout((abortSignal) => container.getProperties({ abortSignal }));
    return { reason: R.Ready, message: `container "${p.container}" is reachable with the credentials Secret.` };
  } catch (error) {
    const where = spec.type === 'azure' ? `"${p.container}"` : `"${p.bucket}"`;
    return classify(error, where, spec.type === 'azure' ? 'container' : 'bucket');
  }
}
