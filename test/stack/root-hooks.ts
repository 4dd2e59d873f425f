// Root hooks (loaded through .mocharc.yaml `require`): bring up the union of
// the components that test files declared with useStack(), once per run.
import type { Context } from 'mocha';
import { createContext } from './context.js';
import { declaredComponents } from './mocha.js';
import { downAll, resolveOrder, upAll } from './orchestrate.js';

const ctx = createContext();
const started: string[] = [];

export const mochaHooks = {
  async beforeAll(this: Context) {
    const names = declaredComponents();
    if (!names.length) return;
    // A cold machine builds MinIO, mc and fake-gcs-server and installs Debian
    // packages first; CI runs `npm run stack -- install` earlier to keep this short.
    this.timeout(45 * 60 * 1000);
    ctx.log(`bringing up: ${resolveOrder(names).map((c) => c.name).join(', ')}`);
    // No catch: a component that cannot start fails the run, in CI and locally.
    // Nothing is skipped; the error carries the tail of the server's log.
    // `started` fills as components start, so afterAll also stops a half-started one.
    await upAll(ctx, names, started);
    // Deliberately no Object.assign(process.env, …): libpq's PGPORT/PGHOST would leak
    // into other tests' child processes. Tests read endpoints via useStack().env().
  },
  async afterAll(this: Context) {
    this.timeout(5 * 60 * 1000);
    if (process.env.SILO_KEEP_STACK === '1') {
      if (started.length) ctx.log(`SILO_KEEP_STACK=1: leaving ${started.join(', ')} running`);
      return;
    }
    // Only what this run started: a developer's already-running stack stays up.
    if (started.length) await downAll(ctx, started);
  },
};
