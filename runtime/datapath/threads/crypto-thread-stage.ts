import { Transform, type TransformCallback } from 'node:stream';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { AgeDataDamagedError, AgeKeyError, parseIdentities, parseRecipient, type AgeIdentity } from '../age/age-keys.js';
import { buildHeader, parseHeaderFor, payloadKey } from '../age/age-header.js';
import { CRYPTO_THREAD_SOURCE } from './crypto-thread-source.js';
import { ownsItsMemory, READ_BUFFER_BYTES, ReadBufferPool } from '../../objectstore/read-buffer-pool.js';

/** Bytes handed to the thread at once: large enough that messages cost nothing per byte. */
const BATCH = READ_BUFFER_BYTES;
/**
 * Batches inside the thread at once. Two left each thread waiting for the other to be scheduled on a
 * busy 2-core machine (about 250 MB/s); four keep both busy (about 600 MB/s). Bounds the stage to a few MiB.
 */
const MAX_IN_FLIGHT = 4;
const NONCE = 16;

export interface CryptoThreadStageOptions {
  /** Seal (encrypt) to these age X25519 recipients. */
  readonly recipients?: string[];
  /** Open (decrypt) with this age identity file's contents. Never logged. */
  readonly identity?: string;
  /** SHA256 of the bytes coming in (restore: the stored bytes) or going out (backup: the stored bytes). */
  readonly digest?: 'input' | 'output';
  /**
   * Decryption: SHA256 of each recipient the file was sealed to (metadata.json's recipientFingerprints).
   * When the header does not open although one of them is the identity's own recipient, the header was
   * damaged (AgeDataDamagedError), not opened with a wrong key (AgeIdentityMismatchError).
   */
  readonly recipientFingerprints?: readonly string[];
  /** Called with the bytes output so far, after each output. */
  readonly onProgress?: (bytesOut: number) => void;
  /**
   * Decryption into a restore command: the thread decompresses and writes the output to this pipe
   * itself, and nothing comes out of the stage's readable side (decision 0042). `verify` sees the
   * digest before the thread writes the last buffer it held back; throwing there keeps it back.
   */
  readonly deliver?: { readonly fd: number; readonly decompress: 'zstd' | 'none'; readonly verify: (sha256: string) => void };
  /**
   * The pool the input's buffers came from (an object store's bulk reads, decision 0024). With it, the stage owns
   * every input chunk that is one whole pool buffer: it goes to the thread by transfer instead of a copy (the caller's
   * Buffer is detached), and back into the pool once spent. Batches are taken from the pool too. Without it, input
   * chunks are always copied and the caller may reuse them.
   */
  readonly buffers?: ReadBufferPool;
}

/** The thread's delivery failed: writing to the command's pipe (`write`, e.g. EPIPE) or decompressing (`decompress`). */
export class DeliveryError extends Error {
  constructor(
    readonly stage: 'write' | 'decompress',
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

const zstdBindingPath = () => createRequire(import.meta.url).resolve('zstd-napi/binding.js');

const newThread = () => new Worker(CRYPTO_THREAD_SOURCE, { eval: true, execArgv: [], stdout: false, stderr: false });

/** Threads started ahead of a stage (withThreadsAhead), with the error one met while it waited, if any. */
const ahead: Array<{ worker: Worker; error?: Error }> = [];

/**
 * Runs `work` with `count` stage threads started now, for the stages it is about to build: a thread takes 50–80 ms
 * to boot, which a restore spends loading its store's SDK and reading metadata.json instead of waiting for it once
 * the first bytes arrive (bench:datapath: the main thread sat idle that long before the first batch). They hold no
 * key and no data until a stage takes one; unreferenced, they never keep the process alive; the ones no stage took
 * are stopped when `work` ends.
 */
export async function withThreadsAhead<T>(count: number, work: () => Promise<T>): Promise<T> {
  for (let i = 0; i < count; i++) {
    const entry: (typeof ahead)[number] = { worker: newThread() };
    entry.worker.on('error', (error) => (entry.error = error));
    entry.worker.unref();
    ahead.push(entry);
  }
  try {
    return await work();
  } finally {
    for (const { worker } of ahead.splice(0)) void worker.terminate();
  }
}

/** Threads started ahead that no stage has taken yet. */
export const threadsAhead = (): number => ahead.length;

type Reply =
  | { t: 'out'; out?: Uint8Array; back?: ArrayBuffer }
  | { t: 'end'; out?: Uint8Array; sha256?: string }
  | { t: 'committed' }
  | { t: 'error'; message: string; age: boolean; code?: string; stage?: 'write' | 'decompress' };

/**
 * age encryption or decryption and SHA256, on a worker thread so they do not
 * compete with the upload, TLS and compression for the main thread. Input is
 * copied into 1 MiB batches whose buffers travel to the thread and back
 * (transferred, not cloned); the output is one transferred buffer per batch.
 * Backpressure: the writer is held while MAX_IN_FLIGHT batches are in the
 * thread, and (by Transform) while the readable side is over its high-water mark. See docs/decisions/0012.
 */
export class CryptoThreadStage extends Transform {
  bytesIn = 0;
  bytesOut = 0;
  private readonly identities?: AgeIdentity[];
  private worker?: Worker;
  /** Delivering only: the thread that decompresses and writes to the restore command. */
  private deliverer?: Worker;
  private batch?: Buffer;
  private batchLength = 0;
  private readonly pool: ReadBufferPool;
  private inFlight = 0;
  private waiting?: TransformCallback;
  private ending?: TransformCallback;
  private header?: Buffer;
  private opened = false;
  private digestHex?: string;
  private finished = false;

  constructor(private readonly options: CryptoThreadStageOptions) {
    super({ readableHighWaterMark: BATCH, writableHighWaterMark: 256 * 1024 });
    this.pool = options.buffers ?? new ReadBufferPool(MAX_IN_FLIGHT);
    if (options.recipients && options.identity) throw new Error('a crypto stage either encrypts or decrypts, not both');
    // Parse keys now so a bad one fails before any byte moves.
    if (options.recipients) {
      if (!options.recipients.length) throw new AgeKeyError('age encryption needs at least one recipient');
      options.recipients.forEach(parseRecipient);
    }
    if (options.identity !== undefined) this.identities = parseIdentities(options.identity);
    // Delivering, the readable side carries nothing; flowing, it still ends, so a pipeline can finish on it.
    if (options.deliver) this.resume();
  }

  /** Hex SHA256 of the digested side; available once the stream has ended. */
  get sha256(): string {
    if (!this.digestHex) throw new Error('sha256 requested before the stream ended');
    return this.digestHex;
  }

  /** Bytes on the digested side (the stored bytes). */
  get bytes(): number {
    return this.options.digest === 'input' ? this.bytesIn : this.bytesOut;
  }

  private spawnThread(role: string): Worker {
    const taken = ahead.shift();
    const worker = taken?.worker ?? newThread();
    worker.ref();
    // A thread that failed while it waited fails this stage as one started now would.
    if (taken?.error) queueMicrotask(() => this.destroy(taken.error));
    worker.on('message', (reply: Reply) => this.onReply(reply));
    worker.on('error', (error) => this.destroy(error));
    worker.on('exit', (code) => {
      if (!this.finished && !this.destroyed) this.destroy(new Error(`the ${role} thread exited unexpectedly (code ${code})`));
    });
    return worker;
  }

  /** Delivering: a second thread decompresses and writes to the command, fed by the crypto thread over a channel. */
  private startDelivery(deliver: NonNullable<CryptoThreadStageOptions['deliver']>): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.deliverer = this.spawnThread('delivery');
    const zstdBinding = deliver.decompress === 'zstd' ? zstdBindingPath() : undefined;
    this.deliverer.postMessage({ t: 'init-delivery', port: port2, fd: deliver.fd, decompress: deliver.decompress, zstdBinding }, [port2]);
    return port1;
  }

  private start(): Worker {
    const worker = this.spawnThread('crypto');
    const forward = this.options.deliver && this.startDelivery(this.options.deliver);
    const mode = this.options.recipients ? 'seal' : this.identities ? 'open' : 'none';
    let key: Buffer | undefined;
    let prefix: Buffer | undefined;
    if (this.options.recipients) {
      const { header, fileKey } = buildHeader(this.options.recipients);
      const nonce = randomBytes(NONCE);
      key = payloadKey(fileKey, nonce);
      prefix = Buffer.concat([header, nonce]);
    }
    const init = {
      t: 'init',
      mode,
      key,
      hashInput: this.options.digest === 'input',
      hashOutput: this.options.digest === 'output',
      forward,
    };
    worker.postMessage(init, forward ? [forward] : []);
    this.worker = worker;
    if (prefix) this.post({ t: 'emit', buf: new Uint8Array(prefix) });
    return worker;
  }

  private post(message: { t: string; buf?: ArrayBuffer | Uint8Array; length?: number; key?: Buffer }, transfer: ArrayBuffer[] = []): void {
    const worker = this.worker ?? this.start();
    if (message.t === 'data' || message.t === 'emit') this.inFlight++;
    worker.ref();
    worker.postMessage(message, transfer);
  }

  private onReply(reply: Reply): void {
    if (this.destroyed) return;
    if (reply.t === 'error') return this.fail(threadError(reply));
    if (reply.t !== 'committed' && reply.out?.byteLength) {
      const out = Buffer.from(reply.out.buffer, reply.out.byteOffset, reply.out.byteLength);
      this.bytesOut += out.length;
      this.push(out);
      this.options.onProgress?.(this.bytesOut);
    }
    if (reply.t === 'end' && this.options.deliver) return this.commit(reply.sha256!);
    if (reply.t === 'end' || reply.t === 'committed') {
      this.finished = true;
      this.digestHex ??= reply.t === 'end' ? reply.sha256 : undefined;
      this.stopThreads();
      const done = this.ending!;
      this.ending = undefined;
      done();
      return;
    }
    this.inFlight--;
    if (reply.back) this.pool.give(Buffer.from(reply.back));
    if (this.inFlight === 0 && !this.ending) this.worker?.unref();
    this.release();
  }

  private stopThreads(): void {
    void this.worker?.terminate();
    void this.deliverer?.terminate();
  }

  /** An error while _flush waits goes through its callback, as a Transform's flush errors must; else it destroys. */
  private fail(error: Error): void {
    const ending = this.ending;
    this.ending = undefined;
    this.stopThreads();
    if (ending) ending(error);
    else this.destroy(error);
  }

  /** Delivering: the thread writes what it held back only once the digest passed `verify`. */
  private commit(sha256: string): void {
    this.digestHex = sha256;
    try {
      this.options.deliver!.verify(sha256);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.deliverer!.postMessage({ t: 'commit' });
  }

  /**
   * Lets the writer continue once the thread has room. The readable side needs nothing here:
   * Transform itself holds a late callback while its buffer is over the high-water mark.
   */
  private release(): void {
    if (!this.waiting || this.inFlight >= MAX_IN_FLIGHT) return;
    const done = this.waiting;
    this.waiting = undefined;
    done();
  }

  private sendBatch(): void {
    if (!this.batch || !this.batchLength) return;
    const buf = this.batch.buffer as ArrayBuffer;
    this.post({ t: 'data', buf, length: this.batchLength }, [buf]);
    this.batch = undefined;
    this.batchLength = 0;
  }

  private enqueue(data: Buffer): void {
    for (let offset = 0; offset < data.length;) {
      // Batches own their whole ArrayBuffer (allocUnsafeSlow), so transferring one detaches nothing else.
      this.batch ??= this.pool.take();
      const n = data.copy(this.batch, this.batchLength, offset);
      this.batchLength += n;
      offset += n;
      if (this.batchLength === BATCH) this.sendBatch();
    }
  }

  /** Hands a chunk that owns its memory to the thread as it is, after any batch begun before it. */
  private transfer(data: Buffer): void {
    this.sendBatch();
    const buf = data.buffer as ArrayBuffer;
    this.post({ t: 'data', buf, length: data.length }, [buf]);
  }

  /** Decryption: the header is parsed here (it needs the identities); its bytes are only hashed. */
  private openHeader(data: Buffer): Buffer | undefined {
    this.header = this.header ? Buffer.concat([this.header, data]) : data;
    const parsed = parseHeaderFor(this.header, this.identities!, this.options.recipientFingerprints);
    if (!parsed.complete || this.header.length < parsed.length + NONCE) return undefined;
    const end = parsed.length + NONCE;
    this.post({ t: 'skip', buf: new Uint8Array(this.header.subarray(0, end)) });
    this.post({ t: 'key', key: payloadKey(parsed.fileKey, this.header.subarray(parsed.length, end)) });
    this.opened = true;
    const rest = this.header.subarray(end);
    this.header = undefined;
    return rest;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.bytesIn += chunk.length;
      let data: Buffer | undefined = chunk;
      if (this.identities && !this.opened) data = this.openHeader(chunk);
      if (data && this.options.buffers && data.length === READ_BUFFER_BYTES && ownsItsMemory(data)) this.transfer(data);
      else if (data?.length) this.enqueue(data);
      else if (!this.worker) this.start();
    } catch (error) {
      return done(error as Error);
    }
    this.waiting = done;
    this.release();
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.identities && !this.opened) throw new AgeDataDamagedError('age file ends before its payload: it was truncated');
      this.sendBatch();
      this.ending = done;
      this.post({ t: 'end' });
    } catch (error) {
      done(error as Error);
    }
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.stopThreads();
    done(error);
  }
}

/** The thread opens payload chunks only after the header opened: an age error there is damaged data. */
function threadError(reply: { message: string; age: boolean; code?: string; stage?: 'write' | 'decompress' }): Error {
  if (reply.age) return new AgeDataDamagedError(reply.message);
  if (reply.stage) return new DeliveryError(reply.stage, reply.message, reply.code);
  return new Error(`crypto thread: ${reply.message}`);
}
