/**
 * What the recovery step does to files on the instance's volume: durable writes (temporary file,
 * fsync, rename, fsync of the directory), flushing a whole filesystem before a step is recorded as
 * done, telling whether two paths can be renamed into each other, hard-linking a tree, and clearing
 * a directory without removing it (it may be a mount point).
 */
import { execFile } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** fsync of a file or a directory by path. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `content` so that a reader sees the old file or the whole new one, also after a crash:
 * `<path>.tmp`, fsync, rename over `path`, fsync of the directory.
 */
export function writeFileDurably(path: string, content: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    const bytes = Buffer.from(content);
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncPath(dirname(path));
}

/**
 * Flushes the filesystem that holds `path` (syncfs(2), through coreutils `sync -f`): the extracted,
 * prepared or moved files are on disk before the journal or STATE_FILE says so. Falls back to an
 * fsync of the directory where `sync -f` is missing.
 */
export async function syncFilesystem(path: string): Promise<void> {
  try {
    await execFileAsync('sync', ['-f', path]);
  } catch {
    fsyncPath(path);
  }
}

/** The nearest existing directory at or above `path`. */
export function existingAncestor(path: string): string {
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  return at;
}

/**
 * Whether files under `from` can be renamed into `to`: the same device (stat's st_dev), and a hard
 * link from one to the other succeeds (a bind mount of the same filesystem has the same st_dev but
 * refuses rename(2) and link(2) with EXDEV). `to` must exist.
 */
export function canRenameBetween(from: string, to: string): boolean {
  if (statSync(from).dev !== statSync(to).dev) return false;
  const probe = join(from, `.silo-link-probe-${process.pid}`);
  const linked = join(to, `.silo-link-probe-${process.pid}`);
  writeFileDurably(probe, '');
  try {
    linkSync(probe, linked);
    unlinkSync(linked);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EXDEV') return false;
    throw error;
  } finally {
    rmSync(probe, { force: true });
  }
}

/** Hard-links every file of `from` into a new tree `to` (directories are created): no data is copied. */
export function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) linkTree(source, target);
    else linkSync(source, target);
  }
}

/** Names directly in `dir`; none when it does not exist. */
export function entriesOf(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/**
 * Removes a tree, if it exists. Retried: a killed earlier attempt's process (mariabackup in the middle of
 * prepare, mbstream) can still be finishing a filesystem call while the runtime reaps it, and a file it
 * creates between the walk and the final rmdir fails that rmdir with ENOTEMPTY.
 */
export function removeTree(path: string): void {
  rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
}

/** Removes everything inside `dir`, keeping `dir` itself. */
export function clearDirectory(dir: string): void {
  for (const name of entriesOf(dir)) removeTree(join(dir, name));
}

/** Removes the top-level files of `dir` whose names match one of `patterns`; returns their names. */
export function removeMatching(dir: string, patterns: readonly RegExp[]): string[] {
  const removed = entriesOf(dir).filter((name) => patterns.some((p) => p.test(name)));
  for (const name of removed) removeTree(join(dir, name));
  return removed;
}
