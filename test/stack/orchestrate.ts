import type { Component, StackContext } from './component.js';
import { getComponent, registry } from './registry.js';

/** The named components plus everything they depend on, dependencies first. No names means all. */
export function resolveOrder(names: string[]): Component[] {
  const wanted = names.length ? names : [...registry.keys()];
  const ordered: Component[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`dependency cycle: ${[...path, name].join(' → ')}`);
    state.set(name, 'visiting');
    const c = getComponent(name);
    for (const dep of c.dependsOn ?? []) visit(dep, [...path, name]);
    state.set(name, 'done');
    ordered.push(c);
  };
  for (const n of wanted) visit(n, []);
  return ordered;
}

async function timed<T>(ctx: StackContext, what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const result = await fn();
  ctx.log(`${what} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

export async function installAll(ctx: StackContext, names: string[]): Promise<void> {
  for (const c of resolveOrder(names)) await timed(ctx, `${c.name}: installed`, () => c.install(ctx));
}

/**
 * Installs what is missing (one at a time: builds and apt share two cores and
 * the dpkg lock), then starts every component that is not already healthy, in
 * waves: a component starts once its dependencies are up, alongside the others
 * that are ready. Names are pushed to `started` before each start, so a caller
 * can stop even a half-started component after a failure, and only those:
 * a developer's already-running stack is left alone.
 */
/** Starts one component whose dependencies are up; its name is pushed to `started` first (see upAll). */
export async function startComponent(ctx: StackContext, c: Component, started: string[]): Promise<void> {
  started.push(c.name);
  await timed(ctx, `${c.name}: up`, () => c.up(ctx));
  if (!(await c.status(ctx))) throw new Error(`up() returned but status() is not healthy; logs in ${ctx.logDir}`);
}

export async function upAll(ctx: StackContext, names: string[], started: string[] = []): Promise<string[]> {
  const pending: Component[] = [];
  for (const c of resolveOrder(names)) {
    if (await c.status(ctx)) ctx.log(`${c.name}: already up`);
    else pending.push(c);
  }
  for (const c of pending) await timed(ctx, `${c.name}: installed`, () => c.install(ctx));
  const waiting = new Set(pending.map((c) => c.name));
  while (waiting.size) {
    const wave = pending.filter((c) => waiting.has(c.name) && !(c.dependsOn ?? []).some((d) => waiting.has(d)));
    const results = await Promise.allSettled(wave.map((c) => startComponent(ctx, c, started)));
    const errors = results.flatMap((r, i) => (r.status === 'rejected' ? [`${wave[i].name}: ${(r.reason as Error).message}`] : []));
    if (errors.length) throw new Error(`stack up failed:\n${errors.join('\n')}`);
    for (const c of wave) waiting.delete(c.name);
  }
  return started;
}

/** The named components plus everything that (transitively) depends on them. */
function withDependents(names: string[]): Set<string> {
  const set = new Set(names);
  for (let grew = true; grew;) {
    grew = false;
    for (const c of registry.values()) {
      if (!set.has(c.name) && (c.dependsOn ?? []).some((d) => set.has(d))) {
        set.add(c.name);
        grew = true;
      }
    }
  }
  return set;
}

/**
 * Stops components in reverse dependency order, dependents first (downing kube
 * also downs the kubelet). A failure to stop one does not keep the others running.
 */
export async function downAll(ctx: StackContext, names: string[]): Promise<void> {
  const errors: string[] = [];
  const stop = withDependents(names);
  const order = names.length ? resolveOrder([...stop]).filter((c) => stop.has(c.name)) : resolveOrder([]);
  for (const c of order.reverse()) {
    try {
      await timed(ctx, `${c.name}: down`, () => c.down(ctx));
    } catch (e) {
      errors.push(`${c.name}: ${(e as Error).message}`);
    }
  }
  if (errors.length) throw new Error(`stopping failed:\n${errors.join('\n')}`);
}

/** `export NAME='value'` lines, single-quoted so any value survives `eval`. */
export function envLines(ctx: StackContext, names: string[]): string[] {
  const vars: Record<string, string> = { SILO_STACK_ROOT: ctx.root, SILO_CACHE_DIR: ctx.cacheDir };
  for (const c of resolveOrder(names)) Object.assign(vars, c.env(ctx));
  return Object.entries(vars).map(([k, v]) => `export ${k}='${v.replaceAll("'", `'\\''`)}'`);
}
