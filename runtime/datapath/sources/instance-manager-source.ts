import { request, type RequestOptions } from 'node:https';
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { COMPRESSION_HEADER, EXPECTED_BYTES_HEADER, PATHS, QUERY, STATUS, TRAILERS } from '../../contracts/instance-manager-protocol.js';
import type { CompressionAlgorithm, CompressionOptions } from '../stages/compression.js';
import { SourceFailedError } from './process-source.js';

/** The mTLS connection to the instance manager failed: wrong CA, no or bad client certificate, or unreachable. */
export class InstanceManagerConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InstanceManagerConnectionError';
  }
}

/** The instance manager could not be reached at all (refused, no route, timed out): worker class `unreachable`. */
export class InstanceManagerUnreachableError extends InstanceManagerConnectionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InstanceManagerUnreachableError';
  }
}

/** The instance manager is already streaming another backup (409): worker class `busy`. */
export class InstanceManagerBusyError extends SourceFailedError {
  constructor(message: string) {
    super(message, null, null);
    this.name = 'InstanceManagerBusyError';
  }
}

/** The backup stream broke off before its end (cut, or ended without an exit status): worker class `interrupted`. */
export class SourceInterruptedError extends SourceFailedError {
  constructor(message: string) {
    super(message, null, null);
    this.name = 'SourceInterruptedError';
  }
}

export interface InstanceManagerSourceOptions {
  /** e.g. https://10.0.0.7:8443 */
  readonly url: string;
  readonly tls: { ca: string; cert: string; key: string; servername?: string };
  readonly incrementalLsn?: string;
  /**
   * Asks the instance manager to compress before TLS (decision 0014). It may not (an older
   * instance manager ignores the parameter): `encoding` says what it did. @default none
   */
  readonly compression?: CompressionOptions;
  /** Fails the stream if no byte arrives for this long, so a silent network never hangs a backup. */
  readonly idleTimeoutMs?: number;
}

/** Positions the instance manager reported in its trailers. */
export interface ReportedPositions {
  tool?: string;
  fromLsn?: string;
  toLsn?: string;
  beginGTID?: string;
  endGTID?: string;
  beginBinlog?: string;
  endBinlog?: string;
}

/**
 * `GET /cluster/backup` as a Readable. It ends only when the response ended with
 * trailers reporting exit status 0; a missing trailer (connection cut) or a
 * non-zero status is an error before end, so the upload is aborted.
 */
export class InstanceManagerSource extends Readable {
  positions: ReportedPositions = {};
  /** Uncompressed bytes the backup tool wrote, from the trailer; undefined from an older instance manager. */
  sourceBytes?: number;
  /** The datadir size the instance manager reported with its headers: a part-size hint, not a promise. */
  expectedBytes?: number;
  /** The compression the instance manager applied, known once the response headers arrive; rejects if none arrive. */
  readonly encoding: Promise<CompressionAlgorithm>;
  private settleEncoding!: { resolve: (algorithm: CompressionAlgorithm) => void; reject: (error: Error) => void };
  private response?: IncomingMessage;

  constructor(private readonly options: InstanceManagerSourceOptions) {
    super({ highWaterMark: 1024 * 1024 });
    this.encoding = new Promise((resolve, reject) => {
      this.settleEncoding = { resolve, reject };
    });
    // Callers that never ask must not see an unhandled rejection; the error also reaches the stream.
    this.encoding.catch(() => undefined);
    const url = new URL(PATHS.backup, options.url);
    if (options.incrementalLsn) url.searchParams.set(QUERY.incrementalLsn, options.incrementalLsn);
    if (options.compression && options.compression.algorithm !== 'none') {
      url.searchParams.set(QUERY.compression, options.compression.algorithm);
      if (options.compression.level) url.searchParams.set(QUERY.level, String(options.compression.level));
    }
    const requestOptions: RequestOptions = {
      ca: options.tls.ca,
      cert: options.tls.cert,
      key: options.tls.key,
      servername: options.tls.servername,
      method: 'GET',
      minVersion: 'TLSv1.2',
    };
    const req = request(url, requestOptions, (response) => this.onResponse(response));
    req.setTimeout(options.idleTimeoutMs ?? 120_000, () => {
      req.destroy(
        new InstanceManagerConnectionError(
          `no data from the instance manager at ${url.origin} for ${Math.round((options.idleTimeoutMs ?? 120_000) / 1000)} s; the network or the instance is stuck`,
        ),
      );
    });
    req.on('error', (error: NodeJS.ErrnoException) => this.destroy(this.describe(error, url.origin)));
    req.end();
  }

  private describe(error: NodeJS.ErrnoException, origin: string): Error {
    if (error instanceof InstanceManagerConnectionError || error instanceof SourceFailedError) return error;
    const code = error.code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|SSL|alert/i.test(code + error.message)) {
      return new InstanceManagerConnectionError(
        `mTLS handshake with the instance manager at ${origin} failed (${code || error.message}); check the Cluster's server CA and client certificate Secrets`,
        { cause: error },
      );
    }
    if (code === 'ECONNRESET' && !this.response) {
      return new InstanceManagerConnectionError(
        `the instance manager at ${origin} closed the connection during the handshake; it rejects clients without a valid certificate`,
        { cause: error },
      );
    }
    if (this.response)
      return new SourceInterruptedError(`the backup stream from ${origin} was cut (${code || error.message}); nothing was stored`);
    return new InstanceManagerUnreachableError(`cannot reach the instance manager at ${origin} (${code || error.message})`, {
      cause: error,
    });
  }

  private onResponse(response: IncomingMessage): void {
    this.response = response;
    if (response.statusCode !== 200) {
      const parts: Buffer[] = [];
      response.on('data', (c) => parts.push(c));
      response.on('end', () => {
        let message = Buffer.concat(parts).toString('utf8').slice(0, 500);
        try {
          message = JSON.parse(message).error ?? message;
        } catch {
          /* plain text */
        }
        const error =
          response.statusCode === STATUS.busy
            ? new InstanceManagerBusyError(`the instance manager is busy: ${message}`)
            : new SourceFailedError(`the instance manager answered ${response.statusCode}: ${message}`, null, null);
        this.destroy(error);
      });
      return;
    }
    const encoding = String(response.headers[COMPRESSION_HEADER] ?? 'none');
    if (encoding !== 'none' && encoding !== this.options.compression?.algorithm) {
      return void this.destroy(
        new SourceFailedError(`the instance manager sent a ${encoding.slice(0, 20)} stream, which was not asked for`, null, null),
      );
    }
    const expected = String(response.headers[EXPECTED_BYTES_HEADER] ?? '');
    if (/^\d+$/.test(expected) && Number(expected) > 0) this.expectedBytes = Number(expected);
    this.settleEncoding.resolve(encoding as CompressionAlgorithm);
    response.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) response.pause();
    });
    response.on('aborted', () =>
      this.destroy(new SourceInterruptedError('the backup stream from the instance manager was cut; nothing was stored')),
    );
    response.on('error', (error) => this.destroy(this.describe(error as NodeJS.ErrnoException, this.options.url)));
    response.on('end', () => {
      const t = response.trailers;
      const status = t[TRAILERS.exit];
      if (status === undefined)
        return this.destroy(new SourceInterruptedError('the backup stream ended without an exit status; it was cut, nothing was stored'));
      if (status !== '0')
        return this.destroy(
          new SourceFailedError(
            `${t[TRAILERS.error] ?? `backup exited with status ${status}`} on the instance; nothing was stored`,
            Number(status),
            null,
          ),
        );
      this.positions = {
        tool: t[TRAILERS.tool],
        fromLsn: t[TRAILERS.fromLsn],
        toLsn: t[TRAILERS.toLsn],
        beginGTID: t[TRAILERS.beginGTID],
        endGTID: t[TRAILERS.endGTID],
        beginBinlog: t[TRAILERS.beginBinlog],
        endBinlog: t[TRAILERS.endBinlog],
      };
      if (/^\d+$/.test(t[TRAILERS.sourceBytes] ?? '')) this.sourceBytes = Number(t[TRAILERS.sourceBytes]);
      this.push(null);
    });
  }

  override _read(): void {
    this.response?.resume();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.settleEncoding.reject(
      error ?? new SourceFailedError('the backup stream was closed before the instance manager answered', null, null),
    );
    this.response?.destroy();
    done(error);
  }
}
