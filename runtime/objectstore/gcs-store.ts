import { buffer } from 'node:stream/consumers';
import { PassThrough, Readable, Writable } from 'node:stream';
import { IdempotencyStrategy, Storage, type Bucket } from '@google-cloud/storage';
import { ObjectStoreError, STALL_TIMEOUT_MS, type ObjectStore, type StoreFailure } from './object-store.js';

export interface GcsStoreConfig {
  readonly bucket: string;
  /** A JSON API endpoint other than Google's, e.g. fake-gcs-server. */
  readonly apiEndpoint?: string;
  readonly projectId?: string;
  /** Contents of a service-account JSON key file. Omitted: anonymous (emulators only). Never logged. */
  readonly credentials?: string;
  /** Bytes per resumable-upload request (rounded up to 256 KiB), buffered once in memory. @default 16 MiB */
  readonly chunkBytes?: number;
  /** How long one request may take before it fails as `network`. @default STALL_TIMEOUT_MS */
  readonly stallTimeoutMs?: number;
  /**
   * The slowest upload link a chunk is given time for, on top of the stall timeout (the SDK's timeout is the whole
   * request's, not its idle time as S3's and Azure's are). @default GCS_SLOWEST_UPLOAD_BYTES_PER_S
   */
  readonly slowestUploadBytesPerSecond?: number;
}

/**
 * 64 KiB/s, half a megabit: a 16 MiB chunk gets 256 s more than the stall timeout. With the stall timeout alone, a
 * link under 280 KB/s failed every chunk of every upload after a minute (decision 0026, amended).
 */
export const GCS_SLOWEST_UPLOAD_BYTES_PER_S = 64 * 1024;

/** How long a resumable upload's requests may take: the stall timeout, plus a whole chunk at the slowest link. */
export const gcsUploadTimeoutMs = (stallMs: number, chunkBytes: number, slowestBytesPerSecond: number): number =>
  stallMs + Math.ceil((chunkBytes / slowestBytesPerSecond) * 1000);

const MiB = 1024 * 1024;
/** GCS requires every chunk but the last to be a multiple of 256 KiB. */
const CHUNK_GRANULE = 256 * 1024;

const GCS_NETWORK_CODES = [
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
];
const GCS_NETWORK_MESSAGE = /socket hang up|ECONNRESET|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|timed? ?out|network|^fetch failed$|^terminated$/i;

/** The failure class of a GCS HTTP status, socket code or message, and the hint that goes with it. */
function gcsFailureOf(
  status: number | undefined,
  code: string,
  message: string,
  missing: 'bucket' | 'object',
): { failure: StoreFailure; hint: string } {
  if (status === 401 || status === 403 || /invalid_grant|invalid_client|unauthorized_client/i.test(message)) {
    return { failure: 'auth', hint: '; check the service-account key in the credentials Secret and its access to the bucket' };
  }
  if (status === 404) {
    const hint = missing === 'bucket' || /bucket/i.test(message) ? '; create the bucket or fix its name' : '; no object has this key';
    return { failure: 'not-found', hint };
  }
  if (status === 507 || /quota|storage ?full|insufficient storage/i.test(message)) {
    return { failure: 'storage-full', hint: '; free space in the bucket or raise its quota' };
  }
  if (GCS_NETWORK_CODES.includes(code) || GCS_NETWORK_MESSAGE.test(message)) {
    return { failure: 'network', hint: '; check that the endpoint is reachable' };
  }
  return { failure: 'other', hint: '' };
}

/** Maps SDK, HTTP and socket errors to a failure class and one sentence without secrets. */
export function classifyGcsError(error: any, action: string, missing: 'bucket' | 'object' = 'bucket'): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const status = Number(error?.code ?? error?.response?.status ?? error?.status) || undefined;
  // fetch (undici) wraps the socket error: TypeError('fetch failed' | 'terminated') with a cause.
  const message = String(error?.message ?? error);
  // node-fetch's timeouts (the SDK's `timeout`) carry no code and name the URL, which for an upload holds its
  // session id, a credential: keep only that it timed out.
  const timedOut = /^network timeout at:|^Response timeout while trying to fetch/.test(message);
  const code = timedOut
    ? 'ETIMEDOUT'
    : typeof error?.code === 'string'
      ? error.code
      : typeof error?.cause?.code === 'string'
        ? error.cause.code
        : '';
  const { failure, hint } = gcsFailureOf(status, code, message, missing);
  // Only the status or socket code: GCS bodies can echo request details, and key material must never leak.
  const detail = status ? `HTTP ${status}` : code || message.split('\n')[0].slice(0, 200);
  return new ObjectStoreError(failure, `${action} failed: ${detail}${hint}`, { cause: error });
}

/** Parses the key file without echoing it: V8's JSON errors quote the input, which here holds a private key. */
function parseServiceAccount(json: string): Record<string, unknown> {
  try {
    const parsed = JSON.parse(json);
    if (parsed && typeof parsed === 'object' && typeof parsed.client_email === 'string' && typeof parsed.private_key === 'string')
      return parsed;
  } catch {
    /* reported below without the input */
  }
  throw new ObjectStoreError(
    'auth',
    "the GCS credentials are not a service-account JSON key (client_email and private_key); put the key file's contents in the credentials Secret",
  );
}

export function createGcsClient(config: GcsStoreConfig): Storage {
  const timeout = config.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  const storage = new Storage({
    ...(config.projectId ? { projectId: config.projectId } : {}),
    ...(config.apiEndpoint ? { apiEndpoint: config.apiEndpoint } : {}),
    ...(config.credentials
      ? { credentials: parseServiceAccount(config.credentials), useAuthWithCustomEndpoint: !!config.apiEndpoint }
      : {}),
    // Backup keys are unique per run, so retrying an upload cannot overwrite anyone
    // else's object; the SDK's default retries writes only with a generation precondition.
    // Delays 1, 2, 4, 8, 8 s (plus jitter): an unreachable endpoint fails in about 30 s, not the SDK default's 65.
    retryOptions: { idempotencyStrategy: IdempotencyStrategy.RetryAlways, maxRetries: 5, maxRetryDelay: 8 },
  });
  // Every request the SDK makes passes its interceptors, the resumable upload's too (session, chunks, status), which
  // take no other options: without a timeout here, a store that went silent held an upload until the Job's deadline.
  storage.interceptors.push({ request: (options: any) => ({ ...options, timeout }) });
  return storage;
}

/**
 * Google Cloud Storage through its JSON API. Streams are written with a chunked
 * resumable upload: the object appears only when the last chunk, which states the
 * total size, is accepted, and a failed stream cancels its upload session.
 * See docs/decisions/0120-gcs-chunked-resumable-uploads.md.
 */
export class GcsStore implements ObjectStore {
  readonly storage: Storage;
  private readonly bucket: Bucket;

  constructor(
    private readonly config: GcsStoreConfig,
    storage?: Storage,
  ) {
    this.storage = storage ?? createGcsClient(config);
    this.bucket = this.storage.bucket(config.bucket);
  }

  private get stallTimeoutMs(): number {
    return this.config.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  }

  url(key: string): string {
    return `gs://${this.config.bucket}/${key}`;
  }

  createWriteStream(key: string): Writable {
    const chunkSize = Math.max(CHUNK_GRANULE, Math.ceil((this.config.chunkBytes ?? 16 * MiB) / CHUNK_GRANULE) * CHUNK_GRANULE);
    const slowest = this.config.slowestUploadBytesPerSecond ?? GCS_SLOWEST_UPLOAD_BYTES_PER_S;
    return new GcsUploadSink(this.bucket, key, this.url(key), chunkSize, gcsUploadTimeoutMs(this.stallTimeoutMs, chunkSize, slowest));
  }

  /**
   * Reads through the JSON API's media endpoint with Node's fetch, not the SDK: the SDK's
   * read stream neither ends nor fails when the connection drops mid-body (it hung
   * forever in our test), while fetch fails with a socket error that resumableRead
   * retries from the last byte. See docs/decisions/0123-gcs-reads-with-fetch.md.
   */
  async createReadStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const action = `reading ${this.url(key)}`;
    if (range?.end !== undefined && range.end <= range.start) return Readable.from([]);
    const url = `${this.storage.apiEndpoint}/storage/v1/b/${encodeURIComponent(this.config.bucket)}/o/${encodeURIComponent(key)}?alt=media`;
    const headers = new Headers(
      this.config.credentials
        ? await this.storage.authClient.getRequestHeaders(url).catch((error) => {
            throw classifyGcsError(error, action);
          })
        : {},
    );
    // Identity: stored bytes must come back exactly as stored, never transcoded.
    headers.set('accept-encoding', 'identity');
    if (range) headers.set('range', `bytes=${range.start}-${range.end !== undefined ? range.end - 1 : ''}`);
    // fetch's own limits are undici's five minutes for the headers and between body bytes: the store's silence is
    // timed here instead, from the request and then from each piece of the body.
    const stall = new AbortController();
    const stallTimer = setTimeout(
      () => stall.abort(Object.assign(new Error(`no bytes from the store for ${this.stallTimeoutMs} ms`), { code: 'ETIMEDOUT' })),
      this.stallTimeoutMs,
    );
    let response: Response;
    try {
      response = await fetch(url, { headers, signal: stall.signal });
    } catch (error) {
      clearTimeout(stallTimer);
      throw classifyGcsError(stall.signal.aborted ? stall.signal.reason : error, action);
    }
    if (!response.ok || !response.body) clearTimeout(stallTimer);
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw await this.classifyMissing({ code: response.status, message: response.statusText }, action);
    }
    if (!response.body) return Readable.from([]);
    const body = Readable.fromWeb(response.body as never, { highWaterMark: 1024 * 1024 });
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    stallTimer.refresh();
    body.on('data', () => stallTimer.refresh());
    body.on('error', (error) => out.destroy(classifyGcsError(stall.signal.aborted ? stall.signal.reason : error, action)));
    out.on('close', () => {
      clearTimeout(stallTimer);
      if (!body.destroyed) body.destroy();
    });
    return body.pipe(out);
  }

  async putSmall(key: string, body: Buffer, contentType = 'application/json'): Promise<void> {
    try {
      await this.bucket.file(key).save(body, { resumable: false, validation: false, contentType });
    } catch (error) {
      throw classifyGcsError(error, `writing ${this.url(key)}`);
    }
  }

  async getSmall(key: string): Promise<Buffer> {
    return buffer(await this.createReadStream(key));
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const [metadata] = await this.bucket.file(key).getMetadata();
      return Number(metadata.size);
    } catch (error) {
      const classified = await this.classifyMissing(error, `checking ${this.url(key)}`);
      if (classified.failure === 'not-found' && !classified.message.includes('create the bucket')) return undefined;
      throw classified;
    }
  }

  /**
   * A 404 on an object says "Not Found" whether the object or the bucket is missing
   * (fake-gcs-server; GCS words it differently), so ask about the bucket before blaming the key.
   */
  private async classifyMissing(error: unknown, action: string): Promise<ObjectStoreError> {
    const classified = classifyGcsError(error, action, 'object');
    if (classified.failure !== 'not-found') return classified;
    const [exists] = await this.bucket.exists().catch(() => [true]);
    return exists ? classified : classifyGcsError(error, action, 'bucket');
  }

  async list(prefix: string): Promise<string[]> {
    try {
      // autoPaginate follows nextPageToken; names only, so memory is one string per key.
      const [files] = await this.bucket.getFiles({ prefix, autoPaginate: true });
      return files.map((file) => file.name).sort();
    } catch (error) {
      throw classifyGcsError(error, `listing ${this.url(prefix)}`);
    }
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      try {
        await this.bucket.file(key).delete({ ignoreNotFound: true });
      } catch (error) {
        throw classifyGcsError(error, `deleting ${this.url(key)}`);
      }
    }
  }
}

/**
 * Wraps the SDK's resumable-upload stream. In chunked mode the SDK buffers at most
 * one chunk and sends the total size only with the last chunk, after the writer
 * ended; a destroyed stream therefore never finalizes an object. On failure the
 * session URI is DELETEd (GCS answers 499), so nothing lingers for a week either,
 * and any generation of the object that appeared during this upload is deleted.
 */
class GcsUploadSink extends Writable {
  private readonly upload: Writable;
  private sessionUri?: string;
  private cancelled = false;
  /**
   * Ends the write the SDK has not taken yet, once. An upload that dies meanwhile (its session could not be created:
   * the store refused the connection) never calls it back, so the failure ends it; else the backup would wait forever.
   */
  private pendingWrite?: (error?: Error | null) => void;
  private failure?: ObjectStoreError;
  private readonly uploadClosed: Promise<void>;
  /** The object's generation before we started: null when absent, undefined when unknown. */
  private readonly generationBefore: Promise<string | null | undefined>;

  constructor(
    private readonly bucket: Bucket,
    private readonly key: string,
    private readonly objectUrl: string,
    /** A multiple of CHUNK_GRANULE. */
    chunkSize: number,
    timeoutMs: number,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.generationBefore = bucket
      .file(key)
      .getMetadata()
      .then(
        ([metadata]) => String(metadata.generation),
        (error) => (Number(error?.code) === 404 ? null : undefined),
      );
    // The file's interceptors come after the client's, so this timeout is the one the upload's requests carry (the SDK
    // takes them once per upload, for its session, chunk and status requests alike).
    const file = bucket.file(key);
    file.interceptors.push({ request: (options: any) => ({ ...options, timeout: timeoutMs }) });
    this.upload = file.createWriteStream({
      resumable: true,
      chunkSize,
      validation: false,
      contentType: 'application/octet-stream',
    });
    this.upload.on('uri', (uri: string) => {
      this.sessionUri = uri;
      // A session created after we gave up (createURI was in flight) is cancelled too.
      if (this.cancelled) void this.cancel(uri);
      this.emit('session', uri);
    });
    this.upload.on('error', (error: any) => {
      // Before a session exists a 404 means the bucket; after, it means the session is gone.
      this.failure ??=
        this.sessionUri && Number(error?.code ?? error?.response?.status) === 404
          ? new ObjectStoreError(
              'network',
              `uploading ${objectUrl} failed: the upload session is gone (HTTP 404), usually after a dropped connection; retry the backup`,
              { cause: error },
            )
          : classifyGcsError(error, `uploading ${objectUrl}`);
      this.pendingWrite?.(this.failure);
    });
    this.uploadClosed = new Promise((resolve) => this.upload.once('close', () => resolve()));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.failure) return done(this.failure);
    // The SDK calls back only once the chunk is taken into its one-chunk buffer: that is the backpressure.
    const end = (error?: Error | null) => {
      if (this.pendingWrite !== end) return; // ended already, by the upload's failure
      this.pendingWrite = undefined;
      done(error);
    };
    this.pendingWrite = end;
    this.upload.write(chunk, (error) => end(error ? (this.failure ?? classifyGcsError(error, `uploading ${this.objectUrl}`)) : undefined));
  }

  override _final(done: (error?: Error | null) => void): void {
    if (this.failure) return done(this.failure);
    this.upload.once('finish', () => done());
    this.upload.once('error', () => done(this.failure));
    this.upload.end();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.writableFinished) return done(error);
    this.cancelled = true;
    this.upload.destroy(error ?? new Error(`upload of ${this.objectUrl} was cancelled`));
    this.uploadClosed
      .then(() => (this.sessionUri ? this.cancel(this.sessionUri) : undefined))
      .then(() => this.removeGenerationWeCreated())
      .catch(() => undefined)
      .finally(() => done(error));
  }

  private async cancel(uri: string): Promise<void> {
    this.emit('session-cancelled', await cancelSession(uri));
  }

  /**
   * A failed upload can still have committed something: fake-gcs-server commits a session
   * when the SDK asks for its status after a dropped connection. Delete exactly the
   * generation that appeared during this upload; never one that existed before it.
   */
  private async removeGenerationWeCreated(): Promise<void> {
    const before = await this.generationBefore;
    if (before === undefined) return;
    const [metadata] = await this.bucket
      .file(this.key)
      .getMetadata()
      .catch(() => [undefined]);
    const generation = metadata?.generation === undefined ? undefined : String(metadata.generation);
    if (generation === undefined || generation === before) return;
    await this.bucket.file(this.key, { generation }).delete();
    this.emit('partial-removed', generation);
  }
}

/**
 * The session URI is its own credential, so a plain DELETE cancels it; GCS answers 499.
 * Returns the HTTP status, or 0 when the request failed.
 */
async function cancelSession(uri: string): Promise<number> {
  try {
    return (await fetch(uri, { method: 'DELETE', signal: AbortSignal.timeout(10_000) })).status;
  } catch {
    // Best effort: an uncancelled session expires after a week and never becomes an object.
    return 0;
  }
}
