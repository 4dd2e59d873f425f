/**
 * Seed 000's other two stores for MySQL (issue 13): Backups to Azure Blob (Azurite) and to GCS
 * (fake-gcs-server), and new Clusters recovered from each, end to end with the operator as a
 * process: recovery.backup from Azure, recovery.source (the bucket alone, age-encrypted) from GCS,
 * per-table checksums equal to the source. A wrong Azure key is refused with the store reasons,
 * and the key appears nowhere. One 1-instance source Cluster serves every case.
 */
import { expect } from 'chai';
import { BlobServiceClient } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import { generateAgeKeyPair } from '../../../../runtime/datapath/age/age-keys.js';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { BackupStatus, ClusterSpec } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';
import { appUser, checksums, getCluster, podIpOf, userSql, waitClusterPhase, type AppUser } from './support/managed-cluster.js';

const stack = useStack('kube', 'kubelet', 'azurite', 'gcs');

describe('mysql Backups and recovery on Azure Blob (Azurite) and GCS (fake-gcs-server)', function () {
  this.timeout(900_000);
  const fx = useKube('mysql-objstores', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  let app: AppUser;
  let sourceSums: string[];
  const keys = generateAgeKeyPair();
  const env = () => stack.env();
  const path = () => `objstores-${fx.namespace}`;
  const azure = (secret = 'azure') => ({
    path: path(),
    azure: {
      container: env().AZURITE_CONTAINER,
      storageAccount: env().AZURITE_ACCOUNT,
      endpoint: env().AZURITE_BLOB_ENDPOINT,
      credentials: { accountKey: { name: secret, key: 'accountKey' } },
    },
  });
  const gcs = () => ({
    path: path(),
    gcs: { bucket: env().GCS_BUCKET, endpoint: env().GCS_ENDPOINT, projectId: env().GCS_PROJECT },
    encryption: { age: { recipients: [keys.recipient], identitySecretRef: { name: 'age', key: 'identity' } } },
  });
  const container = () =>
    BlobServiceClient.fromConnectionString(env().AZURE_STORAGE_CONNECTION_STRING).getContainerClient(env().AZURITE_CONTAINER);
  const bucket = () => new Storage({ apiEndpoint: env().GCS_ENDPOINT, projectId: env().GCS_PROJECT }).bucket(env().GCS_BUCKET);
  const createCluster = (name: string, spec: Partial<ClusterSpec>) =>
    api.create(KINDS.Cluster, { metadata: { name, namespace: fx.namespace }, spec: { instances: 1, storage: { size: '1Gi' }, ...spec } });

  async function backup(name: string, objectStore?: Record<string, unknown>, annotations?: Record<string, string>): Promise<BackupStatus> {
    const spec = { cluster: { name: 'source' }, ...(objectStore ? { objectStore } : {}) };
    await api.create(KINDS.Backup, { metadata: { name, namespace: fx.namespace, annotations }, spec });
    return waitFor(
      `Backup ${name} finished`,
      async () => {
        const b = await api.get<KubeObject & { status?: BackupStatus }>(KINDS.Backup, { namespace: fx.namespace, name });
        return b?.status?.phase === 'completed' || b?.status?.phase === 'failed' ? b.status : undefined;
      },
      300_000,
    );
  }

  /** The recovered Cluster is Healthy with every table's checksum equal to the source's at the backup. */
  async function expectRecovered(name: string, backupId: string, sourceKind: string): Promise<void> {
    const c = await waitClusterPhase(api, fx.namespace, name, { phase: 'Healthy', timeoutMs: 420_000, instances: 1 });
    expect(c.status!.recovery).to.include({ phase: 'completed', sourceKind, backupID: backupId });
    expect(checksums(podIpOf(c, `${name}-1`), app, 'shop')).to.deep.equal(sourceSums);
    expect(JSON.stringify(c.status)).to.not.contain(env().AZURITE_KEY);
    console.log(`      ${name} RTO ${c.status!.recovery!.rtoSeconds} s`);
    // Its mariadbd is not needed any more: the machine has two cores.
    await api.delete(KINDS.Cluster, { namespace: fx.namespace, name });
  }

  before(async function () {
    this.timeout(600_000);
    api = new CustomObjects(fx.kc);
    const secret = (name: string, stringData: Record<string, string>) =>
      fx.core.createNamespacedSecret({ namespace: fx.namespace, body: { metadata: { name }, stringData } });
    await secret('azure', { accountKey: env().AZURITE_KEY });
    await secret('azure-wrong', { accountKey: Buffer.from('not the account key').toString('base64') });
    await secret('age', { identity: keys.identity });
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `mysql-objstores-${fx.namespace}` });
    await createCluster('source', {
      bootstrap: { initdb: { database: 'shop' } },
      backup: { objectStore: azure() } as ClusterSpec['backup'],
    });
    const c = await waitClusterPhase(api, fx.namespace, 'source', { phase: 'Healthy', timeoutMs: 300_000, instances: 1 });
    app = await appUser(fx.core, fx.namespace, 'source-app');
    const ip = podIpOf(c, 'source-1');
    userSql(ip, app, 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t SELECT seq, MD5(seq) FROM seq_1_to_5000', 'shop');
    sourceSums = checksums(ip, app, 'shop');
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-6000));
    await operator?.stop();
    for await (const blob of container().listBlobsFlat({ prefix: `${path()}/` }))
      await container()
        .deleteBlob(blob.name)
        .catch(() => undefined);
    await bucket()
      .deleteFiles({ prefix: `${path()}/` })
      .catch(() => undefined);
  });

  it("a Backup to the Cluster's Azure store completes, and a new Cluster recovers from it (recovery.backup)", async () => {
    const status = await backup('to-azure');
    expect(status.phase, JSON.stringify(status)).to.equal('completed');
    const prefix = `${path()}/source/to-azure/${status.backupId}/`;
    expect(status.destinationPath).to.equal(`azure://${env().AZURITE_CONTAINER}/${prefix}`);
    const blobs: string[] = [];
    for await (const blob of container().listBlobsFlat({ prefix })) blobs.push(blob.name);
    expect(blobs.sort()).to.deep.equal([`${prefix}backup.xbstream`, `${prefix}metadata.json`]);
    // The Job's Pod spec holds a reference to the key, never the key.
    const job = await fx.batch.readNamespacedJob({ namespace: fx.namespace, name: status.jobName! });
    expect(JSON.stringify(job.spec)).to.not.contain(env().AZURITE_KEY);
    const keyVar = job.spec!.template.spec!.containers.flatMap((x) => x.env ?? []).find((e) => e.name === 'SILO_AZURE_ACCOUNT_KEY');
    expect(keyVar?.valueFrom?.secretKeyRef).to.deep.include({ name: 'azure', key: 'accountKey' });
    await createCluster('from-azure', { bootstrap: { recovery: { backup: { name: 'to-azure' } } } });
    await expectRecovered('from-azure', status.backupId!, 'backup');
  });

  it('an age-encrypted Backup to GCS completes, a new Cluster recovers from the bucket alone (recovery.source), and deleting the Backup prunes it', async () => {
    const status = await backup('to-gcs', gcs(), { 'mysql.cloudnative-mysql.io/delete-remote-data': 'true' });
    expect(status.phase, JSON.stringify(status)).to.equal('completed');
    expect(status.destinationPath).to.equal(`gs://${env().GCS_BUCKET}/${path()}/source/to-gcs/${status.backupId}/`);
    const [files] = await bucket().getFiles({ prefix: `${path()}/source/` });
    expect(files.map((f) => f.name).sort()).to.deep.equal([
      `${path()}/source/to-gcs/${status.backupId}/backup.xbstream`,
      `${path()}/source/to-gcs/${status.backupId}/metadata.json`,
    ]);
    await createCluster('from-gcs', {
      bootstrap: { recovery: { source: 'source' } },
      externalClusters: [{ name: 'source', objectStore: gcs() }] as ClusterSpec['externalClusters'],
      // Its own destination on GCS too: the controller lists it before the Cluster may start.
      backup: { objectStore: { ...gcs(), path: `${path()}-restored` } } as ClusterSpec['backup'],
    });
    const checked = await waitFor(
      'from-gcs checked its destination',
      async () => (await getCluster(api, fx.namespace, 'from-gcs'))?.status?.destinationChecked,
      120_000,
    );
    expect(Date.parse(checked)).to.be.above(0);
    await expectRecovered('from-gcs', status.backupId!, 'objectStore');
    // Remote deletion opted in: a prune Job deletes the objects with the GCS store's settings, then the Backup goes.
    await api.delete(KINDS.Backup, { namespace: fx.namespace, name: 'to-gcs' });
    await waitFor(
      'to-gcs pruned from the bucket',
      async () => (await bucket().getFiles({ prefix: `${path()}/source/` }))[0].length === 0,
      120_000,
    );
    await waitFor('Backup to-gcs gone', async () => !(await api.get(KINDS.Backup, { namespace: fx.namespace, name: 'to-gcs' })), 60_000);
  });

  it('a wrong Azure key fails a Backup with ObjectStoreAuthFailed and a recovery with ObjectStoreAccessDenied, never showing the key', async () => {
    const status = await backup('denied', azure('azure-wrong'));
    expect(status, JSON.stringify(status)).to.include({ phase: 'failed', reason: 'ObjectStoreAuthFailed' });
    expect(JSON.stringify(status)).to.not.contain(env().AZURITE_KEY);
    await createCluster('denied-recovery', {
      bootstrap: { recovery: { source: 'source' } },
      externalClusters: [{ name: 'source', objectStore: azure('azure-wrong') }] as ClusterSpec['externalClusters'],
    });
    const c = await waitClusterPhase(api, fx.namespace, 'denied-recovery', { phase: 'Failed', timeoutMs: 120_000 });
    expect(c.status!.conditions!.find((x) => x.type === 'Ready')).to.include({ status: 'False', reason: 'ObjectStoreAccessDenied' });
    expect(c.status!.phaseReason).to.contain(`reading azure://${env().AZURITE_CONTAINER}/${path()}/source/ failed`);
    const events = await waitFor(
      'the Warning Event',
      async () => {
        const all = (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: 'involvedObject.name=denied-recovery' }))
          .items;
        return all.some((e) => e.type === 'Warning' && e.reason === 'ObjectStoreAccessDenied') ? all : undefined;
      },
      20_000,
    );
    expect(JSON.stringify({ status: c.status, events })).to.not.contain(env().AZURITE_KEY);
  });
});
