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
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
  let deleted = 0;
  for (const entry of entries) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) {
      deleted += pruneOlderThan(path, maxAgeMs, now);
      if (readdirSync(path).length === 0) rmdirSync(path);
    } else if (statSync(path).mtimeMs < now - maxAgeMs) {
      unlinkSync(path);
      deleted++;
    }
  }
  return deleted;
}
