// Root hooks and global fixtures (loaded through .mocharc.yaml `require`): bring
// up the components that test files declared with useStack(), once per run.
//
// Serial or parallel (decision 0240), the run is owned by the main mocha
// process: mochaGlobalSetup makes a run directory, the root beforeAll (once per
// run in serial mode, once per file in each parallel worker) starts what the
// file(s) declared and is not up yet, under a lock in that directory, and
// records it there; mochaGlobalTeardown stops exactly what was recorded.
// A file in an exclusive group (test/support/run-locks.ts) also holds its
// group's lock from the root beforeAll to the root afterAll.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Context } from 'mocha';
import { acquire, groupsOf, release, withLock } from '../support/run-locks.js';
import { createContext } from './context.js';
import { repoRoot } from './kube/layout.js';
import { declaredComponents } from './mocha.js';
import { downAll, resolveOrder, startComponent, upAll } from './orchestrate.js';

const ctx = createContext();
/** Set by mochaGlobalSetup; parallel workers inherit it from the main process. */
const RUN_DIR = 'SILO_STACK_RUN_DIR';
/** Only when no global setup ran (a runner that skips global fixtures): this process's own starts. */
const startedHere: string[] = [];
/** Exclusive-group locks this worker holds for the file it is running. */
let held: string[] = [];

/** The spec files under the root suite: one in a parallel worker, all of them in a serial run. */
const filesOf = (ctx: Context): string[] => [
  ...new Set((ctx.test?.parent?.suites ?? []).map((s) => s.file).filter((f): f is string => !!f)),
];

const startedFile = (dir: string) => join(dir, 'started');
const readStarted = (dir: string) =>
  existsSync(startedFile(dir)) ? readFileSync(startedFile(dir), 'utf8').split('\n').filter(Boolean) : [];

/**
 * Brings up `names` and what they depend on, each component under a lock of its own and as soon as its
 * dependencies are up: two workers start different components side by side (one the API server, another
 * RGW and MariaDB), and no worker trusts a component another is still starting (its process can look alive
 * before its up() has finished). Installs take one lock between them: builds and apt share two cores and
 * the dpkg lock. What a worker starts is appended to the run's `started` file as it starts, so teardown
 * also stops a half-started one.
 */
async function upEachUnderItsLock(dir: string, names: string[]): Promise<void> {
  const up = new Map<string, Promise<void>>();
  for (const c of resolveOrder(names)) {
    const dependencies = (c.dependsOn ?? []).map((d) => up.get(d)!);
    up.set(
      c.name,
      Promise.all(dependencies).then(() =>
        // The start lock lives in the stack root, not the run directory: a second run on the machine (the demo,
        // one test file run by hand beside CI) waits for this start instead of racing it for the same port.
        withLock(ctx.root, `stack-${c.name}`, async () => {
          if (await c.status(ctx)) return;
          await withLock(dir, 'stack-install', () => c.install(ctx));
          const mine: string[] = [];
          try {
            await startComponent(ctx, c, mine);
          } finally {
            if (mine.length) appendFileSync(startedFile(dir), mine.map((n) => `${n}\n`).join(''));
          }
        }),
      ),
    );
  }
  // No catch: a component that cannot start fails the run, in CI and locally. Nothing is skipped; the
  // error carries the tail of the server's log. Every start is waited for before the first error is thrown.
  const results = await Promise.allSettled(up.values());
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Main process, before any worker starts: a fresh run directory. */
export function mochaGlobalSetup(): void {
  mkdirSync(join(ctx.root, 'runs'), { recursive: true });
  process.env[RUN_DIR] = mkdtempSync(join(ctx.root, 'runs', 'run-'));
}

/** Main process, after every file: stops what this run started (dependents first). */
export async function mochaGlobalTeardown(): Promise<void> {
  const dir = process.env[RUN_DIR];
  if (!dir) return;
  const started = readStarted(dir);
  rmSync(dir, { recursive: true, force: true });
  delete process.env[RUN_DIR];
  if (!started.length) return;
  if (process.env.SILO_KEEP_STACK === '1') {
    ctx.log(`SILO_KEEP_STACK=1: leaving ${started.join(', ')} running`);
    return;
  }
  // Only what this run started: a developer's already-running stack stays up.
  await downAll(ctx, started);
}

export const mochaHooks = {
  async beforeAll(this: Context) {
    const names = declaredComponents();
    if (!names.length) return;
    // A cold machine builds MinIO, mc and fake-gcs-server and installs Debian
    // packages first; CI runs `npm run stack -- install` earlier to keep this short.
    this.timeout(45 * 60 * 1000);
    const dir = process.env[RUN_DIR];
    if (!dir) {
      ctx.log(
        `bringing up: ${resolveOrder(names)
          .map((c) => c.name)
          .join(', ')}`,
      );
      await upAll(ctx, names, startedHere);
      return;
    }
    await upEachUnderItsLock(dir, names);
    // Deliberately no Object.assign(process.env, …): libpq's PGPORT/PGHOST would leak
    // into other tests' child processes. Tests read endpoints via useStack().env().
    const files = filesOf(this);
    if (files.length === 1) {
      for (const group of groupsOf(files, repoRoot)) {
        const t0 = Date.now();
        await acquire(dir, group, 500);
        held.push(group);
        if (Date.now() - t0 > 1000) ctx.log(`${group}: waited ${((Date.now() - t0) / 1000).toFixed(0)} s for the group lock`);
      }
    }
  },
  async afterAll(this: Context) {
    const dir = process.env[RUN_DIR];
    if (dir) for (const group of held) release(dir, group);
    held = [];
    // With a run directory, mochaGlobalTeardown stops things once every worker is done.
    if (dir || !startedHere.length) return;
    this.timeout(5 * 60 * 1000);
    if (process.env.SILO_KEEP_STACK === '1') {
      ctx.log(`SILO_KEEP_STACK=1: leaving ${startedHere.join(', ')} running`);
      return;
    }
    await downAll(ctx, startedHere);
  },
};
