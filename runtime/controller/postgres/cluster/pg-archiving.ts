/**
 * How a PGCluster pass judges ContinuousArchiving (decision 0283). `pgbackrest check` proves archiving (a
 * WAL switch that reaches every repository) but is costly: each run closes a WAL segment, and against a store
 * that does not answer it takes minutes. So every pass first reads two cheap signals:
 * - the repositories `pgbackrest info` could not read (the repo host's view of its stores): archiving is False
 *   at once with their cause (StorageUnreachable for a store that is down), and check is not run;
 * - the primary's pg_stat_archiver: a failure newer than the last success means archive-push fails now, and
 *   check runs at once to name the cause (or to prove it recovered), instead of waiting for its 10-minute turn.
 * Otherwise check runs when archiving is not known True, or when its last proof is too old. Pure.
 */
import type { PgFailure, RepoFailure } from '../../../contracts/pg-pods.js';
import type { ArchiverStats } from './pg-primary-sql.js';

/** The archiver fails now: its last failure is newer than its last success. */
export const archiverFailing = (a: ArchiverStats | undefined): boolean =>
  !!a?.lastFailedAt && (!a.lastArchivedAt || Date.parse(a.lastFailedAt) > Date.parse(a.lastArchivedAt));

export type ArchivingVerdict =
  | { readonly kind: 'failing'; readonly reason: PgFailure; readonly detail: string }
  | { readonly kind: 'check'; readonly why: 'archiver-failing' | 'unproven' | 'due' }
  | { readonly kind: 'proven' };

export interface ArchivingSignals {
  readonly repoFailures?: readonly RepoFailure[];
  readonly archiver?: ArchiverStats;
  /** ContinuousArchiving is True now. */
  readonly archiving: boolean;
  /** The last passing check is recent enough. */
  readonly fresh: boolean;
}

export function archivingVerdict(s: ArchivingSignals): ArchivingVerdict {
  const failures = s.repoFailures ?? [];
  if (failures.length) return { kind: 'failing', reason: failures[0].reason, detail: failures.map((f) => f.message).join('; ') };
  if (archiverFailing(s.archiver)) return { kind: 'check', why: 'archiver-failing' };
  if (!s.archiving) return { kind: 'check', why: 'unproven' };
  return s.fresh ? { kind: 'proven' } : { kind: 'check', why: 'due' };
}
