/**
 * Certificate rotation between a backup and its restore, end to end (issue 15): the operator as a process,
 * PostgreSQL 15 and pgBackRest 2.45 under the process kubelet, repo1 on a volume. A backup and rows A are
 * archived and a time T noted; then the cluster's CA Secret is deleted, the way the UnknownCA fix tells a
 * user to rotate: the operator issues a new CA and new leaves and replaces the Pods, which load them. After
 * it, WAL still reaches the repository (rows B archived through archive-push's TLS to the repo host), a new
 * backup completes (the Job presents the new client certificate to the agent, the repo host the new one to
 * the instance), and a new cluster restored to T from the OLD backup has A and not B: its restore
 * certificate comes from the new CA, which the source's repo host now trusts. A rotation the operator did not
 * finish (the Secrets re-issued while it was stopped, the Pods still on the old ones) reaches every Pod when it
 * returns. Decision 0284.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import { pgNames } from '../../../../runtime/contracts/pg-pods.js';
import { pgLeafIdentities } from '../../../../runtime/controller/postgres/cluster/pg-pki.js';
import { issueCa, issueLeaf } from '../../../../runtime/controller/pki/x509.js';
import type { PGBackupStatus, PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { pgBin } from '../../../stack/components/postgres.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';

useStack('kube', 'kubelet');
type PGClusterObj = KubeObject & { status?: PGClusterStatus };
type PGBackupObj = KubeObject & { status?: PGBackupStatus };

describe('PGCluster certificates rotated between a backup and its restore', function () {
  this.timeout(1_800_000);
  const fx = useKube('pg-cert-rotation', { withKubelet: false });
  const names = pgNames('rot');
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  let target = '';
  let oldLabel = '';
  const old: { ca?: string; leaves: Record<string, string>; pods: Record<string, string> } = { leaves: {}, pods: {} };
  const figures: string[] = [];
  const getCluster = (name: string) => api.get<PGClusterObj>(KINDS.PGCluster, { namespace: fx.namespace, name });

  async function psql(cluster: string, sql: string): Promise<string> {
    const c = (await getCluster(cluster))!;
    const secret = await fx.core.readNamespacedSecret({ namespace: fx.namespace, name: `${cluster}-pguser-postgres` });
    const password = Buffer.from(secret.data!.password, 'base64').toString('utf8');
    return execFileSync(
      pgBin('psql'),
      ['-X', '-A', '-t', '-h', c.status!.primary!.podIP!, '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-c', sql],
      { env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' }, encoding: 'utf8' },
    ).trim();
  }

  async function cluster(name: string, want: (c: PGClusterObj | undefined) => boolean, timeoutMs: number): Promise<PGClusterObj> {
    return waitFor(
      `PGCluster ${name}`,
      async () => {
        const got = await getCluster(name);
        if (got?.status?.phase === 'Failed' && !want(got)) throw new Error(JSON.stringify(got.status));
        return want(got) ? got : undefined;
      },
      timeoutMs,
    );
  }

  async function backupCompleted(name: string): Promise<PGBackupStatus> {
    const b = await waitFor(
      `PGBackup ${name} finished`,
      async () => {
        const got = await api.get<PGBackupObj>(KINDS.PGBackup, { namespace: fx.namespace, name });
        return got?.status?.phase === 'completed' || got?.status?.phase === 'failed' ? got : undefined;
      },
      300_000,
    );
    expect(b.status!.phase, b.status!.message).to.equal('completed');
    return b.status!;
  }

  const secretText = async (name: string, key: string) => {
    const s = await fx.core.readNamespacedSecret({ namespace: fx.namespace, name });
    return Buffer.from(s.data![key], 'base64').toString('utf8');
  };
  const podUids = async () =>
    Object.fromEntries(
      (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: 'postgres.silo.io/cluster=rot' })).items
        // The cluster's own Pods, not its backup Jobs'.
        .filter((p) => !p.metadata!.deletionTimestamp && /^rot-(\d+|repo-host)$/.test(p.metadata!.name!))
        .map((p) => [p.metadata!.name!, p.metadata!.uid!]),
    );
  const archivedThrough = async (segment: string) =>
    waitFor(`${segment} archived`, async () => (await psql('rot', 'SELECT last_archived_wal FROM pg_stat_archiver')) >= segment, 180_000);

  before(async function () {
    this.timeout(120_000);
    api = new CustomObjects(fx.kc);
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `pg-cert-rotation-${fx.namespace}` });
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-15000));
    await operator?.stop();
    for (const line of figures) console.log(`      ${line}`);
  });

  it('before: a cluster with a replica, its initial backup, rows A archived, T noted', async () => {
    await api.create(KINDS.PGCluster, {
      metadata: { name: 'rot', namespace: fx.namespace },
      spec: {
        instances: 2,
        storage: { size: '1Gi' },
        backups: { pgbackrest: { repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
      },
    });
    await cluster('rot', (c) => c?.status?.phase === 'Ready' && c.status.readyInstances === 2, 600_000);
    oldLabel = (await backupCompleted('rot-initial')).label!;
    await psql('rot', "CREATE TABLE t (id int, batch text); INSERT INTO t SELECT g, 'A' FROM generate_series(1, 100) g");
    await archivedThrough(await psql('rot', 'SELECT pg_walfile_name(pg_switch_wal())'));
    await new Promise((r) => setTimeout(r, 1500));
    target = await psql('rot', `SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await new Promise((r) => setTimeout(r, 1500));
    old.ca = await secretText(names.caSecret, 'ca.crt');
    for (const s of [names.instanceTlsSecret, names.repoHostTlsSecret, names.backupTlsSecret])
      old.leaves[s] = await secretText(s, 'tls.crt');
    old.pods = await podUids();
    expect(Object.keys(old.pods).sort()).to.deep.equal(['rot-1', 'rot-2', 'rot-repo-host']);
  });

  it('the CA Secret deleted: a new CA and new leaves, every Pod replaced and Ready again, archiving proven with them', async () => {
    const rotatedAt = Date.now();
    await fx.core.deleteNamespacedSecret({ namespace: fx.namespace, name: names.caSecret });
    const ca = await waitFor('a new CA', async () => {
      const text = await secretText(names.caSecret, 'ca.crt').catch(() => undefined);
      return text && text !== old.ca ? text : undefined;
    });
    // The operator writes the CA first, then each leaf: wait for the last one.
    for (const [secret, previous] of Object.entries(old.leaves)) {
      const leaf = await waitFor(`${secret} re-issued`, async () => {
        const text = await secretText(secret, 'tls.crt');
        return text !== previous ? text : undefined;
      });
      expect(new X509Certificate(leaf).checkIssued(new X509Certificate(ca)), secret).to.equal(true);
      expect(await secretText(secret, 'ca.crt'), secret).to.equal(ca);
    }
    await waitFor(
      'every Pod replaced',
      async () => {
        const now = await podUids();
        return Object.keys(old.pods).every((n) => now[n] && now[n] !== old.pods[n]);
      },
      300_000,
    );
    await cluster('rot', (c) => c?.status?.phase === 'Ready' && c.status.readyInstances === 2 && !!c.status.repoHost?.ready, 600_000);
    figures.push(
      `rotation: every Pod replaced and the cluster Ready again ${Math.round((Date.now() - rotatedAt) / 1000)} s after the CA Secret was deleted`,
    );
    // archive-push through the repo host with the new certificates, and the replica streaming from the new primary.
    await psql('rot', "INSERT INTO t SELECT g, 'B' FROM generate_series(101, 150) g");
    const started = Date.now();
    await archivedThrough(await psql('rot', 'SELECT pg_walfile_name(pg_switch_wal())'));
    figures.push(`rows B archived ${Math.round((Date.now() - started) / 1000)} s after the switch`);
    const c = await cluster(
      'rot',
      (got) => got?.status?.conditions?.find((x) => x.type === 'ContinuousArchiving')?.status === 'True',
      60_000,
    );
    expect(c.status!.conditions!.find((x) => x.type === 'ReplicasReady')!.status).to.equal('True');
  });

  it('a backup after the rotation completes: the Job and the repo host present the new certificates', async () => {
    const started = Date.now();
    await api.create(KINDS.PGBackup, {
      metadata: { name: 'rot-after', namespace: fx.namespace },
      spec: { cluster: { name: 'rot' }, repoName: 'repo1', type: 'incremental' },
    });
    const b = await backupCompleted('rot-after');
    expect(b.prior).to.equal(oldLabel);
    figures.push(`incremental backup after the rotation: ${b.label} in ${Math.round((Date.now() - started) / 1000)} s`);
  });

  it('a rotation the operator did not finish (Secrets re-issued, then it stopped) still reaches every Pod when it returns', async () => {
    // What a pass that wrote the Secrets and ended before replacing the Pods leaves: new certificates, old Pods.
    await operator!.stop();
    const pods = await podUids();
    const now = new Date();
    const ca = await issueCa({ cluster: 'rot-pgbackrest', now });
    const replace = async (name: string, data: Record<string, string>) => {
      const current = await fx.core.readNamespacedSecret({ namespace: fx.namespace, name });
      const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
      await fx.core.replaceNamespacedSecret({ namespace: fx.namespace, name, body: { ...current, data: encoded } });
    };
    await replace(names.caSecret, { 'ca.crt': ca.cert, 'ca.key': ca.key });
    for (const [name, identity] of Object.entries(pgLeafIdentities('rot', fx.namespace))) {
      const leaf = await issueLeaf(ca, identity, now);
      await replace(name, { 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': ca.cert });
    }
    const restartedAt = Date.now();
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `pg-cert-rotation-${fx.namespace}` });
    await waitFor(
      'every Pod replaced',
      async () => {
        const now = await podUids();
        return Object.keys(pods).every((n) => now[n] && now[n] !== pods[n]);
      },
      300_000,
    );
    await cluster('rot', (c) => c?.status?.phase === 'Ready' && c.status.readyInstances === 2 && !!c.status.repoHost?.ready, 600_000);
    figures.push(
      `unfinished rotation: every Pod replaced and Ready ${Math.round((Date.now() - restartedAt) / 1000)} s after the operator returned`,
    );
    await psql('rot', "INSERT INTO t SELECT g, 'C' FROM generate_series(151, 160) g");
    await archivedThrough(await psql('rot', 'SELECT pg_walfile_name(pg_switch_wal())'));
    await api.create(KINDS.PGBackup, {
      metadata: { name: 'rot-after2', namespace: fx.namespace },
      spec: { cluster: { name: 'rot' }, repoName: 'repo1', type: 'incremental' },
    });
    await backupCompleted('rot-after2');
  });

  it('the backup taken before the rotation restores into a new cluster, to T: A and not B', async () => {
    await api.create(KINDS.PGCluster, {
      metadata: { name: 'back', namespace: fx.namespace },
      spec: {
        storage: { size: '1Gi' },
        dataSource: { postgresCluster: { clusterName: 'rot', repoName: 'repo1' }, target: { time: target } },
        backups: { pgbackrest: { initialBackup: false, repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
      },
    });
    const c = await cluster('back', (got) => !!got?.status?.restore?.readyAt && !!got.status.primary?.ready, 600_000);
    expect(c.status!.restore).to.include({ phase: 'Restored', backupLabel: oldLabel });
    expect(await psql('back', 'SELECT batch || count(*) FROM t GROUP BY batch ORDER BY batch')).to.equal('A100');
    figures.push(`restore of ${oldLabel} (taken before the rotation) to ${target}: RTO ${c.status!.restore!.rtoSeconds} s`);
  });
});
