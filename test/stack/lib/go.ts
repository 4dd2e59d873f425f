import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { StackContext } from '../component.js';
import { run } from './run.js';

/**
 * The go command: $GO, else `go` on PATH, else the official tarball's /usr/local/go/bin/go.
 * CI runs with a trimmed environment, where /usr/local/go/bin may be off PATH.
 */
function goCommand(): string {
  if (process.env.GO) return process.env.GO;
  const onPath = (process.env.PATH ?? '').split(delimiter).some((d) => d && existsSync(join(d, 'go')));
  return onPath ? 'go' : '/usr/local/go/bin/go';
}

/** Where a pinned Go program lives in the cache; the version is in the path so a bump rebuilds. */
export function goBinPath(ctx: StackContext, bin: string, version: string): string {
  return join(ctx.cacheDir, 'bin', `${bin}-${version}`, bin);
}

/**
 * `go install module@version` into the cache, once. The build goes to a
 * .partial directory that is renamed only on success, so an interrupted build
 * never leaves a half-written binary that later runs would trust.
 */
export async function goInstallCached(ctx: StackContext, module: string, version: string, bin: string): Promise<string> {
  const target = goBinPath(ctx, bin, version);
  if (existsSync(target)) return target;
  const dir = join(ctx.cacheDir, 'bin', `${bin}-${version}`);
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  ctx.log(`go install ${module}@${version} (first run only; several minutes)`);
  const started = Date.now();
  await run('nice', ['-n', '10', goCommand(), 'install', '-trimpath', `${module}@${version}`], {
    env: { ...process.env, GOBIN: partial, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
  });
  if (!existsSync(join(partial, bin))) throw new Error(`go install ${module}@${version} produced no ${bin}`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  ctx.log(`built ${bin} in ${Math.round((Date.now() - started) / 1000)} s`);
  return target;
}
