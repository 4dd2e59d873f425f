import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCompressor, type CompressionOptions } from './stages/compression.js';
import { CryptoThreadStage } from './threads/crypto-thread-stage.js';
import { ProgressReporter } from './stages/progress.js';
import type { ObjectStore } from '../objectstore/object-store.js';

export interface BackupStreamOptions {
  readonly source: Readable;
  readonly store: ObjectStore;
  readonly key: string;
  readonly compression: CompressionOptions;
  /** The source already delivers `compression` (the instance manager compressed it), so it is not compressed again. @default false */
  readonly sourceCompressed?: boolean;
  /** age X25519 recipients; empty or omitted means no encryption. */
  readonly recipients?: string[];
  readonly expectedBytes?: number;
  readonly onProgress?: (progress: { bytes: number; bytesPerSecond: number; elapsedSeconds: number }) => void;
  readonly signal?: AbortSignal;
}

export interface BackupStreamResult {
  readonly sha256: string;
  readonly storedBytes: number;
  readonly sourceBytes: number;
  readonly startedAt: Date;
  readonly stoppedAt: Date;
}

/**
 * source → count → compress → (age + SHA256 on a thread) → object store, with backpressure
 * end to end. The checksum covers exactly the stored bytes. Any failure (source
 * exit status included) destroys the sink, which aborts the upload.
 */
export async function streamBackup(options: BackupStreamOptions): Promise<BackupStreamResult> {
  const startedAt = new Date();
  // Counted by a listener beside the pipe rather than a Transform: one stream hop less per chunk
  // (a TLS source delivers 16 KiB records, about 90,000 of them per 1.4 GB).
  let sourceBytes = 0;
  options.source.on('data', (chunk: Buffer) => {
    sourceBytes += chunk.length;
  });
  const progress = options.onProgress ? new ProgressReporter(options.onProgress) : undefined;
  // age (when there are recipients) and the SHA256 of the stored bytes, together on a worker thread.
  const digest = new CryptoThreadStage({
    recipients: options.recipients?.length ? options.recipients : undefined,
    digest: 'output',
    onProgress: (bytes) => progress?.update(bytes),
  });
  const sink = options.store.createWriteStream(options.key, { expectedBytes: options.expectedBytes });
  try {
    await pipeline(
      (options.sourceCompressed
        ? [options.source, digest, sink]
        : [options.source, createCompressor(options.compression), digest, sink]) as never,
      options.signal ? { signal: options.signal } : {},
    );
  } catch (error) {
    // The sink cleans up (aborts the multipart upload, removes the partial file) in _destroy;
    // wait for it, so a worker that exits on this error leaves nothing behind.
    await closed(sink);
    throw error;
  }
  progress?.update(digest.bytes, true);
  return { sha256: digest.sha256, storedBytes: digest.bytes, sourceBytes, startedAt, stoppedAt: new Date() };
}

function closed(stream: Writable): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}
