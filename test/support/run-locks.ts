/**
 * Locks shared by the worker processes of one parallel mocha run (decision
 * 0240): a lock is a directory under the run directory, made with mkdir (atomic)
 * and holding the owner's PID, so a lock whose owner died is taken over
 * instead of waited on forever.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Test files that must not run at the same time as each other. Each group is
 * one shared server that the files load heavily; the other workers keep running
 * other files meanwhile.
 */
export const EXCLUSIVE_GROUPS: Record<string, string[]> = {
  // mariabackup of the one stack MariaDB (its BACKUP STAGE locks are one at a
  // time) plus zstd/age on 2 cores: side by side these took 4-9× longer.
  'stack-mariadb-backups': [
    'test/integration/workers/round-trips.test.ts',
    'test/integration/datapath/instance-manager.test.ts',
    'test/integration/datapath/cli-interop.test.ts',
    'test/integration/databases/mariadb.test.ts',
    'test/integration/databases/mariabackup-incremental.test.ts',
  ],
  // (The PostgreSQL files no longer share pgBackRest locks in /tmp: its remotes lock in their Pod's own volume, decision 0277.)
};

/** The exclusive groups of `files` (absolute paths), in a fixed order so two workers never wait on each other crosswise. */
export function groupsOf(files: string[], repoRoot: string): string[] {
  const rel = files.map((f) => relative(repoRoot, f));
  return Object.keys(EXCLUSIVE_GROUPS)
    .filter((g) => EXCLUSIVE_GROUPS[g].some((f) => rel.includes(f)))
    .sort();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Waits until this process holds lock `name` of the run in `runDir`. */
export async function acquire(runDir: string, name: string, pollMs = 250): Promise<void> {
  const lock = join(runDir, `lock-${name}`);
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      // Just made, its pid not written yet: wait.
    }
    if (owner && !alive(owner)) rmSync(lock, { recursive: true, force: true });
    else await new Promise((r) => setTimeout(r, pollMs));
  }
}

export function release(runDir: string, name: string): void {
  rmSync(join(runDir, `lock-${name}`), { recursive: true, force: true });
}

/** Runs fn while holding lock `name`. */
export async function withLock<T>(runDir: string, name: string, fn: () => Promise<T>): Promise<T> {
  await acquire(runDir, name);
  try {
    return await fn();
  } finally {
    release(runDir, name);
  }
}
