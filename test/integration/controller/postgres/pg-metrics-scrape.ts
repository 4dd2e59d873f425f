/**
 * Reads the PostgreSQL metrics (decision 0287) from a running operator's /metrics, as Prometheus would scrape
 * them, and checks them against the PGBackups' status: pg-cluster.test.ts calls it once backups completed.
 */
import { expect } from 'chai';
import type { PGBackupStatus, PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { waitFor } from '../../kube/fixture.js';

/** `name{labels} value` lines of the exposition text whose name and labels include all of `labels`. */
function samples(text: string, name: string, labels: Record<string, string>): number[] {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) && wanted.every((w) => line.includes(w)))
    .map((line) => Number(line.slice(line.lastIndexOf(' ') + 1)));
}

export interface ScrapeExpectation {
  metricsUrl: string;
  namespace: string;
  cluster: string;
  /** A completed full and a completed incremental PGBackup of repo1. */
  full: PGBackupStatus;
  incremental: PGBackupStatus;
  clusterStatus: () => Promise<PGClusterStatus | undefined>;
}

export async function expectPgMetrics(e: ScrapeExpectation): Promise<void> {
  const base = { namespace: e.namespace, cluster: e.cluster };
  const repo1 = (type: string) => ({ ...base, repo: 'repo1', type });
  const metric = 'silo_pg_backup_last_success_timestamp_seconds';
  // The values are set after each PGCluster pass (every 30 s while Ready).
  const text = await waitFor(
    'the PostgreSQL metrics of both backups',
    async () => {
      const body = await (await fetch(e.metricsUrl)).text();
      return samples(body, metric, repo1('incremental')).length ? body : undefined;
    },
    90_000,
  );
  const stop = (s: PGBackupStatus) => Date.parse(s.backupStoppedAt!) / 1000;
  expect(samples(text, metric, repo1('incremental'))).to.deep.equal([stop(e.incremental)]);
  expect(samples(text, metric, repo1('full'))[0]).to.be.at.least(stop(e.full));
  expect(samples(text, 'silo_pg_backup_last_size_bytes', { ...repo1('incremental'), size: 'repository_delta' })).to.deep.equal([
    e.incremental.repoDeltaBytes,
  ]);
  expect(samples(text, 'silo_pg_backup_last_duration_seconds', repo1('incremental'))[0]).to.be.at.least(0);
  expect(samples(text, 'silo_pg_wal_archiving', base)).to.deep.equal([1]);
  const status = await e.clusterStatus();
  for (const repo of status?.repos ?? []) {
    expect(repo.lastArchivedAt, `status.repos[${repo.name}].lastArchivedAt`).to.be.a('string');
    const archived = samples(text, 'silo_pg_wal_last_archived_timestamp_seconds', { ...base, repo: repo.name! });
    expect(archived, `last archived in ${repo.name}`).to.have.length(1);
    expect(Date.now() / 1000 - archived[0], `seconds since WAL last reached ${repo.name}`).to.be.below(15 * 60);
  }
}
