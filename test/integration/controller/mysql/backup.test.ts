/**
 * Seed 003's Backup flow end to end: the operator runs as a process with its
 * own ServiceAccount token, the process kubelet runs hand-made instance Pods
 * (mariadbd + `silo instance-manager`, a real GTID replica) and the worker
 * Jobs, MinIO stores the backups. Each failure surface ends in its reason.
 */
import { createHash } from 'node:crypto';
import { get } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { CoreV1Event } from '@kubernetes/client-node';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { BackupSpec, BackupStatus, ClusterSpec } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { s3Client } from '../../../stack/lib/s3.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';
import { createClusterPkiSecrets, type ClusterPki } from './support/cluster-pki.js';
import { instancePod, sql, startReplication, waitReady } from './support/instance-pods.js';
import { tapProxy } from './support/tap-proxy.js';
import { UNMANAGED_CLUSTER } from './support/unmanaged-cluster.js';

type Backup = KubeObject & { spec: BackupSpec; status?: BackupStatus };

const stack = useStack('kube', 'kubelet', 'minio');

/** JobCannotStart after 15 s instead of the default 60 s, so that test does not wait a minute. */
const POD_START_GRACE = { SILO_POD_START_GRACE_SECONDS: '15' };

describe('mysql Backup end to end (operator process, instance Pods, MinIO)', function () {
  this.timeout(600_000);
  const fx = useKube('mysql-backup', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  const ips: Record<string, string> = {};
  const uids: Record<string, string> = {};
  let pki: ClusterPki;
  const minio = () => ({
    endpoint: stack.env().MINIO_ENDPOINT,
    accessKeyId: stack.env().MINIO_ACCESS_KEY,
    secretAccessKey: stack.env().MINIO_SECRET_KEY,
  });
  const prefix = () => `e2e-${fx.namespace}`;
  const objectStore = (over: Record<string, unknown> = {}) => ({
    bucket: stack.env().MINIO_BUCKET,
    path: prefix(),
    endpoint: minio().endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: { name: 'minio', key: 'access' }, secretAccessKey: { name: 'minio', key: 'secret' } },
    compression: { algorithm: 'zstd' },
    ...over,
  });

  before(async function () {
    this.timeout(300_000);
    api = new CustomObjects(fx.kc);
    operator = await startOperator({
      watchNamespaces: [fx.namespace],
      leaderElectionId: `mysql-backup-e2e-${fx.namespace}`,
      env: POD_START_GRACE,
    });
    pki = await createClusterPkiSecrets(fx.core, fx.namespace, 'db');
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'minio' }, stringData: { access: minio().accessKeyId, secret: minio().secretAccessKey } },
    });
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'minio-wrong' }, stringData: { access: minio().accessKeyId, secret: 'not-the-secret-key' } },
    });
    // One after the other, as a StatefulSet would: concurrent first-time mariadb-install-db runs here have collided.
    for (const [name, role, serverId] of [
      ['db-1', 'primary', 1],
      ['db-2', 'replica', 2],
    ] as const) {
      await fx.core.createNamespacedPod({
        namespace: fx.namespace,
        body: instancePod({ name, cluster: 'db', role, serverId, ...(role === 'replica' ? { lag: '0' } : {}) }),
      });
      const pod = await waitReady(fx.core, fx.namespace, name);
      ips[name] = pod.status!.podIP!;
      uids[name] = pod.metadata!.uid!;
    }
    await waitFor(
      'mariadbd answering on both pod IPs',
      async () => sql(ips['db-1'], 'SELECT 1') === '1' && sql(ips['db-2'], 'SELECT 1') === '1',
      60_000,
    );
    await startReplication(ips['db-1'], ips['db-2']);
    sql(
      ips['db-1'],
      "CREATE DATABASE shop; USE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(64)) ENGINE=InnoDB; INSERT INTO shop.orders SELECT seq, CONCAT('order-', seq) FROM seq_1_to_200;",
    );
    await waitFor('the replica caught up', async () => sql(ips['db-2'], 'SELECT COUNT(*) FROM shop.orders') === '200', 30_000);
    const spec = { instances: 2, storage: { size: '1Gi' }, backup: { objectStore: objectStore() } } as ClusterSpec;
    await api.create(KINDS.Cluster, { metadata: { annotations: UNMANAGED_CLUSTER, name: 'db', namespace: fx.namespace }, spec });
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-4000));
    await operator?.stop();
    const s3 = s3Client(minio());
    const listed = await s3
      .send(new ListObjectsV2Command({ Bucket: stack.env().MINIO_BUCKET, Prefix: `${prefix()}/` }))
      .catch(() => undefined);
    const keys = (listed?.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: stack.env().MINIO_BUCKET, Delete: { Objects: keys } }));
  });

  const createBackup = (name: string, spec: Partial<BackupSpec> = {}) =>
    api.create<Backup>(KINDS.Backup, { metadata: { name, namespace: fx.namespace }, spec: { cluster: { name: 'db' }, ...spec } });
  const getBackup = async (name: string) => (await api.get<Backup>(KINDS.Backup, { namespace: fx.namespace, name }))!;
  const terminal = (name: string, timeoutMs = 180_000) =>
    waitFor(
      `Backup ${name} completed or failed`,
      async () => {
        const b = await getBackup(name);
        return b.status?.phase === 'completed' || b.status?.phase === 'failed' ? b : undefined;
      },
      timeoutMs,
    );
  const events = async (name: string): Promise<CoreV1Event[]> =>
    (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: `involvedObject.name=${name}` })).items;
  const expectFailure = async (name: string, reason: string, message: RegExp, timeoutMs?: number) => {
    const b = await terminal(name, timeoutMs);
    expect(b.status, JSON.stringify(b.status)).to.include({ phase: 'failed', reason });
    expect(b.status!.error).to.match(message);
    expect(b.status!.error!.split('\n')).to.have.length(1);
    expect(b.status!.conditions?.find((c) => c.type === 'Completed')).to.include({ status: 'False', reason });
    const warning = await waitFor(
      `Warning Event ${reason}`,
      async () => (await events(name)).find((e) => e.type === 'Warning' && e.reason === reason),
      10_000,
    );
    expect(warning.message).to.equal(b.status!.error!.length > 1024 ? warning.message : b.status!.error);
    for (const secret of [minio().secretAccessKey, 'not-the-secret-key']) expect(JSON.stringify(b.status)).to.not.contain(secret);
    return b;
  };

  it("the instance manager's /status reports replication: lag on the replica, null on the primary", async () => {
    const status = (pod: string) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        get(
          `https://${ips[pod]}:8443/status`,
          { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey, servername: 'db-instance-manager' },
          (response) => {
            let body = '';
            response
              .on('data', (c) => {
                body += c;
              })
              .on('end', () => resolve(JSON.parse(body)))
              .on('error', reject);
          },
        ).on('error', reject);
      });
    expect((await status('db-2')).replication)
      .to.deep.include({ ioRunning: true, sqlRunning: true, secondsBehindMaster: 0 })
      .and.not.have.property('lastError');
    expect(await status('db-1')).to.deep.include({ instance: 'db-1', replication: null, backupRunning: null });
  });

  it('prefer-standby: a Backup of the replica completes with every status field filled and the archive in MinIO', async () => {
    await createBackup('first');
    const b = await terminal('first');
    const s = b.status!;
    expect(s, JSON.stringify(s)).to.include({
      phase: 'completed',
      reason: 'BackupCompleted',
      instanceName: 'db-2',
      method: 'xtrabackup',
      type: 'full',
    });
    expect(s.backupId).to.match(/^\d{8}T\d{6}Z$/);
    expect(s.jobName).to.equal(`first-${s.backupId!.toLowerCase()}`);
    expect(s.destinationPath).to.equal(`s3://${stack.env().MINIO_BUCKET}/${prefix()}/db/first/${s.backupId}/`);
    expect(s.sha256).to.match(/^[a-f0-9]{64}$/);
    for (const field of ['beginGTID', 'endGTID', 'beginBinlog', 'endBinlog', 'toLSN', 'startedAt', 'stoppedAt', 'size'] as const)
      expect(s[field], field).to.be.a('string').and.not.equal('');
    expect(s.endBinlog).to.match(/^mysql-bin\.\d+:\d+$/);
    expect(s.sizeBytes).to.be.greaterThan(0);
    expect(s.throughputBytesPerSecond).to.be.greaterThan(0);
    expect(Date.parse(s.stoppedAt!)).to.be.at.least(Date.parse(s.startedAt!));
    expect(s.error ?? undefined).to.equal(undefined);
    expect(s.conditions?.map((c) => [c.type, c.status, c.reason])).to.deep.equal([
      ['Started', 'True', 'BackupStarted'],
      ['Completed', 'True', 'BackupCompleted'],
    ]);

    // The stored bytes hash to status.sha256, and metadata.json agrees.
    const s3 = s3Client(minio());
    const key = `${prefix()}/db/first/${s.backupId}/`;
    const data = Buffer.from(
      await (
        await s3.send(new GetObjectCommand({ Bucket: stack.env().MINIO_BUCKET, Key: `${key}backup.xbstream` }))
      ).Body!.transformToByteArray(),
    );
    expect(createHash('sha256').update(data).digest('hex')).to.equal(s.sha256);
    expect(data.length).to.equal(s.sizeBytes);
    const metadata = JSON.parse(
      await (
        await s3.send(new GetObjectCommand({ Bucket: stack.env().MINIO_BUCKET, Key: `${key}metadata.json` }))
      ).Body!.transformToString(),
    );
    expect(metadata).to.deep.include({
      sha256: s.sha256,
      backupId: s.backupId,
      sourceInstance: 'db-2',
      cluster: { name: 'db', namespace: fx.namespace },
      backup: { name: 'first', namespace: fx.namespace },
    });

    // The Job: owned by the Backup, one attempt, labels outside the instance selector.
    const job = await fx.batch.readNamespacedJob({ namespace: fx.namespace, name: s.jobName! });
    expect(job.metadata!.ownerReferences![0]).to.include({ kind: 'Backup', name: 'first', uid: b.metadata!.uid, controller: true });
    expect(job.spec!.backoffLimit).to.equal(0);
    expect(job.spec!.activeDeadlineSeconds).to.equal(21600);
    expect(job.metadata!.labels).to.include({
      'app.kubernetes.io/managed-by': 'silo',
      'mysql.cloudnative-mysql.io/cluster': 'db',
      'mysql.cloudnative-mysql.io/backup': 'first',
    });
    const selected = (
      await fx.core.listNamespacedPod({
        namespace: fx.namespace,
        labelSelector: 'mysql.cloudnative-mysql.io/cluster=db,mysql.cloudnative-mysql.io/instance-role in (primary,replica)',
      })
    ).items;
    expect(selected.map((p) => p.metadata!.name).sort()).to.deep.equal(['db-1', 'db-2']);
    const reasons = (await events('first')).map((e) => e.reason);
    expect(reasons).to.include.members(['BackupStarted', 'BackupCompleted']);
  });

  it('a completed Backup is never rerun', async () => {
    const before = await getBackup('first');
    await new Promise((r) => setTimeout(r, 3000));
    const jobs = (await fx.batch.listNamespacedJob({ namespace: fx.namespace, labelSelector: 'mysql.cloudnative-mysql.io/backup=first' }))
      .items;
    expect(jobs).to.have.length(1);
    expect((await getBackup('first')).status).to.deep.equal(before.status);
  });

  it('target: primary backs up the primary; a differential picks the completed full as its parent', async () => {
    sql(ips['db-1'], "INSERT INTO orders SELECT seq, 'later' FROM seq_201_to_220;", 'shop');
    await createBackup('from-primary', { target: 'primary', type: 'differential' });
    const b = await terminal('from-primary');
    const first = await getBackup('first');
    expect(b.status, JSON.stringify(b.status)).to.include({
      phase: 'completed',
      instanceName: 'db-1',
      type: 'differential',
      parentBackupId: first.status!.backupId,
    });
  });

  it('prefer-standby falls back to the primary when the replica reports broken replication', async () => {
    const setLag = async (value: string) => {
      const pod = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'db-2' });
      pod.metadata!.annotations = { ...pod.metadata!.annotations, 'mysql.cloudnative-mysql.io/replication-lag-seconds': value };
      await fx.core.replaceNamespacedPod({ namespace: fx.namespace, name: 'db-2', body: pod });
    };
    await setLag('stopped');
    try {
      await createBackup('fallback');
      const b = await terminal('fallback');
      expect(b.status, JSON.stringify(b.status)).to.include({ phase: 'completed', instanceName: 'db-1' });
      const started = (await events('fallback')).find((e) => e.reason === 'BackupStarted');
      expect(started?.message).to.match(/from primary db-1 by Job fallback-/);
    } finally {
      await setLag('0');
    }
  });

  it('one backup per Cluster at a time: the second waits in pending with WaitingForRunningBackup, then runs', async () => {
    await createBackup('guard-a');
    await createBackup('guard-b');
    const waiting = await waitFor(
      "guard-b waiting while guard-a holds the Cluster's backup lock",
      async () => {
        const b = await getBackup('guard-b');
        const lock = (await api.get(KINDS.Cluster, { namespace: fx.namespace, name: 'db' }))!.metadata!.annotations?.[
          'mysql.cloudnative-mysql.io/backup-lock'
        ];
        return b.status?.phase === 'pending' && b.status.reason === 'WaitingForRunningBackup' && lock?.startsWith('guard-a/')
          ? b
          : undefined;
      },
      60_000,
    );
    expect(waiting.status!.conditions?.find((c) => c.type === 'Started')).to.include({
      status: 'False',
      reason: 'WaitingForRunningBackup',
    });
    expect(waiting.status!.conditions!.find((c) => c.type === 'Started')!.message).to.match(
      /^Backup guard-a of Cluster db (is running|is older and not finished|holds the Cluster's backup lock)/,
    );
    const a = await terminal('guard-a');
    const b = await terminal('guard-b');
    expect(a.status!.phase).to.equal('completed');
    expect(b.status!.phase).to.equal('completed');
    expect(Date.parse(b.status!.startedAt!), 'the second started after the first stopped').to.be.at.least(
      Date.parse(a.status!.stoppedAt!) - 1000,
    );
    await waitFor(
      'the lock released',
      async () =>
        !(await api.get(KINDS.Cluster, { namespace: fx.namespace, name: 'db' }))!.metadata!.annotations?.[
          'mysql.cloudnative-mysql.io/backup-lock'
        ],
      10_000,
    );
  });

  it('operator restarts: a Backup whose plan was persisted before the crash gets exactly that Job, and a running one is neither lost nor duplicated', async () => {
    await operator!.stop();
    // The state a crash leaves between "status: running with the plan" and "Job created".
    const backupId = '20261122T000000Z';
    await createBackup('crashed', { target: 'primary' });
    await api.patchStatus(
      KINDS.Backup,
      { namespace: fx.namespace, name: 'crashed' },
      {
        phase: 'running',
        backupId,
        jobName: `crashed-${backupId.toLowerCase()}`,
        instanceName: 'db-1',
        method: 'xtrabackup',
        type: 'full',
        destinationPath: `s3://${stack.env().MINIO_BUCKET}/${prefix()}/db/crashed/${backupId}/`,
        startedAt: new Date().toISOString(),
      },
    );
    operator = await startOperator({
      watchNamespaces: [fx.namespace],
      leaderElectionId: `mysql-backup-e2e-${fx.namespace}`,
      env: POD_START_GRACE,
    });
    const crashed = await terminal('crashed');
    expect(crashed.status, JSON.stringify(crashed.status)).to.include({
      phase: 'completed',
      backupId,
      jobName: `crashed-${backupId.toLowerCase()}`,
      instanceName: 'db-1',
    });

    await createBackup('restarted', { target: 'primary' });
    await waitFor('restarted running', async () => (await getBackup('restarted')).status?.phase === 'running', 60_000);
    await operator!.kill();
    operator = await startOperator({
      watchNamespaces: [fx.namespace],
      leaderElectionId: `mysql-backup-e2e-${fx.namespace}-2`,
      env: POD_START_GRACE,
    });
    const restarted = await terminal('restarted');
    expect(restarted.status!.phase).to.equal('completed');
    const jobs = (
      await fx.batch.listNamespacedJob({ namespace: fx.namespace, labelSelector: 'mysql.cloudnative-mysql.io/backup=restarted' })
    ).items;
    expect(jobs.map((j) => j.metadata!.name)).to.deep.equal([restarted.status!.jobName]);
    const stored = await s3Client(minio()).send(
      new ListObjectsV2Command({ Bucket: stack.env().MINIO_BUCKET, Prefix: `${prefix()}/db/restarted/` }),
    );
    expect((stored.Contents ?? []).map((o) => o.Key!.split('/').slice(-2).join('/')).sort()).to.deep.equal([
      `${restarted.status!.backupId}/backup.xbstream`,
      `${restarted.status!.backupId}/metadata.json`,
    ]);
  });

  it('ClusterNotFound', async () => {
    await createBackup('no-cluster', { cluster: { name: 'nope' } });
    await expectFailure(
      'no-cluster',
      'ClusterNotFound',
      /^Cluster nope does not exist in namespace .*; fix spec\.cluster\.name or create the Cluster/,
    );
  });

  it('ObjectStoreMissing: neither the Backup nor its Cluster has an object store', async () => {
    await api.create(KINDS.Cluster, {
      metadata: { annotations: UNMANAGED_CLUSTER, name: 'bare', namespace: fx.namespace },
      spec: { storage: { size: '1Gi' } },
    });
    await createBackup('no-store', { cluster: { name: 'bare' } });
    await expectFailure(
      'no-store',
      'ObjectStoreMissing',
      /neither the Backup's spec\.objectStore nor Cluster bare's spec\.backup\.objectStore is set/,
    );
  });

  it('NoHealthySource: a Cluster without Ready instances', async () => {
    await api.create(KINDS.Cluster, {
      metadata: { annotations: UNMANAGED_CLUSTER, name: 'empty', namespace: fx.namespace },
      spec: { storage: { size: '1Gi' }, backup: { objectStore: objectStore() } },
    });
    await createBackup('no-source', { cluster: { name: 'empty' }, target: 'primary' });
    await expectFailure(
      'no-source',
      'NoHealthySource',
      /no healthy source instance for Cluster empty: target: primary needs a Running, Ready primary instance, and no Pods match/,
    );
  });

  it("ObjectStoreAuthFailed: wrong MinIO credentials in the Backup's own store", async () => {
    await createBackup('wrong-creds', {
      objectStore: objectStore({
        credentials: { accessKeyId: { name: 'minio-wrong', key: 'access' }, secretAccessKey: { name: 'minio-wrong', key: 'secret' } },
      }) as BackupSpec['objectStore'],
    });
    await expectFailure(
      'wrong-creds',
      'ObjectStoreAuthFailed',
      /^the object store refused the credentials: .*check the Secret keys named in objectStore\.credentials \(azure\.credentials, gcs\.credentials\)$/,
    );
  });

  it('ObjectStoreBucketNotFound: a bucket that does not exist', async () => {
    await createBackup('no-bucket', { objectStore: objectStore({ bucket: 'silo-no-such-bucket' }) as BackupSpec['objectStore'] });
    await expectFailure(
      'no-bucket',
      'ObjectStoreBucketNotFound',
      /^the object store bucket does not exist: .*create the bucket \(or container\) or fix objectStore\.bucket, azure\.container or gcs\.bucket$/,
    );
  });

  it('InstanceManagerTLSFailure: a client certificate from another CA', async () => {
    await api.patch(
      KINDS.Cluster,
      { namespace: fx.namespace, name: 'db' },
      { spec: { certificates: { clientTLSSecret: 'db-rogue-client-tls' } } },
    );
    try {
      await createBackup('wrong-cert', { target: 'primary' });
      await expectFailure(
        'wrong-cert',
        'InstanceManagerTLSFailure',
        /^the mTLS connection to the instance manager failed: .*https:\/\/127\.\d+\.\d+\.\d+:8443/,
      );
    } finally {
      await api.patch(KINDS.Cluster, { namespace: fx.namespace, name: 'db' }, { spec: { certificates: null } });
    }
  });

  it("XtraBackupFailed: mariabackup on the instance fails (the instance manager's database user is refused)", async () => {
    await createClusterPkiSecrets(fx.core, fx.namespace, 'broken');
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: instancePod({
        name: 'broken-1',
        cluster: 'broken',
        role: 'primary',
        serverId: 3,
        borrowDatabase: { host: ips['db-1'], user: 'no-such-user' },
      }),
    });
    await waitReady(fx.core, fx.namespace, 'broken-1');
    await api.create(KINDS.Cluster, {
      metadata: { annotations: UNMANAGED_CLUSTER, name: 'broken', namespace: fx.namespace },
      spec: { storage: { size: '1Gi' }, backup: { objectStore: objectStore() } },
    });
    await createBackup('tool-fails', { cluster: { name: 'broken' } });
    await expectFailure(
      'tool-fails',
      'XtraBackupFailed',
      // The tool's own reason comes along: the user it was refused as.
      /^XtraBackup \(mariabackup\) failed on the source instance: mariabackup exited with status \d+ \(.*denied.*no-such-user.*\) on the instance; nothing was stored.*instance manager's log/,
    );
    await fx.core.deleteNamespacedPod({ namespace: fx.namespace, name: 'broken-1', gracePeriodSeconds: 0 });
  });

  it('JobCannotStart: the store credentials Secret does not exist, so the worker Pod cannot start', async () => {
    await createBackup('no-secret', {
      target: 'primary',
      objectStore: objectStore({
        credentials: { accessKeyId: { name: 'minio-missing', key: 'access' }, secretAccessKey: { name: 'minio-missing', key: 'secret' } },
      }) as BackupSpec['objectStore'],
    });
    await expectFailure(
      'no-secret',
      'JobCannotStart',
      /^the backup Pod cannot start \(CreateContainerConfigError: .*minio-missing.*\); fix the image or the referenced Secrets/,
      180_000,
    );
  });

  it("the operator's metrics count completed and failed Backups by reason", async () => {
    const text = await (await fetch(operator!.metricsUrl)).text();
    expect(text).to.match(/silo_backups_total\{kind="Backup",outcome="completed",reason=""\} [1-9]/);
    for (const reason of ['ClusterNotFound', 'ObjectStoreAuthFailed', 'InstanceManagerTLSFailure']) {
      expect(text).to.match(new RegExp(`silo_backups_total\\{kind="Backup",outcome="failed",reason="${reason}"\\} 1`));
    }
    expect(text).to.match(
      new RegExp(`silo_backup_size_bytes\\{kind="Backup",namespace="${fx.namespace}",cluster="db",schedule=""\\} [1-9]`),
    );
  });

  /** The kubelet component's record of a container's process group (test/stack/kubelet/pid-files.ts). */
  const containerPid = (pod: string, container: string) =>
    Number(readFileSync(join(stack.ctx.root, 'kubelet', 'pids', `${uids[pod]}.${container}`), 'utf8').split(' ')[0]);

  it('SourceStreamInterrupted: the instance manager killed mid-stream fails the Backup (never completes)', async () => {
    // Its own instance: the Pod advertises 9443, where this test's proxy forwards to the instance manager's 8443
    // and SIGKILLs the instance manager's process group once 256 KiB of the stream have passed.
    await createClusterPkiSecrets(fx.core, fx.namespace, 'proxied');
    await fx.core.createNamespacedPod({
      namespace: fx.namespace,
      body: instancePod({ name: 'proxied-1', cluster: 'proxied', role: 'primary', serverId: 4, advertisedPort: 9443 }),
    });
    const pod = await waitReady(fx.core, fx.namespace, 'proxied-1');
    uids['proxied-1'] = pod.metadata!.uid!;
    const proxy = await tapProxy({ host: pod.status!.podIP!, port: 9443 }, 8443, 256 * 1024, () =>
      process.kill(-containerPid('proxied-1', 'instance-manager'), 'SIGKILL'),
    );
    try {
      await api.create(KINDS.Cluster, {
        metadata: { annotations: UNMANAGED_CLUSTER, name: 'proxied', namespace: fx.namespace },
        spec: { storage: { size: '1Gi' }, backup: { objectStore: objectStore() } },
      });
      await createBackup('killed', { cluster: { name: 'proxied' } });
      const b = await expectFailure(
        'killed',
        'SourceStreamInterrupted',
        /^the backup stream from the instance manager broke off: .*nothing was stored/,
      );
      expect(proxy.fired(), 'the instance manager was killed mid-stream').to.equal(true);
      expect(b.status!.sha256).to.equal(undefined);
      const listed = await s3Client(minio()).send(
        new ListObjectsV2Command({ Bucket: stack.env().MINIO_BUCKET, Prefix: `${prefix()}/proxied/killed/` }),
      );
      expect(listed.Contents ?? [], 'nothing stored').to.have.length(0);
    } finally {
      await proxy.close();
      await fx.core.deleteNamespacedPod({ namespace: fx.namespace, name: 'proxied-1', gracePeriodSeconds: 0 });
    }
  });

  it('DeadlineExceeded: a hung instance manager fails at spec.deadlineSeconds', async () => {
    const pid = containerPid('db-2', 'instance-manager');
    process.kill(-pid, 'SIGSTOP');
    try {
      await createBackup('hung', { deadlineSeconds: 60 });
      await expectFailure('hung', 'DeadlineExceeded', /deadline/, 150_000);
    } finally {
      process.kill(-pid, 'SIGCONT');
    }
  });
});
