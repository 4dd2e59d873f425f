/**
 * A replica's empty volume filled from its primary, with no object store in between: the primary's
 * instance manager streams a backup (`GET /cluster/backup`, zstd, mutual TLS with the replication
 * certificate), mbstream unpacks it into WORK_DIR/clone, mariabackup prepares it and moves it into
 * the datadir. WORK_DIR and the datadir share the volume, so --move-back renames and never copies.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { ConfigError } from '../contracts/config-error.js';
import { MYSQL_ENGINE } from '../contracts/engines.js';
import { ProcessSink } from '../datapath/sinks/process-sink.js';
import {
  InstanceManagerBusyError,
  InstanceManagerSource,
  InstanceManagerUnreachableError,
} from '../datapath/sources/instance-manager-source.js';
import { createDecompressor } from '../datapath/stages/compression.js';
import { ProgressReporter } from '../datapath/stages/progress.js';
import type { Logger } from '../logging/logger.js';
import { cloneDir, type InstanceLayout } from './layout.js';

const execFileAsync = promisify(execFile);

export interface CloneSource {
  /** `https://<primary pod IP>:<port>` */
  readonly instanceManager: string;
  /** The DNS name the primary's certificate carries (`<cluster>-instance-manager`). */
  readonly serverName?: string;
  readonly instanceName?: string;
}

export interface CloneResult {
  /** The GTID position the cloned datadir holds; '' when the primary had written no transaction. */
  readonly gtid: string;
}

/** The GTID of `mariadb_backup_binlog_info` / `xtrabackup_binlog_info`: `<file>\t<position>\t<gtid>`. */
export function binlogInfoGtid(text: string): string | undefined {
  const line = text.split('\n').find((l) => l.trim());
  if (!line) return undefined;
  const [, , gtid] = line.split('\t');
  return (gtid ?? '').trim();
}

/** The binlog info file mariabackup left in a backup, whichever name this version gives it. */
function readBinlogInfo(dir: string): string | undefined {
  for (const name of ['mariadb_backup_binlog_info', 'xtrabackup_binlog_info']) {
    const path = join(dir, name);
    if (existsSync(path)) return binlogInfoGtid(readFileSync(path, 'utf8'));
  }
  return undefined;
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${what} ${path} cannot be read (${(error as NodeJS.ErrnoException).code}); mount the Cluster's Secret there`);
  }
}

async function mariabackup(args: string[], what: string): Promise<void> {
  try {
    await execFileAsync(MYSQL_ENGINE.restore.tool, ['--no-defaults', ...args], { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '')
      .trim()
      .split('\n')
      .slice(-3)
      .join(' | ');
    throw new Error(`${what} failed: ${stderr || (error as Error).message}`, { cause: error });
  }
}

/** Streams the primary's backup into `dir` through mbstream; resolves once the trailers said the backup succeeded. */
async function streamInto(dir: string, source: CloneSource, layout: InstanceLayout, logger: Logger): Promise<string | undefined> {
  const stream = new InstanceManagerSource({
    url: source.instanceManager,
    tls: {
      ca: readPem(join(layout.mounts.serverCa, 'ca.crt'), "the Cluster's server CA"),
      cert: readPem(join(layout.mounts.replicationTls, 'tls.crt'), 'the replication client certificate'),
      key: readPem(join(layout.mounts.replicationTls, 'tls.key'), 'the replication client key'),
      servername: source.serverName,
    },
    compression: { algorithm: 'zstd', level: 1 },
  });
  stream.on('error', () => undefined);
  const encoding = await stream.encoding;
  logger.info('primary answered', { compression: encoding, expectedBytes: stream.expectedBytes });
  const progress = new ProgressReporter((p) => logger.info('cloning', p));
  let bytes = 0;
  stream.on('data', (chunk: Buffer) => progress.update((bytes += chunk.length)));
  const extract = MYSQL_ENGINE.restore.extract(dir);
  // mbstream's stdin is closed only after the trailers reported success (ProcessSink, decision 0009).
  await pipeline(
    stream,
    createDecompressor(encoding),
    new ProcessSink(extract.command, [...extract.args], { logger: logger.child({ step: 'extract' }) }),
  );
  progress.update(bytes, true);
  return stream.positions.endGTID;
}

/** Busy (it streams a backup) or not reachable yet (starting, restarting): worth asking again. */
const RETRYABLE = (error: unknown) => error instanceof InstanceManagerBusyError || error instanceof InstanceManagerUnreachableError;

export interface CloneRetry {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  readonly delayMs: number;
}

/** Asks again for about five minutes, then fails the container (the kubelet restarts it). */
export const CLONE_RETRY: CloneRetry = { attempts: 30, delayMs: 10_000 };

async function cloneOnce(source: CloneSource, layout: InstanceLayout, logger: Logger): Promise<CloneResult> {
  const dir = cloneDir(layout);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  logger.info('cloning from the primary', { primary: source.instanceName, instanceManager: source.instanceManager });
  const trailerGtid = await streamInto(dir, source, layout, logger);
  logger.info('clone streamed; preparing', { dir });
  await mariabackup(['--prepare', `--target-dir=${dir}`], 'mariabackup --prepare of the clone');
  const gtid = readBinlogInfo(dir) ?? trailerGtid ?? '';
  mkdirSync(layout.dataDir, { recursive: true });
  await mariabackup(
    ['--move-back', `--target-dir=${dir}`, `--datadir=${layout.dataDir}`],
    `mariabackup --move-back into ${layout.dataDir}`,
  );
  rmSync(dir, { recursive: true, force: true });
  logger.info('clone moved into the datadir', { gtid });
  return { gtid };
}

/**
 * Clones the primary into the empty `layout.dataDir`, asking again while the primary's instance
 * manager is busy or unreachable. Whatever stops it half-way leaves WORK_DIR/clone (or a partly moved
 * datadir) and no state file, which the next `silo instance init` cleans up.
 */
export async function cloneFromPrimary(
  source: CloneSource,
  layout: InstanceLayout,
  logger: Logger,
  retry: CloneRetry = CLONE_RETRY,
): Promise<CloneResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await cloneOnce(source, layout, logger);
    } catch (error) {
      if (!RETRYABLE(error) || attempt >= retry.attempts) throw error;
      logger.warn('the primary cannot stream a clone now; asking again', {
        error: (error as Error).message,
        attempt,
        retryInSeconds: retry.delayMs / 1000,
      });
      await new Promise((resolve) => setTimeout(resolve, retry.delayMs));
    }
  }
}
