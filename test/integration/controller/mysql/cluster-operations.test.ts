/**
 * A running Cluster's day-2 operations end to end (issue 13), with the operator as a process
 * holding exactly the synthesized ClusterRole, on one 3-instance Cluster reused throughout:
 * - a replica whose SQL thread stopped (without an error, then on an error) and one holding GTIDs
 *   the primary never wrote: the reason in status.instancesStatus, out of the read-only Service's
 *   selection and of `prefer-standby` backup-source selection, back once healed;
 * - the server certificate renewed on the running Cluster: every instance manager presents the new
 *   one with no container restart, and the replicas keep replicating;
 * - scale-down 3 → 2 → 1: the newest replica first, with its PVC; never the primary;
 * - a longer recovery (its download throttled by a proxy, so it lasts ~30 s whatever the machine's
 *   speed): status.recovery's progress refreshed at most 10 s apart;
 * - a Cluster re-created under the name of one just deleted waits for the old one's objects
 *   (WaitingForPreviousCluster), never Failed, and starts on a new volume.
 *
 * No Endpoints exist on this stack (pod IPs are loopback, which Endpoints refuse), so "leaves the
 * read-only Service" is checked as the kube-proxy would see it: the Pods the Service's selector
 * selects.
 */
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { expect } from 'chai';
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import { renewLeaf } from '../../../../runtime/controller/mysql/cluster/cluster-pki.js';
import { INSTANCE_MANAGER_PORT } from '../../../../runtime/contracts/instance-manager-protocol.js';
import type { BackupStatus, ClusterSpec, InstanceStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { kubeletStateDir } from '../../../stack/components/kubelet.js';
import { s3Client } from '../../../stack/lib/s3.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { throttledProxy } from '../../../support/throttled-proxy.js';
import { tlsProbe } from '../../../support/tls-probe.js';
import { useKube, waitFor } from '../../kube/fixture.js';
import {
  appUser,
  getCluster,
  podIpOf,
  rootSql,
  userSql,
  waitClusterPhase,
  type AppUser,
  type ClusterObject,
} from './support/managed-cluster.js';

const stack = useStack('kube', 'kubelet', 'minio');
const LABEL = 'mysql.cloudnative-mysql.io/cluster';
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('mysql Cluster operations end to end: replica health, certificate renewal, scale-down, recovery progress, a reused name', function () {
  this.timeout(900_000);
  const fx = useKube('mysql-cluster-ops', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  let app: AppUser;
  const store = (over: Record<string, unknown> = {}) => ({
    bucket: stack.env().MINIO_BUCKET,
    path: `cluster-ops-${fx.namespace}`,
    endpoint: stack.env().MINIO_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: { name: 'minio', key: 'access' }, secretAccessKey: { name: 'minio', key: 'secret' } },
    compression: { algorithm: 'zstd' },
    ...over,
  });
  const cluster = async (name = 'ops') => (await getCluster(api, fx.namespace, name))!;
  const row = (c: ClusterObject, name: string): InstanceStatus | undefined => c.status?.instancesStatus?.find((i) => i.name === name);
  const pod = (name: string) => fx.core.readNamespacedPod({ namespace: fx.namespace, name });
  const root = async (instance: string, sql: string) =>
    rootSql(join(kubeletStateDir(stack.ctx), 'pods', (await pod(instance)).metadata!.uid!), sql);
  const primaryIp = async () => podIpOf(await cluster(), 'ops-1');

  /** The instances the `ops-ro` Service selects (what its Endpoints would hold on a real cluster). */
  async function readOnlyServiceSelects(): Promise<string[]> {
    const service = await fx.core.readNamespacedService({ namespace: fx.namespace, name: 'ops-ro' });
    const selector = Object.entries(service.spec!.selector!)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    const pods = (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: selector })).items;
    return pods.map((p) => p.metadata!.name!).sort();
  }

  /** Waits until `instance`'s status row matches; returns the Cluster then. */
  async function waitRow(instance: string, what: string, matches: (r: InstanceStatus) => boolean, ms = 60_000): Promise<ClusterObject> {
    let last: InstanceStatus | undefined;
    try {
      return await waitFor(
        `${instance} ${what}`,
        async () => {
          const c = await cluster();
          last = row(c, instance);
          return last && matches(last) ? c : undefined;
        },
        ms,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last row: ${JSON.stringify(last)}`, { cause: error });
    }
  }

  /** A replica out of service: its reason in status, the Cluster Degraded, its Pod labelled out of `-ro`. */
  async function expectOutOfService(instance: string, reason: string, message: RegExp): Promise<void> {
    const c = await waitRow(instance, `not serving (${reason})`, (r) => r.serving === false && r.reason === reason);
    expect(row(c, instance)!.message).to.match(message);
    await waitFor('the Cluster Degraded', async () => (await cluster()).status?.phase === 'Degraded', 30_000);
    expect((await cluster()).status!.conditions!.find((x) => x.type === 'Ready')).to.include({ status: 'False', reason });
    expect((await pod(instance)).metadata!.labels).to.include({ 'mysql.cloudnative-mysql.io/serving': 'false' });
    expect(await readOnlyServiceSelects()).to.not.include(instance);
  }

  async function expectServingAgain(instance: string): Promise<void> {
    await waitRow(instance, 'serving again', (r) => r.serving === true && !r.reason);
    await waitClusterPhase(api, fx.namespace, 'ops', { phase: 'Healthy', timeoutMs: 60_000, instances: 3 });
    expect(await readOnlyServiceSelects()).to.deep.equal(['ops-2', 'ops-3']);
  }

  async function backup(name: string): Promise<BackupStatus> {
    await api.create(KINDS.Backup, { metadata: { name, namespace: fx.namespace }, spec: { cluster: { name: 'ops' } } });
    return waitFor(
      `Backup ${name} completed`,
      async () => {
        const b = await api.get<KubeObject & { status?: BackupStatus }>(KINDS.Backup, { namespace: fx.namespace, name });
        if (b?.status?.phase === 'failed') throw new Error(JSON.stringify(b.status));
        return b?.status?.phase === 'completed' ? b.status : undefined;
      },
      300_000,
    );
  }

  const startedAt = Date.now();

  before(async function () {
    this.timeout(480_000);
    api = new CustomObjects(fx.kc);
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'minio' }, stringData: { access: stack.env().MINIO_ACCESS_KEY, secret: stack.env().MINIO_SECRET_KEY } },
    });
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `mysql-cluster-ops-${fx.namespace}` });
    await api.create(KINDS.Cluster, {
      metadata: { name: 'ops', namespace: fx.namespace },
      spec: {
        instances: 3,
        storage: { size: '1Gi' },
        bootstrap: { initdb: { database: 'shop' } },
        backup: { objectStore: store() },
      } as ClusterSpec,
    });
    await waitClusterPhase(api, fx.namespace, 'ops', { phase: 'Healthy', timeoutMs: 420_000, instances: 3 });
    app = await appUser(fx.core, fx.namespace, 'ops-app');
    userSql(await primaryIp(), app, 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t VALUES (1, "one")', 'shop');
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-6000));
    // A figure, not an assertion: how often the Cluster reconciler ran (a pass that rewrote its status every time woke itself).
    const metrics = operator
      ? await fetch(operator.metricsUrl).then(
          (r) => r.text(),
          () => '',
        )
      : '';
    const passes = metrics
      .split('\n')
      .filter((l) => l.startsWith('silo_reconcile_total{') && l.includes('controller="cluster"'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    console.log(`      Cluster reconciles over the file: ${passes} in ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
    await operator?.stop();
    // The backups this file wrote (one of ~96 MB) leave the shared MinIO with it.
    const s3 = s3Client({
      endpoint: stack.env().MINIO_ENDPOINT,
      accessKeyId: stack.env().MINIO_ACCESS_KEY,
      secretAccessKey: stack.env().MINIO_SECRET_KEY,
    });
    for (;;) {
      const listed = await s3
        .send(new ListObjectsV2Command({ Bucket: stack.env().MINIO_BUCKET, Prefix: `${store().path}/` }))
        .catch(() => undefined);
      const objects = (listed?.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (!objects.length) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: stack.env().MINIO_BUCKET, Delete: { Objects: objects } }));
    }
  });

  it('a replica whose SQL thread is stopped without an error leaves -ro and backup-source selection; START SLAVE brings it back', async () => {
    await root('ops-2', 'STOP SLAVE SQL_THREAD');
    await expectOutOfService('ops-2', 'ReplicationStopped', /^ops-2's replication SQL thread is stopped \(stopped without an error\)$/);
    // prefer-standby takes the least-lagged healthy replica, by name on a tie: ops-2 unless it is out.
    const taken = await backup('while-ops-2-stopped');
    expect(taken.instanceName).to.equal('ops-3');
    await root('ops-2', 'START SLAVE SQL_THREAD');
    await expectServingAgain('ops-2');
  });

  it('a replica whose SQL thread stopped on an error shows the error; fixed and restarted, it serves again', async () => {
    // The replica already has the row the primary is about to insert: the SQL thread stops with error 1062.
    // (A clashing CREATE TABLE would not do: MariaDB's slave_ddl_exec_mode=IDEMPOTENT lets it pass.)
    await root('ops-3', "SET SESSION sql_log_bin=0; INSERT INTO shop.t VALUES (100, 'only on ops-3')");
    userSql(await primaryIp(), app, "INSERT INTO t VALUES (100, 'from the primary')", 'shop');
    await expectOutOfService('ops-3', 'ReplicationStopped', /^ops-3's replication SQL thread is stopped: .*Duplicate entry '100'/);
    await root('ops-3', 'SET SESSION sql_log_bin=0; DELETE FROM shop.t WHERE id=100; START SLAVE');
    await expectServingAgain('ops-3');
  });

  it('a replica holding GTIDs the primary never wrote shows ErrantTransactions and leaves -ro; with them removed it serves again', async () => {
    const serverId = row(await cluster(), 'ops-2')!.serverId;
    // A write on the replica itself, binlogged under its own server id (sql_log_bin is on by default).
    await root('ops-2', 'SET GLOBAL read_only=0; CREATE DATABASE errant_write; SET GLOBAL read_only=1');
    await expectOutOfService(
      'ops-2',
      'ErrantTransactions',
      new RegExp(`^ops-2 holds GTIDs the primary never wrote \\(0-${serverId}-\\d+\\)`),
    );
    // The DBA drops the write and the replica's own binlog; it follows the primary again.
    await root('ops-2', 'SET SESSION sql_log_bin=0; DROP DATABASE errant_write; RESET MASTER');
    await expectServingAgain('ops-2');
    userSql(await primaryIp(), app, 'INSERT INTO t VALUES (2, "after the errant write")', 'shop');
    const ip = podIpOf(await cluster(), 'ops-2');
    await waitFor('ops-2 replicates again', async () => userSql(ip, app, 'SELECT COUNT(*) FROM t', 'shop') === '3', 30_000);
  });

  it('renews the server certificate on the running Cluster: every instance manager presents the new one, no container restarts, replicas keep replicating', async () => {
    const restarts = (p: V1Pod) =>
      [...(p.status?.containerStatuses ?? []), ...(p.status?.initContainerStatuses ?? [])].map((s) => `${s.name}:${s.restartCount}`).sort();
    const names = ['ops-1', 'ops-2', 'ops-3'];
    const before = await Promise.all(names.map(pod));
    const secret = (name: string) => fx.core.readNamespacedSecret({ namespace: fx.namespace, name });
    const field = async (name: string, key: string) => Buffer.from((await secret(name)).data![key], 'base64').toString('utf8');
    const fingerprintOf = async () => new X509Certificate(await field('ops-server-tls', 'tls.crt')).fingerprint256;
    const original = await fingerprintOf();
    // Time passes: the server certificate in the Secret is one that is due (issued 2 days ago for 3 days).
    const ca = { cert: await field('ops-ca', 'ca.crt'), key: await field('ops-ca', 'ca.key') };
    const due = await renewLeaf({
      ca,
      kind: 'server',
      cluster: 'ops',
      namespace: fx.namespace,
      now: new Date(Date.now() - 2 * 86_400_000),
      validityDays: 3,
    });
    const current = await secret('ops-server-tls');
    await fx.core.replaceNamespacedSecret({
      namespace: fx.namespace,
      name: 'ops-server-tls',
      body: {
        ...current,
        data: { 'tls.crt': Buffer.from(due.cert).toString('base64'), 'tls.key': Buffer.from(due.key).toString('base64') },
      },
    });
    const dueFingerprint = new X509Certificate(due.cert).fingerprint256;
    const renewed = (fingerprint: string) => fingerprint !== dueFingerprint && fingerprint !== original;
    await waitFor('the operator to renew the due certificate', async () => renewed(await fingerprintOf()), 60_000);
    const renewedAt = Date.now();
    const probe = {
      ca: await field('ops-server-ca', 'ca.crt'),
      cert: await field('ops-client-tls', 'tls.crt'),
      key: await field('ops-client-tls', 'tls.key'),
    };
    let seen = '';
    for (const p of before) {
      await waitFor(
        `${p.metadata!.name} to present the renewed certificate`,
        async () => {
          const peer = await tlsProbe({
            host: p.status!.podIP!,
            port: INSTANCE_MANAGER_PORT,
            servername: 'ops-instance-manager',
            ...probe,
          });
          // What the Secret holds now (the operator's renewal), not the original nor the due one.
          const inSecret = await fingerprintOf();
          seen = `${p.metadata!.name} presents ${peer.fingerprint256}; the Secret holds ${inSecret}; original ${original}, due ${dueFingerprint}`;
          return peer.fingerprint256 === inSecret && renewed(inSecret);
        },
        120_000,
      ).catch((error: Error) => {
        throw new Error(`${error.message}; ${seen}`);
      });
    }
    console.log(
      `      every instance manager presented the renewed certificate ${((Date.now() - renewedAt) / 1000).toFixed(1)} s after the renewal`,
    );
    const after = await Promise.all(names.map(pod));
    for (const [i, p] of after.entries()) {
      expect(p.metadata!.uid, 'the same Pod').to.equal(before[i].metadata!.uid);
      expect(restarts(p), `${names[i]} restarted`).to.deep.equal(restarts(before[i]));
    }
    userSql(await primaryIp(), app, 'INSERT INTO t VALUES (3, "after the renewal")', 'shop');
    const c = await waitClusterPhase(api, fx.namespace, 'ops', { phase: 'Healthy', timeoutMs: 60_000, instances: 3 });
    for (const replica of ['ops-2', 'ops-3']) {
      const ip = podIpOf(c, replica);
      await waitFor(`${replica} has the write`, async () => userSql(ip, app, 'SELECT COUNT(*) FROM t', 'shop') === '4', 30_000);
    }
  });

  it('scales down 3 → 2 → 1: the newest replica goes first with its PVC, never the primary', async () => {
    const key = { namespace: fx.namespace, name: 'ops' };
    const rows = userSql(await primaryIp(), app, 'SELECT COUNT(*) FROM t', 'shop');
    const instances = async () => ({
      pods: (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: `${LABEL}=ops` })).items
        .map((p) => p.metadata!.name!)
        .filter((n) => /^ops-\d+$/.test(n))
        .sort(),
      pvcs: (await fx.core.listNamespacedPersistentVolumeClaim({ namespace: fx.namespace, labelSelector: `${LABEL}=ops` })).items
        .map((p) => p.metadata!.name!)
        .sort(),
    });
    for (const [count, left] of [
      [2, ['ops-1', 'ops-2']],
      [1, ['ops-1']],
    ] as const) {
      await api.patch(KINDS.Cluster, key, { spec: { instances: count } });
      await waitFor(
        `${count} instances left`,
        async () => JSON.stringify(await instances()) === JSON.stringify({ pods: left, pvcs: left }),
        120_000,
      );
      const c = await waitClusterPhase(api, fx.namespace, 'ops', { phase: 'Healthy', timeoutMs: 60_000, instances: count });
      expect(c.status!.currentPrimary).to.equal('ops-1');
      expect(c.status!.instanceNames).to.deep.equal(left);
      expect(row(c, 'ops-1')).to.include({ role: 'primary', ready: true });
    }
    expect(userSql(await primaryIp(), app, 'SELECT COUNT(*) FROM t', 'shop'), 'the primary keeps its data').to.equal(rows);
  });

  it('a longer recovery reports its progress in status.recovery at most 10 s apart', async () => {
    // ~96 MB that zstd cannot shrink, so the stored backup is as large.
    const ip = await primaryIp();
    userSql(ip, app, 'CREATE TABLE big (id INT PRIMARY KEY, b LONGBLOB)', 'shop');
    for (let part = 0; part < 4; part++)
      userSql(
        ip,
        app,
        `INSERT INTO big SELECT seq, CONCAT(RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024), RANDOM_BYTES(1024)) FROM seq_${part * 6000 + 1}_to_${(part + 1) * 6000}`,
        'shop',
      );
    const large = await backup('large');
    const minio = new URL(stack.env().MINIO_ENDPOINT);
    const proxy = await throttledProxy({ host: minio.hostname, port: Number(minio.port) }, 3 * 1024 * 1024);
    try {
      await api.create(KINDS.Cluster, {
        metadata: { name: 'slow', namespace: fx.namespace },
        spec: {
          instances: 1,
          storage: { size: '1Gi' },
          bootstrap: { recovery: { source: 'ops' } },
          externalClusters: [{ name: 'ops', objectStore: store({ endpoint: `http://127.0.0.1:${proxy.port}` }) }],
        },
      });
      const samples: Array<{
        at: number;
        progressAt: string;
        phase: string;
        bytesDone?: number;
        bytesTotal?: number;
        eta?: number;
        rate?: number;
      }> = [];
      await waitFor(
        'the recovery to finish',
        async () => {
          const r = (await cluster('slow')).status?.recovery;
          if (r?.phase === 'failed') throw new Error(JSON.stringify(r));
          if (r?.progressAt && samples.at(-1)?.progressAt !== r.progressAt)
            samples.push({
              at: Date.now(),
              progressAt: r.progressAt,
              phase: r.phase!,
              bytesDone: r.bytesDone,
              bytesTotal: r.bytesTotal,
              eta: r.etaSeconds,
              rate: r.bytesPerSecond,
            });
          return r?.phase === 'finalizing' || r?.phase === 'completed';
        },
        300_000,
      );
      const times = samples.map((s) => Date.parse(s.progressAt));
      const gaps = times.slice(1).map((t, i) => (t - times[i]) / 1000);
      console.log(
        `      ${samples.length} progress updates over ${((times.at(-1)! - times[0]) / 1000).toFixed(0)} s, largest gap ${Math.max(...gaps).toFixed(1)} s`,
      );
      expect(samples.length, JSON.stringify(samples)).to.be.at.least(4);
      expect(Math.max(...gaps), JSON.stringify(gaps)).to.be.at.most(10);
      expect(samples[0].bytesTotal).to.be.above(90_000_000);
      const downloading = samples.filter((s) => s.phase === 'downloading');
      expect(downloading.length).to.be.at.least(3);
      for (const [i, s] of downloading.entries()) {
        if (i) expect(s.bytesDone).to.be.at.least(downloading[i - 1].bytesDone!);
        expect(s.rate).to.be.a('number');
      }
      expect(downloading.some((s) => (s.rate ?? 0) > 0 && typeof s.eta === 'number')).to.equal(true);
    } finally {
      await proxy.close();
    }
    const c = await waitClusterPhase(api, fx.namespace, 'slow', { phase: 'Healthy', timeoutMs: 180_000, instances: 1 });
    expect(c.status!.recovery).to.include({ phase: 'completed', backupID: large.backupId });
    expect(userSql(podIpOf(c, 'slow-1'), app, 'SELECT COUNT(*) FROM big', 'shop')).to.equal('24000');
  });

  it('a Cluster re-created under the name of one just deleted waits for the old objects (WaitingForPreviousCluster), never Failed, then starts on a new volume', async () => {
    // The old volume is held by a finalizer, so the wait is certain and as long as the test wants.
    const hold = { metadata: { finalizers: ['test.silo.io/hold'] } };
    const oldPvc = await fx.core.patchNamespacedPersistentVolumeClaim({ namespace: fx.namespace, name: 'slow-1', body: hold }, MERGE_PATCH);
    await api.delete(KINDS.Cluster, { namespace: fx.namespace, name: 'slow' });
    await waitFor('slow deleted', async () => !(await getCluster(api, fx.namespace, 'slow')), 60_000);
    await api.create(KINDS.Cluster, {
      metadata: { name: 'slow', namespace: fx.namespace },
      spec: { instances: 1, storage: { size: '1Gi' }, bootstrap: { initdb: { database: 'fresh' } } },
    });
    const phases = new Set<string>();
    const waiting = await waitFor(
      'the new Cluster waiting on the old PVC',
      async () => {
        const c = await cluster('slow');
        if (c?.status?.phase) phases.add(c.status.phase);
        return c?.status?.conditions?.find((x) => x.type === 'Ready')?.reason === 'WaitingForPreviousCluster' &&
          /PVC slow-1/.test(c.status!.phaseReason!)
          ? c
          : undefined;
      },
      60_000,
    );
    expect(waiting.status!.phase).to.equal('Initializing');
    expect(waiting.status!.phaseReason).to.match(
      /^a previous Cluster slow \(uid [-0-9a-f]+\) was deleted and its .*PVC slow-1.* not removed yet; waiting for the garbage collector/,
    );
    // While it waits it builds nothing on the old objects.
    await new Promise((r) => setTimeout(r, 8_000));
    const still = await cluster('slow');
    phases.add(still.status!.phase!);
    expect(still.status!.conditions!.find((x) => x.type === 'Ready')!.reason).to.equal('WaitingForPreviousCluster');
    expect((await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: `${LABEL}=slow` })).items).to.deep.equal([]);
    await fx.core.patchNamespacedPersistentVolumeClaim(
      { namespace: fx.namespace, name: 'slow-1', body: { metadata: { finalizers: null } } },
      MERGE_PATCH,
    );
    const c = await waitFor(
      'the new Cluster Healthy',
      async () => {
        const now = await cluster('slow');
        if (now?.status?.phase) phases.add(now.status.phase);
        return now?.status?.phase === 'Healthy' ? now : undefined;
      },
      240_000,
    );
    expect([...phases]).to.not.include('Failed');
    const pvc = await fx.core.readNamespacedPersistentVolumeClaim({ namespace: fx.namespace, name: 'slow-1' });
    expect(pvc.metadata!.uid, 'a new volume').to.not.equal(oldPvc.metadata!.uid);
    expect(pvc.metadata!.ownerReferences![0].uid).to.equal(c.metadata!.uid);
    const events = (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: 'involvedObject.name=slow' })).items;
    expect(events.some((e) => e.reason === 'WaitingForPreviousCluster' && e.type === 'Normal')).to.equal(true);
  });
});
