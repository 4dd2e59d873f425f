import { buffer } from 'node:stream/consumers';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable, Writable } from 'node:stream';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { S3MultipartSink } from './s3-multipart-sink.js';
import { STALL_TIMEOUT_MS, type ObjectStore } from './object-store.js';
import { classifyS3Error } from './s3-errors.js';
import { BulkGetHandler } from './s3-bulk-get-handler.js';
import { ReadBufferPool } from './read-buffer-pool.js';

export interface S3StoreConfig {
  readonly bucket: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly sessionToken?: string;
  /** PEM CA bundle to trust for the endpoint. */
  readonly ca?: string;
  /** Skip certificate verification (test endpoints only). */
  readonly insecure?: boolean;
  readonly storageClass?: string;
  readonly serverSideEncryption?: string;
  readonly kmsKeyId?: string;
  /** Parts in flight per upload. @default 3 */
  readonly uploadConcurrency?: number;
  /** Silence on a request's socket before it fails as `network`. @default STALL_TIMEOUT_MS */
  readonly stallTimeoutMs?: number;
}

const CONNECTION_TIMEOUT_MS = 10_000;

/**
 * A client for the store. `bulkReads` gives it the transport that reads GetObject bodies into pooled buffers
 * (decision 0024); the store uses that client for its data streams only.
 */
export function createS3Client(config: S3StoreConfig, bulkReads?: ReadBufferPool): S3Client {
  const httpsAgent = new HttpsAgent({
    keepAlive: true,
    maxSockets: 16,
    ...(config.ca ? { ca: config.ca } : {}),
    rejectUnauthorized: !config.insecure,
  });
  const stallTimeoutMs = config.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  // socketTimeout, not requestTimeout: since @smithy/node-http-handler 4.x requestTimeout times the whole request and
  // only logs a warning when it passes, so a silent store held a part upload or a listing forever.
  const nodeHandler = new NodeHttpHandler({ httpsAgent, connectionTimeout: CONNECTION_TIMEOUT_MS, socketTimeout: stallTimeoutMs });
  return new S3Client({
    region: config.region ?? 'us-east-1',
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    forcePathStyle: config.forcePathStyle ?? false,
    ...(config.accessKeyId && config.secretAccessKey
      ? {
          credentials: {
            accessKeyId: config.accessKeyId,
            secretAccessKey: config.secretAccessKey,
            ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
          },
        }
      : {}),
    // MinIO, Ceph RGW and others reject or mishandle the SDK's default flexible checksums on streamed bodies.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 5,
    requestHandler: bulkReads
      ? new BulkGetHandler({
          fallback: nodeHandler,
          ca: config.ca,
          rejectUnauthorized: !config.insecure,
          connectionTimeoutMs: CONNECTION_TIMEOUT_MS,
          idleTimeoutMs: stallTimeoutMs,
          pool: bulkReads,
        })
      : nodeHandler,
  });
}

export class S3Store implements ObjectStore {
  readonly client: S3Client;
  readonly readBuffers = new ReadBufferPool();
  private bulkClient?: S3Client;

  constructor(
    private readonly config: S3StoreConfig,
    client?: S3Client,
  ) {
    this.client = client ?? createS3Client(config);
  }

  url(key: string): string {
    return `s3://${this.config.bucket}/${key}`;
  }

  createWriteStream(key: string, options: { expectedBytes?: number } = {}): Writable {
    const sink = new S3MultipartSink({
      client: this.client,
      bucket: this.config.bucket,
      key,
      expectedBytes: options.expectedBytes,
      concurrency: this.config.uploadConcurrency,
      storageClass: this.config.storageClass,
      serverSideEncryption: this.config.serverSideEncryption,
      kmsKeyId: this.config.kmsKeyId,
    });
    return sink;
  }

  async createReadStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    this.bulkClient ??= createS3Client(this.config, this.readBuffers);
    return this.read(this.bulkClient, key, range);
  }

  private async read(client: S3Client, key: string, range?: { start: number; end?: number }): Promise<Readable> {
    try {
      const result = await client.send(
        new GetObjectCommand({
          Bucket: this.config.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ''}` } : {}),
        }),
      );
      return result.Body as Readable;
    } catch (error) {
      throw classifyS3Error(error, `reading ${this.url(key)}`);
    }
  }

  async putSmall(key: string, body: Buffer, contentType = 'application/json'): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ Bucket: this.config.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: contentType }),
      );
    } catch (error) {
      throw classifyS3Error(error, `writing ${this.url(key)}`);
    }
  }

  async getSmall(key: string): Promise<Buffer> {
    return buffer(await this.read(this.client, key));
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }))).ContentLength;
    } catch (error) {
      const classified = classifyS3Error(error, `checking ${this.url(key)}`);
      if (classified.failure === 'not-found' && (error as any)?.name !== 'NoSuchBucket') return undefined;
      throw classified;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw classifyS3Error(error, `listing ${this.url(prefix)}`);
    }
    return keys.sort();
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      try {
        await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.config.bucket,
            Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true },
          }),
        );
      } catch (error) {
        throw classifyS3Error(error, `deleting under ${this.url(keys[i])}`);
      }
    }
  }
}
