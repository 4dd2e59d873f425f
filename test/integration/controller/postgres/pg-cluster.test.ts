/**
 * A PGCluster end to end, with the operator as a process holding exactly the synthesized ClusterRole,
 * real PostgreSQL 15 and pgBackRest 2.45 under the process kubelet, and MinIO over TLS: the primary and
 * the repo host come up, the stanza is created in a volume repository (repo1) and an S3 one (repo2),
 * WAL is archived continuously, the initial full backup and on-demand PGBackups complete with their
 * status read from `pgbackrest info`, a denied option is refused at admission naming the field, and a
 * repository path that holds another cluster's stanza is refused with StanzaMismatch, nothing written.
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import { pgBackupMetadataKey, type PgBackupMetadata } from '../../../../runtime/contracts/pg-backup-metadata.js';
import type { PGBackupStatus, PGClusterSpec, PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { pgBin } from '../../../stack/components/postgres.js';
import { s3Client } from '../../../stack/lib/s3.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';
import { expectPgMetrics } from './pg-metrics-scrape.js';

const stack = useStack('kube', 'kubelet', 'minio');
type PGClusterObj = KubeObject & { status?: PGClusterStatus };
type PGBackupObj = KubeObject & { status?: PGBackupStatus };

describe('PGCluster end to end: repo host, stanza, WAL archiving, PGBackups with status from pgbackrest info', function () {
  this.timeout(900_000);
  const fx = useKube('pg-cluster', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  const bucket = () => stack.env().MINIO_BUCKET;
  // pgBackRest talks to S3 over TLS only: the TLS MinIO (a server of its own, with its own data).
  const s3 = () =>
    s3Client({
      endpoint: stack.env().MINIO_TLS_ENDPOINT,
      caFile: stack.env().MINIO_CA_FILE,
      accessKeyId: stack.env().MINIO_ACCESS_KEY,
      secretAccessKey: stack.env().MINIO_SECRET_KEY,
    });
  const s3Repo = (name: 'repo1' | 'repo2', path?: string) => ({
    name,
    ...(path ? { path } : {}),
    s3: {
      bucket: bucket(),
      endpoint: stack.env().MINIO_TLS_ENDPOINT,
      region: 'us-east-1',
      uriStyle: 'path' as const,
      caSecret: { name: 'minio-ca', key: 'ca.crt' },
      credentials: { accessKeyId: { name: 'minio-creds', key: 'accessKey' }, secretAccessKey: { name: 'minio-creds', key: 'secretKey' } },
    },
    encryption: { passphrase: { name: 'pgbackrest-cipher', key: 'passphrase' } },
  });
  /** shop's repo2: MinIO over TLS, encrypted, keeping one full backup (pgBackRest's expire after each backup). */
  const shopRepo2 = () => ({ ...s3Repo('repo2'), retention: { full: 1 } });
  const getCluster = (name: string) => api.get<PGClusterObj>(KINDS.PGCluster, { namespace: fx.namespace, name });
  const getBackup = (name: string) => api.get<PGBackupObj>(KINDS.PGBackup, { namespace: fx.namespace, name });
  const condition = (c: PGClusterObj | undefined, type: string) => c?.status?.conditions?.find((x) => x.type === type);

  async function backupDone(name: string, timeoutMs = 300_000): Promise<PGBackupStatus> {
    const b = await waitFor(
      `PGBackup ${name} finished`,
      async () => {
        const got = await getBackup(name);
        return got?.status?.phase === 'completed' || got?.status?.phase === 'failed' ? got : undefined;
      },
      timeoutMs,
    );
    return b.status!;
  }

  async function psql(ip: string, sql: string): Promise<string> {
    const secret = await fx.core.readNamespacedSecret({ namespace: fx.namespace, name: 'shop-pguser-postgres' });
    const password = Buffer.from(secret.data!.password, 'base64').toString('utf8');
    return execFileSync(pgBin('psql'), ['-X', '-A', '-t', '-h', ip, '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-c', sql], {
      env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
      encoding: 'utf8',
    }).trim();
  }

  async function listKeys(prefix: string): Promise<Map<string, string>> {
    const keys = new Map<string, string>();
    let token: string | undefined;
    do {
      const page = await s3().send(new ListObjectsV2Command({ Bucket: bucket(), Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) keys.set(o.Key!, o.ETag ?? '');
      token = page.NextContinuationToken;
    } while (token);
    return keys;
  }

  /** Bytes of a file in repo2 (MinIO), by its key relative to shop's repository path. */
  const fromMinio = async (key: string): Promise<Buffer> => {
    const got = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: `silo/${fx.namespace}/shop/${key}` }));
    return Buffer.from(await got.Body!.transformToByteArray());
  };
  /** Bytes of a file in repo1: the process kubelet's PVC is a host directory (its PV's hostPath). */
  const fromVolume = async (key: string): Promise<Buffer> => {
    const pvc = await fx.core.readNamespacedPersistentVolumeClaim({ namespace: fx.namespace, name: 'shop-repo1' });
    const pv = await fx.core.readPersistentVolume({ name: pvc.spec!.volumeName! });
    return readFileSync(`${pv.spec!.hostPath!.path}/silo/${fx.namespace}/shop/${key}`);
  };
  /** metadata.json of a set agrees with its PGBackup's status, and its manifest checksum with the stored bytes. */
  async function expectMetadata(s: PGBackupStatus, read: (key: string) => Promise<Buffer>): Promise<PgBackupMetadata> {
    expect(s.metadataPath).to.equal(pgBackupMetadataKey('db', s.label!));
    const m = JSON.parse((await read(s.metadataPath!)).toString('utf8')) as PgBackupMetadata;
    expect(m).to.include({ version: 1, label: s.label, type: s.type, repo: s.repo, stanza: 'db', annotation: s.annotation });
    expect(m.prior).to.equal(s.prior);
    expect(m.references).to.deep.equal(s.references ?? []);
    expect(m.postgres.version).to.equal('15');
    expect(m.postgres.systemId).to.match(/^\d{19}$/);
    expect(m.lsn).to.deep.equal({ start: s.lsnStart, stop: s.lsnStop });
    expect(m.manifestSha256)
      .to.equal(
        createHash('sha256')
          .update(await read(m.manifestKey))
          .digest('hex'),
      )
      .and.equal(s.manifestSha256);
    expect(JSON.stringify(m)).to.not.match(/correct horse/);
    return m;
  }

  before(async function () {
    this.timeout(300_000);
    api = new CustomObjects(fx.kc);
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'minio-creds' },
        stringData: { accessKey: stack.env().MINIO_ACCESS_KEY, secretKey: stack.env().MINIO_SECRET_KEY },
      },
    });
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'minio-ca' }, stringData: { 'ca.crt': readFileSync(stack.env().MINIO_CA_FILE, 'utf8') } },
    });
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'pgbackrest-cipher' }, stringData: { passphrase: 'correct horse battery staple pg' } },
    });
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `pg-cluster-e2e-${fx.namespace}` });
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-8000));
    await operator?.stop();
  });

  it('comes up: repo host and primary ready, stanza created in repo1 (volume) and repo2 (MinIO over TLS, encrypted), WAL archived', async () => {
    const spec: PGClusterSpec = {
      storage: { size: '1Gi' },
      backups: { pgbackrest: { repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }, shopRepo2()] } },
    };
    await api.create(KINDS.PGCluster, { metadata: { name: 'shop', namespace: fx.namespace }, spec });
    const c = await waitFor(
      'PGCluster shop Ready',
      async () => {
        const got = await getCluster('shop');
        if (got?.status?.phase === 'Failed') throw new Error(JSON.stringify(got.status));
        return got?.status?.phase === 'Ready' ? got : undefined;
      },
      420_000,
    );
    for (const type of ['RepoHostReady', 'StanzaReady', 'ContinuousArchiving', 'Ready'])
      expect(condition(c, type), type).to.include({ status: 'True' });
    const repos = c.status!.repos!;
    expect(repos.map((r) => [r.name, r.type, r.stanzaCreated])).to.deep.equal([
      ['repo1', 'posix', true],
      ['repo2', 's3', true],
    ]);
    expect(repos[1].path).to.equal(`/silo/${fx.namespace}/shop`);
    expect(c.status!.systemIdentifier).to.match(/^\d+$/);
    expect(repos[1].cipher).to.equal('aes-256-cbc');
    // WAL reached MinIO, under the cluster's own path, encrypted (openssl's "Salted__" header, not zstd's magic).
    const wal = [...(await listKeys(`silo/${fx.namespace}/shop/archive/db/`)).keys()].filter((k) =>
      /\/[0-9A-F]{24}-[0-9a-f]{40}\.zst$/.test(k),
    );
    expect(wal, 'archived WAL in repo2').to.not.deep.equal([]);
    const object = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: wal[0] }));
    expect(
      Buffer.from(await object.Body!.transformToByteArray())
        .subarray(0, 8)
        .toString('latin1'),
    ).to.equal('Salted__');
  });

  it('the database Pod holds no storage credential (only the passphrase pgBackRest encrypts WAL with); the repo host holds them as Secret references', async () => {
    const primary = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'shop-1' });
    const repoHost = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'shop-repo-host' });
    const primarySpec = JSON.stringify(primary.spec);
    expect(primarySpec).to.not.match(/minio-creds|PGBACKREST_REPO\d_S3|pgbackrest-backup-tls/);
    expect(primarySpec).to.contain('PGBACKREST_REPO2_CIPHER_PASS').and.not.contain('correct horse');
    expect(JSON.stringify(repoHost.spec)).to.match(/PGBACKREST_REPO2_S3_KEY_SECRET/);
    expect(JSON.stringify(repoHost.spec)).to.not.contain(stack.env().MINIO_SECRET_KEY);
  });

  it('archives WAL continuously: pg_stat_archiver counts archived segments and no failures after a switch', async () => {
    const c = (await getCluster('shop'))!;
    const ip = c.status!.primary!.podIP!;
    await psql(ip, 'CREATE TABLE IF NOT EXISTS orders (id int primary key, note text)');
    await psql(ip, "INSERT INTO orders SELECT g, 'n' || g FROM generate_series(1, 5000) g ON CONFLICT DO NOTHING");
    const before = Number(await psql(ip, 'SELECT archived_count FROM pg_stat_archiver'));
    await psql(ip, 'SELECT pg_switch_wal()');
    await waitFor(
      'a switched WAL segment archived',
      async () => Number(await psql(ip, 'SELECT archived_count FROM pg_stat_archiver')) > before,
      60_000,
    );
    expect(Number(await psql(ip, 'SELECT failed_count FROM pg_stat_archiver'))).to.equal(0);
  });

  it('the initial full backup completes into repo1, with its fields from pgbackrest info', async () => {
    const c = (await getCluster('shop'))!;
    expect(c.status!.initialBackup).to.equal('shop-initial');
    const s = await backupDone('shop-initial');
    expect(s.phase, s.message).to.equal('completed');
    expect(s).to.include({ type: 'full', repo: 'repo1', stanza: 'db' });
    expect(s.label).to.match(/^\d{8}-\d{6}F$/);
    expect(s.databaseSizeBytes).to.be.greaterThan(1_000_000);
    expect(s.lsnStart).to.match(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(s.walStart).to.match(/^[0-9A-F]{24}$/);
    expect(s.annotation).to.match(new RegExp(`^${fx.namespace}/shop-initial/`));
  });

  it('an on-demand incremental PGBackup completes with the initial full as its prior', async () => {
    const initial = (await getBackup('shop-initial'))!.status!;
    const c = (await getCluster('shop'))!;
    await psql(c.status!.primary!.podIP!, "INSERT INTO orders SELECT g, 'later' FROM generate_series(5001, 6000) g");
    await api.create(KINDS.PGBackup, {
      metadata: { name: 'shop-incr', namespace: fx.namespace },
      spec: { cluster: { name: 'shop' }, repoName: 'repo1', type: 'incremental', options: ['--process-max=2'] },
    });
    const s = await backupDone('shop-incr');
    expect(s.phase, s.message).to.equal('completed');
    expect(s).to.include({ type: 'incremental', prior: initial.label });
    expect(s.references).to.deep.equal([initial.label]);
    expect(s.label).to.match(/^\d{8}-\d{6}F_\d{8}-\d{6}I$/);
    const m = await expectMetadata(s, fromVolume);
    expect(m).to.include({ cipherType: 'none', prior: initial.label });
    expect((await expectMetadata(initial, fromVolume)).type).to.equal('full');
  });

  it("the operator's /metrics shows both sets per repository and type, archiving on, and when WAL last reached each repository", async () => {
    const [full, incremental] = [(await getBackup('shop-initial'))!.status!, (await getBackup('shop-incr'))!.status!];
    const clusterStatus = async () => (await getCluster('shop'))?.status;
    await expectPgMetrics({ metricsUrl: operator!.metricsUrl, namespace: fx.namespace, cluster: 'shop', full, incremental, clusterStatus });
  });

  it('a typeless PGBackup on an empty repository becomes full, and says so', async () => {
    await api.create(KINDS.PGBackup, {
      metadata: { name: 'shop-repo2', namespace: fx.namespace },
      spec: { cluster: { name: 'shop' }, repoName: 'repo2' },
    });
    const s = await backupDone('shop-repo2');
    expect(s.phase, s.message).to.equal('completed');
    expect(s).to.include({ type: 'full', requestedType: 'incremental', repo: 'repo2' });
    expect(s.message).to.match(/incremental was asked; the repository had no full backup/);
    const keys = await listKeys(`silo/${fx.namespace}/shop/backup/db/${s.label}/`);
    expect([...keys.keys()]).to.include(`silo/${fx.namespace}/shop/backup/db/${s.label}/backup.manifest`);
    // Beside pgBackRest's directories, in the clear (it names the cipher, never the passphrase).
    expect((await expectMetadata(s, fromMinio)).cipherType).to.equal('aes-256-cbc');
  });

  it('a PGBackup with a denied option is refused at admission, naming the field', async () => {
    let error: Error | undefined;
    try {
      await api.create(KINDS.PGBackup, {
        metadata: { name: 'shop-denied', namespace: fx.namespace },
        spec: { cluster: { name: 'shop' }, repoName: 'repo1', options: ['--start-fast', '--repo1-path=/elsewhere'] },
      });
    } catch (e) {
      error = e as Error;
    }
    const body = String((error as { body?: unknown })?.body ?? error?.message);
    expect(body).to.match(/spec\.options\[1\]/);
    expect(body).to.match(/set by Silo/);
    expect(await getBackup('shop-denied')).to.equal(undefined);
  });

  it('overlapping per-minute schedules (incremental on repo1, full on repo2) each create PGBackups that all succeed, in turn; retention expires older fulls', async () => {
    const withSchedules = (schedules: boolean) => [
      { name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } }, ...(schedules ? { schedules: { incremental: '* * * * *' } } : {}) },
      { ...shopRepo2(), ...(schedules ? { schedules: { full: '* * * * *' } } : {}) },
    ];
    await api.patch(
      KINDS.PGCluster,
      { namespace: fx.namespace, name: 'shop' },
      { spec: { backups: { pgbackrest: { repos: withSchedules(true) } } } },
    );
    const scheduled = async () =>
      (await api.list<PGBackupObj>(KINDS.PGBackup, fx.namespace, 'postgres.silo.io/schedule')).map((b) => ({
        name: b.metadata!.name!,
        schedule: b.metadata!.labels!['postgres.silo.io/schedule'],
        phase: b.status?.phase,
        reason: b.status?.reason,
        type: b.status?.type,
      }));
    const runs = await waitFor(
      'two slots of each schedule completed',
      async () => {
        const all = await scheduled();
        const done = (schedule: string) => all.filter((b) => b.schedule === schedule && b.phase === 'completed').length;
        return done('repo1-incremental') >= 2 && done('repo2-full') >= 2 ? all : undefined;
      },
      240_000,
    );
    await api.patch(
      KINDS.PGCluster,
      { namespace: fx.namespace, name: 'shop' },
      { spec: { backups: { pgbackrest: { repos: withSchedules(false) } } } },
    );
    // Every slot ran: none failed (pgBackRest's lock would fail a second concurrent backup with exit 50).
    const finished = await waitFor(
      'every scheduled PGBackup finished',
      async () => {
        const all = await scheduled();
        return all.every((b) => b.phase === 'completed' || b.phase === 'failed') ? all : undefined;
      },
      180_000,
    );
    expect(
      finished.filter((b) => b.phase !== 'completed'),
      JSON.stringify(finished),
    ).to.deep.equal([]);
    expect(runs.filter((b) => b.schedule === 'repo2-full' && b.phase === 'completed').every((b) => b.type === 'full')).to.equal(true);
    const events = (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: 'involvedObject.name=shop' })).items;
    expect(events.map((e) => e.reason)).to.include('ScheduledBackup');
    // repo2 keeps one full: the fulls before the newest were expired by pgBackRest, and their PGBackups say so.
    const expired = await waitFor(
      'shop-repo2 marked expired',
      async () => {
        const b = await getBackup('shop-repo2');
        return b?.status?.expiredAt ? b : undefined;
      },
      90_000,
    );
    expect(expired.status!.conditions!.find((c) => c.type === 'Expired')).to.include({ status: 'True', reason: 'Expired' });
    expect(expired.status!.conditions!.find((c) => c.type === 'Ready')).to.include({ status: 'False' });
    expect((await getBackup('shop-initial'))!.status!.expiredAt, 'repo1 has no retention').to.equal(undefined);
  });

  it("a repository path that holds another cluster's stanza is refused with StanzaMismatch, and nothing is written there", async () => {
    const path = `silo/${fx.namespace}/shop/`;
    const infoKeys = async () =>
      new Map(
        await Promise.all(
          ['archive/db/archive.info', 'backup/db/backup.info'].map(async (k): Promise<[string, string]> => {
            const got = await s3().send(new GetObjectCommand({ Bucket: bucket(), Key: path + k }));
            return [k, `${got.ETag}`];
          }),
        ),
      );
    const stanzaFiles = await infoKeys();
    await api.create(KINDS.PGCluster, {
      metadata: { name: 'intruder', namespace: fx.namespace },
      spec: {
        storage: { size: '1Gi' },
        backups: { pgbackrest: { initialBackup: false, repos: [s3Repo('repo1', `/silo/${fx.namespace}/shop`)] } },
      },
    });
    const c = await waitFor(
      'PGCluster intruder refused',
      async () => {
        const got = await getCluster('intruder');
        return condition(got, 'StanzaReady')?.reason === 'StanzaMismatch' ? got : undefined;
      },
      420_000,
    );
    expect(c.status!.phase).to.equal('Failed');
    expect(condition(c, 'StanzaReady')!.message).to.match(/another database|another path/);
    expect(await infoKeys()).to.deep.equal(stanzaFiles);
    // No archive of another database id was started beside shop's (15-1).
    const dirs = new Set([...(await listKeys(`${path}archive/db/`)).keys()].map((k) => k.slice(path.length).split('/')[2]));
    expect([...dirs].filter((d) => d && d !== 'archive.info' && d !== 'archive.info.copy')).to.deep.equal(['15-1']);
    const reasons = async () =>
      (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: 'involvedObject.name=intruder' })).items.map(
        (e) => e.reason,
      );
    // Events follow the status write: wait for this one rather than read once.
    await waitFor('a StanzaMismatch Event', async () => ((await reasons()).includes('StanzaMismatch') ? true : undefined), 30_000).catch(
      async () => expect(await reasons()).to.include('StanzaMismatch'),
    );
  });
  it('storage failures each have their own reason: bad credentials, a missing bucket, a wrong passphrase', async () => {
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'bad-creds' }, stringData: { accessKey: 'nobody', secretKey: 'not-the-secret' } },
    });
    await fx.core.createNamespacedSecret({
      namespace: fx.namespace,
      body: { metadata: { name: 'wrong-cipher' }, stringData: { passphrase: 'not the passphrase shop used' } },
    });
    const repo = s3Repo('repo1');
    const clusters: Array<[string, object, string]> = [
      [
        'badcreds',
        {
          ...repo,
          s3: {
            ...repo.s3,
            credentials: { accessKeyId: { name: 'bad-creds', key: 'accessKey' }, secretAccessKey: { name: 'bad-creds', key: 'secretKey' } },
          },
        },
        'StorageAuthFailed',
      ],
      ['nobucket', { ...repo, s3: { ...repo.s3, bucket: 'silo-no-such-bucket' } }, 'BucketMissing'],
      // shop's repo2, encrypted with another passphrase.
      [
        'wrongpass',
        { ...s3Repo('repo1', `/silo/${fx.namespace}/shop`), encryption: { passphrase: { name: 'wrong-cipher', key: 'passphrase' } } },
        'CipherMismatch',
      ],
    ];
    for (const [name, repoSpec] of clusters)
      await api.create(KINDS.PGCluster, {
        metadata: { name, namespace: fx.namespace },
        spec: { storage: { size: '1Gi' }, backups: { pgbackrest: { initialBackup: false, repos: [repoSpec] } } },
      });
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
      expect(stanza.message).to.not.contain('not-the-secret').and.not.contain('not the passphrase');
      expect(c.status!.phase).to.equal('Failed');
    }
  });
});
