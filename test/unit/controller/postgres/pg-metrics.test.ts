/**
 * The PostgreSQL metrics from what a PGCluster pass holds (its status and `pgbackrest info`), as the operator's
 * registry exports them: the newest set per repository and type, WAL archiving, and when WAL last arrived.
 */
import { expect } from 'chai';
import { OperatorMetrics } from '../../../../runtime/controller/manager/metrics.js';
import { lastArchivedAt, newestSetsByType, pgClusterSample } from '../../../../runtime/controller/postgres/shared/pg-metrics.js';
import type { InfoBackup, InfoStanza } from '../../../../runtime/controller/postgres/shared/pgbackrest-info.js';
import type { PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';

const set = (label: string, type: InfoBackup['type'], repo: number, [start, stop]: [number, number], size = 1000): InfoBackup => ({
  label,
  type,
  timestamp: { start, stop },
  info: { size, delta: size / 2, repository: { size: size / 10, delta: size / 20 } },
  database: { id: 1, 'repo-key': repo },
});

const stanza: InfoStanza = {
  name: 'db',
  backup: [
    set('20261201-000000F', 'full', 1, [1796083200, 1796083300]),
    set('20261201-000000F_20261202-000000I', 'incr', 1, [1796169600, 1796169610]),
    set('20261203-000000F', 'full', 1, [1796256000, 1796256120], 2000),
    set('20261203-000000F_20261203-060000D', 'diff', 1, [1796277600, 1796277630]),
    { ...set('20261203-000000F_20261203-070000I', 'incr', 1, [1796281200, 1796281205]), error: true },
    set('20261202-000000F', 'full', 2, [1796169600, 1796169900]),
  ],
};

const status: PGClusterStatus = {
  lastArchiveCheck: '2026-12-04T10:00:00Z',
  conditions: [
    { type: 'ContinuousArchiving', status: 'True', reason: 'WALArchived', message: '', lastTransitionTime: '2026-12-04T09:00:00Z' },
  ],
  repos: [
    { name: 'repo1', archiveMax: '00000001000000000000000A', lastArchivedAt: '2026-12-04T10:05:00Z' },
    { name: 'repo2', archiveMax: '00000001000000000000000A' },
  ],
};

/** The exported samples of one metric, as `label=value,… → number`. */
async function values(metrics: OperatorMetrics, name: string): Promise<Record<string, number>> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  return Object.fromEntries(
    (metric?.values ?? []).map((v) => [
      Object.entries(v.labels)
        .map(([k, l]) => `${k}=${l}`)
        .join(','),
      v.value,
    ]),
  );
}

describe('PostgreSQL metrics from a PGCluster pass', () => {
  it('the newest set of each type per repository, checksum-error sets skipped', () => {
    const sets = newestSetsByType(stanza, 1);
    expect(sets.map((s) => [s.type, s.stoppedAt, s.durationSeconds])).to.deep.equal([
      ['full', 1796256120, 120],
      ['incremental', 1796169610, 10],
      ['differential', 1796277630, 30],
    ]);
    expect(newestSetsByType(stanza, 3)).to.deep.equal([]);
  });

  it('last archived time moves only when archiveMax moves', () => {
    const now = new Date('2026-12-04T11:00:00Z');
    const previous = { name: 'repo1', archiveMax: '00000001000000000000000A', lastArchivedAt: '2026-12-04T10:05:00Z' };
    expect(lastArchivedAt({ archiveMax: '00000001000000000000000A' }, previous, now)).to.equal('2026-12-04T10:05:00Z');
    expect(lastArchivedAt({ archiveMax: '00000001000000000000000B' }, previous, now)).to.equal('2026-12-04T11:00:00.000Z');
    expect(lastArchivedAt({ archiveMax: '00000001000000000000000A' }, { name: 'repo1' }, now)).to.equal('2026-12-04T11:00:00.000Z');
    expect(lastArchivedAt({}, previous, now)).to.equal(undefined);
  });

  it('exports backups per repository and type, archiving, and a failed check', async () => {
    const metrics = new OperatorMetrics({ processMetrics: false });
    metrics.observePgCluster(pgClusterSample({ namespace: 'shop', cluster: 'orders', status, stanza }));
    const repo1Full = 'namespace=shop,cluster=orders,repo=repo1,type=full';
    expect(await values(metrics, 'silo_pg_backup_last_success_timestamp_seconds')).to.deep.equal({
      [repo1Full]: 1796256120,
      'namespace=shop,cluster=orders,repo=repo1,type=incremental': 1796169610,
      'namespace=shop,cluster=orders,repo=repo1,type=differential': 1796277630,
      'namespace=shop,cluster=orders,repo=repo2,type=full': 1796169900,
    });
    expect(await values(metrics, 'silo_pg_backup_last_duration_seconds')).to.include({ [repo1Full]: 120 });
    expect(await values(metrics, 'silo_pg_backup_last_size_bytes')).to.include({
      [`${repo1Full},size=database`]: 2000,
      [`${repo1Full},size=copied`]: 1000,
      [`${repo1Full},size=repository`]: 200,
      [`${repo1Full},size=repository_delta`]: 100,
    });
    expect(await values(metrics, 'silo_pg_wal_archiving')).to.deep.equal({ 'namespace=shop,cluster=orders': 1 });
    expect(await values(metrics, 'silo_pg_wal_last_archive_check_timestamp_seconds')).to.deep.equal({
      'namespace=shop,cluster=orders': Date.parse('2026-12-04T10:00:00Z') / 1000,
    });
    // repo2 has never been timed: no sample rather than a made-up one.
    expect(await values(metrics, 'silo_pg_wal_last_archived_timestamp_seconds')).to.deep.equal({
      'namespace=shop,cluster=orders,repo=repo1': Date.parse('2026-12-04T10:05:00Z') / 1000,
    });
    expect(await values(metrics, 'silo_pg_wal_archive_check_failures_total')).to.deep.equal({});

    const failing: PGClusterStatus = {
      ...status,
      conditions: [{ type: 'ContinuousArchiving', status: 'False', reason: 'ArchiveTimeout', message: '', lastTransitionTime: '' }],
    };
    for (let i = 0; i < 2; i++)
      metrics.observePgCluster(
        pgClusterSample({ namespace: 'shop', cluster: 'orders', status: failing, stanza, archiveCheckFailure: 'ArchiveTimeout' }),
      );
    expect(await values(metrics, 'silo_pg_wal_archiving')).to.deep.equal({ 'namespace=shop,cluster=orders': 0 });
    expect(await values(metrics, 'silo_pg_wal_archive_check_failures_total')).to.deep.equal({
      'namespace=shop,cluster=orders,reason=ArchiveTimeout': 2,
    });
  });
});
