import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logging/logger.js';
import { replicationStatus } from './replication.js';
import { compressionFromQuery } from './compression-query.js';
import { startBackupStream } from './backup-stream.js';
import { findZstdCli } from './zstd-cli.js';
import { backupArgs, backupTool, connectionArgs, currentPositions, datadirBytes, defaultsFileContents, readPositions, type DatabaseConnection } from './mariabackup.js';

/** Trailers that carry the outcome after the last byte, so a failed backup is never mistaken for a complete one. */
export const TRAILERS = {
  exit: 'x-silo-exit-status',
  error: 'x-silo-error',
  fromLsn: 'x-silo-from-lsn',
  toLsn: 'x-silo-to-lsn',
  beginGTID: 'x-silo-begin-gtid',
  endGTID: 'x-silo-end-gtid',
  beginBinlog: 'x-silo-begin-binlog',
  endBinlog: 'x-silo-end-binlog',
  tool: 'x-silo-tool',
  sourceBytes: 'x-silo-source-bytes',
} as const;

/** Response header with the datadir's size, an upper bound the worker sizes multipart parts by. */
export const EXPECTED_BYTES_HEADER = 'x-silo-expected-bytes';

/** Response header naming the compression the instance manager applied (`none` when absent: an older instance manager). */
export const COMPRESSION_HEADER = 'x-silo-compression';

export interface InstanceManagerOptions {
  readonly tls: { key: string; cert: string; clientCa: string };
  readonly connection: DatabaseConnection;
  readonly logger: Logger;
  /** Instance name reported by /status. */
  readonly instanceName: string;
  /**
   * How zstd compression runs: `auto` uses the zstd command when one is installed, so the backup tool's
   * bytes never pass through Node (decision 0017); `in-process` always uses the bundled codec.
   * @default 'auto'
   */
  readonly zstd?: 'auto' | 'in-process';
}

/**
 * The sidecar's HTTPS server with mutual TLS. Only clients with a certificate
 * signed by the cluster's client CA get past the handshake.
 */
export function createInstanceManagerServer(options: InstanceManagerOptions): Server {
  let running: { startedAt: string; incrementalLsn?: string } | undefined;
  let last: { finishedAt: string; exitStatus: number; toLsn?: string } | undefined;
  const zstdCli = options.zstd === 'in-process' ? Promise.resolve(undefined) : findZstdCli();

  const backup = async (request: IncomingMessage, response: ServerResponse, url: URL) => {
    if (running) {
      response.writeHead(409, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ error: `a backup of ${options.instanceName} is already running since ${running.startedAt}; retry when it finishes` }));
    }
    const incrementalLsn = url.searchParams.get('incremental-lsn') ?? undefined;
    if (incrementalLsn !== undefined && !/^\d+$/.test(incrementalLsn)) {
      response.writeHead(400, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ error: `incremental-lsn must be a decimal LSN (got "${incrementalLsn.slice(0, 40)}")` }));
    }
    const compression = compressionFromQuery(url.searchParams);
    if ('error' in compression) {
      response.writeHead(400, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ error: compression.error }));
    }
    running = { startedAt: new Date().toISOString(), incrementalLsn };
    const work = mkdtempSync(join(tmpdir(), 'silo-backup-'));
    const defaultsFile = join(work, 'client.cnf');
    writeFileSync(defaultsFile, defaultsFileContents(options.connection), { mode: 0o600 });
    const log = options.logger.child({ backup: running.startedAt, incrementalLsn });
    try {
      const tool = backupTool();
      const [begin, expectedBytes] = await Promise.all([currentPositions(options.connection, defaultsFile), datadirBytes(options.connection, defaultsFile)]);
      // --defaults-extra-file must come first on a MariaDB/MySQL command line.
      const args = [...connectionArgs(options.connection, defaultsFile), ...backupArgs({ targetDir: join(work, 'target'), lsnDir: join(work, 'lsn'), incrementalLsn })];
      const stream = startBackupStream({ tool, args, compression: compression.options, zstdCli: await zstdCli, log });
      log.info('backup started', { tool: tool.name, compressedBy: stream.compressedBy });
      response.writeHead(200, {
        'content-type': 'application/octet-stream', [COMPRESSION_HEADER]: compression.options.algorithm, trailer: Object.values(TRAILERS).join(', '),
        ...(expectedBytes ? { [EXPECTED_BYTES_HEADER]: String(expectedBytes) } : {}),
      });
      // Compressing here, before TLS, is decision 0014: the stream crosses TLS and the network at its stored size.
      stream.output.pipe(response, { end: false });
      // A client that goes away must not leave mariabackup running and holding locks, nor a compressor
      // waiting forever for a reader (which would keep this backup "running").
      response.on('close', () => {
        if (!response.writableFinished) stream.stop();
      });
      // Trailers go after the compressor's last frame; a compressor error cuts the response, so the client sees no exit status.
      const outcome = await stream.done.catch((error: Error) => {
        if (!response.destroyed) {
          log.error('compression failed', { error: error.message });
          response.destroy(error);
        }
        return undefined;
      });
      if (!outcome) {
        last = { finishedAt: new Date().toISOString(), exitStatus: 128 };
        return;
      }
      const { code, signal, sourceBytes } = outcome;
      const positions = readPositions(join(work, 'lsn'));
      const status = code ?? 128;
      const trailers: Record<string, string> = { [TRAILERS.exit]: String(status), [TRAILERS.tool]: tool.name };
      if (sourceBytes !== undefined) trailers[TRAILERS.sourceBytes] = String(sourceBytes);
      if (status !== 0) trailers[TRAILERS.error] = `${tool.name} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`;
      for (const [key, value] of Object.entries({ ...begin, ...positions })) {
        if (value) trailers[TRAILERS[key as keyof typeof TRAILERS]] = value;
      }
      response.addTrailers(trailers);
      response.end();
      last = { finishedAt: new Date().toISOString(), exitStatus: status, toLsn: positions.toLsn };
      log.info('backup finished', { exitStatus: status, toLsn: positions.toLsn });
    } catch (error) {
      log.error('backup could not start', { error: (error as Error).message });
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: (error as Error).message }));
      } else {
        response.destroy(error as Error);
      }
    } finally {
      running = undefined;
      rmSync(work, { recursive: true, force: true });
    }
  };

  return createServer({
    key: options.tls.key, cert: options.tls.cert, ca: options.tls.clientCa,
    requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2',
  }, (request, response) => {
    const url = new URL(request.url ?? '/', 'https://instance-manager');
    if (request.method === 'GET' && url.pathname === '/healthz') return void response.end('ok\n');
    if (request.method === 'GET' && url.pathname === '/status') {
      response.setHeader('content-type', 'application/json');
      // Replication is best effort: a database that does not answer must not hide the backup state.
      return void replicationStatus(options.connection).then((r) => ({ replication: r }), (e: Error) => ({ replicationError: e.message.split('\n')[0].slice(0, 300) }))
        .then((replication) => response.end(JSON.stringify({ instance: options.instanceName, backupRunning: running ?? null, lastBackup: last ?? null, ...replication })));
    }
    if (request.method === 'GET' && url.pathname === '/cluster/backup') return void backup(request, response, url);
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: `no route ${request.method} ${url.pathname}; use GET /cluster/backup, /healthz or /status` }));
  });
}
