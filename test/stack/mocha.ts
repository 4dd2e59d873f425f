import type { StackContext } from './component.js';
import { createContext } from './context.js';
import { resolveOrder } from './orchestrate.js';

// A global, not a module variable: test files and the root hooks must share one
// set even if a loader ever instantiates this module twice.
const KEY = Symbol.for('silo.stack.declared');
const g = globalThis as unknown as { [KEY]?: Set<string> };
const declared: Set<string> = (g[KEY] ??= new Set());

export interface StackHandle {
  ctx: StackContext;
  /** Endpoints and credentials of the declared components (and their dependencies). */
  env(): Record<string, string>;
}

/**
 * Declares, at a test file's top level, the stack components the file needs.
 * Mocha loads every file before running anything, so the root beforeAll hook
 * (root-hooks.ts) sees the union of all declarations and starts each once.
 */
export function useStack(...names: string[]): StackHandle {
  resolveOrder(names); // fail at load time on an unknown name or a cycle
  for (const n of names) declared.add(n);
  const ctx = createContext();
  return {
    ctx,
    env: () => Object.assign({}, ...resolveOrder(names).map((c) => c.env(ctx))),
  };
}

export function declaredComponents(): string[] {
  return [...declared];
}
