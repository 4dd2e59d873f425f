import { Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
  type UploadPartCommandInput,
  type UploadPartCommandOutput,
  type ServerSideEncryption,
  type StorageClass,
} from '@aws-sdk/client-s3';
import type { BuildMiddleware } from '@smithy/types';
import { classifyS3Error } from './s3-errors.js';
import { MAX_PARTS, partSize } from './part-size.js';

export interface S3SinkOptions {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  /** Size hint; when given, parts have one even size (flat memory whatever the size). */
  readonly expectedBytes?: number;
  /** Parts uploading at once. @default 3 */
  readonly concurrency?: number;
  readonly contentType?: string;
  readonly storageClass?: string;
  readonly serverSideEncryption?: string;
  readonly kmsKeyId?: string;
  /** How long to keep retrying the abort of a failed upload. @default 60000 */
  readonly abortRetryMs?: number;
  /**
   * Sign each part's SHA256 (SigV4 signed payload). Off by default: the whole object's SHA256 is
   * computed anyway, recorded in metadata.json and verified before any restore, so hashing every
   * part again here and again in the store cost two extra SHA256 passes per byte on a CPU-bound
   * worker. See docs/decisions/0013-unsigned-part-payloads.md. @default false
   */
  readonly signPayload?: boolean;
}

/** Sends `x-amz-content-sha256: UNSIGNED-PAYLOAD`, so SigV4 signs the headers only and does not hash the body. */
const unsignedPayload: BuildMiddleware<UploadPartCommandInput, UploadPartCommandOutput> = (next) => async (args) => {
  const request = args.request as { headers?: Record<string, string> };
  if (request.headers) request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  return next(args);
};

/**
 * A Writable that streams into one S3 object through a multipart upload, with
 * parts uploaded in parallel and bounded memory. Small streams become a single
 * PutObject. On error or destroy, the multipart upload is aborted so no orphan
 * parts remain. Part retries come from the SDK's retry strategy (the bodies are
 * buffers, so every attempt resends the same bytes).
 */
export class S3MultipartSink extends Writable {
  private uploadId?: string;
  private partNumber = 0;
  /** The part being filled, and spare part buffers: reused so a long stream makes no garbage. */
  private current?: Buffer;
  private currentBytes = 0;
  private readonly spare: Buffer[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly completed: Array<{ PartNumber: number; ETag: string }> = [];
  private failure?: Error;
  bytesWritten = 0;

  constructor(private readonly options: S3SinkOptions) {
    super({ highWaterMark: 1024 * 1024 });
  }

  private get objectParams() {
    const o = this.options;
    return {
      Bucket: o.bucket,
      Key: o.key,
      ContentType: o.contentType ?? 'application/octet-stream',
      ...(o.storageClass ? { StorageClass: o.storageClass as StorageClass } : {}),
      ...(o.serverSideEncryption ? { ServerSideEncryption: o.serverSideEncryption as ServerSideEncryption } : {}),
      ...(o.kmsKeyId ? { SSEKMSKeyId: o.kmsKeyId } : {}),
    };
  }

  private nextPartSize(): number {
    return partSize(this.partNumber + 1, this.options.expectedBytes);
  }

  private async startUpload(): Promise<void> {
    const created = await this.options.client.send(new CreateMultipartUploadCommand(this.objectParams)).catch((error) => {
      throw classifyS3Error(error, `starting the upload of s3://${this.options.bucket}/${this.options.key}`);
    });
    if (!created.UploadId) throw new Error('object store returned no UploadId for CreateMultipartUpload');
    this.uploadId = created.UploadId;
  }

  private partBuffer(size: number): Buffer {
    const index = this.spare.findIndex((buffer) => buffer.length === size);
    return index === -1 ? Buffer.allocUnsafeSlow(size) : this.spare.splice(index, 1)[0];
  }

  private async uploadPart(buffer: Buffer, length: number): Promise<void> {
    const body = buffer.subarray(0, length);
    if (!this.uploadId) await this.startUpload();
    const partNumber = ++this.partNumber;
    if (partNumber > MAX_PARTS) throw new Error(`stream exceeds ${MAX_PARTS} parts; pass expectedBytes so parts can be larger`);
    const command = new UploadPartCommand({
      Bucket: this.options.bucket,
      Key: this.options.key,
      UploadId: this.uploadId,
      PartNumber: partNumber,
      Body: body,
      ContentLength: body.length,
    });
    if (!this.options.signPayload) command.middlewareStack.add(unsignedPayload, { step: 'build', name: 'siloUnsignedPayload' });
    const upload = this.options.client
      .send(command)
      .then((result) => {
        if (!result.ETag) throw new Error(`object store returned no ETag for part ${partNumber}`);
        this.completed.push({ PartNumber: partNumber, ETag: result.ETag });
      })
      .catch((error) => {
        this.failure ??= classifyS3Error(error, `uploading part ${partNumber} of s3://${this.options.bucket}/${this.options.key}`);
      })
      .finally(() => {
        this.inFlight.delete(upload);
        if (this.spare.length <= (this.options.concurrency ?? 3)) this.spare.push(buffer);
      });
    this.inFlight.add(upload);
    // Backpressure: hold the writer until a slot frees, so memory stays bounded.
    while (this.inFlight.size >= (this.options.concurrency ?? 3)) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.bytesWritten += chunk.length;
    let offset = 0;
    // Copy into a reusable part buffer; one memcpy per byte is cheaper than the garbage of concatenating chunks.
    const fill = (): void => {
      while (offset < chunk.length) {
        const size = this.nextPartSize();
        this.current ??= this.partBuffer(size);
        const n = Math.min(size - this.currentBytes, chunk.length - offset);
        chunk.copy(this.current, this.currentBytes, offset, offset + n);
        this.currentBytes += n;
        offset += n;
        if (this.currentBytes === size) {
          const full = this.current;
          this.current = undefined;
          this.currentBytes = 0;
          return void this.uploadPart(full, size).then(fill, done);
        }
      }
      done();
    };
    fill();
  }

  override _final(done: (error?: Error | null) => void): void {
    (async () => {
      if (!this.uploadId && this.partNumber === 0) {
        const body = this.current ? this.current.subarray(0, this.currentBytes) : Buffer.alloc(0);
        await this.options.client
          .send(new PutObjectCommand({ ...this.objectParams, Body: body, ContentLength: body.length }))
          .catch((error) => {
            throw classifyS3Error(error, `uploading s3://${this.options.bucket}/${this.options.key}`);
          });
        return;
      }
      if (this.current && this.currentBytes > 0) await this.uploadPart(this.current, this.currentBytes);
      await Promise.all(this.inFlight);
      if (this.failure) throw this.failure;
      const parts = [...this.completed].sort((a, b) => a.PartNumber - b.PartNumber);
      await this.options.client
        .send(
          new CompleteMultipartUploadCommand({
            Bucket: this.options.bucket,
            Key: this.options.key,
            UploadId: this.uploadId,
            MultipartUpload: { Parts: parts },
          }),
        )
        .catch((error) => {
          throw classifyS3Error(error, `completing the upload of s3://${this.options.bucket}/${this.options.key}`);
        });
    })().then(() => done(), done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    const uploadId = this.uploadId;
    if (!error || !uploadId) return done(error);
    // Wait for parts in flight, then abort, so nothing lands after the abort. The store may be the
    // thing that failed (restarting, unreachable): keep trying for abortRetryMs so a store that comes
    // back is cleaned; past that, the bucket's AbortIncompleteMultipartUpload lifecycle rule is the backstop.
    const abort = async () => {
      // The window bounds each try too: a store that went silent holds a request for the SDK's retries of the stall
      // timeout (five minutes or more by default), which would report the backup's failure that much later.
      const cleanupWindow = AbortSignal.timeout(this.options.abortRetryMs ?? 60_000);
      for (let attempt = 0; ; attempt++) {
        try {
          await this.options.client.send(
            new AbortMultipartUploadCommand({ Bucket: this.options.bucket, Key: this.options.key, UploadId: uploadId }),
            { abortSignal: cleanupWindow },
          );
          return;
        } catch (abortError) {
          const gone = ['NoSuchUpload', 'NoSuchKey'].includes((abortError as { name?: string }).name ?? '');
          if (gone || cleanupWindow.aborted) return;
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000 * 2 ** attempt, 5000)));
        }
      }
    };
    Promise.allSettled(this.inFlight)
      .then(abort)
      .finally(() => done(error));
  }
}
