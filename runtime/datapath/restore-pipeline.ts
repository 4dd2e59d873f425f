import { Readable, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecompressor, type CompressionAlgorithm } from './stages/compression.js';
import { DigestCounter } from './stages/digest.js';
import { ProcessSink, RestoreCommandError } from './sinks/process-sink.js';
import { CryptoThreadStage, DeliveryError } from './threads/crypto-thread-stage.js';
import { ObjectStoreError, type ObjectStore } from '../objectstore/object-store.js';
import { AgeDataDamagedError } from './age/age-keys.js';

/**
 * The stored bytes are not what the backup wrote: their SHA256 does not match metadata.json
 * (ChecksumMismatchError), or an age payload chunk failed authentication after the header opened
 * with the identity (a key that opens the header opens every intact chunk). Never a key problem.
 */
export class StoredDataDamagedError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'StoredDataDamagedError';
  }
}

export class ChecksumMismatchError extends StoredDataDamagedError {
  constructor(
    key: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      key,
      `checksum mismatch for ${key}: metadata.json records sha256 ${expected.slice(0, 12)}…, the stored bytes hash to ${actual.slice(0, 12)}…; the object was modified or damaged, so nothing was restored`,
    );
    this.name = 'ChecksumMismatchError';
  }
}

/** An age-level sign of damage (AgeDataDamagedError), with the object it came from. */
export const damagedAgeData = (key: string, error: Error) =>
  new StoredDataDamagedError(key, `the stored bytes of ${key} are damaged: ${error.message}; nothing was restored`);

/**
 * Reads an object with ranged requests, resuming from the last byte received
 * after a dropped connection, up to `attempts` times.
 */
export function resumableRead(store: ObjectStore, key: string, attempts = 5, onBytes?: (bytes: number) => void): Readable {
  let offset = 0;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let attempt = 1; ; attempt++) {
      try {
        const stream = await store.createReadStream(key, offset ? { start: offset } : undefined);
        for await (const chunk of stream) {
          offset += (chunk as Buffer).length;
          onBytes?.(offset);
          yield chunk as Buffer;
        }
        return;
      } catch (error) {
        const retryable = !(error instanceof ObjectStoreError) || error.failure === 'network';
        if (!retryable || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** attempt, 8000)));
      }
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/**
 * Holds back the last chunk of plaintext and releases it, and the end of the
 * stream, only when `verify()` passes. The consumer therefore never sees a clean
 * end of a stream whose stored bytes did not match metadata.json.
 */
class VerifiedEnd extends Transform {
  private held?: Buffer;
  constructor(private readonly verify: () => void) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (this.held) this.push(this.held);
    this.held = chunk;
    done();
  }
  override _flush(done: TransformCallback): void {
    try {
      this.verify();
      if (this.held) this.push(this.held);
      done();
    } catch (error) {
      done(error as Error);
    }
  }
}

export interface RestoreStreamOptions {
  readonly store: ObjectStore;
  readonly key: string;
  readonly expectedSha256: string;
  readonly compression: CompressionAlgorithm;
  /** Contents of the age identity file, when the backup is encrypted. Never logged. */
  readonly identity?: string;
  /** metadata.json's recipientFingerprints: tells a damaged age header from a wrong key. */
  readonly recipientFingerprints?: readonly string[];
  /** Called with the stored bytes received so far (progress). */
  readonly onStoredBytes?: (bytes: number) => void;
  readonly sink: Writable;
  readonly signal?: AbortSignal;
}

/**
 * object store → (SHA256 + age, on a thread) → decompress → (verified end) → sink. Into a
 * restore command reading a FIFO (ProcessSink's `fifo` mode), the thread also decompresses and
 * writes to the command itself, and the plaintext never reaches the main thread (decision 0042).
 */
export async function streamRestore(options: RestoreStreamOptions): Promise<{ storedBytes: number }> {
  const { sink } = options;
  if (sink instanceof ProcessSink && sink.pipeFd !== undefined && options.compression !== 'gzip')
    return streamRestoreThroughThread(options, sink, sink.pipeFd);
  // The SHA256 covers the bytes as stored, before decryption.
  const digest = new CryptoThreadStage({
    identity: options.identity,
    recipientFingerprints: options.recipientFingerprints,
    digest: 'input',
    buffers: options.store.readBuffers,
  });
  const verifiedEnd = new VerifiedEnd(() => assertStoredSha256(options, digest.sha256));
  try {
    await pipeline(
      [
        resumableRead(options.store, options.key, 5, options.onStoredBytes),
        digest,
        createDecompressor(options.compression),
        verifiedEnd,
        options.sink,
      ] as never,
      options.signal ? { signal: options.signal } : {},
    );
  } catch (error) {
    if (error instanceof AgeDataDamagedError) throw damagedAgeData(options.key, error);
    if (error instanceof RestoreCommandError) throw (await storedDataMismatch(options)) ?? error;
    throw error;
  }
  return { storedBytes: digest.bytes };
}

async function streamRestoreThroughThread(options: RestoreStreamOptions, sink: ProcessSink, fd: number): Promise<{ storedBytes: number }> {
  const verify = (sha256: string) => assertStoredSha256(options, sha256);
  // The sink is outside the pipeline here: its failures reach this function through closeAndWait or the threads.
  sink.on('error', () => undefined);
  const stage = new CryptoThreadStage({
    identity: options.identity,
    recipientFingerprints: options.recipientFingerprints,
    digest: 'input',
    buffers: options.store.readBuffers,
    deliver: { fd, decompress: options.compression === 'zstd' ? 'zstd' : 'none', verify },
  });
  try {
    await pipeline(
      [resumableRead(options.store, options.key, 5, options.onStoredBytes), stage] as never,
      options.signal ? { signal: options.signal } : {},
    );
    await sink.closeAndWait();
  } catch (error) {
    // With an error, the command is killed: it must never see the end of its input as a clean one.
    sink.destroy(error as Error);
    throw await deliveryFailure(options, sink, error as Error);
  }
  return { storedBytes: stage.bytes };
}

/**
 * The root cause of a failed delivery: damaged age data as such; a command that stopped reading (EPIPE)
 * with its exit status. When the command or zstd may have stopped on bad bytes, damaged stored bytes win.
 */
async function deliveryFailure(options: RestoreStreamOptions, sink: ProcessSink, error: Error): Promise<Error> {
  if (error instanceof AgeDataDamagedError) return damagedAgeData(options.key, error);
  const failure = error instanceof DeliveryError && error.stage === 'write' ? await sink.exitStatusError() : error;
  if (failure instanceof RestoreCommandError || error instanceof DeliveryError) return (await storedDataMismatch(options)) ?? failure;
  return failure;
}

function assertStoredSha256(options: RestoreStreamOptions, sha256: string): void {
  if (sha256 !== options.expectedSha256) throw new ChecksumMismatchError(options.key, options.expectedSha256, sha256);
}

/**
 * A restore target (mbstream checks its own CRCs) or zstd may stop before the checksum is known. Reads
 * the rest of the object then, so damaged stored bytes are reported as the root cause.
 */
async function storedDataMismatch(options: RestoreStreamOptions): Promise<ChecksumMismatchError | undefined> {
  return verifyStoredChecksum(options.store, options.key, options.expectedSha256).then(
    () => undefined,
    (verifyError) => (verifyError instanceof ChecksumMismatchError ? verifyError : undefined),
  );
}

/** Reads the whole object once and compares its SHA256, without using the data. */
export async function verifyStoredChecksum(store: ObjectStore, key: string, expectedSha256: string): Promise<void> {
  const digest = new DigestCounter();
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  await pipeline([resumableRead(store, key), digest, discard] as never);
  if (digest.sha256 !== expectedSha256) throw new ChecksumMismatchError(key, expectedSha256, digest.sha256);
}
