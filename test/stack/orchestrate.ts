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
 * Installs what is missing and starts, in dependency order, every component
 * that is not already healthy. Returns the names it started, so a caller (the
 * mocha hooks) stops only those and leaves a developer's running stack alone.
 */
export async function upAll(ctx: StackContext, names: string[]): Promise<string[]> {
  const started: string[] = [];
  for (const c of resolveOrder(names)) {
    if (await c.status(ctx)) {
      ctx.log(`${c.name}: already up`);
      continue;
    }
    await timed(ctx, `${c.name}: installed`, () => c.install(ctx));
    started.push(c.name);
    await timed(ctx, `${c.name}: up`, () => c.up(ctx));
    if (!(await c.status(ctx))) throw new Error(`${c.name}: up() returned but status() is not healthy; logs in ${ctx.logDir}`);
  }
  return started;
}

/** Stops components in reverse dependency order; a failure to stop one does not keep the others running. */
export async function downAll(ctx: StackContext, names: string[]): Promise<void> {
  const errors: string[] = [];
  const order = names.length ? resolveOrder(names).filter((c) => names.includes(c.name)) : resolveOrder([]);
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
