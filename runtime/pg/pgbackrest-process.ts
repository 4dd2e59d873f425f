/**
 * Runs PostgreSQL's and pgBackRest's programs as the `postgres` user: PostgreSQL refuses root, and
 * pgBackRest must own what it writes next to PGDATA. In a real image the container already runs as
 * that user; under the process kubelet it runs as root, so the uid and gid are dropped per child.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

let cached: { uid: number; gid: number } | undefined | null = null;

/** The postgres user's ids when this process runs as root, else undefined (already someone else). */
export function postgresIds(): { uid: number; gid: number } | undefined {
  if (cached !== null) return cached;
  if (process.getuid?.() !== 0) return (cached = undefined);
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return (cached = { uid: id('-u'), gid: id('-g') });
}

export function spawnAsPostgres(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(command, args, { ...options, ...(postgresIds() ?? {}) });
}

export interface RunResult {
  readonly code: number | null;
  /** stdout and stderr interleaved as they came, cut to the last 256 KiB. */
  readonly output: string;
  readonly stdout: string;
}

/** How long a command stopped through `signal` has to end on SIGTERM before it is killed. */
export const STOP_GRACE_MS = 20_000;
/** How often a stop looks whether the command's processes are gone. */
const GONE_POLL_MS = 50;

/**
 * Runs a command as postgres to its end; `onLine` sees every output line as it comes. `signal` stops it and every
 * process under it: SIGTERM, then SIGKILL after STOP_GRACE_MS; the result is the command's own end (code null, or
 * pgBackRest's 63), never a rejection, and it comes only once all of them are gone. pgBackRest's main process exits on
 * SIGTERM at once (`exitOnSignal` calls `exit()`) without ending its `local` processes, and a local in the middle of a
 * file goes on writing it into the repository: after the next backup had removed the stopped one's directory, such a
 * write made it again, and every later incremental failed with "new backup label … is not later than latest backup
 * label" (pgBackRest's 106).
 */
export function runAsPostgres(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; signal?: AbortSignal; stopGraceMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnAsPostgres(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    let partial = '';
    const take = (chunk: Buffer, isStdout: boolean) => {
      const text = chunk.toString('utf8');
      if (isStdout) stdout = (stdout + text).slice(-262_144);
      output = (output + text).slice(-262_144);
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onLine?.(line);
    };
    child.stdout!.on('data', (c: Buffer) => take(c, true));
    child.stderr!.on('data', (c: Buffer) => take(c, false));
    let stopping: Promise<void> | undefined;
    const stop = () => {
      if (stopping || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      stopping = stopTree(child.pid, options.stopGraceMs ?? STOP_GRACE_MS);
    };
    if (options.signal?.aborted) stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    child.on('error', reject);
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', stop);
      if (partial) options.onLine?.(partial);
      void (stopping ?? Promise.resolve()).then(() => resolve({ code, output, stdout }));
    });
  });
}

/**
 * SIGTERM to `pid` and every process under it, taken from /proc before the signal (once `pid` is gone its children
 * belong to init and cannot be told apart), SIGKILL to those left after `graceMs`; resolves when none is left. Each is
 * known by its pid and start time, so a pid the kernel hands to a new process meanwhile is neither waited on nor killed.
 */
async function stopTree(pid: number, graceMs: number): Promise<void> {
  if (statFields(pid) === undefined) {
    // No /proc to read (not Linux), or it has just ended: SIGTERM to the command alone, nothing to wait for.
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // gone already
    }
    return;
  }
  const tree = [pid, ...descendants(pid)].map((p) => ({ pid: p, started: statFields(p)?.[STARTTIME] }));
  const left = () => tree.filter((p) => p.started !== undefined && running(p.pid, p.started));
  const signal = (sig: NodeJS.Signals) => {
    for (const { pid: p } of left()) {
      try {
        process.kill(p, sig);
      } catch {
        // gone already
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  let killed = false;
  while (left().length) {
    if (!killed && Date.now() >= deadline) {
      signal('SIGKILL');
      killed = true;
    }
    await sleep(GONE_POLL_MS);
  }
}

/** Every process under `pid` (its children, theirs, …), from /proc/<pid>/stat. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return []; // no /proc: not Linux
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const parent = statFields(Number(entry))?.[PPID];
    if (parent !== undefined) children.set(Number(parent), [...(children.get(Number(parent)) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length;) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** Indexes into statFields: proc(5)'s fields 3 (state), 4 (ppid) and 22 (starttime), counted after the name. */
const [STATE, PPID, STARTTIME] = [0, 1, 19];

/** The fields of /proc/<pid>/stat after the command's name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

/** Still the same process, and running: a zombie has ended, whoever reaps it. */
const running = (pid: number, started: string): boolean => {
  const fields = statFields(pid);
  return fields !== undefined && fields[STARTTIME] === started && fields[STATE] !== 'Z' && fields[STATE] !== 'X';
};
