/**
 * Start long-running servers detached (own process group, log file, pid file)
 * and stop them again by the recorded PID. The stack CLI and mocha both call
 * these, possibly from different Node processes, so the pid file is the truth.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { StackContext } from '../component.js';
import { isAlive, readPid, spawnDaemon } from '../lib/proc.js';

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  pidFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function logFile(ctx: StackContext, name: string): string {
  return join(ctx.logDir, `${name}.log`);
}

/** Spawns detached with stdout/stderr appended to ctx.logDir/<name>.log; returns the PID. */
export function startDetached(ctx: StackContext, opts: StartOptions): number {
  return spawnDaemon({
    cmd: opts.command,
    args: opts.args,
    pidFile: opts.pidFile,
    logFile: logFile(ctx, opts.name),
    env: opts.env,
    cwd: opts.cwd,
  });
}

export { isAlive, readPid };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * SIGTERM the process group recorded in pidFile, SIGKILL after graceMs, and
 * wait until the leader is gone. A stale pid file is simply removed.
 */
export async function stopByPidFile(pidFile: string, graceMs = 10_000): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === undefined) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // the whole group: servers may fork helpers
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  if (isAlive(pid)) {
    signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) {
      signal('SIGKILL');
      while (isAlive(pid)) await sleep(50);
    }
  }
  rmSync(pidFile, { force: true });
}

/** Polls check() until it resolves true; fails with the log tail if the process died or time ran out. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  opts: { timeoutMs: number; pid?: number; log?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    const died = opts.pid !== undefined && !isAlive(opts.pid);
    if (died || Date.now() > deadline) {
      const tail = opts.log && existsSync(opts.log) ? readFileSync(opts.log, 'utf8').split('\n').slice(-25).join('\n') : '';
      throw new Error(`${what} ${died ? 'exited' : `not healthy after ${opts.timeoutMs} ms`}; log ${opts.log ?? '-'}:\n${tail}`);
    }
    await sleep(250);
  }
}
