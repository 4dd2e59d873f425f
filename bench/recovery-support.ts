/**
 * What bench/recovery.ts measures with: the disk a directory tree holds (each inode once, as du
 * counts hard links) sampled during a run, a command's time, CPU and peak RSS under GNU time plus
 * the first process's own high-water mark, a command run in a private mount namespace (as the
 * process kubelet runs a container, so `silo instance init|db` see their Pod paths), and the wait
 * for a server to answer `SELECT 1`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountScript, type BindMount } from '../test/stack/kubelet/container-process.js';

export const MiB = 1024 * 1024;

/** Disk blocks used under `roots` (bytes), each inode counted once; files that vanish mid-walk are skipped. */
export function treeBytes(roots: readonly string[]): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (path: string) => {
    let st;
    try {
      st = lstatSync(path, { bigint: false });
    } catch {
      return;
    }
    const id = `${st.dev}:${st.ino}`;
    if (seen.has(id)) return;
    seen.add(id);
    total += st.blocks * 512;
    if (!st.isDirectory()) return;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const name of names) walk(join(path, name));
  };
  for (const root of roots) walk(root);
  return total;
}

const freeBytes = (path: string) => {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
};

export interface DiskPeak {
  /** The most the trees held at once (treeBytes). */
  readonly treeBytes: number;
  /** The most the filesystem's free space fell below its level at start (statfs; other writers add noise). */
  readonly filesystemBytes: number;
}

/** Samples treeBytes(roots) and the filesystem's free space every `ms` from start() to stop(). */
export class DiskSampler {
  private timer?: NodeJS.Timeout;
  private peakTree = 0;
  private freeAtStart = 0;
  private lowestFree = 0;

  constructor(
    private readonly roots: readonly string[],
    private readonly filesystem: string,
    private readonly ms = 100,
  ) {}

  start(): void {
    this.freeAtStart = this.lowestFree = freeBytes(this.filesystem);
    this.sample();
    this.timer = setInterval(() => this.sample(), this.ms);
  }

  sample(): void {
    this.peakTree = Math.max(this.peakTree, treeBytes(this.roots));
    this.lowestFree = Math.min(this.lowestFree, freeBytes(this.filesystem));
  }

  /** The peak so far, a sample taken now included; the sampler keeps running. */
  peak(): DiskPeak {
    this.sample();
    return { treeBytes: this.peakTree, filesystemBytes: Math.max(this.freeAtStart - this.lowestFree, 0) };
  }

  stop(): DiskPeak {
    clearInterval(this.timer);
    return this.peak();
  }
}

export interface TimedRun {
  seconds: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** GNU time's maximum RSS: the largest process of the tree it waited for (the command or any child it reaped). */
  treeMaxRssMiB: number;
  /** VmHWM of the command's own process (after exec: node for `build/silo`), sampled every 100 ms. */
  ownPeakRssMiB: number;
  /** CPU seconds, user + system, of the command and every child it reaped. */
  cpuSeconds: number;
}

const childrenOf = (pid: number): number[] => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};

const vmHwmKiB = (pid: number): number | undefined => {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
};

/** Runs `command` under GNU time, sampling its own process's VmHWM; `onStarted` gets the child process (to signal it). */
export function timed(command: string[], env: NodeJS.ProcessEnv, onStarted?: (child: ChildProcess) => void): Promise<TimedRun> {
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/time', ['-f', 'SILO_TIME maxrss=%M user=%U sys=%S', ...command], { env });
    onStarted?.(child);
    let stdout = '';
    let stderr = '';
    let ownKiB = 0;
    const poll = setInterval(() => {
      for (const pid of childrenOf(child.pid!)) ownKiB = Math.max(ownKiB, vmHwmKiB(pid) ?? 0);
    }, 100);
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => {
      clearInterval(poll);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const m = /SILO_TIME maxrss=(\d+) user=([\d.]+) sys=([\d.]+)/.exec(stderr);
      resolve({
        seconds,
        code,
        stdout,
        stderr,
        treeMaxRssMiB: Number(m?.[1] ?? 0) / 1024,
        ownPeakRssMiB: ownKiB / 1024,
        cpuSeconds: Number(m?.[2] ?? 0) + Number(m?.[3] ?? 0),
      });
    });
  });
}

export function ok<T extends { code: number | null; stderr: string }>(run: T, what: string): T {
  if (run.code !== 0) throw new Error(`${what} failed with status ${run.code}:\n${run.stderr.trim().split('\n').slice(-12).join('\n')}`);
  return run;
}

/**
 * argv that runs `command` in a private mount namespace with `mounts` bound at their targets: the
 * process kubelet's container prologue (test/stack/kubelet/container-process.ts, decision 0102).
 */
export const inMountNamespace = (mounts: BindMount[], command: string[]): string[] => [
  'unshare',
  '--mount',
  '--propagation',
  'private',
  '--',
  '/bin/bash',
  '-c',
  mountScript(mounts, '/'),
  'container',
  ...command,
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function selectOne(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const client = spawn('mariadb', ['--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', 'SELECT 1'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let out = '';
    client.stdout.on('data', (c) => (out += c));
    client.on('close', (code) => resolve(code === 0 && out.trim() === '1'));
  });
}

/** Resolves when `SELECT 1` through `socket` answers 1 (polled every 100 ms); rejects when `exited` resolves first or after `ms`. */
export async function untilSelectOne(socket: string, exited: Promise<unknown>, ms = 600_000): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + ms;
  while (!(await selectOne(socket))) {
    if (gone) throw new Error(`the server on ${socket} exited before it answered SELECT 1`);
    if (Date.now() > deadline) throw new Error(`the server on ${socket} did not answer SELECT 1 within ${ms / 1000} s`);
    await sleep(100);
  }
}

/** A long-running process in its own process group, stopped by signalling the group. */
export interface Daemon {
  readonly exited: Promise<number | null>;
  stop(): Promise<void>;
  output(): string;
}

export function startDaemon(command: string[], env: NodeJS.ProcessEnv): Daemon {
  const child = spawn(command[0], command.slice(1), { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c) => (output = (output + c).slice(-20_000)));
  child.stderr.on('data', (c) => (output = (output + c).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* gone */
    }
  };
  return {
    exited,
    output: () => output,
    async stop() {
      signal('SIGTERM');
      const timer = setTimeout(() => signal('SIGKILL'), 120_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Puts a wrapper for each of `commands` in `dir` that runs the real one under GNU time and appends
 * `<name> <wall> s <user> user <sys> sys <start epoch> [args]` to `log`; returns `dir`, to put first on PATH.
 * Every process that finds them on PATH is traced (the worker's mbstream and sync, the baseline's too).
 */
export function traceCommands(dir: string, log: string, commands: readonly string[]): string {
  mkdirSync(dir, { recursive: true });
  for (const name of commands) {
    const real = execFileSync('sh', ['-c', `command -v ${name}`])
      .toString()
      .trim();
    const format = `${name} %e s %U user %S sys $(date +%s.%N) [$*]`;
    writeFileSync(join(dir, name), `#!/bin/bash\nexec /usr/bin/time -a -o '${log}' -f "${format}" '${real}' "$@"\n`, { mode: 0o755 });
  }
  return dir;
}
