/**
 * Runs PostgreSQL's and pgBackRest's programs as the `postgres` user: PostgreSQL refuses root, and
 * pgBackRest must own what it writes next to PGDATA. In a real image the container already runs as
 * that user; under the process kubelet it runs as root, so the uid and gid are dropped per child.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

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

/**
 * Runs a command as postgres to its end; `onLine` sees every output line as it comes. `signal` stops it: SIGTERM, which
 * pgBackRest answers by ending its local and remote processes and releasing its lock, then SIGKILL after STOP_GRACE_MS;
 * the result is then the command's own end (code null, or pgBackRest's 63), never a rejection.
 */
export function runAsPostgres(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; onLine?: (line: string) => void; signal?: AbortSignal } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnAsPostgres(command, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal: options.signal,
    });
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
    let killer: NodeJS.Timeout | undefined;
    child.on('error', (error) => {
      if (error.name !== 'AbortError') return reject(error);
      killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS); // 'close' follows, and resolves
    });
    child.on('close', (code) => {
      clearTimeout(killer);
      if (partial) options.onLine?.(partial);
      resolve({ code, output, stdout });
    });
  });
}
