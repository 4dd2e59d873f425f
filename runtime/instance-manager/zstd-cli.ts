import { execFile } from 'node:child_process';

/**
 * The `zstd` command that compresses a physical backup beside the database (decision 0017):
 * mariabackup's stdout goes straight into zstd's stdin, so the instance manager reads only the
 * compressed bytes. The uncompressed size comes from zstd's own summary at `-vv`, which prints
 * exact byte counts: `/*stdin*\ : 40.00% (1425513555 B => 577281820 B, /*stdout*\)`.
 */

export interface ZstdSummary {
  readonly inputBytes: number;
  readonly outputBytes: number;
}

/** The last `(N B => M B` that zstd printed on stderr (progress lines come before it), or undefined. */
export function parseZstdSummary(stderr: string): ZstdSummary | undefined {
  const matches = [...stderr.matchAll(/\(\s*(\d+) B =>\s*(\d+) B,/g)];
  const last = matches.at(-1);
  return last ? { inputBytes: Number(last[1]), outputBytes: Number(last[2]) } : undefined;
}

/** Arguments for a streaming compression of stdin to stdout with a frame checksum, as the in-process codec writes it. */
export function zstdCompressArgs(level: number, workers: number): string[] {
  return [`-${level}`, `-T${workers}`, '--check', '-vv', '-c'];
}

let probed: Promise<string | undefined> | undefined;

/**
 * The zstd command, if one is installed and reports byte counts the way parseZstdSummary reads them.
 * Checked once, on 5 known bytes; an image without zstd, or a zstd that prints its summary differently,
 * compresses in process instead.
 */
export function findZstdCli(command = 'zstd'): Promise<string | undefined> {
  const probe = () =>
    new Promise<string | undefined>((resolve) => {
      const child = execFile(command, zstdCompressArgs(1, 1), { encoding: 'buffer', timeout: 10_000 }, (error, stdout, stderr) => {
        const summary = error ? undefined : parseZstdSummary(stderr.toString());
        resolve(summary?.inputBytes === 5 && summary.outputBytes === stdout.length ? command : undefined);
      });
      child.stdin?.on('error', () => undefined);
      child.stdin?.end('silo\n');
    });
  if (command !== 'zstd') return probe();
  probed ??= probe();
  return probed;
}
