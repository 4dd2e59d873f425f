import { ObjectStoreError, type StoreFailure } from './object-store.js';

const AUTH_CODES = ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken'];
const NOT_FOUND_CODES = ['NoSuchBucket', 'NoSuchKey', 'NotFound', 'NoSuchUpload'];
const STORAGE_FULL_CODES = ['XMinioStorageFull', 'QuotaExceeded', 'EntityTooLarge', 'InsufficientStorage'];
const NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout'];
const NETWORK_MESSAGE = /socket hang up|ECONNRESET|ECONNREFUSED|timed? ?out/i;

/** The failure class of an S3 error code or HTTP status, and the hint that goes with it. */
function s3FailureOf(error: any, code: string, status: number | undefined): { failure: StoreFailure; hint: string } {
  if (AUTH_CODES.includes(code) || status === 403)
    return { failure: 'auth', hint: '; check the access key and secret in the credentials Secret' };
  if (NOT_FOUND_CODES.includes(code) || status === 404) {
    return { failure: 'not-found', hint: code === 'NoSuchBucket' ? '; create the bucket or fix its name' : '' };
  }
  if (STORAGE_FULL_CODES.includes(code) || status === 507) {
    return { failure: 'storage-full', hint: '; free space in the object store or raise its quota' };
  }
  if (NETWORK_CODES.includes(code) || NETWORK_MESSAGE.test(String(error?.message))) {
    return { failure: 'network', hint: '; check that the endpoint is reachable' };
  }
  return { failure: 'other', hint: '' };
}

/** Maps SDK and socket errors to a failure class and one sentence without secrets. */
export function classifyS3Error(error: any, action: string): ObjectStoreError {
  const code: string = error?.name ?? error?.Code ?? error?.code ?? '';
  const status: number | undefined = error?.$metadata?.httpStatusCode;
  const { failure, hint } = s3FailureOf(error, code, status);
  const detail = (code && code !== 'Error' ? code : '') || String(error?.message ?? error);
  return new ObjectStoreError(failure, `${action} failed: ${detail}${hint}`, { cause: error });
}
