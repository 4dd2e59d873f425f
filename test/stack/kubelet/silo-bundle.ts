/**
 * Silo's image, as the process kubelet runs it: the esbuild bundle behind its launcher
 * (`npm run build:runtime`, decisions 0011, 0016), built from this checkout's sources,
 * not the sources under tsx. A Node start on the bundle costs about 0.1 CPU-s against
 * 0.45 under tsx, on every Silo container start, and it runs what the image ships
 * (decision 0105).
 *
 * Builds are kept under .cache/silo-image/<key>/, the key a digest of the sources'
 * paths, sizes and mtimes: an edit to runtime/ makes the next container start build
 * again (about 1.5 s), so a kubelet left running never runs stale code. A build goes to
 * a private directory and is renamed into place, so kubelets that run at the same time
 * (the stack's and a test file's) share it without a lock.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../kube/layout.js';

const run = promisify(execFile);

/** Where the kubelet's builds of Silo's image live (gitignored). */
export const SILO_BUNDLE_CACHE = join(repoRoot, '.cache', 'silo-image');
/** What the bundle is built from: a change to any of these is a new build. */
const SOURCES = ['runtime', 'package-lock.json', 'scripts/build-runtime.sh'];
/** Builds older than this may go, except the newest few: a running worker may still load a chunk from its own. */
const KEEP_MS = 6 * 3600_000;
const KEEP_NEWEST = 3;

function statsUnder(path: string, out: string[]): void {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return;
  if (stat.isDirectory()) {
    for (const name of readdirSync(path).sort()) statsUnder(join(path, name), out);
    return;
  }
  out.push(`${relative(repoRoot, path)}\t${stat.size}\t${stat.mtimeMs}`);
}

/** The build key of the sources as they are now (about 2 ms for the runtime's files). */
export function siloBundleKey(): string {
  const lines: string[] = [];
  for (const source of SOURCES) statsUnder(join(repoRoot, source), lines);
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

function pruneOldBuilds(keep: string): void {
  const builds = readdirSync(SILO_BUNDLE_CACHE, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => ({ name: e.name, mtimeMs: statSync(join(SILO_BUNDLE_CACHE, e.name)).mtimeMs }))
    .sort((a, b) => b.mtimeMs - a.mtimeMs);
  for (const [index, build] of builds.entries()) {
    if (build.name === keep || index < KEEP_NEWEST || Date.now() - build.mtimeMs < KEEP_MS) continue;
    rmSync(join(SILO_BUNDLE_CACHE, build.name), { recursive: true, force: true });
  }
}

function scratchFor(key: string): string {
  mkdirSync(SILO_BUNDLE_CACHE, { recursive: true });
  const scratch = join(SILO_BUNDLE_CACHE, `.build-${process.pid}-${key}`);
  rmSync(scratch, { recursive: true, force: true });
  return scratch;
}

/** Renames a finished build into place (or takes the one another process placed first) and prunes old ones. */
function placeBuild(key: string, scratch: string): string {
  const dir = join(SILO_BUNDLE_CACHE, key);
  try {
    renameSync(scratch, dir);
  } catch (err) {
    // Another kubelet renamed the same build into place first: use theirs.
    if (!existsSync(join(dir, 'silo'))) throw err;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  pruneOldBuilds(key);
  return dir;
}

const BUILD_SCRIPT = join(repoRoot, 'scripts', 'build-runtime.sh');

async function build(key: string): Promise<string> {
  const dir = join(SILO_BUNDLE_CACHE, key);
  if (existsSync(join(dir, 'silo'))) return dir;
  const scratch = scratchFor(key);
  try {
    await run('bash', [BUILD_SCRIPT, scratch], { cwd: repoRoot });
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  return placeBuild(key, scratch);
}

const builds = new Map<string, Promise<string>>();

/**
 * The `silo` command of Silo's image built from the sources as they are now: the
 * launcher's path. Builds once per key per process; a failed build is retried on the
 * next call, and its error (esbuild's message) is what the container start reports.
 */
export async function siloLauncher(): Promise<string> {
  const key = siloBundleKey();
  let pending = builds.get(key);
  if (!pending) {
    pending = build(key);
    builds.set(key, pending);
    pending.catch(() => builds.delete(key));
  }
  return join(await pending, 'silo');
}

/**
 * siloLauncher for callers that start a process at once (test/support/silo-cli.ts): the same build, made
 * synchronously when this key has none yet (about 1.5 s, once per edit of the sources).
 */
export function siloLauncherSync(): string {
  const key = siloBundleKey();
  const dir = join(SILO_BUNDLE_CACHE, key);
  if (existsSync(join(dir, 'silo'))) return join(dir, 'silo');
  const scratch = scratchFor(key);
  try {
    execFileSync('bash', [BUILD_SCRIPT, scratch], { cwd: repoRoot, stdio: 'ignore' });
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
  return join(placeBuild(key, scratch), 'silo');
}
