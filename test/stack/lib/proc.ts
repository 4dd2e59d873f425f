import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DaemonSpec {
  cmd: string;
  args: string[];
  /** Where the PID is recorded; `down` and `status` only ever trust this file. */
  pidFile: string;
  /** stdout and stderr are appended here and kept after failures. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
}

/**
 * Starts a long-running server detached from this process, in its own process
 * group, so it outlives `npm run stack -- up` and can be stopped by PID later.
 * Servers are always run in the foreground mode of their own CLI so that the
 * PID we record is the server itself, not a short-lived forking parent.
 */
export function spawnDaemon(spec: DaemonSpec): number {
  mkdirSync(dirname(spec.pidFile), { recursive: true });
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.cmd, spec.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: spec.env ?? process.env,
      cwd: spec.cwd,
      uid: spec.uid,
      gid: spec.gid,
    });
    if (!child.pid) throw new Error(`could not start ${spec.cmd}`);
    child.unref();
    writeFileSync(spec.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie still answers kill(0); it is not a running server.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export function pidFileAlive(pidFile: string): boolean {
  return isAlive(readPid(pidFile));
}

/**
 * Stops the process recorded in pidFile: `signal` (SIGTERM), wait, then SIGKILL.
 * Only that PID is signalled, never a name pattern, so other agents' and
 * other runs' servers are never touched.
 */
export async function stopByPidFile(pidFile: string, graceMs = 15_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const pid = readPid(pidFile);
  if (isAlive(pid)) {
    process.kill(pid!, signal);
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) {
      process.kill(pid!, 'SIGKILL');
      while (isAlive(pid)) await sleep(50);
    }
  }
  rmSync(pidFile, { force: true });
}

/** The last lines of a log file, for error messages when a server fails to come up. */
export function logTail(logFile: string, lines = 25): string {
  if (!existsSync(logFile)) return `(no log at ${logFile})`;
  const text = readFileSync(logFile, 'utf8').trimEnd().split('\n');
  return `--- last ${Math.min(lines, text.length)} lines of ${logFile} ---\n${text.slice(-lines).join('\n')}`;
}
