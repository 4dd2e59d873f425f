/**
 * Test data left in the stack's object stores by earlier runs. The stores keep their data between runs (a cold
 * start is slow), but nothing a test writes is read by a later run, and the test buckets grew by about a gigabyte
 * a CI run until the disk filled. A store prunes its test bucket when it starts, when no test can be using it.
 */
import { readdirSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Older than this, a file in a test bucket is from an earlier run: a whole CI run takes well under two hours. */
export const STALE_TEST_DATA_MS = 6 * 3600_000;

/**
 * Deletes the files under `root` last modified before `now - maxAgeMs`, then the directories that leaves empty
 * (never `root` itself). Returns how many files it deleted. A missing `root` is nothing to prune.
 */
export function pruneOlderThan(root: string, maxAgeMs: number, now = Date.now()): number {
  return prune(root, now - maxAgeMs).deleted;
}

/** Prunes under `dir`; `kept` counts the entries left in it, so a caller knows it is empty without reading it again. */
function prune(dir: string, before: number): { deleted: number; kept: number } {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { deleted: 0, kept: 0 };
    throw e;
  }
  let deleted = 0;
  let kept = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inside = prune(path, before);
      deleted += inside.deleted;
      if (inside.kept === 0) rmdirSync(path);
      else kept++;
    } else if (statSync(path).mtimeMs < before) {
      unlinkSync(path);
      deleted++;
    } else kept++;
  }
  return { deleted, kept };
}
