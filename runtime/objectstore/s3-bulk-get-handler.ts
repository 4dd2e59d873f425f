import { connect as connectTcp, isIP, type OnReadOpts, type Socket } from 'node:net';
import { connect as connectTls, type ConnectionOptions } from 'node:tls';
import { Readable } from 'node:stream';
import { buildQueryString, HttpResponse } from '@smithy/core/protocols';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions, HttpRequest, HttpResponse as HttpResponseType } from '@smithy/types';
import { READ_BUFFER_BYTES, ReadBufferPool } from './read-buffer-pool.js';

/** A response head larger than this is not an object store's: refused rather than buffered without end. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Filled buffers the body holds before it stops reading from the socket. */
const BODY_HIGH_WATER_MARK_BUFFERS = 4;

export interface BulkGetOptions {
  /** Requests that are not a bodiless GET, and responses this transport does not read, go here. */
  readonly fallback: NodeHttpHandler;
  readonly ca?: string;
  readonly rejectUnauthorized: boolean;
  /** Connect and TLS handshake, in ms. */
  readonly connectionTimeoutMs: number;
  /** Silence on the socket, in ms, before the read fails as a timeout. */
  readonly idleTimeoutMs: number;
  /** Where the body's buffers come from; the consumer may give them back. */
  readonly pool: ReadBufferPool;
}

type SdkAbortSignal = NonNullable<HttpHandlerOptions['abortSignal']>;

/** Runs `fn` once when `signal` aborts (the SDK's signal type may be a bare `onabort` holder). */
function onAbort(signal: SdkAbortSignal | undefined, fn: () => void): void {
  if (!signal) return;
  if ('addEventListener' in signal && typeof signal.addEventListener === 'function') signal.addEventListener('abort', fn, { once: true });
  else signal.onabort = fn;
}

const abortError = () => Object.assign(new Error('Request aborted'), { name: 'AbortError' });

/** A socket-level failure, shaped as the SDK's retry and classifyS3Error recognise network errors. */
function networkError(message: string, code: string): Error {
  const error = new Error(`${message} (${code})`) as Error & { code: string };
  error.code = code;
  if (code === 'ETIMEDOUT') error.name = 'TimeoutError';
  return error;
}

interface Head {
  statusCode: number;
  reason: string;
  headers: Record<string, string>;
  /** Where the body starts in the bytes read so far. */
  bodyOffset: number;
}

/** Parses an HTTP/1.1 response head, or returns undefined while it is incomplete. */
function parseHead(bytes: Buffer): Head | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = bytes.toString('latin1', 0, end).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!status)
    throw networkError(`the object store answered with a malformed status line ${JSON.stringify(statusLine.slice(0, 80))}`, 'EPROTO');
  // A Map while parsing: a header named like an Object property (`__proto__`) is only a header.
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw networkError(`the object store answered with a malformed header line`, 'EPROTO');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { statusCode: Number(status[1]), reason: status[2] ?? '', headers: Object.fromEntries(headers), bodyOffset: end + 4 };
}

/**
 * The body of one response, read from its socket straight into pooled 1 MiB buffers (`onread`): each buffer is
 * pushed when full, and the consumer (the restore's crypto thread) takes it by transfer. Node's HTTP client would
 * copy every body chunk into a fresh 64 KiB buffer instead, and the consumer would copy it again (decision 0024).
 */
class BulkBody extends Readable {
  private current?: Buffer;
  private filled = 0;
  private receivedBytes = 0;
  private ended = false;

  constructor(
    private readonly socket: Socket,
    private readonly length: number,
    private readonly pool: ReadBufferPool,
  ) {
    // Object mode: each read gives one filled buffer as it is. A byte-mode Readable's read() (as `for await`
    // calls it) would concatenate whatever is buffered into a fresh buffer, a copy and a new allocation.
    super({ objectMode: true, highWaterMark: BODY_HIGH_WATER_MARK_BUFFERS });
  }

  /** Where the socket reads next: the rest of the current buffer. */
  nextReadBuffer(): Buffer {
    this.current ??= this.pool.take();
    return this.current.subarray(this.filled);
  }

  /** The body bytes that came with the head (possibly none: a body of 0 bytes ends here). */
  accept(bytes: Buffer): void {
    for (let at = 0; at < bytes.length && !this.ended;) {
      const n = bytes.copy(this.nextReadBuffer(), 0, at);
      at += n;
      this.received(n);
    }
    if (this.length === 0) this.finish();
  }

  /** `n` more bytes are in the current buffer. */
  received(n: number): void {
    if (this.ended) return;
    // A server that sends past its Content-Length: the excess is not part of the object.
    const counted = Math.min(n, this.length - this.receivedBytes);
    this.filled += counted;
    this.receivedBytes += counted;
    if (this.filled === READ_BUFFER_BYTES) this.pushCurrent(this.current!);
    if (this.receivedBytes === this.length) this.finish();
  }

  private pushCurrent(chunk: Buffer): void {
    this.current = undefined;
    this.filled = 0;
    if (!this.push(chunk)) this.socket.pause();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.filled) this.pushCurrent(this.current!.subarray(0, this.filled));
    this.push(null);
    this.socket.destroy();
  }

  get complete(): boolean {
    return this.receivedBytes === this.length;
  }

  /** The socket ended or failed before the body was whole. */
  cut(error?: Error): void {
    if (this.complete || this.destroyed) return;
    this.destroy(
      networkError(
        `the connection to the object store ended after ${this.receivedBytes} of ${this.length} bytes${error ? `: ${error.message}` : ''}`,
        (error as NodeJS.ErrnoException | undefined)?.code ?? 'ECONNRESET',
      ),
    );
  }

  override _read(): void {
    this.socket.resume();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.socket.destroy();
    done(error);
  }
}

/**
 * The S3 client's transport for bulk object reads (GetObject of a backup's data): a bodiless GET over one
 * connection of its own, whose response body is read into pooled buffers. Signing, retries and the parsing of
 * error responses stay the SDK's; this only moves bytes. Anything else it does not handle (a request with a body,
 * a chunked or length-less response) goes through Node's HTTP client as usual (decision 0024).
 */
export class BulkGetHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };

  constructor(private readonly options: BulkGetOptions) {}

  updateHttpClientConfig(key: never, value: never): void {
    this.options.fallback.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs(): ReturnType<NodeHttpHandler['httpHandlerConfigs']> {
    return this.options.fallback.httpHandlerConfigs();
  }

  destroy(): void {
    this.options.fallback.destroy();
  }

  handle(request: HttpRequest, handlerOptions: HttpHandlerOptions = {}): Promise<{ response: HttpResponseType }> {
    if (request.method !== 'GET' || request.body !== undefined || request.fragment || request.username || request.password)
      return this.options.fallback.handle(request as never, handlerOptions);
    return this.get(request, handlerOptions);
  }

  private requestHead(request: HttpRequest): string {
    const query = request.query ? buildQueryString(request.query) : '';
    const lines = [`GET ${request.path}${query ? `?${query}` : ''} HTTP/1.1`];
    const headers = { ...request.headers };
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'connection')) headers.connection = 'close';
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new Error(`refusing to send header ${name}: it contains a line break`);
      lines.push(`${name}: ${value}`);
    }
    return `${lines.join('\r\n')}\r\n\r\n`;
  }

  /**
   * A connection to the request's host (TLS with the store's CA for https): `onConnect` once it is made, `onTimeout`
   * if it is not made in time.
   */
  private openSocket(request: HttpRequest, onread: OnReadOpts, onConnect: () => void, onTimeout: (error: Error) => void): Socket {
    const tls = request.protocol === 'https:';
    const target = { host: request.hostname.replace(/^\[(.*)\]$/, '$1'), port: request.port ?? (tls ? 443 : 80) };
    const socket: Socket = tls
      ? connectTls({
          ...target,
          servername: isIP(target.host) ? undefined : target.host,
          ca: this.options.ca,
          rejectUnauthorized: this.options.rejectUnauthorized,
          onread,
        } as ConnectionOptions)
      : connectTcp({ ...target, onread });
    const { connectionTimeoutMs } = this.options;
    const timer = setTimeout(() => {
      const what = `no ${tls ? 'TLS ' : ''}connection to ${target.host}:${target.port} within ${connectionTimeoutMs} ms`;
      onTimeout(networkError(what, 'ETIMEDOUT'));
    }, connectionTimeoutMs);
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      onConnect();
    });
    socket.once('close', () => clearTimeout(timer));
    return socket;
  }

  private get(request: HttpRequest, { abortSignal }: HttpHandlerOptions): Promise<{ response: HttpResponseType }> {
    const { pool } = this.options;
    return new Promise((resolve, reject) => {
      if (abortSignal?.aborted) return reject(abortError());
      let head = Buffer.alloc(0);
      let body: BulkBody | undefined;
      let settled = false;
      const headBuffer = Buffer.allocUnsafe(MAX_HEAD_BYTES);
      const fail = (error: Error) => {
        socket.destroy();
        if (!settled) {
          settled = true;
          reject(error);
        } else body?.cut(error);
      };
      const onHeadBytes = (n: number) => {
        head = Buffer.concat([head, headBuffer.subarray(0, n)]);
        const parsed = parseHead(head);
        if (!parsed) {
          if (head.length >= MAX_HEAD_BYTES)
            throw networkError(`the object store's response head exceeds ${MAX_HEAD_BYTES} bytes`, 'EPROTO');
          return;
        }
        settled = true;
        // 204 and 304 carry no body whatever their headers say (RFC 9110 6.4.1).
        const length = [204, 304].includes(parsed.statusCode) ? 0 : Number(parsed.headers['content-length']);
        const readable = parsed.statusCode >= 200 && !Object.hasOwn(parsed.headers, 'transfer-encoding') && Number.isSafeInteger(length);
        if (!readable) {
          // Not a response this transport reads (chunked, no length, 1xx): Node's client sends the request again.
          socket.destroy();
          this.options.fallback.handle(request as never, { abortSignal }).then(resolve, reject);
          return;
        }
        body = new BulkBody(socket, length, pool);
        resolve({
          response: new HttpResponse({ statusCode: parsed.statusCode, reason: parsed.reason, headers: parsed.headers, body }),
        });
        const rest = head.subarray(parsed.bodyOffset);
        head = Buffer.alloc(0);
        body.accept(rest);
      };
      const onread: OnReadOpts = {
        buffer: () => (body ? body.nextReadBuffer() : headBuffer),
        callback: (n: number) => {
          try {
            if (body) body.received(n);
            else onHeadBytes(n);
          } catch (error) {
            fail(error as Error);
          }
          return true;
        },
      };
      const sendRequest = () => {
        try {
          socket.write(this.requestHead(request));
        } catch (error) {
          fail(error as Error);
        }
      };
      const socket = this.openSocket(request, onread, sendRequest, fail);
      socket.setNoDelay(true);
      socket.setTimeout(this.options.idleTimeoutMs, () =>
        fail(networkError(`the object store sent nothing for ${this.options.idleTimeoutMs} ms`, 'ETIMEDOUT')),
      );
      socket.on('error', fail);
      socket.on('close', () => {
        if (!settled) fail(networkError(`the object store closed the connection before its response head`, 'ECONNRESET'));
        else body?.cut();
      });
      onAbort(abortSignal, () => (settled ? body?.destroy(abortError()) : fail(abortError())));
    });
  }
}
