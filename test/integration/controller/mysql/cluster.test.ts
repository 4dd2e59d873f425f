/**
 * Seed 003's Cluster lifecycle end to end, with the operator as a process holding exactly the
 * synthesized ClusterRole: a 3-instance Cluster (PKI, users, Services, replicas stream-cloned from
 * the primary), seed 003's Backup, a Cluster recovered from that Backup (seed 003's
 * restored-cluster), and a Cluster recovered from the bucket alone (seed 003's recovered-cluster).
 *
 * The seed documents are applied as written except what this machine forces: the object store's
 * endpoint (no DNS here: MinIO listens on loopback) and, for the bucket-only recovery, the entry
 * names the source this test made (`cluster-sample`) and carries no recoveryTarget (Silo writes no
 * binlog archive yet; the seed's document as written is refused with RecoveryTargetUnsupported,
 * checked below).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { CreateBucketCommand, DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parse } from 'yaml';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { BackupStatus, ClusterSpec } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { kubeletStateDir } from '../../../stack/components/kubelet.js';
import { s3Client } from '../../../stack/lib/s3.js';
import { useStack } from '../../../stack/mocha.js';
import { SEED_FIXTURES_DIR } from '../../../support/seed-examples.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';
import {
  appUser,
  checksums,
  getCluster,
  rootSql,
  podIpOf,
  userSql,
  userSqlScript,
  waitClusterPhase,
  type AppUser,
} from './support/managed-cluster.js';

const stack = useStack('kube', 'kubelet', 'minio');
const BUCKET = 'cloudnative-mysql-backups';
const PATH = 'production';

const seed = (file: string) => parse(readFileSync(join(SEED_FIXTURES_DIR, file), 'utf8')) as KubeObject & { spec: Record<string, any> };

describe('mysql Cluster end to end: instances, replicas, Backup, recovery from a Backup and from the bucket alone', function () {
  this.timeout(900_000);
  const fx = useKube('mysql-cluster', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  let app: AppUser;
  let sourceChecksums: string[] = [];
  let backupStatus: BackupStatus;
  const endpoint = () => stack.env().MINIO_ENDPOINT;
  const s3 = () =>
    s3Client({ endpoint: endpoint(), accessKeyId: stack.env().MINIO_ACCESS_KEY, secretAccessKey: stack.env().MINIO_SECRET_KEY });
  /** The seed's object store with this machine's endpoint. */
  const withLocalEndpoint = <T extends Record<string, any>>(store: T): T => ({ ...store, endpoint: endpoint() });
  const cluster = (name: string) => getCluster(api, fx.namespace, name).then((c) => c!);

  async function emptyPrefix(): Promise<void> {
    for (;;) {
      const listed = await s3().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PATH}/` }));
      const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (!keys.length) return;
      await s3().send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys } }));
    }
  }

  before(async function () {
    this.timeout(300_000);
    api = new CustomObjects(fx.kc);
    await s3()
      .send(new CreateBucketCommand({ Bucket: BUCKET }))
      .catch((e: Error) => {
        if (!/BucketAlready/.test(e.name)) throw e;
      });
    await emptyPrefix();
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'minio-creds' },
        stringData: { accessKey: stack.env().MINIO_ACCESS_KEY, secretKey: stack.env().MINIO_SECRET_KEY },
      },
    });
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `mysql-cluster-e2e-${fx.namespace}` });
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-6000));
    await operator?.stop();
    await emptyPrefix().catch(() => undefined);
  });

  it('a 3-instance Cluster comes up Healthy: a primary and two replicas cloned from it, each with its own server id', async () => {
    const objectStore = withLocalEndpoint(seed('003-restored-cluster.yaml').spec.backup.objectStore);
    const spec = {
      instances: 3,
      storage: { size: '1Gi' },
      bootstrap: { initdb: { database: 'shop' } },
      backup: { objectStore },
    } as ClusterSpec;
    await api.create(KINDS.Cluster, { metadata: { name: 'cluster-sample', namespace: fx.namespace }, spec });
    const c = await waitClusterPhase(api, fx.namespace, 'cluster-sample', { phase: 'Healthy', timeoutMs: 420_000, instances: 3 });
    const s = c.status!;
    expect(s.currentPrimary).to.equal('cluster-sample-1');
    expect(s.instanceNames).to.deep.equal(['cluster-sample-1', 'cluster-sample-2', 'cluster-sample-3']);
    expect(new Set(s.instancesStatus!.map((i) => i.serverId)).size).to.equal(3);
    expect(s.instancesStatus!.filter((i) => i.role === 'replica').every((i) => i.serving)).to.equal(true);
    expect(s.conditions?.find((x) => x.type === 'Ready')).to.include({ status: 'True' });
    for (const name of ['cluster-sample-rw', 'cluster-sample-ro', 'cluster-sample-r'])
      expect((await fx.core.readNamespacedService({ namespace: fx.namespace, name })).metadata?.ownerReferences?.[0]?.name).to.equal(
        'cluster-sample',
      );
    // The backup Jobs' client key never enters a database Pod.
    const pods = (
      await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: 'mysql.cloudnative-mysql.io/cluster=cluster-sample' })
    ).items;
    for (const pod of pods.filter((p) => /^cluster-sample-\d+$/.test(p.metadata!.name!)))
      expect(JSON.stringify(pod.spec?.volumes)).to.not.contain('cluster-sample-client-tls');
    app = await appUser(fx.core, fx.namespace, 'cluster-sample-app');
  });

  it('after 10,000 writes on the primary, every replica reaches its GTID position within 30 s', async () => {
    const c = await cluster('cluster-sample');
    const primaryIp = podIpOf(c, 'cluster-sample-1');
    userSql(primaryIp, app, 'CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB', 'shop');
    // 10,000 autocommitted writes, as an application would make them.
    const inserts = Array.from({ length: 10_000 }, (_, i) => `INSERT INTO orders VALUES (${i + 1}, 'order-${i + 1}');`).join('\n');
    userSqlScript(primaryIp, app, inserts, 'shop');
    const target = userSql(primaryIp, app, 'SELECT @@global.gtid_binlog_pos');
    const started = Date.now();
    for (const replica of ['cluster-sample-2', 'cluster-sample-3']) {
      const ip = podIpOf(c, replica);
      await waitFor(`${replica} at ${target}`, async () => userSql(ip, app, 'SELECT @@global.gtid_slave_pos') === target, 30_000);
    }
    console.log(`      replicas caught up with 10,000 writes ${((Date.now() - started) / 1000).toFixed(1)} s after the last one`);
    expect(Date.now() - started).to.be.below(30_000);
  });

  it('a replica whose Pod and PVC are deleted is cloned again after PURGE BINARY LOGS, with an Event', async () => {
    const c = await cluster('cluster-sample');
    const primaryIp = podIpOf(c, 'cluster-sample-1');
    userSql(primaryIp, app, "INSERT INTO orders VALUES (10001, 'after-purge')", 'shop');
    const primaryPod = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'cluster-sample-1' });
    const podDir = join(kubeletStateDir(stack.ctx), 'pods', primaryPod.metadata!.uid!);
    rootSql(podDir, 'FLUSH BINARY LOGS');
    // A log is purged once InnoDB has checkpointed past it and it is older than NOW(): retry a little.
    const first = rootSql(podDir, 'SHOW BINARY LOGS').split('\n')[0].split('\t')[0];
    await waitFor(
      'the first binary logs purged',
      async () => {
        rootSql(podDir, 'PURGE BINARY LOGS BEFORE NOW()');
        return rootSql(podDir, 'SHOW BINARY LOGS').split('\n')[0].split('\t')[0] !== first;
      },
      30_000,
    );
    await fx.core.deleteNamespacedPersistentVolumeClaim({ namespace: fx.namespace, name: 'cluster-sample-3' });
    await fx.core.deleteNamespacedPod({ namespace: fx.namespace, name: 'cluster-sample-3' });
    const healed = await waitFor(
      'a new replica replaces cluster-sample-3',
      async () => {
        const now = await cluster('cluster-sample');
        const names = now.status?.instanceNames ?? [];
        return now.status?.phase === 'Healthy' && now.status.readyInstances === 3 && !names.includes('cluster-sample-3') ? now : undefined;
      },
      300_000,
    );
    expect(healed.status!.instanceNames).to.deep.equal(['cluster-sample-1', 'cluster-sample-2', 'cluster-sample-4']);
    const ip = podIpOf(healed, 'cluster-sample-4');
    await waitFor(
      'the new replica has the row written before the purge',
      async () => userSql(ip, app, 'SELECT note FROM orders WHERE id=10001', 'shop') === 'after-purge',
      30_000,
    );
    const events = (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: 'involvedObject.name=cluster-sample' }))
      .items;
    expect(events.map((e) => `${e.reason}: ${e.message}`).join('\n')).to.match(
      /ReplicaCloning: creating replica cluster-sample-4 to replace cluster-sample-3/,
    );
  });

  it("seed 003's Backup completes from a replica", async () => {
    const c = await cluster('cluster-sample');
    sourceChecksums = checksums(podIpOf(c, 'cluster-sample-1'), app, 'shop');
    await api.create(KINDS.Backup, { ...seed('003-backup-sample.yaml'), metadata: { name: 'backup-sample', namespace: fx.namespace } });
    const b = await waitFor(
      'backup-sample completed',
      async () => {
        const got = await api.get<KubeObject & { status?: BackupStatus }>(KINDS.Backup, { namespace: fx.namespace, name: 'backup-sample' });
        if (got?.status?.phase === 'failed') throw new Error(JSON.stringify(got.status));
        return got?.status?.phase === 'completed' ? got : undefined;
      },
      300_000,
    );
    backupStatus = b.status!;
    expect(backupStatus.instanceName).to.match(/^cluster-sample-[24]$/);
    // Written after the backup: a recovery to the backup must not have it.
    userSql(podIpOf(c, 'cluster-sample-1'), app, "INSERT INTO orders VALUES (20000, 'after-the-backup')", 'shop');
  });

  it("seed 003's restored-cluster recovers from the Backup: checksums equal the source at the backup, 3 instances replicating, RTO measured", async () => {
    const restored = seed('003-restored-cluster.yaml');
    restored.spec.backup.objectStore = withLocalEndpoint(restored.spec.backup.objectStore);
    await api.create(KINDS.Cluster, { ...restored, metadata: { ...restored.metadata, namespace: fx.namespace } });
    const resolved = await waitFor(
      'restored-cluster resolved its recovery',
      async () => (await cluster('restored-cluster')).status?.recovery?.backupID,
      60_000,
    );
    expect(resolved).to.equal(backupStatus.backupId);
    const c = await waitClusterPhase(api, fx.namespace, 'restored-cluster', { phase: 'Healthy', timeoutMs: 600_000, instances: 3 });
    const recovery = c.status!.recovery!;
    expect(recovery).to.include({ phase: 'completed', sourceKind: 'backup', backupName: 'backup-sample', backupID: backupStatus.backupId });
    expect(recovery.rtoSeconds).to.be.a('number').and.above(0);
    expect(recovery.chain).to.have.length(1);
    expect(recovery.chain![0].sha256).to.equal(backupStatus.sha256);
    const restoredApp = await appUser(fx.core, fx.namespace, 'cluster-sample-app');
    for (const instance of c.status!.instanceNames!) {
      const ip = podIpOf(c, instance);
      await waitFor(
        `${instance} has the data`,
        async () => {
          try {
            return checksums(ip, restoredApp, 'shop').join() === sourceChecksums.join();
          } catch {
            return false;
          }
        },
        60_000,
      );
    }
    expect(userSql(podIpOf(c, 'restored-cluster-1'), restoredApp, 'SELECT COUNT(*) FROM orders WHERE id=20000', 'shop')).to.equal('0');
    console.log(`      restored-cluster RTO ${recovery.rtoSeconds} s`);
  });

  it('deleting the source Backup changes nothing for the recovered Cluster', async () => {
    const before = (await cluster('restored-cluster')).status!.recovery;
    await api.delete(KINDS.Backup, { namespace: fx.namespace, name: 'backup-sample' });
    await new Promise((r) => setTimeout(r, 12_000));
    const after = await cluster('restored-cluster');
    expect(after.status!.phase).to.equal('Healthy');
    expect(after.status!.recovery).to.deep.equal(before);
  });

  it("seed 003's recovered-cluster as written is refused with RecoveryTargetUnsupported, naming the field", async () => {
    const recovered = seed('003-recovered-cluster.yaml');
    recovered.spec.externalClusters[0].objectStore = withLocalEndpoint(recovered.spec.externalClusters[0].objectStore);
    await api.create(KINDS.Cluster, { ...recovered, metadata: { name: 'recovered-as-written', namespace: fx.namespace } });
    const c = await waitClusterPhase(api, fx.namespace, 'recovered-as-written', { phase: 'Failed', timeoutMs: 60_000 });
    expect(c.status!.conditions?.find((x) => x.type === 'Ready')).to.include({ status: 'False', reason: 'RecoveryTargetUnsupported' });
    expect(c.status!.phaseReason).to.match(/recoveryTarget/);
    await api.delete(KINDS.Cluster, { namespace: fx.namespace, name: 'recovered-as-written' });
  });

  it('a Cluster recovers from the bucket alone, after the source Cluster and every Backup object are gone', async () => {
    await api.delete(KINDS.Cluster, { namespace: fx.namespace, name: 'cluster-sample' });
    await waitFor('cluster-sample gone', async () => !(await getCluster(api, fx.namespace, 'cluster-sample')), 120_000);
    expect(await api.list(KINDS.Backup, fx.namespace)).to.deep.equal([]);
    const recovered = seed('003-recovered-cluster.yaml');
    delete recovered.spec.bootstrap.recovery.recoveryTarget;
    recovered.spec.bootstrap.recovery.source = 'cluster-sample';
    recovered.spec.externalClusters[0] = {
      name: 'cluster-sample',
      objectStore: withLocalEndpoint(recovered.spec.externalClusters[0].objectStore),
    };
    recovered.spec.instances = 2;
    await api.create(KINDS.Cluster, { ...recovered, metadata: { ...recovered.metadata, namespace: fx.namespace } });
    const c = await waitClusterPhase(api, fx.namespace, 'recovered-cluster', { phase: 'Healthy', timeoutMs: 600_000, instances: 2 });
    expect(c.status!.recovery).to.include({
      phase: 'completed',
      sourceKind: 'objectStore',
      externalCluster: 'cluster-sample',
      backupID: backupStatus.backupId,
    });
    const restoredApp = await appUser(fx.core, fx.namespace, 'cluster-sample-app').catch(() => app);
    expect(checksums(podIpOf(c, 'recovered-cluster-1'), restoredApp, 'shop')).to.deep.equal(sourceChecksums);
  });
});
