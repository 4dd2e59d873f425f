import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import type { Logger } from '../../../logging/logger.js';
import { createCompressor, DEFAULT_LEVELS, DEFAULT_ZSTD_WORKERS, type CompressionOptions } from '../../../datapath/stages/compression.js';
import type { BackupStream, BackupStreamOutcome } from '../../engine.js';
import { parseZstdSummary, zstdCompressArgs } from '../../zstd-cli.js';

export interface BackupStreamOptions {
  readonly tool: { name: string; path: string };
  readonly args: string[];
  readonly compression: CompressionOptions;
  /** The zstd command to compress with (decision 0017); undefined compresses zstd in process. */
  readonly zstdCli?: string;
  readonly log: Logger;
}

export type { BackupStream, BackupStreamOutcome };

/** Like Promise.all, but settles only once every promise has: a failed compressor still waits for the tool to exit. */
async function allSettled<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

const exited = (child: ChildProcess) =>
  new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, signal) => resolve([code, signal])));

/**
 * Runs the backup tool (mariabackup/xtrabackup) with its stdout compressed as the client asked:
 * by the zstd command when there is one, so the tool's bytes never pass through Node (decision 0017);
 * otherwise in process (decision 0014).
 */
export function startBackupStream(options: BackupStreamOptions): BackupStream {
  const { compression, log } = options;
  if (compression.algorithm === 'zstd' && options.zstdCli) return zstdCliStream(options, options.zstdCli);
  const child = spawn(options.tool.path, options.args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = logStderr(child, log);
  let sourceBytes = 0;
  // Counted by a listener beside the pipe rather than a Transform: one stream hop less per 64 KiB read.
  child.stdout!.on('data', (chunk: Buffer) => {
    sourceBytes += chunk.length;
  });
  const output = compression.algorithm === 'none' ? child.stdout! : child.stdout!.pipe(createCompressor(compression));
  const done = allSettled([exited(child), finished(output)]).then(([[code, signal]]) => ({
    code,
    signal,
    sourceBytes,
    errorLine: stderr.errorLine(),
  }));
  return {
    output,
    done,
    compressedBy: compression.algorithm === 'none' ? 'none' : 'in-process',
    stop: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      child.stdout!.destroy();
      output.destroy();
    },
  };
}

/** tool stdout → zstd stdin through a socket the two processes share; Node reads zstd's stdout only. */
function zstdCliStream(options: BackupStreamOptions, zstdCommand: string): BackupStream {
  const level = options.compression.level ?? DEFAULT_LEVELS.zstd;
  const zstd = spawn(zstdCommand, zstdCompressArgs(level, options.compression.zstdWorkers ?? DEFAULT_ZSTD_WORKERS), {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const child = spawn(options.tool.path, options.args, { stdio: ['ignore', zstd.stdin!, 'pipe'] });
  // Only the tool holds zstd's stdin now, so zstd sees end of input exactly when the tool exits.
  zstd.stdin!.destroy();
  const stderr = logStderr(child, options.log);
  // zstd's -vv progress lines repeat for as long as the backup runs; keep the tail, where the summary is.
  let zstdStderr = '';
  zstd.stderr!.setEncoding('utf8').on('data', (text: string) => {
    zstdStderr = (zstdStderr + text).slice(-8192);
  });
  let outputBytes = 0;
  zstd.stdout!.on('data', (chunk: Buffer) => {
    outputBytes += chunk.length;
  });
  const done = allSettled([exited(child), exited(zstd), finished(zstd.stdout!)]).then(([[code, signal], [zstdCode, zstdSignal]]) => {
    if (zstdCode !== 0) {
      const reason = zstdSignal ? `was killed by ${zstdSignal}` : `exited with status ${zstdCode}`;
      throw new Error(
        `zstd ${reason}: ${
          zstdStderr
            .trim()
            .split(/[\r\n]+/)
            .at(-1)
            ?.slice(0, 300) ?? ''
        }`,
      );
    }
    const summary = parseZstdSummary(zstdStderr);
    // The summary's output count must be what arrived here, or it is not the summary we think it is.
    const sourceBytes = summary && summary.outputBytes === outputBytes ? summary.inputBytes : undefined;
    if (sourceBytes === undefined) options.log.warn("zstd did not report the uncompressed size; it is left out of the backup's metadata");
    return { code, signal, sourceBytes, errorLine: stderr.errorLine() };
  });
  return {
    output: zstd.stdout!,
    done,
    compressedBy: 'zstd-cli',
    stop: () => {
      for (const proc of [child, zstd]) if (proc.exitCode === null) proc.kill('SIGKILL');
      zstd.stdout!.destroy();
    },
  };
}

/** What reads as an error in mariabackup's or xtrabackup's stderr ("[00] FATAL ERROR: …", "Error: …", "Access denied …"). */
const ERROR_LINE = /error|fatal|fail|denied|cannot|can't|unable/i;

/**
 * Logs the tool's stderr at debug level and keeps the line that explains a failure: the last one that
 * reads as an error, else the last line. The tool prints no secrets (its password comes from a defaults
 * file, and it reports only whether one is set); the line goes into the backup's error trailer.
 */
function logStderr(child: ChildProcess, log: Logger): { errorLine(): string | undefined } {
  let lastError: string | undefined;
  let last: string | undefined;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log.debug('backup tool stderr', { line: line.slice(0, 2048) });
    if (!line.trim()) return;
    last = line;
    if (ERROR_LINE.test(line)) lastError = line;
  });
  return { errorLine: () => (lastError ?? last)?.replace(/^\[\d+\] [\d-]+ [\d:]+ /, '').slice(0, 300) };
}
