import type { Readable, Writable } from 'node:stream';
import type { ReadBufferPool } from './read-buffer-pool.js';

/** What the data path needs from any store: S3, GCS, Azure Blob or a mounted volume. */
export interface ObjectStore {
  /** A human-readable URL of a key, e.g. s3://bucket/key, for status and logs. */
  url(key: string): string;
  /** Streams one object. The Writable fails (and cleans up partial uploads) on error or destroy. */
  createWriteStream(key: string, options?: { expectedBytes?: number }): Writable;
  /**
   * The pool that createReadStream's buffers come from, when the store reads into pooled buffers (S3): a consumer
   * that is done with a chunk of READ_BUFFER_BYTES gives it back here (decision 0024).
   */
  readonly readBuffers?: ReadBufferPool;
  /** Reads an object, or a byte range of it (inclusive start, exclusive end). */
  createReadStream(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  /** Writes a small object in one request (metadata.json). */
  putSmall(key: string, body: Buffer, contentType?: string): Promise<void>;
  getSmall(key: string): Promise<Buffer>;
  /** Size in bytes, or undefined when the object does not exist. */
  size(key: string): Promise<number | undefined>;
  /** Keys under a prefix (recursive). */
  list(prefix: string): Promise<string[]>;
  delete(keys: string[]): Promise<void>;
}

/** Failure classes that map to distinct worker exit codes. */
export type StoreFailure = 'auth' | 'not-found' | 'network' | 'storage-full' | 'other';

export class ObjectStoreError extends Error {
  constructor(
    readonly failure: StoreFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ObjectStoreError';
  }
}

/**
 * How long a request to an object store may go without progress before it fails as `network`, which the SDKs then
 * retry: a store behind a network that goes silent (a partition, a load balancer holding connections) must fail a
 * backup or a restore with a reason, not hold it until the Job's deadline. A minute, as boto3's read timeout and the
 * GCS SDK's own request timeout. S3 and Azure count silence on the socket; the GCS SDK times each request as a whole,
 * so there it also bounds one chunk's upload (16 MiB in a minute is 280 KB/s).
 * See docs/decisions/0026-object-store-requests-time-out-when-silent.md.
 */
export const STALL_TIMEOUT_MS = 60_000;
