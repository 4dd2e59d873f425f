/**
 * The values of the PostgreSQL metrics, from what a PGCluster pass already holds: the status it writes (archiving)
 * and `pgbackrest info` (the backup sets in each repository, the source of truth: it survives an operator restart
 * and holds every set, whoever took it). Pure; runtime/controller/manager/pg-metrics.ts exports them (decision 0287).
 */
import type { PGClusterStatus, PGRepoStatus } from '../../../../src/api/postgres.silo.io/types.js';
import type { PgBackupSetSample, PgClusterSample } from '../../reconciler.js';
import type { InfoBackup, InfoStanza } from './pgbackrest-info.js';
import { repoIndex } from './pg-objects.js';

const TYPE = { full: 'full', diff: 'differential', incr: 'incremental' } as const;
const epoch = (iso: string | undefined): number | undefined => {
  const ms = Date.parse(iso ?? '');
  return Number.isFinite(ms) ? ms / 1000 : undefined;
};

/**
 * When the last WAL segment reached the repository: kept while archiveMax stays where it was, `now` when it moved
 * (or was never timed). pgBackRest's info has no archive times; the operator's refresh (30 s) is the resolution.
 */
export function lastArchivedAt(row: Pick<PGRepoStatus, 'archiveMax'>, previous: PGRepoStatus | undefined, now: Date): string | undefined {
  if (!row.archiveMax) return undefined;
  if (previous?.archiveMax === row.archiveMax && previous.lastArchivedAt) return previous.lastArchivedAt;
  return now.toISOString();
}

function setSample(backup: InfoBackup): PgBackupSetSample | undefined {
  if (!backup.timestamp) return undefined;
  const sizes = backup.info;
  return {
    type: TYPE[backup.type],
    stoppedAt: backup.timestamp.stop,
    durationSeconds: backup.timestamp.stop - backup.timestamp.start,
    ...(sizes ? { databaseBytes: sizes.size, copiedBytes: sizes.delta } : {}),
    ...(sizes?.repository ? { repositoryBytes: sizes.repository.size, repositoryDeltaBytes: sizes.repository.delta } : {}),
  };
}

/** The newest set of each type in repository `key` (info lists them oldest first). */
export function newestSetsByType(stanza: InfoStanza | undefined, key: number): PgBackupSetSample[] {
  const newest = new Map<string, PgBackupSetSample>();
  for (const backup of stanza?.backup ?? []) {
    if (backup.database?.['repo-key'] !== key || backup.error) continue;
    const sample = setSample(backup);
    if (sample && sample.stoppedAt >= (newest.get(sample.type)?.stoppedAt ?? 0)) newest.set(sample.type, sample);
  }
  return [...newest.values()];
}

export interface PgClusterSampleInput {
  readonly namespace: string;
  readonly cluster: string;
  /** The status this pass wrote. */
  readonly status: PGClusterStatus;
  readonly stanza: InfoStanza | undefined;
  /** The reason `pgbackrest check` failed in this pass, when it did. */
  readonly archiveCheckFailure?: string;
}

export function pgClusterSample(input: PgClusterSampleInput): PgClusterSample {
  const { status } = input;
  const lastCheck = epoch(status.lastArchiveCheck);
  return {
    namespace: input.namespace,
    cluster: input.cluster,
    archiving: !!status.conditions?.some((c) => c.type === 'ContinuousArchiving' && c.status === 'True'),
    ...(input.archiveCheckFailure ? { archiveCheckFailure: input.archiveCheckFailure } : {}),
    ...(lastCheck !== undefined ? { lastArchiveCheck: lastCheck } : {}),
    repos: (status.repos ?? []).map((repo) => {
      const archivedAt = epoch(repo.lastArchivedAt);
      return {
        repo: repo.name ?? '',
        ...(archivedAt !== undefined ? { lastArchivedAt: archivedAt } : {}),
        backups: newestSetsByType(input.stanza, repoIndex({ name: repo.name as 'repo1' })),
      };
    }),
  };
}
