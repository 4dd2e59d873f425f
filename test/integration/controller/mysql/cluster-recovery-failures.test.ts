/**
 * Recovery's failure surfaces end to end (issue 13), with the operator as a process and real
 * backups in MinIO: each refusal or failure is the Cluster's phase Failed with its own reason in
 * the Ready condition, status.recovery, a Warning Event and one sentence; admission rejects what it
 * can before anything runs; a flipped byte is refused before the datadir exists, and the genuine
 * object then recovers; a recovery from a running Backup waits for it (BackupNotCompleted) and then
 * recovers from it.
 */
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { generateAgeKeyPair } from '../../../../runtime/datapath/age/age-keys.js';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { BackupStatus, ClusterSpec } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { s3Client } from '../../../stack/lib/s3.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { gatedProxy } from '../../../support/gated-proxy.js';
import { useKube, waitFor } from '../../kube/fixture.js';
import { appUser, checksums, getCluster, podIpOf, userSql, waitClusterPhase, type AppUser } from './support/managed-cluster.js';

const stack = useStack('kube', 'kubelet', 'minio');

describe('mysql Cluster recovery: every failure surface has its reason', function () {
  this.timeout(900_000);
  const fx = useKube('mysql-recovery-failures', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  let app: AppUser;
  let plain: BackupStatus;
  let encrypted: BackupStatus;
  let sourceSums: string[];
  const keys = generateAgeKeyPair();
  const wrongKeys = generateAgeKeyPair();
  const bucket = () => stack.env().MINIO_BUCKET;
  const path = () => `recovery-failures-${fx.namespace}`;
  const s3 = () =>
    s3Client({
      endpoint: stack.env().MINIO_ENDPOINT,
      accessKeyId: stack.env().MINIO_ACCESS_KEY,
      secretAccessKey: stack.env().MINIO_SECRET_KEY,
    });
  const store = (over: Record<string, unknown> = {}) => ({
    bucket: bucket(),
    path: path(),
    endpoint: stack.env().MINIO_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: { name: 'minio', key: 'access' }, secretAccessKey: { name: 'minio', key: 'secret' } },
    compression: { algorithm: 'zstd' },
    ...over,
  });
  const createCluster = (name: string, spec: Partial<ClusterSpec>) =>
    api.create(KINDS.Cluster, { metadata: { name, namespace: fx.namespace }, spec: { instances: 1, storage: { size: '1Gi' }, ...spec } });
  const events = async (name: string) =>
    (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: `involvedObject.name=${name}` })).items;

  /** The Cluster fails with `reason`: in phase, the Ready condition, status.recovery, a Warning Event and one sentence. */
  async function expectRefused(name: string, reason: string, message: RegExp): Promise<void> {
    const c = await waitClusterPhase(api, fx.namespace, name, { phase: 'Failed', timeoutMs: 180_000 });
    const ready = c.status!.conditions!.find((x) => x.type === 'Ready')!;
    expect(ready, JSON.stringify(c.status)).to.include({ status: 'False', reason });
    expect(c.status!.phaseReason).to.match(message);
    expect(c.status!.phaseReason!.split('\n')).to.have.length(1);
    const warning = await waitFor(
      'the Warning Event',
      async () => (await events(name)).find((e) => e.type === 'Warning' && e.reason === reason),
      20_000,
    );
    expect(warning.message).to.equal(c.status!.phaseReason);
    expect(JSON.stringify(c.status)).to.not.contain(stack.env().MINIO_SECRET_KEY);
    expect(JSON.stringify(c.status)).to.not.contain(keys.identity);
  }

  async function backup(name: string, spec: Record<string, unknown> = {}): Promise<BackupStatus> {
    await api.create(KINDS.Backup, { metadata: { name, namespace: fx.namespace }, spec: { cluster: { name: 'source' }, ...spec } });
    return waitFor(
      `Backup ${name}`,
      async () => {
        const b = await api.get<KubeObject & { status?: BackupStatus }>(KINDS.Backup, { namespace: fx.namespace, name });
        if (b?.status?.phase === 'failed') return b.status;
        return b?.status?.phase === 'completed' ? b.status : undefined;
      },
      300_000,
    );
  }

  before(async function () {
    this.timeout(600_000);
    api = new CustomObjects(fx.kc);
    const secret = (name: string, stringData: Record<string, string>) =>
      fx.core.createNamespacedSecret({ namespace: fx.namespace, body: { metadata: { name }, stringData } });
    await secret('minio', { access: stack.env().MINIO_ACCESS_KEY, secret: stack.env().MINIO_SECRET_KEY });
    await secret('minio-wrong', { access: stack.env().MINIO_ACCESS_KEY, secret: 'not-the-secret-key' });
    await secret('age', { identity: keys.identity });
    await secret('age-wrong', { identity: wrongKeys.identity });
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `mysql-recovery-failures-${fx.namespace}` });
    await createCluster('source', {
      bootstrap: { initdb: { database: 'shop' } },
      backup: { objectStore: store() } as ClusterSpec['backup'],
    });
    const c = await waitClusterPhase(api, fx.namespace, 'source', { phase: 'Healthy', timeoutMs: 300_000, instances: 1 });
    app = await appUser(fx.core, fx.namespace, 'source-app');
    const ip = podIpOf(c, 'source-1');
    userSql(ip, app, 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_3000', 'shop');
    sourceSums = checksums(ip, app, 'shop');
    plain = await backup('plain');
    const age = { age: { recipients: [keys.recipient], identitySecretRef: { name: 'age', key: 'identity' } } };
    encrypted = await backup('encrypted', { objectStore: store({ path: `${path()}-enc`, encryption: age }) });
    for (const b of [plain, encrypted]) expect(b.phase, JSON.stringify(b)).to.equal('completed');
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-5000));
    await operator?.stop();
    for (const prefix of [`${path()}/`, `${path()}-enc/`]) {
      const listed = await s3()
        .send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix }))
        .catch(() => undefined);
      const objects = (listed?.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (objects.length) await s3().send(new DeleteObjectsCommand({ Bucket: bucket(), Delete: { Objects: objects } }));
    }
  });

  it('admission names the field: a source naming no externalClusters entry, and initdb with recovery', async () => {
    const bad = createCluster('no-entry', { bootstrap: { recovery: { source: 'nowhere' } } });
    await bad.then(
      () => expect.fail('admitted'),
      (e: Error) =>
        expect(String((e as { body?: unknown }).body ?? e.message)).to.match(
          /bootstrap\.recovery\.source must name an entry of spec\.externalClusters/,
        ),
    );
    const both = createCluster('both', { bootstrap: { initdb: { database: 'x' }, recovery: { backup: { name: 'plain' } } } });
    await both.then(
      () => expect.fail('admitted'),
      (e: Error) => expect(String((e as { body?: unknown }).body ?? e.message)).to.match(/bootstrap takes one of initdb or recovery/),
    );
  });

  it('RecoverySourceHasNoObjectStore, NoCompleteBackups and BackupIDNotFound (with the nearest IDs)', async () => {
    await createCluster('no-store', { bootstrap: { recovery: { source: 'source' } }, externalClusters: [{ name: 'source' }] });
    await createCluster('empty-prefix', {
      bootstrap: { recovery: { source: 'nothing-here' } },
      externalClusters: [{ name: 'nothing-here', objectStore: store() as never }],
    });
    await createCluster('pinned', {
      bootstrap: { recovery: { source: 'source', backupID: '20000101T000000Z' } },
      externalClusters: [{ name: 'source', objectStore: store() as never }],
    });
    await expectRefused('no-store', 'RecoverySourceHasNoObjectStore', /objectStore/);
    await expectRefused('empty-prefix', 'NoCompleteBackups', new RegExp(`${path()}/nothing-here/`));
    await expectRefused('pinned', 'BackupIDNotFound', new RegExp(plain.backupId!));
  });

  it('BackupNotFound and BackupFailed', async () => {
    await api.create(KINDS.Backup, {
      metadata: { name: 'doomed', namespace: fx.namespace },
      spec: { cluster: { name: 'no-such-cluster' } },
    });
    await waitFor('Backup doomed failed', async () => {
      const b = await api.get<KubeObject & { status?: BackupStatus }>(KINDS.Backup, { namespace: fx.namespace, name: 'doomed' });
      return b?.status?.phase === 'failed';
    });
    await createCluster('from-missing', { bootstrap: { recovery: { backup: { name: 'missing' } } } });
    await createCluster('from-failed', { bootstrap: { recovery: { backup: { name: 'doomed' } } } });
    await expectRefused('from-missing', 'BackupNotFound', /missing/);
    await expectRefused('from-failed', 'BackupFailed', /doomed/);
  });

  it('BackupNotCompleted: a recovery from a running Backup waits (Recovering, not Failed), then starts from it once it completes', async () => {
    // The Backup's upload is held by a proxy: it stays running for as long as the test needs.
    const minio = new URL(stack.env().MINIO_ENDPOINT);
    const proxy = await gatedProxy({ host: minio.hostname, port: Number(minio.port) }, 0);
    try {
      const inFlight = store({ endpoint: `http://127.0.0.1:${proxy.port}`, path: `${path()}-in-flight` });
      await api.create(KINDS.Backup, {
        metadata: { name: 'in-flight', namespace: fx.namespace },
        spec: { cluster: { name: 'source' }, objectStore: inFlight },
      });
      await proxy.held;
      await createCluster('from-running', { bootstrap: { recovery: { backup: { name: 'in-flight' } } } });
      const waiting = await waitFor(
        'from-running waiting on the Backup',
        async () => {
          const c = await getCluster(api, fx.namespace, 'from-running');
          return c?.status?.conditions?.find((x) => x.type === 'Ready')?.reason === 'BackupNotCompleted' ? c : undefined;
        },
        60_000,
      );
      expect(waiting.status!.phase).to.equal('Recovering');
      expect(waiting.status!.phaseReason).to.match(
        /^Backup in-flight is (pending|running), not completed; wait: recovery starts when it completes/,
      );
      expect(waiting.status!.recovery).to.include({ phase: 'resolving', reason: 'BackupNotCompleted' });
      expect((await events('from-running')).some((e) => e.reason === 'BackupNotCompleted')).to.equal(true);
      proxy.release();
      const c = await waitClusterPhase(api, fx.namespace, 'from-running', { phase: 'Healthy', timeoutMs: 300_000, instances: 1 });
      const b = await api.get<KubeObject & { status?: BackupStatus }>(KINDS.Backup, { namespace: fx.namespace, name: 'in-flight' });
      expect(c.status!.recovery).to.include({
        phase: 'completed',
        sourceKind: 'backup',
        backupName: 'in-flight',
        backupID: b!.status!.backupId,
      });
      expect(c.status!.recovery, 'the wait is over').to.not.have.any.keys('reason', 'message');
      expect(checksums(podIpOf(c, 'from-running-1'), app, 'shop')).to.deep.equal(sourceSums);
    } finally {
      proxy.release();
      await proxy.close();
    }
    await api.delete(KINDS.Cluster, { namespace: fx.namespace, name: 'from-running' }, 'Foreground');
  });

  it('ObjectStoreAccessDenied when the store refuses the credentials', async () => {
    const wrong = store({
      credentials: { accessKeyId: { name: 'minio-wrong', key: 'access' }, secretAccessKey: { name: 'minio-wrong', key: 'secret' } },
    });
    await createCluster('refused', {
      bootstrap: { recovery: { source: 'source' } },
      externalClusters: [{ name: 'source', objectStore: wrong as never }],
    });
    await expectRefused('refused', 'ObjectStoreAccessDenied', /credentials|denied|refused/i);
    expect(JSON.stringify((await getCluster(api, fx.namespace, 'refused'))!.status)).to.not.contain('not-the-secret-key');
  });

  it("DestinationNotEmpty names the prefix; DestinationIsRecoverySource refuses to write under the source's prefix", async () => {
    // A new Cluster named like the source, in this namespace's store path: its destination holds the source's backups.
    await api.delete(KINDS.Cluster, { namespace: fx.namespace, name: 'source' }, 'Foreground');
    await waitFor('source and its dependents gone', async () => !(await getCluster(api, fx.namespace, 'source')), 240_000);
    await createCluster('source', { backup: { objectStore: store() } as ClusterSpec['backup'] });
    await expectRefused('source', 'DestinationNotEmpty', new RegExp(`${path()}/source/.*continueLineage`));
    await api.delete(KINDS.Cluster, { namespace: fx.namespace, name: 'source' }, 'Foreground');
    await waitFor('source and its dependents gone', async () => !(await getCluster(api, fx.namespace, 'source')), 240_000);
    await createCluster('source', {
      bootstrap: { recovery: { source: 'source' } },
      externalClusters: [{ name: 'source', objectStore: store() as never }],
      backup: { objectStore: store(), continueLineage: true } as ClusterSpec['backup'],
    });
    await expectRefused('source', 'DestinationIsRecoverySource', new RegExp(`${path()}/source/`));
  });

  it('DecryptionFailed with the wrong age identity; StoredDataDamaged for a flipped byte, refused before the datadir exists; then the genuine object recovers', async () => {
    const encStore = (identity: string) =>
      store({
        path: `${path()}-enc`,
        encryption: { age: { recipients: [keys.recipient], identitySecretRef: { name: identity, key: 'identity' } } },
      });
    await createCluster('wrong-key', {
      bootstrap: { recovery: { source: 'source' } },
      externalClusters: [{ name: 'source', objectStore: encStore('age-wrong') as never }],
    });
    await expectRefused('wrong-key', 'DecryptionFailed', /identity/);

    // Flip one byte in the middle of the encrypted archive.
    const key = `${path()}-enc/source/encrypted/${encrypted.backupId}/backup.xbstream`;
    const original = Buffer.from(
      await (await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: key }))).Body!.transformToByteArray(),
    );
    const damaged = Buffer.from(original);
    damaged[Math.floor(damaged.length / 2)] ^= 0x01;
    await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: damaged }));
    await createCluster('damaged', {
      bootstrap: { recovery: { source: 'source' } },
      externalClusters: [{ name: 'source', objectStore: encStore('age') as never }],
    });
    await expectRefused('damaged', 'StoredDataDamaged', /damaged|sha256|authentic/i);
    const pvc = await fx.core.readNamespacedPersistentVolumeClaim({ namespace: fx.namespace, name: 'damaged-1' });
    const pv = await fx.core.readPersistentVolume({ name: pvc.spec!.volumeName! });
    const volume = pv.spec!.hostPath!.path;
    expect(existsSync(join(volume, 'data')) ? readdirSync(join(volume, 'data')) : [], 'the datadir was touched').to.deep.equal([]);

    await s3().send(new PutObjectCommand({ Bucket: bucket(), Key: key, Body: original }));
    await createCluster('genuine', {
      bootstrap: { recovery: { source: 'source' } },
      externalClusters: [{ name: 'source', objectStore: encStore('age') as never }],
    });
    const c = await waitClusterPhase(api, fx.namespace, 'genuine', { phase: 'Healthy', timeoutMs: 300_000, instances: 1 });
    expect(checksums(podIpOf(c, 'genuine-1'), app, 'shop')).to.deep.equal(sourceSums);
  });

  it('a recovery survives a SIGKILLed operator and a killed recovery worker: the next attempt resumes and completes', async () => {
    const minio = new URL(stack.env().MINIO_ENDPOINT);
    const proxy = await gatedProxy({ host: minio.hostname, port: Number(minio.port) }, 256 * 1024);
    try {
      await createCluster('interrupted', {
        bootstrap: { recovery: { source: 'source' } },
        externalClusters: [{ name: 'source', objectStore: store({ endpoint: `http://127.0.0.1:${proxy.port}` }) as never }],
      });
      await proxy.held; // the recovery worker is mid-download
      await operator!.kill();
      operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `mysql-recovery-failures-${fx.namespace}` });
      const [worker] = (await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: 'job-name=interrupted-1-recovery-1' }))
        .items;
      await fx.core.deleteNamespacedPod({ namespace: fx.namespace, name: worker.metadata!.name!, gracePeriodSeconds: 0 });
      await waitFor(
        'a second attempt',
        async () => (await getCluster(api, fx.namespace, 'interrupted'))?.status?.recovery?.attempts === 2,
        120_000,
      );
      proxy.release();
      const c = await waitClusterPhase(api, fx.namespace, 'interrupted', { phase: 'Healthy', timeoutMs: 300_000, instances: 1 });
      expect(c.status!.recovery).to.include({ phase: 'completed', attempts: 2, backupID: plain.backupId });
      expect((await events('interrupted')).some((e) => e.reason === 'RecoveryInterrupted')).to.equal(true);
      expect(checksums(podIpOf(c, 'interrupted-1'), app, 'shop')).to.deep.equal(sourceSums);
    } finally {
      proxy.release();
      await proxy.close();
    }
  });
  it('BackupExpired: a Backup that retention expired, and one being deleted, are refused, each saying why', async () => {
    // Each Backup is held by a finalizer of the test's, so it stays visible in the state under test.
    const hold = (name: string, finalizers: string[] | null) =>
      api.patch(KINDS.Backup, { namespace: fx.namespace, name }, { metadata: { finalizers } });
    try {
      await hold('encrypted', ['test.silo.io/hold']);
      await api.patch(
        KINDS.Backup,
        { namespace: fx.namespace, name: 'encrypted' },
        { metadata: { annotations: { 'mysql.cloudnative-mysql.io/expired': new Date().toISOString() } } },
      );
      await hold('plain', ['test.silo.io/hold']);
      await api.delete(KINDS.Backup, { namespace: fx.namespace, name: 'plain' });
      await createCluster('from-expired', { bootstrap: { recovery: { backup: { name: 'encrypted' } } } });
      await createCluster('from-deleting', { bootstrap: { recovery: { backup: { name: 'plain' } } } });
      await expectRefused(
        'from-expired',
        'BackupExpired',
        /^Backup encrypted was expired by retention at .*; its objects are being deleted/,
      );
      await expectRefused(
        'from-deleting',
        'BackupExpired',
        /^Backup plain is being deleted; its objects stay in the store; recover from them with bootstrap\.recovery\.source/,
      );
    } finally {
      await hold('encrypted', null).catch(() => undefined);
      await hold('plain', null).catch(() => undefined);
    }
  });
});
