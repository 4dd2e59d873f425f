/**
 * pgBackRest repositories on GCS (fake-gcs-server) and Azure Blob (Azurite), end to end with the operator
 * as a process, real PostgreSQL 15 and pgBackRest 2.45 under the process kubelet: one PGCluster with repo1
 * on GCS and repo2 on Azure, both over TLS with the stack's CA, creates its stanza in both, archives WAL
 * into both, takes its initial full backup into repo1 and a full PGBackup into repo2, each with its status
 * from `pgbackrest info`. Only the repo host holds the stores' credentials. Then the storage failures of
 * these stores, each its own reason: a wrong Azure key, a missing container, a missing GCS bucket.
 * (fake-gcs-server accepts any credentials, so a refused GCS key is a unit test on pgBackRest's real output.)
 */
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { Storage } from '@google-cloud/storage';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { PGBackRestRepo, PGBackupStatus, PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';

const stack = useStack('kube', 'kubelet', 'gcs', 'azurite');
type PGClusterObj = KubeObject & { status?: PGClusterStatus };
type PGBackupObj = KubeObject & { status?: PGBackupStatus };
/** A valid base64 shared key that is not Azurite's. */
const WRONG_AZURE_KEY = Buffer.alloc(64, 7).toString('base64');

describe('PGCluster repositories on GCS (fake-gcs-server) and Azure (Azurite), over TLS', function () {
  this.timeout(900_000);
  const fx = useKube('pg-stores', { withKubelet: false });
  const env = () => stack.env();
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;

  const gcsRepo = (name: string, bucket = env().GCS_BUCKET): PGBackRestRepo => ({
    name: name as PGBackRestRepo['name'],
    gcs: {
      bucket,
      endpoint: env().GCS_TLS_ENDPOINT,
      caSecret: { name: 'store-ca', key: 'ca.crt' },
      // fake-gcs-server (1.56) answers a resumable upload without the upload id header pgBackRest reads: one request per file.
      uploadChunkSize: '64MiB',
      credentials: { token: { name: 'gcs-token', key: 'token' } },
    },
  });
  const azureRepo = (name: string, secret = 'azure-creds', container = env().AZURITE_CONTAINER): PGBackRestRepo => ({
    name: name as PGBackRestRepo['name'],
    azure: {
      container,
      endpoint: env().AZURITE_TLS_ENDPOINT,
      uriStyle: 'path',
      caSecret: { name: 'store-ca', key: 'ca.crt' },
      credentials: { account: { name: secret, key: 'account' }, key: { name: secret, key: 'key' } },
    },
  });
  const getCluster = (name: string) => api.get<PGClusterObj>(KINDS.PGCluster, { namespace: fx.namespace, name });
  const getBackup = (name: string) => api.get<PGBackupObj>(KINDS.PGBackup, { namespace: fx.namespace, name });
  const condition = (c: PGClusterObj | undefined, type: string) => c?.status?.conditions?.find((x) => x.type === type);
  const createCluster = (name: string, repos: PGBackRestRepo[], initialBackup = true) =>
    api.create(KINDS.PGCluster, {
      metadata: { name, namespace: fx.namespace },
      spec: { storage: { size: '1Gi' }, backups: { pgbackrest: { initialBackup, repos } } },
    });

  async function backupDone(name: string): Promise<PGBackupStatus> {
    const b = await waitFor(
      `PGBackup ${name} finished`,
      async () => {
        const got = await getBackup(name);
        return got?.status?.phase === 'completed' || got?.status?.phase === 'failed' ? got : undefined;
      },
      300_000,
    );
    return b.status!;
  }

  before(async function () {
    this.timeout(300_000);
    api = new CustomObjects(fx.kc);
    const secret = (name: string, stringData: Record<string, string>) =>
      fx.core.createNamespacedSecret({ namespace: fx.namespace, body: { metadata: { name }, stringData } });
    await secret('store-ca', { 'ca.crt': readFileSync(env().GCS_CA_FILE, 'utf8') });
    await secret('gcs-token', { token: 'fake-gcs-server-takes-any-token' });
    await secret('azure-creds', { account: env().AZURITE_ACCOUNT, key: env().AZURITE_KEY });
    await secret('azure-wrong', { account: env().AZURITE_ACCOUNT, key: WRONG_AZURE_KEY });
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `pg-stores-e2e-${fx.namespace}` });
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-8000));
    await operator?.stop();
  });

  it('comes up with its stanza in repo1 (GCS) and repo2 (Azure), WAL archived into both', async () => {
    await createCluster('stores', [gcsRepo('repo1'), azureRepo('repo2')]);
    const c = await waitFor(
      'PGCluster stores Ready',
      async () => {
        const got = await getCluster('stores');
        if (got?.status?.phase === 'Failed') throw new Error(JSON.stringify(got.status));
        return got?.status?.phase === 'Ready' ? got : undefined;
      },
      420_000,
    );
    for (const type of ['RepoHostReady', 'StanzaReady', 'ContinuousArchiving', 'Ready'])
      expect(condition(c, type), type).to.include({ status: 'True' });
    expect(c.status!.repos!.map((r) => [r.name, r.type, r.stanzaCreated, r.path])).to.deep.equal([
      ['repo1', 'gcs', true, `/silo/${fx.namespace}/stores`],
      ['repo2', 'azure', true, `/silo/${fx.namespace}/stores`],
    ]);
    // pgbackrest info on the repo host read an archive range from each store.
    const withWal = await waitFor(
      'WAL archived into both repositories',
      async () => {
        const got = await getCluster('stores');
        return got?.status?.repos?.every((r) => r.archiveMax) ? got : undefined;
      },
      180_000,
    );
    for (const r of withWal.status!.repos!) expect(r.archiveMax, r.name).to.match(/^[0-9A-F]{24}$/);
    // The WAL is in the bucket itself, under the cluster's own path (read over fake-gcs-server's plain HTTP side).
    const [files] = await new Storage({ apiEndpoint: env().GCS_ENDPOINT, projectId: env().GCS_PROJECT })
      .bucket(env().GCS_BUCKET)
      .getFiles({ prefix: `silo/${fx.namespace}/stores/archive/db/` });
    expect(files.map((f) => f.name).filter((n) => /\/[0-9A-F]{24}-[0-9a-f]{40}\.zst$/.test(n))).to.not.deep.equal([]);
  });

  it('only the repo host holds the stores’ credentials, as Secret references', async () => {
    const primary = JSON.stringify((await fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'stores-1' })).spec);
    const repoHost = JSON.stringify((await fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'stores-repo-host' })).spec);
    expect(primary).to.not.match(/azure-creds|gcs-token|PGBACKREST_REPO\d_(AZURE|GCS)|pgbackrest-backup-tls/);
    expect(repoHost)
      .to.match(/PGBACKREST_REPO1_GCS_KEY/)
      .and.match(/PGBACKREST_REPO2_AZURE_KEY/);
    expect(repoHost).to.not.contain(env().AZURITE_KEY).and.not.contain('fake-gcs-server-takes-any-token');
  });

  it('the initial full backup completes into repo1 (GCS), and a full PGBackup into repo2 (Azure)', async () => {
    const initial = await backupDone('stores-initial');
    expect(initial.phase, initial.message).to.equal('completed');
    expect(initial).to.include({ type: 'full', repo: 'repo1', stanza: 'db' });
    expect(initial.databaseSizeBytes).to.be.greaterThan(1_000_000);
    await api.create(KINDS.PGBackup, {
      metadata: { name: 'stores-azure', namespace: fx.namespace },
      spec: { cluster: { name: 'stores' }, repoName: 'repo2', type: 'full' },
    });
    const azure = await backupDone('stores-azure');
    expect(azure.phase, azure.message).to.equal('completed');
    expect(azure).to.include({ type: 'full', repo: 'repo2' });
    expect(azure.label).to.match(/^\d{8}-\d{6}F$/);
    expect(azure.walStart).to.match(/^[0-9A-F]{24}$/);
    expect(azure.repoSizeBytes ?? azure.databaseSizeBytes).to.be.greaterThan(0);
  });

  it('a wrong Azure key, a missing container and a missing GCS bucket each have their own reason', async () => {
    // One healthy cluster at a time: process-kubelet Pods share pgBackRest's remote lock directory.
    await api.delete(KINDS.PGCluster, { namespace: fx.namespace, name: 'stores' });
    const clusters: Array<[string, PGBackRestRepo, string]> = [
      ['azkey', azureRepo('repo1', 'azure-wrong'), 'StorageAuthFailed'],
      ['aznocontainer', azureRepo('repo1', 'azure-creds', 'silo-no-such-container'), 'BucketMissing'],
      ['gcsnobucket', gcsRepo('repo1', 'silo-no-such-bucket'), 'BucketMissing'],
    ];
    for (const [name, repo] of clusters) await createCluster(name, [repo], false);
    for (const [name, , reason] of clusters) {
      const c = await waitFor(
        `PGCluster ${name} refused with ${reason}`,
        async () => {
          const got = await getCluster(name);
          const stanza = condition(got, 'StanzaReady');
          return stanza?.status === 'False' && stanza.reason !== 'StanzaPending' ? got : undefined;
        },
        300_000,
      );
      const stanza = condition(c, 'StanzaReady')!;
      expect(stanza.reason, `${name}: ${stanza.message}`).to.equal(reason);
      expect(c.status!.phase).to.equal('Failed');
      expect(JSON.stringify(c.status)).to.not.contain(WRONG_AZURE_KEY).and.not.contain(env().AZURITE_KEY);
      // Events follow the status write: wait for this one rather than read once.
      const reasons = async () =>
        (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: `involvedObject.name=${name}` })).items.map(
          (e) => e.reason,
        );
      await waitFor(`a ${reason} Event on ${name}`, async () => ((await reasons()).includes(reason) ? true : undefined), 30_000).catch(
        async () => expect(await reasons()).to.include(reason),
      );
    }
  });
});
