import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { StackContext } from './component.js';

/**
 * Builds the one StackContext that the CLI and the mocha hooks share.
 * The cache lives outside the clone (~/.cache/silo) so a fresh CI clone on a
 * warm machine reuses built binaries; runtime state lives under one root so a
 * single `rm -rf` resets everything.
 */
export function createContext(opts: { quiet?: boolean } = {}): StackContext {
  const root = resolve(process.env.SILO_STACK_ROOT || '/tmp/silo-stack');
  const cacheDir = resolve(process.env.SILO_CACHE_DIR || join(homedir(), '.cache', 'silo'));
  const logDir = join(root, 'logs');
  for (const dir of [root, cacheDir, logDir]) mkdirSync(dir, { recursive: true });
  return {
    root,
    cacheDir,
    logDir,
    ci: process.env.CI === 'true',
    // stderr, so `stack env` output on stdout stays eval-able.
    log: (message: string) => {
      if (!opts.quiet) process.stderr.write(`[stack] ${message}\n`);
    },
  };
}
