import { spawn } from 'node:child_process';

export interface Measured {
  seconds: number;
  peakRssMiB: number;
  /** User + system CPU seconds of the command and every child it waited for (a pipeline's processes, a worker's threads). */
  cpuSeconds: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command under GNU time, so the peak RSS of the whole process is
 * measured by the kernel's accounting, not sampled. For a shell pipeline, time
 * reports the largest single process, which is what matters for a Job's limit.
 */
export function measure(command: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', 'SILO_MAXRSS_KB=%M SILO_CPU=%U %S', ...command], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const kb = Number(/SILO_MAXRSS_KB=(\d+)/.exec(stderr)?.[1] ?? 0);
      const cpu = /SILO_CPU=([\d.]+) ([\d.]+)/.exec(stderr);
      resolve({ seconds, peakRssMiB: kb / 1024, cpuSeconds: Number(cpu?.[1] ?? 0) + Number(cpu?.[2] ?? 0), code, stdout, stderr });
    });
  });
}

export function must(result: Measured, what: string): Measured {
  if (result.code !== 0) throw new Error(`${what} failed with status ${result.code}: ${result.stderr.split('\n').slice(-6).join('\n')}`);
  return result;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;

export function table(rows: Array<Record<string, string | number>>): string {
  const headers = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? v.toFixed(v >= 100 ? 0 : 2) : v);
  const widths = headers.map((h) => Math.max(h.length, ...rows.map((r) => String(cell(r[h])).length)));
  const line = (values: string[]) => `| ${values.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  return [
    line(headers),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.map((r) => line(headers.map((h) => String(cell(r[h]))))),
  ].join('\n');
}
