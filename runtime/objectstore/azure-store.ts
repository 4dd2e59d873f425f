import { PassThrough, Readable, Writable } from 'node:stream';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { BlobServiceClient, StorageSharedKeyCredential, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';
import { MAX_PARTS, MiB, partSize } from './part-size.js';
import { ObjectStoreError, STALL_TIMEOUT_MS, type ObjectStore, type StoreFailure } from './object-store.js';

const MAX_AZURE_BLOCK_BYTES = 4000 * MiB;

export interface AzureBlobStoreConfig {
  readonly container: string;
  /** Blob service URL, e.g. https://<account>.blob.core.windows.net or Azurite's http://127.0.0.1:10000/<account>. */
  readonly endpoint?: string;
  readonly accountName?: string;
  /** Shared key; never logged. */
  readonly accountKey?: string;
  /** Alternative to endpoint + account + key; never logged. */
  readonly connectionString?: string;
  /** Blocks uploading at once. @default 3 */
  readonly uploadConcurrency?: number;
  /** Silence on a request's socket before it fails as `network`. @default STALL_TIMEOUT_MS */
  readonly stallTimeoutMs?: number;
}

const AZURE_AUTH_CODES = [
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'InvalidAuthenticationInfo',
  'AccountIsDisabled',
];
const AZURE_NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'REQUEST_SEND_ERROR'];
const AZURE_NETWORK_MESSAGE = /socket hang up|ECONNRESET|ECONNREFUSED|ENOTFOUND|timed? ?out/i;

/** The failure class of an Azure error code or HTTP status, and the hint that goes with it. */
function azureFailureOf(code: string, status: number | undefined, message: string): { failure: StoreFailure; hint: string } {
  if (AZURE_AUTH_CODES.includes(code) || status === 401 || status === 403) {
    return { failure: 'auth', hint: '; check the account name and key (or connection string) in the credentials Secret' };
  }
  if (code === 'ContainerNotFound') return { failure: 'not-found', hint: '; create the container or fix its name' };
  if (['BlobNotFound', 'ResourceNotFound'].includes(code) || status === 404) return { failure: 'not-found', hint: '' };
  if (['InsufficientAccountResources', 'AccountQuotaExceeded'].includes(code) || status === 507) {
    return { failure: 'storage-full', hint: '; free space in the storage account or raise its quota' };
  }
  if (AZURE_NETWORK_CODES.includes(code) || AZURE_NETWORK_MESSAGE.test(message)) {
    return { failure: 'network', hint: '; check that the endpoint is reachable' };
  }
  return { failure: 'other', hint: '' };
}

/** Maps SDK and socket errors to a failure class and one sentence without secrets. */
export function classifyAzureError(error: any, action: string): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const code: string = error?.code ?? error?.details?.errorCode ?? '';
  const status: number | undefined = error?.statusCode;
  const message = String(error?.message ?? error);
  const { failure, hint } = azureFailureOf(code, status, message);
  // The code or status only: service messages carry request ids and, for auth failures, the string that was signed.
  const detail = code || (status ? `HTTP ${status}` : message.split('\n')[0].slice(0, 200));
  return new ObjectStoreError(failure, `${action} failed: ${detail}${hint}`, { cause: error });
}

/**
 * Errors while a download body streams. We pass no abort signal, so an AbortError here is
 * the SDK's reading of a dropped socket ('aborted'): it does not resume those itself, so it
 * becomes 'network' and resumableRead resumes from the last byte.
 */
function classifyBodyError(error: any, action: string): ObjectStoreError {
  if (error?.name === 'AbortError' || /received less data than required/i.test(String(error?.message))) {
    return new ObjectStoreError('network', `${action} failed: the connection dropped mid-download; check that the endpoint is reachable`, {
      cause: error,
    });
  }
  return classifyAzureError(error, action);
}

/**
 * An agent whose sockets fail with ETIMEDOUT after `stallTimeoutMs` without a byte either way. The SDK's
 * `tryTimeoutInMs` only asks the service to give up (a `timeout` query parameter) and its HTTP client sets no
 * timeout of its own, so a store that went silent held a request forever. A socket error is a RestError with
 * that code, which the SDK's retry policy retries like a dropped connection.
 */
function stallingAgent(Base: typeof HttpAgent | typeof HttpsAgent, stallTimeoutMs: number): HttpAgent {
  class StallingAgent extends (Base as typeof HttpAgent) {
    override createConnection(...args: Parameters<HttpAgent['createConnection']>): ReturnType<HttpAgent['createConnection']> {
      const socket = super.createConnection(...args) as Socket;
      socket.on('timeout', () =>
        socket.destroy(Object.assign(new Error(`the store sent and took nothing for ${stallTimeoutMs} ms`), { code: 'ETIMEDOUT' })),
      );
      return socket;
    }
  }
  // `timeout` arms each socket, and re-arms it whenever the agent hands it to the next request (without it Node sets a
  // kept-alive socket's timeout to none, and a reused socket never timed out). A pooled socket that times out idle is
  // destroyed the same way; the agent's error listener on free sockets takes that.
  return new StallingAgent({ keepAlive: true, timeout: stallTimeoutMs });
}

/**
 * Sends every try of every request through a stalling agent. The policy goes into the client's core pipeline
 * once, after the retry policy: every client made from this one (each blob's) shares that pipeline. The SDK has no
 * option for it: its v1 RequestPolicyFactory route re-signs converted requests wrongly (Azurite refused them as
 * AuthorizationFailure), and `additionalPolicies` are added again by every client made, which the pipeline refuses.
 */
function addStallTimeout(container: ContainerClient, stallTimeoutMs: number): ContainerClient {
  const agents = { http: stallingAgent(HttpAgent, stallTimeoutMs), https: stallingAgent(HttpsAgent, stallTimeoutMs) };
  const policy = {
    name: 'siloStallTimeout',
    sendRequest(request: { url: string; agent?: unknown }, next: (request: never) => Promise<unknown>) {
      request.agent ??= request.url.startsWith('https:') ? agents.https : agents.http;
      return next(request as never);
    },
  };
  // `storageClientContext` is protected in the SDK's types only: it is the client's core-client ServiceClient.
  type CorePipeline = { addPolicy(policy: unknown, options: { afterPhase: string }): void };
  (container as unknown as { storageClientContext: { pipeline: CorePipeline } }).storageClientContext.pipeline.addPolicy(policy, {
    afterPhase: 'Retry',
  });
  return container;
}

export function createAzureContainerClient(config: AzureBlobStoreConfig): ContainerClient {
  return addStallTimeout(createAzureServiceClient(config).getContainerClient(config.container), config.stallTimeoutMs ?? STALL_TIMEOUT_MS);
}

function createAzureServiceClient(config: AzureBlobStoreConfig): BlobServiceClient {
  // Whole-operation retries stay with the SDK; a block body is a Buffer, so each try resends the same bytes.
  // Delays 1, 2, 4, 8 s: an unreachable endpoint fails in about 15 s, not the SDK default's 45.
  // tryTimeoutInMs is the service's own timeout (a query parameter); the stalling agent is the client's.
  const retryOptions = { maxTries: 5, tryTimeoutInMs: 120_000, retryDelayInMs: 1_000, maxRetryDelayInMs: 8_000 };
  if (config.connectionString) {
    try {
      return BlobServiceClient.fromConnectionString(config.connectionString, { retryOptions });
    } catch (error) {
      // The SDK's parse errors are fixed sentences that never quote the string, so they are safe to pass on.
      throw new ObjectStoreError(
        'auth',
        `the Azure connection string is not usable (${(error as Error).message}); fix it in the credentials Secret`,
        { cause: error },
      );
    }
  }
  if (!config.accountName || !config.accountKey) {
    throw new ObjectStoreError(
      'other',
      'Azure storage needs an account name and key, or a connection string; set them in the credentials Secret',
    );
  }
  const endpoint = config.endpoint ?? `https://${config.accountName}.blob.core.windows.net`;
  const credential = new StorageSharedKeyCredential(config.accountName, config.accountKey);
  return new BlobServiceClient(endpoint, credential, { retryOptions });
}

/**
 * Azure Blob Storage. Streams become block blobs from staged blocks; the blob exists
 * only once the block list is committed, so a failed stream leaves no blob (the
 * service discards uncommitted blocks). See docs/decisions/0121-azure-staged-blocks.md.
 */
export class AzureBlobStore implements ObjectStore {
  readonly container: ContainerClient;

  constructor(
    private readonly config: AzureBlobStoreConfig,
    container?: ContainerClient,
  ) {
    this.container = container ?? createAzureContainerClient(config);
  }

  url(key: string): string {
    return `${this.container.url}/${key}`;
  }

  createWriteStream(key: string, options: { expectedBytes?: number } = {}): Writable {
    return new AzureBlockSink(
      this.container.getBlockBlobClient(key),
      this.url(key),
      options.expectedBytes,
      this.config.uploadConcurrency ?? 3,
    );
  }

  async createReadStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    const action = `reading ${this.url(key)}`;
    // The SDK reads a count of 0 as "to the end": an empty range must not become one.
    if (range?.end !== undefined && range.end <= range.start) return Readable.from([]);
    try {
      const offset = range?.start ?? 0;
      const count = range?.end !== undefined ? range.end - offset : undefined;
      // maxRetryRequests: the SDK resumes a broken body from the last byte it delivered.
      const response = await this.container.getBlockBlobClient(key).download(offset, count, { maxRetryRequests: 5 });
      // Errors after the headers reach the reader classified: resumableRead retries only 'network'.
      const body = response.readableStreamBody as Readable;
      const out = new PassThrough({ highWaterMark: 1024 * 1024 });
      body.on('error', (error) => out.destroy(classifyBodyError(error, action)));
      out.on('close', () => {
        if (!body.destroyed) body.destroy();
      });
      return body.pipe(out);
    } catch (error) {
      throw classifyAzureError(error, action);
    }
  }

  async putSmall(key: string, body: Buffer, contentType = 'application/json'): Promise<void> {
    try {
      await this.container.getBlockBlobClient(key).upload(body, body.length, { blobHTTPHeaders: { blobContentType: contentType } });
    } catch (error) {
      throw classifyAzureError(error, `writing ${this.url(key)}`);
    }
  }

  async getSmall(key: string): Promise<Buffer> {
    try {
      return await this.container.getBlockBlobClient(key).downloadToBuffer();
    } catch (error) {
      throw classifyAzureError(error, `reading ${this.url(key)}`);
    }
  }

  async size(key: string): Promise<number | undefined> {
    try {
      return (await this.container.getBlockBlobClient(key).getProperties()).contentLength;
    } catch (error) {
      const classified = classifyAzureError(error, `checking ${this.url(key)}`);
      // A HEAD has no body, so a missing container also arrives as a bare 404: check which one it is.
      if (classified.failure === 'not-found') {
        if (await this.container.exists().catch(() => true)) return undefined;
        throw classifyAzureError({ code: 'ContainerNotFound' }, `checking ${this.url(key)}`);
      }
      throw classified;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix })) keys.push(blob.name);
    } catch (error) {
      throw classifyAzureError(error, `listing ${this.url(prefix)}`);
    }
    return keys.sort();
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) {
      try {
        await this.container.getBlockBlobClient(key).deleteIfExists({ deleteSnapshots: 'include' });
      } catch (error) {
        throw classifyAzureError(error, `deleting ${this.url(key)}`);
      }
    }
  }
}

/** Block ids must all have the same length within a blob; the index keeps them ordered and unique. */
function blockId(index: number): string {
  return Buffer.from(`silo-block-${String(index).padStart(6, '0')}`).toString('base64');
}

/**
 * A Writable that stages blocks in parallel (bounded: `concurrency` blocks in flight
 * plus the one filling) and commits the block list in _final. A stream shorter than
 * one block becomes a single Put Blob. On error or destroy, blocks in flight are
 * aborted and nothing is committed.
 */
class AzureBlockSink extends Writable {
  private staged: string[] = [];
  private current: Buffer[] = [];
  private currentBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private failure?: Error;

  constructor(
    private readonly blob: BlockBlobClient,
    private readonly objectUrl: string,
    private readonly expectedBytes: number | undefined,
    private readonly concurrency: number,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  // Block sizes follow the S3 part sizes (decision 0008), so 10,000 blocks hold 5 TiB, capped at
  // Azure's 4,000 MiB per block (S3 allows 5 GiB parts); far under Azure's 50,000 blocks per blob.
  private nextBlockSize(): number {
    return Math.min(partSize(this.staged.length + 1, this.expectedBytes), MAX_AZURE_BLOCK_BYTES);
  }

  private takeCurrent(): Buffer {
    const body = this.current.length === 1 ? this.current[0] : Buffer.concat(this.current, this.currentBytes);
    this.current = [];
    this.currentBytes = 0;
    return body;
  }

  private async stage(body: Buffer): Promise<void> {
    const index = this.staged.length + 1;
    if (index > MAX_PARTS) throw new Error(`stream exceeds ${MAX_PARTS} blocks; pass expectedBytes so blocks can be larger`);
    const id = blockId(index);
    this.staged.push(id);
    const upload = this.blob
      .stageBlock(id, body, body.length, { abortSignal: this.abort.signal })
      .then(() => undefined)
      .catch((error) => {
        this.failure ??= classifyAzureError(error, `staging block ${index} of ${this.objectUrl}`);
      })
      .finally(() => this.inFlight.delete(upload));
    this.inFlight.add(upload);
    // Backpressure: hold the writer until a slot frees, so memory stays bounded.
    while (this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.current.push(chunk);
    this.currentBytes += chunk.length;
    const size = this.nextBlockSize();
    if (this.currentBytes < size) return done();
    const all = this.takeCurrent();
    if (all.length > size) {
      this.current = [all.subarray(size)];
      this.currentBytes = all.length - size;
    }
    this.stage(all.subarray(0, size)).then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    (async () => {
      if (this.staged.length === 0) {
        const body = this.takeCurrent();
        await this.blob.upload(body, body.length, { abortSignal: this.abort.signal }).catch((error) => {
          throw classifyAzureError(error, `uploading ${this.objectUrl}`);
        });
        return;
      }
      if (this.currentBytes > 0) await this.stage(this.takeCurrent());
      await Promise.all(this.inFlight);
      if (this.failure) throw this.failure;
      await this.blob.commitBlockList(this.staged, { abortSignal: this.abort.signal }).catch((error) => {
        throw classifyAzureError(error, `committing the blocks of ${this.objectUrl}`);
      });
    })().then(() => done(), done);
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.writableFinished) return done(error);
    // No commit ever happens after this; aborting frees the sockets and the buffers now.
    this.abort.abort();
    Promise.allSettled(this.inFlight).finally(() => done(error));
  }
}
