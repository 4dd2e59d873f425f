/**
 * A new PGCluster restored from another cluster's repository to a point in time, end to end: the
 * operator as a process, real PostgreSQL 15 and pgBackRest 2.45 under the process kubelet, MinIO over
 * TLS. One source cluster: write A, note T (the server's time, with its zone), write B, drop a table.
 * New clusters restored to T from repo1 (a volume) and from repo2 (MinIO, encrypted) have A and not B
 * and the dropped table; they log in with their own superuser password; the source's archive gets no
 * WAL of theirs (no second timeline, its last archived WAL unchanged). A target outside the window is
 * refused before any Pod exists, naming both bounds; a time without a zone is refused at admission.
 */
import { expect } from 'chai';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { parsePgRestoreProgress } from '../../../../runtime/contracts/pg-restore.js';
import type { PGClusterSpec } from '../../../../src/api/postgres.silo.io/types.js';
import { useStack } from '../../../stack/mocha.js';
import { waitFor } from '../../kube/fixture.js';
import { usePgFixture } from './pg-fixture.js';

const stack = useStack('kube', 'kubelet', 'minio');

describe('PGCluster restored from another cluster’s repository to a point in time (dataSource.postgresCluster)', function () {
  this.timeout(1_500_000);
  const pg = usePgFixture(stack, 'pg-restore', { passphrase: 'restore test passphrase' });
  const { fx, api, psql, phase, backupCompleted, getCluster, getBackup, s3 } = pg;
  let target = '';
  let archiveMaxBefore: string[] = [];
  const bucket = () => stack.env().MINIO_BUCKET;
  const repo2 = () => pg.minioRepo('repo2');
  const ownRepos = () => [{ name: 'repo1' as const, volume: { volumeClaimSpec: { size: '1Gi' } } }];
  const restoreSpec = (repoName: 'repo1' | 'repo2', time: string, initialBackup = true): PGClusterSpec => ({
    storage: { size: '1Gi' },
    dataSource: { postgresCluster: { clusterName: 'src', repoName }, target: { time } },
    backups: { pgbackrest: { initialBackup, repos: ownRepos() } },
  });

  /**
   * The restore container's progress lines (what the operator reads into status.restore while it runs; this copy takes
   * under a second, so the operator's 5 s passes may see none of them): bytes of the resolved set's size, then the copy
   * ended at 100 % with no time left; the operator's reader takes the last one.
   */
  async function copyProgressSeen(name: string, backupSizeBytes: number | undefined): Promise<void> {
    const log = await fx.core.readNamespacedPodLog({ namespace: fx.namespace, name: `${name}-1`, container: 'restore' });
    const lines = log.split('\n').filter((l) => l.includes('"restore progress"') && l.includes('"copying"'));
    const copying = lines.map((l) => parsePgRestoreProgress(l)!);
    expect(backupSizeBytes).to.be.greaterThan(1_000_000);
    expect(copying[0]).to.include({ percent: 0, bytesTotal: backupSizeBytes });
    const last = copying[copying.length - 1];
    expect(last).to.include({ percent: 100, etaSeconds: 0 });
    expect(last.bytesDone)
      .to.equal(last.bytesTotal)
      .and.be.within(backupSizeBytes! * 0.95, backupSizeBytes! * 1.05);
    expect(parsePgRestoreProgress(lines.join('\n'))).to.deep.equal(last);
  }

  /**
   * The restored cluster's own repo host is created once the restored primary takes writes (status.restore.readyAt),
   * not beside the restore (decision 0062). The API's timestamps are whole seconds; the restore container runs for
   * several, so a repo host made beside it would be seconds older than its end.
   */
  async function ownRepoHostAfterTheRestore(name: string, readyAt: string): Promise<void> {
    const primary = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: `${name}-1` });
    const restoreEnded = primary.status!.initContainerStatuses!.find((c) => c.name === 'restore')!.state!.terminated!.finishedAt!;
    const repoHost = await waitFor(`${name}-repo-host`, () =>
      fx.core.readNamespacedPod({ namespace: fx.namespace, name: `${name}-repo-host` }).catch(() => undefined),
    );
    const created = new Date(repoHost.metadata!.creationTimestamp!).getTime();
    expect(created).to.be.at.least(new Date(restoreEnded).getTime());
    expect(created).to.be.at.least(Math.floor(Date.parse(readyAt) / 1000) * 1000);
  }

  const archiveMaxes = async () => ((await getCluster('src'))!.status!.repos ?? []).map((r) => `${r.name}:${r.archiveMax}`);

  it('the source: backups in repo1 and repo2, then A, T (the server time with its zone), B and a dropped table, all archived', async () => {
    const spec: PGClusterSpec = {
      storage: { size: '1Gi' },
      backups: { pgbackrest: { repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }, repo2()] } },
    };
    await api().create(KINDS.PGCluster, { metadata: { name: 'src', namespace: fx.namespace }, spec });
    await phase('src', (c) => c?.status?.phase === 'Ready', 420_000);
    await backupCompleted('src-initial');
    await api().create(KINDS.PGBackup, {
      metadata: { name: 'src-repo2', namespace: fx.namespace },
      spec: { cluster: { name: 'src' }, repoName: 'repo2', type: 'full' },
    });
    await backupCompleted('src-repo2');
    await psql('src', 'CREATE TABLE orders (id int primary key, note text); CREATE TABLE gadgets (id int)');
    await psql('src', "INSERT INTO orders SELECT g, 'A' FROM generate_series(1, 100) g; INSERT INTO gadgets VALUES (1)");
    await new Promise((r) => setTimeout(r, 1500));
    target = await psql('src', `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await new Promise((r) => setTimeout(r, 1500));
    await psql('src', "INSERT INTO orders SELECT g, 'B' FROM generate_series(101, 150) g");
    await psql('src', 'DROP TABLE gadgets');
    const archived = Number(await psql('src', 'SELECT archived_count FROM pg_stat_archiver'));
    await psql('src', 'SELECT pg_switch_wal()');
    await waitFor('B archived', async () => Number(await psql('src', 'SELECT archived_count FROM pg_stat_archiver')) > archived, 120_000);
    // The status's archive max follows pgbackrest info (refreshed every 30 s): wait until it names the switched segment.
    const switched = await psql('src', 'SELECT last_archived_wal FROM pg_stat_archiver');
    archiveMaxBefore = await waitFor(
      'status.repos archiveMax caught up',
      async () => {
        const maxes = await archiveMaxes();
        return maxes.every((m) => m.endsWith(`:${switched}`)) ? maxes : undefined;
      },
      120_000,
    );
  });

  it('a target outside the window is refused before any Pod or PVC exists, naming both bounds; no backup before the target too', async () => {
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await api().create(KINDS.PGCluster, { metadata: { name: 'future', namespace: fx.namespace }, spec: restoreSpec('repo1', future) });
    await api().create(KINDS.PGCluster, {
      metadata: { name: 'past', namespace: fx.namespace },
      spec: restoreSpec('repo1', '2020-01-01T00:00:00Z'),
    });
    for (const [name, reason] of [
      ['future', 'TargetOutsideRecoveryWindow'],
      ['past', 'NoBackupBeforeTarget'],
    ]) {
      const c = await phase(name, (got) => got?.status?.restore?.reason === reason, 120_000);
      expect(c.status!.phase).to.equal('Failed');
      const window = c.status!.restore!.window!;
      expect(window.from).to.match(/^\d{4}-/);
      expect(window.to).to.match(/^\d{4}-/);
      expect(c.status!.restore!.message).to.contain(window.from).and.contain(window.to);
      expect(c.status!.conditions!.find((x) => x.type === 'Ready')).to.include({ status: 'False', reason });
      const selector = `postgres.silo.io/cluster=${name}`;
      expect((await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: selector })).items).to.deep.equal([]);
      expect((await fx.core.listNamespacedPersistentVolumeClaim({ namespace: fx.namespace, labelSelector: selector })).items).to.deep.equal(
        [],
      );
      expect((await fx.batch.listNamespacedJob({ namespace: fx.namespace, labelSelector: selector })).items).to.deep.equal([]);
    }
    await api().delete(KINDS.PGCluster, { namespace: fx.namespace, name: 'future' });
    await api().delete(KINDS.PGCluster, { namespace: fx.namespace, name: 'past' });
  });

  it("a repository of the restored cluster that is the source's (same bucket and path) is refused before anything runs", async () => {
    const spec = restoreSpec('repo1', target);
    spec.backups.pgbackrest.repos = [{ ...repo2(), name: 'repo1', path: `/silo/${fx.namespace}/src` }];
    await api().create(KINDS.PGCluster, { metadata: { name: 'sharer', namespace: fx.namespace }, spec });
    const c = await phase('sharer', (got) => got?.status?.restore?.reason === 'RepositoryOfTheSource', 60_000);
    expect(c.status!.phase).to.equal('Failed');
    expect(c.status!.restore!.message).to.contain("this cluster's repo1 is the source's repo2");
    const pods = await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: 'postgres.silo.io/cluster=sharer' });
    expect(pods.items).to.deep.equal([]);
    await api().delete(KINDS.PGCluster, { namespace: fx.namespace, name: 'sharer' });
  });

  it('a source cluster that does not exist is waited for with SourceClusterNotFound, nothing created', async () => {
    const spec = restoreSpec('repo1', target);
    spec.dataSource!.postgresCluster!.clusterName = 'nosuch';
    await api().create(KINDS.PGCluster, { metadata: { name: 'orphan', namespace: fx.namespace }, spec });
    const c = await phase('orphan', (got) => got?.status?.restore?.reason === 'SourceClusterNotFound', 60_000);
    expect(c.status!.phase).to.equal('Initializing');
    expect(c.status!.restore!.message).to.contain(`${fx.namespace}/nosuch`);
    const pods = await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: 'postgres.silo.io/cluster=orphan' });
    expect(pods.items).to.deep.equal([]);
    await api().delete(KINDS.PGCluster, { namespace: fx.namespace, name: 'orphan' });
  });

  it('a time without a zone is refused at admission, naming the field', async () => {
    let error: Error | undefined;
    try {
      await api().create(KINDS.PGCluster, {
        metadata: { name: 'zoneless', namespace: fx.namespace },
        spec: restoreSpec('repo1', target.replace(/Z$/, '')),
      });
    } catch (e) {
      error = e as Error;
    }
    const body = String((error as { body?: unknown })?.body ?? error?.message);
    expect(body).to.match(/spec\.dataSource\.target\.time/);
    expect(body).to.match(/needs a zone/);
    expect(await getCluster('zoneless')).to.equal(undefined);
  });

  it('restored to T from repo1 (volume) and repo2 (MinIO, encrypted): A and the dropped table, not B; own password; status tells what it reached', async () => {
    await api().create(KINDS.PGCluster, { metadata: { name: 'copy1', namespace: fx.namespace }, spec: restoreSpec('repo1', target) });
    await api().create(KINDS.PGCluster, {
      metadata: { name: 'copy2', namespace: fx.namespace },
      spec: restoreSpec('repo2', target, false),
    });
    for (const [name, label] of [
      ['copy1', (await getBackup('src-initial'))!.status!.label!],
      ['copy2', (await getBackup('src-repo2'))!.status!.label!],
    ]) {
      const c = await phase(name, (got) => !!got?.status?.restore?.readyAt && !!got.status.primary?.ready, 600_000);
      const r = c.status!.restore!;
      expect(r).to.include({ phase: 'Restored', backupLabel: label, stanza: 'db' });
      expect(r.source).to.include({ clusterName: 'src', namespace: fx.namespace });
      expect(r.target).to.deep.include({ type: 'time' });
      expect(r.reachedTimeline).to.equal(2);
      expect(r.reachedLsn).to.match(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(Date.parse(r.reachedTime!)).to.be.at.most(Date.parse(target));
      expect(r.rtoSeconds).to.be.greaterThan(0);
      expect(r.systemIdentifier).to.equal((await getCluster('src'))!.status!.systemIdentifier);
      await copyProgressSeen(name, r.backupSizeBytes);
      await ownRepoHostAfterTheRestore(name, r.readyAt!);
      // Whatever the operator's passes saw of the copy, status says it ended.
      expect(r).to.include({ percent: 100, etaSeconds: 0 });
      expect(r.bytesDone)
        .to.equal(r.bytesTotal)
        .and.be.within(r.backupSizeBytes! * 0.95, r.backupSizeBytes! * 1.05);
      // The cluster's own password works (psql uses <name>-pguser-postgres), so the source's was replaced.
      expect(
        await psql(name, "SELECT count(*) FILTER (WHERE note = 'A') || '/' || count(*) FILTER (WHERE note = 'B') FROM orders"),
      ).to.equal('100/0');
      expect(await psql(name, 'SELECT count(*) FROM gadgets')).to.equal('1');
      expect(await psql(name, 'SELECT pg_is_in_recovery()')).to.equal('f');
      console.log(
        `      ${name}: restore ${r.backupLabel} to ${r.target!.value}, reached ${r.reachedLsn} at ${r.reachedTime}, RTO ${r.rtoSeconds} s`,
      );
      // The restore certificate from the source's CA is gone once restored.
      const secrets = (await fx.core.listNamespacedSecret({ namespace: fx.namespace })).items.map((s) => s.metadata!.name);
      expect(secrets).to.not.include(`${name}-pgbackrest-restore-tls`);
    }
    await api().delete(KINDS.PGCluster, { namespace: fx.namespace, name: 'copy2' });
  });

  it('the restored cluster then archives into its own stanza and takes its initial backup; the source’s archive is untouched', async () => {
    const c = await phase('copy1', (got) => got?.status?.phase === 'Ready', 420_000);
    expect(c.status!.repos![0]).to.include({ name: 'repo1', stanzaCreated: true, path: `/silo/${fx.namespace}/copy1` });
    const initial = await backupCompleted('copy1-initial');
    expect(initial.type).to.equal('full');
    // Nothing of the copies reached the source's stanza: no timeline 2 in its MinIO archive, the same last WAL.
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3().send(
        new ListObjectsV2Command({ Bucket: bucket(), Prefix: `silo/${fx.namespace}/src/archive/`, ContinuationToken: token }),
      );
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(keys.filter((k) => /\/00000002/.test(k))).to.deep.equal([]);
    expect(keys.some((k) => /\/00000001[0-9A-F]{16}-/.test(k))).to.equal(true);
    expect(await archiveMaxes()).to.deep.equal(archiveMaxBefore);
  });
});
