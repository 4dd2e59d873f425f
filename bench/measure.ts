import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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

/**
 * The environment a Job's container starts with: PATH and HOME (and TMPDIR if set), then `extra`; not the benchmark
 * shell's. A workstation's variables change what is measured: this machine sets NODE_EXTRA_CA_CERTS, with which every
 * Node process parses a 140-certificate bundle at start (70–80 ms here) that no worker in a Pod pays.
 */
export function containerEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const { PATH, HOME, TMPDIR } = process.env;
  return { PATH, HOME, ...(TMPDIR ? { TMPDIR } : {}), ...extra };
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

/**
 * A 95 % bootstrap interval of median(baseline) / median(silo) over paired rounds: rounds are drawn again with
 * replacement (a round's two sides stay together, as they ran under the same machine state), 2000 times. It says how
 * far another run of the same rounds could put the ratio; a run's median alone does not (decision 0285, amended).
 */
export function ratioInterval(baseline: number[], silo: number[], draws = 2000): [number, number] {
  const ratios: number[] = [];
  for (let d = 0; d < draws; d++) {
    const picks = baseline.map(() => Math.floor(Math.random() * baseline.length));
    ratios.push(median(picks.map((i) => baseline[i])) / median(picks.map((i) => silo[i])));
  }
  ratios.sort((a, b) => a - b);
  return [ratios[Math.floor(draws * 0.025)], ratios[Math.ceil(draws * 0.975) - 1]];
}

/**
 * What one run says of a "ratio ≥ target" goal, in words: whether its ratio meets the target, and whether its interval
 * is clear of it (lies wholly on that side). A run whose interval holds the target cannot tell a ratio just above it
 * from one just below; more rounds can (decision 0285, amended).
 */
export function targetVerdict(ratio: number, interval: readonly [number, number], target: number): string {
  const met = ratio >= target;
  const clear = met ? interval[0] >= target : interval[1] < target;
  // Three places: a table's 0.90 may be 0.896, which misses 0.9.
  const word = `${met ? 'met' : 'not met'} (${ratio.toFixed(3)}, interval ${interval.map((r) => r.toFixed(3)).join('–')})`;
  return clear
    ? `${word}: the ratio and its whole interval are ${met ? 'at or above' : 'below'} ${target}`
    : `${word} by the ratio, but the interval reaches ${met ? 'below' : 'above'} ${target}: more rounds (SILO_BENCH_ROUNDS) would tell`;
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

/** Busy and total jiffies of all CPUs, from /proc/stat's first line. */
function cpuJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + fields[4]; // idle + iowait
  return { busy: total - idle, total };
}

/** CPU jiffies (user + system) of every process, by `pid comm`. */
function processJiffies(): Map<string, number> {
  const byProcess = new Map<string, number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byProcess.set(`${pid} ${comm}`, Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone meanwhile
    }
  }
  return byProcess;
}

/**
 * Flushes the page cache and waits until the machine is quiet (under `busyBelow` of its CPUs busy over half a
 * second), at most `maxMs`: what one side left running (a deleted cluster's teardown, writeback) is not timed in
 * the next. Untimed; returns the seconds waited and, when it had to wait, the processes busiest in its last window.
 */
export async function settle(busyBelow = 0.15, maxMs = 30_000): Promise<{ seconds: number; busiest?: string }> {
  const started = Date.now();
  execFileSync('sync');
  for (;;) {
    const [a, pa] = [cpuJiffies(), processJiffies()];
    await new Promise((r) => setTimeout(r, 500));
    const [b, pb] = [cpuJiffies(), processJiffies()];
    const busy = (b.busy - a.busy) / Math.max(1, b.total - a.total);
    const seconds = (Date.now() - started) / 1000;
    if (busy < busyBelow || Date.now() - started > maxMs) {
      if (seconds < 2) return { seconds };
      const busiest = [...pb]
        .map(([name, j]) => [name, j - (pa.get(name) ?? j)] as const)
        .filter(([, d]) => d > 0)
        .sort((x, y) => y[1] - x[1])
        .slice(0, 5)
        .map(([name, d]) => `${name} ${d * 10} ms`)
        .join(', ');
      return { seconds, busiest };
    }
  }
}
