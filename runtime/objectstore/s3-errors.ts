import { ObjectStoreError, type StoreFailure } from './object-store.js';

/** Maps SDK and socket errors to a failure class and one sentence without secrets. */
export function classifyS3Error(error: any, action: string): ObjectStoreError {
  const code: string = error?.name ?? error?.Code ?? error?.code ?? '';
  const status: number | undefined = error?.$metadata?.httpStatusCode;
  let failure: StoreFailure = 'other';
  let hint = '';
  if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken'].includes(code) || status === 403) {
    failure = 'auth';
    hint = '; check the access key and secret in the credentials Secret';
  } else if (['NoSuchBucket', 'NoSuchKey', 'NotFound', 'NoSuchUpload'].includes(code) || status === 404) {
    failure = 'not-found';
    hint = code === 'NoSuchBucket' ? '; create the bucket or fix its name' : '';
  } else if (['XMinioStorageFull', 'QuotaExceeded', 'EntityTooLarge', 'InsufficientStorage'].includes(code) || status === 507) {
    failure = 'storage-full';
    hint = '; free space in the object store or raise its quota';
  } else if (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout'].includes(code) ||
    /socket hang up|ECONNRESET|ECONNREFUSED|timed? ?out/i.test(String(error?.message))
  ) {
    failure = 'network';
    hint = '; check that the endpoint is reachable';
  }
  const detail = (code && code !== 'Error' ? code : '') || String(error?.message ?? error);
  return new ObjectStoreError(failure, `${action} failed: ${detail}${hint}`, { cause: error });
}
