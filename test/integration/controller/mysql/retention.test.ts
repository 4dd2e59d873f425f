/**
 * Retention end to end: the operator runs as a process with its own
 * ServiceAccount token; the prune Jobs it creates run `silo prune` through the
 * process kubelet against MinIO. The test writes each backup's objects into
 * MinIO through runtime/objectstore and makes its Backup object "completed"
 * through the status subresource — no database is involved. (The Backup
 * reconciler fails these Backups at once, as their Cluster has no instances;
 * the test waits for that and then writes the completed status it needs.)
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { CoreV1Event } from '@kubernetes/client-node';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import { createObjectStore } from '../../../../runtime/objectstore/store-factory.js';
import { backupPrefix, dataKey, metadataKey, newBackupId } from '../../../../runtime/objectstore/object-layout.js';
import { MYSQL_ENGINE } from '../../../../runtime/contracts/engines.js';
import type { BackupSpec, BackupStatus, ClusterSpec } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';
import { UNMANAGED_CLUSTER } from './support/unmanaged-cluster.js';

type Backup = KubeObject & { spec: BackupSpec; status?: BackupStatus };

const stack = useStack('kube', 'kubelet', 'minio');
const DAY = 86_400_000;

describe('retention and remote deletion end to end (operator process, prune Jobs, MinIO)', function () {
  this.timeout(300_000);
  const fx = useKube('retention', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  const path = `retention-e2e-${randomBytes(4).toString('hex')}`;
  const doomed = () => `${fx.namespace}-doomed`;
  const env = () => stack.env();
  const store = () =>
    createObjectStore({
      type: 's3',
      bucket: env().MINIO_BUCKET,
      endpoint: env().MINIO_ENDPOINT,
      forcePathStyle: true,
      region: 'us-east-1',
      accessKeyId: env().MINIO_ACCESS_KEY,
      secretAccessKey: env().MINIO_SECRET_KEY,
    });
  const objectStore = () => ({
    bucket: env().MINIO_BUCKET,
    path,
    endpoint: env().MINIO_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: { name: 'minio', key: 'access' }, secretAccessKey: { name: 'minio', key: 'secret' } },
  });

  before(async function () {
    this.timeout(180_000);
    api = new CustomObjects(fx.kc);
    // A second namespace, deleted by a test, to see that a finalizer never holds a namespace forever.
    await fx.core.createNamespace({ body: { metadata: { name: doomed() } } });
    operator = await startOperator({ watchNamespaces: [fx.namespace, doomed()], leaderElectionId: `retention-e2e-${fx.namespace}` });
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'minio' }, stringData: { access: env().MINIO_ACCESS_KEY, secret: env().MINIO_SECRET_KEY } },
    });
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'minio-wrong' }, stringData: { access: env().MINIO_ACCESS_KEY, secret: 'not-the-secret-key' } },
    });
  });

  after(async function () {
    this.timeout(60_000);
    if (operator && this.currentTest?.state === 'failed')
      console.log(
        operator
          .logs()
          .split('\n')
          .filter((l) => /retention|prune/i.test(l))
          .join('\n')
          .slice(-8000),
      );
    await operator?.stop();
    await fx.core.deleteNamespace({ name: doomed() }).catch(() => undefined);
    const s = await store();
    const keys = await s.list(`${path}/`).catch(() => []);
    if (keys.length) await s.delete(keys);
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    // What the namespace looked like, to tell a stuck Job from a missed Event.
    const evs = (await fx.core.listNamespacedEvent({ namespace: fx.namespace })).items.map(
      (e) => `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}: ${e.message}`,
    );
    const jobs = (await fx.batch.listNamespacedJob({ namespace: fx.namespace })).items.map(
      (j) => `${j.metadata?.name} ${JSON.stringify(j.status?.conditions ?? [])}`,
    );
    const pods = (await fx.core.listNamespacedPod({ namespace: fx.namespace })).items.map(
      (p) => `${p.metadata?.name} ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.[0]?.state ?? {})}`,
    );
    console.log(['events:', ...evs.slice(-30), 'jobs:', ...jobs, 'pods:', ...pods].join('\n'));
  });

  const createCluster = (name: string, backup: ClusterSpec['backup'], namespace = fx.namespace) =>
    api.create(KINDS.Cluster, {
      metadata: { annotations: UNMANAGED_CLUSTER, name, namespace },
      spec: { storage: { size: '1Gi' }, backup },
    });
  const getBackup = (name: string) => api.get<Backup>(KINDS.Backup, { namespace: fx.namespace, name });
  const events = async (name: string): Promise<CoreV1Event[]> =>
    (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: `involvedObject.name=${name}` })).items;

  /**
   * A completed backup `ageDays` old: objects in MinIO (data, then metadata.json)
   * and a Backup object whose status says completed, as the Backup reconciler would.
   */
  async function completedBackup(
    cluster: string,
    name: string,
    ageDays: number,
    opts: { parent?: string; type?: BackupSpec['type']; annotations?: Record<string, string>; namespace?: string; owner?: KubeObject } = {},
  ): Promise<string> {
    const namespace = opts.namespace ?? fx.namespace;
    const stoppedAt = new Date(Date.now() - ageDays * DAY);
    const backupId = newBackupId(stoppedAt);
    const location = { path, cluster, backupName: name, backupId };
    await (await store()).putSmall(dataKey(location, MYSQL_ENGINE.dataObject), Buffer.from(`xbstream bytes of ${name}`));
    await (await store()).putSmall(metadataKey(location), Buffer.from(JSON.stringify({ backupId, parentBackupId: opts.parent })));
    const ownerReferences = opts.owner
      ? [
          {
            apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
            kind: 'Cluster',
            name: opts.owner.metadata!.name!,
            uid: opts.owner.metadata!.uid!,
          },
        ]
      : undefined;
    await api.create(KINDS.Backup, {
      metadata: {
        name,
        namespace,
        ...(opts.annotations ? { annotations: opts.annotations } : {}),
        ...(ownerReferences ? { ownerReferences } : {}),
      },
      spec: { cluster: { name: cluster }, type: opts.type ?? 'full' },
    });
    // Let the Backup reconciler finish with it first (no instances: it fails), then write the completed status.
    await waitFor(
      `Backup ${name} terminal`,
      async () => ['failed', 'completed'].includes((await api.get<Backup>(KINDS.Backup, { namespace, name }))?.status?.phase ?? ''),
      60_000,
    );
    await api.patchStatus(
      KINDS.Backup,
      { namespace, name },
      {
        phase: 'completed',
        reason: 'Completed',
        error: null,
        conditions: null,
        backupId,
        type: opts.type ?? 'full',
        ...(opts.parent ? { parentBackupId: opts.parent } : {}),
        destinationPath: `s3://${env().MINIO_BUCKET}/${backupPrefix(location)}`,
        startedAt: new Date(stoppedAt.getTime() - 60_000).toISOString(),
        stoppedAt: stoppedAt.toISOString(),
        sha256: 'a'.repeat(64),
        sizeBytes: 20,
      },
    );
    return backupId;
  }
  const objectsOf = async (cluster: string, name: string) => (await store()).list(`${path}/${cluster}/${name}/`);

  it('a 7-day window expires the backups no point in it needs, via a prune Job, and keeps the window base and its incremental chain', async () => {
    await createCluster('db', { objectStore: objectStore() });
    const f1 = await completedBackup('db', 'f1', 30);
    await completedBackup('db', 'i1', 25, { parent: f1, type: 'incremental' });
    const f2 = await completedBackup('db', 'f2', 12);
    const i2 = await completedBackup('db', 'i2', 9, { parent: f2, type: 'incremental' });
    await completedBackup('db', 'i3', 2, { parent: i2, type: 'incremental' });
    for (const name of ['f1', 'i1', 'f2', 'i2', 'i3']) expect(await objectsOf('db', name), name).to.have.length(2);

    // Turning retention on: the window start is 7 days ago; i2 (9 days) is the base for it, and needs f2.
    const enabledAt = Date.now();
    await api.patch(KINDS.Cluster, { namespace: fx.namespace, name: 'db' }, { spec: { backup: { retentionPolicy: '7d' } } });
    await waitFor('expired Backups f1 and i1 gone from the API', async () => !(await getBackup('f1')) && !(await getBackup('i1')), 120_000);
    console.log(`      retentionPolicy set → 2 expired backups gone from MinIO and the API: ${Date.now() - enabledAt} ms`);
    expect(await objectsOf('db', 'f1')).to.deep.equal([]);
    expect(await objectsOf('db', 'i1')).to.deep.equal([]);
    for (const name of ['f2', 'i2', 'i3']) {
      expect((await getBackup(name))?.status?.phase, name).to.equal('completed');
      expect(await objectsOf('db', name), name).to.have.length(2);
    }
    const reasons = (await events('db')).map((e) => `${e.reason}: ${e.message}`);
    expect(
      reasons.some((r) =>
        /^PruneStarted: prune Job \S+ deletes 2 backup\(s\) from the object store: 2 expired by retention, 0 deleted/.test(r),
      ),
      reasons.join('\n'),
    ).to.equal(true);
    expect(
      reasons.some((r) =>
        /^BackupsExpired: deleted 2 expired backups from the object store and the API \(retentionPolicy 7d\); 3 completed backup\(s\) kept/.test(
          r,
        ),
      ),
      reasons.join('\n'),
    ).to.equal(true);
    await waitFor(
      'the finished prune Job cleaned up',
      async () =>
        (await fx.batch.listNamespacedJob({ namespace: fx.namespace, labelSelector: 'mysql.cloudnative-mysql.io/prune=db' })).items
          .length === 0,
      30_000,
    );

    // Under a 1-day window nothing is inside it: the newest backup (f3, 36 hours old) is kept as the
    // base, and the old chain f2 <- i2 <- i3 goes — all three at once, none left without its parent.
    await completedBackup('db', 'f3', 1.5);
    await api.patch(KINDS.Cluster, { namespace: fx.namespace, name: 'db' }, { spec: { backup: { retentionPolicy: '1d' } } });
    await waitFor(
      'f2, i2 and i3 expired under 1d',
      async () => !(await getBackup('f2')) && !(await getBackup('i2')) && !(await getBackup('i3')),
      120_000,
    );
    expect((await getBackup('f3'))?.status?.phase).to.equal('completed');
    expect(await objectsOf('db', 'f3')).to.have.length(2);
    for (const name of ['f2', 'i2', 'i3']) expect(await objectsOf('db', name), name).to.deep.equal([]);

    // A newly completed backup alone triggers a pass: f4 (29 h) becomes the base, so f3 (36 h) expires.
    await completedBackup('db', 'f4', 1.2);
    await waitFor('f3 expired after f4 completed', async () => !(await getBackup('f3')), 120_000);
    expect(await objectsOf('db', 'f3')).to.deep.equal([]);
    expect(await objectsOf('db', 'f4')).to.have.length(2);
  });

  it('deleting a Backup leaves its objects unless it opted in; with the opt-in, the finalizer deletes them first', async () => {
    await createCluster('db2', { objectStore: objectStore() });
    await completedBackup('db2', 'plain', 1);
    await completedBackup('db2', 'opted', 1, { annotations: { 'mysql.cloudnative-mysql.io/delete-remote-data': 'true' } });
    await waitFor(
      'the remote-data finalizer on the opted-in Backup',
      async () => (await getBackup('opted'))?.metadata?.finalizers?.includes('mysql.cloudnative-mysql.io/remote-data'),
      30_000,
    );
    expect((await getBackup('plain'))?.metadata?.finalizers ?? []).to.not.include('mysql.cloudnative-mysql.io/remote-data');

    await api.delete(KINDS.Backup, { namespace: fx.namespace, name: 'plain' });
    await waitFor('plain gone', async () => !(await getBackup('plain')), 30_000);
    expect(await objectsOf('db2', 'plain'), 'objects of a Backup deleted without the opt-in').to.have.length(2);

    await api.delete(KINDS.Backup, { namespace: fx.namespace, name: 'opted' });
    await waitFor('opted gone after its prune Job', async () => !(await getBackup('opted')), 120_000);
    expect(await objectsOf('db2', 'opted')).to.deep.equal([]);
    expect((await events('opted')).map((e) => e.reason)).to.include('RemoteDataDeleted');
    expect(await objectsOf('db2', 'plain')).to.have.length(2);
  });

  it('a prune that the store refuses is a PruneFailed Warning; the expired Backup stays, marked, and its objects stay', async () => {
    const wrong = {
      ...objectStore(),
      credentials: { accessKeyId: { name: 'minio-wrong', key: 'access' }, secretAccessKey: { name: 'minio-wrong', key: 'secret' } },
    };
    await createCluster('db3', { objectStore: wrong });
    await completedBackup('db3', 'oldest', 30); // expired: 'old' is the base of the window start
    await completedBackup('db3', 'old', 20);
    await completedBackup('db3', 'new', 1);
    await api.patch(KINDS.Cluster, { namespace: fx.namespace, name: 'db3' }, { spec: { backup: { retentionPolicy: '7d' } } });
    const failed = await waitFor(
      'a PruneFailed Event on the Cluster',
      async () => (await events('db3')).find((e) => e.reason === 'PruneFailed'),
      120_000,
    );
    expect(failed.type).to.equal('Warning');
    expect(failed.message).to.match(
      /could not delete 1 of 1 backup\(s\): .+; their Backup objects stay and the prune is retried in 300 s — check the object store and its credentials/,
    );
    expect(failed.message).to.not.include('not-the-secret-key');
    const oldest = await getBackup('oldest');
    expect(oldest?.metadata?.annotations?.['mysql.cloudnative-mysql.io/expired']).to.be.a('string');
    expect(await objectsOf('db3', 'oldest')).to.have.length(2);
    expect((await getBackup('old'))?.metadata?.annotations ?? {}).to.not.have.property('mysql.cloudnative-mysql.io/expired');
    // The Job held the credentials only by reference.
    const [job] = (await fx.batch.listNamespacedJob({ namespace: fx.namespace, labelSelector: 'mysql.cloudnative-mysql.io/prune=db3' }))
      .items;
    const jobEnv = job.spec!.template.spec!.containers[0].env!;
    expect(jobEnv.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')).to.deep.equal({
      name: 'AWS_SECRET_ACCESS_KEY',
      valueFrom: { secretKeyRef: { name: 'minio-wrong', key: 'secret' } },
    });
    expect(JSON.stringify(job)).to.not.include('not-the-secret-key');
    expect(operator!.logs()).to.not.include('not-the-secret-key');
  });

  it('an opted-in Backup owned by its Cluster still has its objects deleted when the Cluster goes first', async () => {
    const cluster = await createCluster('db4', { objectStore: objectStore() });
    await completedBackup('db4', 'owned', 1, { owner: cluster, annotations: { 'mysql.cloudnative-mysql.io/delete-remote-data': 'true' } });
    const recorded = await waitFor(
      'finalizer and recorded store',
      async () => {
        const b = await getBackup('owned');
        return (
          b?.metadata?.finalizers?.includes('mysql.cloudnative-mysql.io/remote-data') &&
          b.metadata.annotations?.['mysql.cloudnative-mysql.io/remote-store']
        );
      },
      30_000,
    );
    expect(JSON.parse(recorded)).to.deep.include({ bucket: env().MINIO_BUCKET, path });
    expect(recorded).to.not.include(env().MINIO_SECRET_KEY);
    await api.delete(KINDS.Cluster, { namespace: fx.namespace, name: 'db4' });
    await waitFor('the Backup garbage-collected after its prune', async () => !(await getBackup('owned')), 120_000);
    expect(await objectsOf('db4', 'owned')).to.deep.equal([]);
  });

  it('a namespace being deleted is never held by the finalizer: opted-in objects stay and the namespace goes', async () => {
    await fx.core.createNamespacedSecret({
      namespace: doomed(),
      body: { metadata: { name: 'minio' }, stringData: { access: env().MINIO_ACCESS_KEY, secret: env().MINIO_SECRET_KEY } },
    });
    await createCluster('db5', { objectStore: objectStore() }, doomed());
    await completedBackup('db5', 'in-doomed', 1, {
      namespace: doomed(),
      annotations: { 'mysql.cloudnative-mysql.io/delete-remote-data': 'true' },
    });
    await waitFor(
      'the finalizer',
      async () =>
        (await api.get<Backup>(KINDS.Backup, { namespace: doomed(), name: 'in-doomed' }))?.metadata?.finalizers?.includes(
          'mysql.cloudnative-mysql.io/remote-data',
        ),
      30_000,
    );
    await fx.core.deleteNamespace({ name: doomed() });
    await waitFor(
      `namespace ${doomed()} gone`,
      async () => {
        try {
          await fx.core.readNamespace({ name: doomed() });
          return false;
        } catch (error) {
          return (error as { code?: number }).code === 404;
        }
      },
      120_000,
    );
    expect(await objectsOf('db5', 'in-doomed'), 'objects left in place, as the Warning says').to.have.length(2);
  });
});
