/**
 * Which completed backups a recovery window still needs
 * (docs/decisions/0233-retention-window.md). To recover to any point t in
 * [start, now] you need the newest backup whose recovery point is at or before
 * t, plus every parent that backup is applied on top of. So the window needs:
 *   1. every backup whose recovery point is after the window start;
 *   2. the newest backup at or before the window start — the base for the start itself;
 *   3. the newest backup of all (always kept, even when everything is old);
 *   4. every ancestor of a kept backup (incremental and differential chains),
 *      and of any backup still in progress or otherwise protected.
 * Everything else is expired. Backups are identified by backupId; parents by parentBackupId.
 */

export interface RetentionCandidate {
  /** Backup object name. */
  readonly name: string;
  readonly backupId: string;
  readonly parentBackupId?: string;
  /** The consistent point a restore of this backup reaches (status.stoppedAt). */
  readonly recoveryPoint: Date;
}

export type KeepReason = 'in-window' | 'window-base' | 'newest' | 'parent-of-kept' | 'protected';

export interface RetentionDecision {
  /** Kept backups by name, with the first reason found. */
  readonly keep: Map<string, KeepReason>;
  /** Names of expired backups, oldest first. */
  readonly expire: string[];
}

/**
 * @param protectedIds backup IDs that must survive with their chains whatever
 *   their age: parents of running backups, backups a Cluster recovers from.
 */
export function selectRetention(
  candidates: readonly RetentionCandidate[],
  start: Date,
  protectedIds: ReadonlySet<string> = new Set(),
): RetentionDecision {
  const sorted = [...candidates].sort(
    (a, b) => a.recoveryPoint.getTime() - b.recoveryPoint.getTime() || a.backupId.localeCompare(b.backupId),
  );
  const keep = new Map<string, KeepReason>();
  const byId = new Map<string, RetentionCandidate[]>();
  for (const c of sorted) byId.set(c.backupId, [...(byId.get(c.backupId) ?? []), c]);

  const mark = (c: RetentionCandidate, reason: KeepReason) => {
    if (!keep.has(c.name)) keep.set(c.name, reason);
  };
  // The base is the newest backup at or before the start: one exactly at the start needs nothing older.
  const before = sorted.filter((c) => c.recoveryPoint.getTime() <= start.getTime());
  for (const c of sorted) if (c.recoveryPoint.getTime() > start.getTime()) mark(c, 'in-window');
  if (before.length) mark(before[before.length - 1], 'window-base');
  if (sorted.length) mark(sorted[sorted.length - 1], 'newest');
  for (const c of sorted) if (protectedIds.has(c.backupId)) mark(c, 'protected');

  // Close over parents: a kept incremental is useless without its chain.
  const pending = sorted.filter((c) => keep.has(c.name));
  const parentIds = new Set<string>();
  while (pending.length) {
    const c = pending.pop()!;
    if (!c.parentBackupId || parentIds.has(c.parentBackupId)) continue;
    parentIds.add(c.parentBackupId);
    for (const parent of byId.get(c.parentBackupId) ?? []) {
      mark(parent, 'parent-of-kept');
      pending.push(parent);
    }
  }
  return { keep, expire: sorted.filter((c) => !keep.has(c.name)).map((c) => c.name) };
}
