/**
 * The PostgreSQL metrics (decision 0287): per repository and backup type the newest set's stop time, duration and
 * sizes, as pgBackRest's info records them; per cluster WAL archiving (the ContinuousArchiving condition, failed
 * `pgbackrest check` runs, when WAL last reached each repository). Values come from PgClusterSample
 * (runtime/controller/postgres/shared/pg-metrics.ts), set after every PGCluster pass.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PgClusterSample } from '../reconciler.js';

const SET = ['namespace', 'cluster', 'repo', 'type'] as const;
const SIZES = [
  ['database', 'databaseBytes'],
  ['copied', 'copiedBytes'],
  ['repository', 'repositoryBytes'],
  ['repository_delta', 'repositoryDeltaBytes'],
] as const;

export class PgMetrics {
  readonly lastSuccess: Gauge<(typeof SET)[number]>;
  readonly lastDuration: Gauge<(typeof SET)[number]>;
  readonly lastSize: Gauge<(typeof SET)[number] | 'size'>;
  readonly archiving: Gauge<'namespace' | 'cluster'>;
  readonly archiveCheckFailures: Counter<'namespace' | 'cluster' | 'reason'>;
  readonly lastArchiveCheck: Gauge<'namespace' | 'cluster'>;
  readonly lastArchived: Gauge<'namespace' | 'cluster' | 'repo'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.lastSuccess = new Gauge({
      name: 'silo_pg_backup_last_success_timestamp_seconds',
      help: 'Stop time (Unix seconds) of the newest backup set of this type in this pgBackRest repository, from pgbackrest info.',
      labelNames: SET,
      registers,
    });
    this.lastDuration = new Gauge({
      name: 'silo_pg_backup_last_duration_seconds',
      help: "pgBackRest's own duration (stop - start) of the newest backup set of this type in this repository.",
      labelNames: SET,
      registers,
    });
    this.lastSize = new Gauge({
      name: 'silo_pg_backup_last_size_bytes',
      help: 'Sizes of the newest backup set of this type: size=database (PGDATA), copied (this backup read), repository (stored, whole set), repository_delta (stored by this backup).',
      labelNames: [...SET, 'size'],
      registers,
    });
    this.archiving = new Gauge({
      name: 'silo_pg_wal_archiving',
      help: "1 while the PGCluster's ContinuousArchiving condition is True (WAL reaches every repository), else 0.",
      labelNames: ['namespace', 'cluster'],
      registers,
    });
    this.archiveCheckFailures = new Counter({
      name: 'silo_pg_wal_archive_check_failures_total',
      help: '`pgbackrest check` runs that failed (WAL did not reach a repository in time), by reason.',
      labelNames: ['namespace', 'cluster', 'reason'],
      registers,
    });
    this.lastArchiveCheck = new Gauge({
      name: 'silo_pg_wal_last_archive_check_timestamp_seconds',
      help: 'When `pgbackrest check` last proved that WAL reaches every repository (Unix seconds).',
      labelNames: ['namespace', 'cluster'],
      registers,
    });
    this.lastArchived = new Gauge({
      name: 'silo_pg_wal_last_archived_timestamp_seconds',
      help: "When the repository's newest WAL segment arrived (Unix seconds; the operator's 30 s refresh is the resolution).",
      labelNames: ['namespace', 'cluster', 'repo'],
      registers,
    });
  }

  observe(sample: PgClusterSample): void {
    const cluster = { namespace: sample.namespace, cluster: sample.cluster };
    this.archiving.set(cluster, sample.archiving ? 1 : 0);
    if (sample.archiveCheckFailure) this.archiveCheckFailures.inc({ ...cluster, reason: sample.archiveCheckFailure });
    if (sample.lastArchiveCheck !== undefined) this.lastArchiveCheck.set(cluster, sample.lastArchiveCheck);
    for (const repo of sample.repos) {
      if (repo.lastArchivedAt !== undefined) this.lastArchived.set({ ...cluster, repo: repo.repo }, repo.lastArchivedAt);
      for (const set of repo.backups) {
        const labels = { ...cluster, repo: repo.repo, type: set.type };
        this.lastSuccess.set(labels, set.stoppedAt);
        this.lastDuration.set(labels, set.durationSeconds);
        for (const [size, field] of SIZES) if (set[field] !== undefined) this.lastSize.set({ ...labels, size }, set[field]);
      }
    }
  }
}
