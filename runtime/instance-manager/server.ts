import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger.js';
import { COMPRESSION_HEADER, EXPECTED_BYTES_HEADER, PATHS, STATUS, TRAILERS } from '../contracts/instance-manager-protocol.js';
import { compressionFromQuery } from './compression-query.js';
import type { BackupStreamOutcome, Engine } from './engine.js';
import { REPLICATION_ROUTE, replicationRoute } from './replication-route.js';
import { reloadTlsOnChange, secureContextOptions, type TlsFiles } from './tls-reload.js';
import { findZstdCli } from './zstd-cli.js';

/**
 * The instance manager's shell: mTLS, routing, /healthz, /status and one backup at a time, whatever
 * the engine. The protocol is runtime/contracts/instance-manager-protocol.ts; the engine
 * (engines/<name>/) runs the backup tool and reports positions and status fields.
 */
export interface InstanceManagerOptions {
  readonly tls: { key: string; cert: string; clientCa: string };
  /**
   * The files `tls` was read from (mounted Secrets): the server re-reads them and swaps its
   * certificate when they change, without a restart (tls-reload.ts). Without them it is fixed.
   */
  readonly tlsFiles?: TlsFiles;
  /** How often tlsFiles are read. @default TLS_RELOAD_INTERVAL_MS (30 s) */
  readonly tlsReloadIntervalMs?: number;
  /** The database engine (engines/index.ts createEngine). */
  readonly engine: Engine;
  readonly logger: Logger;
  /** Instance name reported by /status. */
  readonly instanceName: string;
  /**
   * How zstd compression runs: `auto` uses the zstd command when one is installed, so the backup tool's
   * bytes never pass through Node (decision 0017); `in-process` always uses the bundled codec.
   * @default 'auto'
   */
  readonly zstd?: 'auto' | 'in-process';
  /** How long a backup's client may leave its bytes untaken before the backup is stopped. @default CLIENT_STALL_TIMEOUT_MS */
  readonly clientStallTimeoutMs?: number;
}

/**
 * A client that stops reading without closing (its node lost, a partition) would otherwise hold the backup, its
 * tool and every later backup of this instance ("already running") until the kernel gave up on the connection, which
 * without keepalive is never. Ten minutes: a worker legitimately stops reading while its object store retries a
 * silent request (decision 0026: a few minutes, after which it fails and closes). Silence with nothing to send is
 * not a stall: the backup tool waits quietly for locks on a busy database.
 */
export const CLIENT_STALL_TIMEOUT_MS = 10 * 60_000;

type StartedBackup = Awaited<ReturnType<Engine['startBackup']>>;
/** What /status reports as the last backup. */
type LastBackup = { finishedAt: string; exitStatus: number } & Record<string, unknown>;

function json(response: ServerResponse, status: number, body: unknown): ServerResponse {
  response.writeHead(status, { 'content-type': 'application/json' });
  return response.end(JSON.stringify(body));
}

/**
 * The error trailer of a failed backup: how the tool ended and, after a failed exit, the line of its
 * stderr that says why (a header value: characters outside printable ASCII become "?").
 */
function failureTrailer(tool: string, outcome: BackupStreamOutcome): string {
  if (outcome.signal) return `${tool} was killed by ${outcome.signal}`;
  const why = outcome.errorLine?.replace(/[^\t\x20-\x7e]/g, '?');
  return `${tool} exited with status ${outcome.code}${why ? ` (${why})` : ''}`;
}

/**
 * Sends a started backup's stream as the response body, then its exit status, tool and positions as
 * trailers. Returns what /status reports as the last backup.
 */
async function sendBackup(
  started: StartedBackup,
  response: ServerResponse,
  algorithm: string,
  log: Logger,
  stallTimeoutMs: number,
): Promise<LastBackup> {
  const { stream, tool } = started;
  log.info('backup started', { tool, compressedBy: stream.compressedBy });
  response.writeHead(200, {
    'content-type': 'application/octet-stream',
    [COMPRESSION_HEADER]: algorithm,
    trailer: Object.values(TRAILERS).join(', '),
    ...(started.expectedBytes ? { [EXPECTED_BYTES_HEADER]: String(started.expectedBytes) } : {}),
  });
  // Compressing here, before TLS, is decision 0014: the stream crosses TLS and the network at its stored size.
  stream.output.pipe(response, { end: false });
  // A client that goes away must not leave the backup tool running and holding locks, nor a compressor
  // waiting forever for a reader (which would keep this backup "running").
  response.on('close', () => {
    if (!response.writableFinished) stream.stop();
  });
  // The socket's timeout fires after this long without a byte either way; only bytes still waiting for the client
  // make that a stall. A listener here also keeps Node's server from closing the socket on any idle timeout.
  response.setTimeout(stallTimeoutMs, () => {
    if (!response.writableNeedDrain && !response.socket?.writableLength) return;
    log.warn('backup stopped: the client took no bytes', { forMs: stallTimeoutMs });
    response.destroy(new Error(`the client took no bytes for ${stallTimeoutMs} ms`));
  });
  // Trailers go after the compressor's last frame; a compressor error cuts the response, so the client sees no exit status.
  const outcome = await stream.done.catch((error: Error) => {
    if (!response.destroyed) {
      log.error('compression failed', { error: error.message });
      response.destroy(error);
    }
    return undefined;
  });
  if (!outcome) return { finishedAt: new Date().toISOString(), exitStatus: 128 };
  const { code, sourceBytes } = outcome;
  const finished = started.finish();
  const status = code ?? 128;
  const trailers: Record<string, string> = { [TRAILERS.exit]: String(status), [TRAILERS.tool]: tool };
  if (sourceBytes !== undefined) trailers[TRAILERS.sourceBytes] = String(sourceBytes);
  if (status !== 0) trailers[TRAILERS.error] = failureTrailer(tool, outcome);
  Object.assign(trailers, finished.trailers);
  response.addTrailers(trailers);
  response.end();
  log.info('backup finished', { exitStatus: status, ...finished.last });
  return { finishedAt: new Date().toISOString(), exitStatus: status, ...finished.last };
}

/**
 * The sidecar's HTTPS server with mutual TLS. Only clients with a certificate
 * signed by the cluster's client CA get past the handshake.
 */
export function createInstanceManagerServer(options: InstanceManagerOptions): Server {
  const { engine } = options;
  let running: ({ startedAt: string } & Record<string, string | undefined>) | undefined;
  let last: LastBackup | undefined;
  const zstdCli = options.zstd === 'in-process' ? Promise.resolve(undefined) : findZstdCli();
  // The engine's fields are best effort: a database that does not answer must not hide the backup state.
  const status = async () => ({
    instance: options.instanceName,
    backupRunning: running ?? null,
    lastBackup: last ?? null,
    ...(await engine.status()),
  });
  const backup = async (_request: IncomingMessage, response: ServerResponse, url: URL) => {
    if (running) {
      return json(response, STATUS.busy, {
        error: `a backup of ${options.instanceName} is already running since ${running.startedAt}; retry when it finishes`,
      });
    }
    const request = engine.backupRequest(url.searchParams);
    if ('error' in request) return json(response, STATUS.badRequest, { error: request.error });
    const compression = compressionFromQuery(url.searchParams);
    if ('error' in compression) return json(response, STATUS.badRequest, { error: compression.error });
    running = { startedAt: new Date().toISOString(), ...request.fields };
    const log = options.logger.child({ backup: running.startedAt, ...request.fields });
    let started: StartedBackup | undefined;
    try {
      started = await engine.startBackup(request.fields, { compression: compression.options, zstdCli: await zstdCli, log });
      const stallTimeoutMs = options.clientStallTimeoutMs ?? CLIENT_STALL_TIMEOUT_MS;
      last = await sendBackup(started, response, compression.options.algorithm, log, stallTimeoutMs);
    } catch (error) {
      log.error('backup could not start', { error: (error as Error).message });
      if (!response.headersSent) {
        json(response, STATUS.failedToStart, { error: (error as Error).message });
      } else {
        response.destroy(error as Error);
      }
    } finally {
      running = undefined;
      started?.dispose();
    }
  };

  const server = createServer(
    { ...secureContextOptions(options.tls), requestCert: true, rejectUnauthorized: true },
    (request, response) => {
      const url = new URL(request.url ?? '/', 'https://instance-manager');
      if (request.method === 'GET' && url.pathname === PATHS.healthz) return void response.end('ok\n');
      if (request.method === 'GET' && url.pathname === PATHS.status) {
        response.setHeader('content-type', 'application/json');
        return void status().then((body) => response.end(JSON.stringify(body)));
      }
      if (request.method === 'GET' && url.pathname === PATHS.backup) return void backup(request, response, url);
      if (request.method === REPLICATION_ROUTE.method && url.pathname === REPLICATION_ROUTE.path)
        return void replicationRoute(request, response, engine, { logger: options.logger, status });
      json(response, 404, {
        error: `no route ${request.method} ${url.pathname}; use GET ${PATHS.backup}, ${PATHS.healthz} or ${PATHS.status}, or ${REPLICATION_ROUTE.method} ${REPLICATION_ROUTE.path}`,
      });
    },
  );
  if (options.tlsFiles) {
    const stop = reloadTlsOnChange(server, {
      files: options.tlsFiles,
      initial: options.tls,
      logger: options.logger,
      intervalMs: options.tlsReloadIntervalMs,
    });
    server.once('close', stop);
  }
  return server;
}
