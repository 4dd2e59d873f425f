/**
 * The source cluster the restore failure and kill e2e files share: a PGCluster `src` whose one repository is on
 * MinIO over TLS behind a valve proxy (test/support/valve-proxy.ts), so a test can slow, hold or cut the store
 * while a restore reads it; the operator as a process; helpers to watch a restored cluster, read its data, and
 * run `pgbackrest verify` on the source repository afterwards.
 */
import { readFileSync, mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { PGBackRestRepo, PGBackupStatus, PGClusterSpec, PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { pgBin } from '../../../stack/components/postgres.js';
import { run, type RunResult } from '../../../stack/lib/run.js';
import type { StackHandle } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { valveProxy, type ValveProxy } from '../../../support/valve-proxy.js';
import { useKube, waitFor, type KubeFixture } from '../../kube/fixture.js';

export type PGClusterObj = KubeObject & { status?: PGClusterStatus };
export const DIGEST_SQL = "SELECT count(*) || ':' || md5(string_agg(id || note, ',' ORDER BY id)) FROM orders";

export interface RestoreSource {
  readonly fx: KubeFixture;
  api: CustomObjects;
  operator?: OperatorProcess;
  valve: ValveProxy;
  /** The source's repository path in the bucket. */
  readonly path: () => string;
  readonly startOperator: () => Promise<OperatorProcess>;
  readonly getCluster: (name: string) => Promise<PGClusterObj | undefined>;
  readonly phase: (name: string, want: (c: PGClusterObj | undefined) => boolean, timeoutMs: number) => Promise<PGClusterObj>;
  readonly psql: (cluster: string, sql: string) => Promise<string>;
  /** A full PGBackup of the source into repo1, to its end. */
  readonly backup: (name: string) => Promise<PGBackupStatus>;
  /** A repository on the stack's MinIO directly (not through the valve), with the given credentials Secret. */
  readonly minioRepo: (path: string, credentialsSecret?: string) => PGBackRestRepo;
  /** `pgbackrest verify` of the source's stanza, as postgres, against MinIO with the repo host's settings. */
  readonly verify: () => Promise<RunResult>;
  /** Runs pgBackRest as postgres on a repository of MinIO (a stanza made by hand). */
  readonly pgbackrestOn: (path: string, args: string[]) => Promise<RunResult>;
}

const postgresUser = () => ({
  uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
  gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
});

/** pgBackRest as postgres on a path of the stack's MinIO over TLS, with no config file but these options. */
function pgbackrestOnMinio(env: Record<string, string>, scratch: string, path: string, args: string[]): Promise<RunResult> {
  const endpoint = new URL(env.MINIO_TLS_ENDPOINT);
  // verify takes no lock (and refuses lock-path); stanza-create locks in the scratch directory.
  const lock = args.includes('verify') ? [] : [`--lock-path=${scratch}`];
  return run('pgbackrest', ['--config=/dev/null', '--stanza=db', ...lock, '--log-level-file=off', ...args], {
    ...postgresUser(),
    cwd: scratch,
    allowFailure: true,
    env: {
      PATH: process.env.PATH,
      PGBACKREST_REPO1_TYPE: 's3',
      PGBACKREST_REPO1_PATH: path,
      PGBACKREST_REPO1_S3_BUCKET: env.MINIO_BUCKET,
      PGBACKREST_REPO1_S3_ENDPOINT: endpoint.hostname,
      PGBACKREST_REPO1_STORAGE_PORT: endpoint.port,
      PGBACKREST_REPO1_S3_URI_STYLE: 'path',
      PGBACKREST_REPO1_S3_REGION: 'us-east-1',
      PGBACKREST_REPO1_S3_KEY: env.MINIO_ACCESS_KEY,
      PGBACKREST_REPO1_S3_KEY_SECRET: env.MINIO_SECRET_KEY,
      PGBACKREST_REPO1_STORAGE_CA_FILE: env.MINIO_CA_FILE,
    },
  });
}

async function fullBackup(s: RestoreSource, backup: string): Promise<PGBackupStatus> {
  const namespace = s.fx.namespace;
  await s.api.create(KINDS.PGBackup, {
    metadata: { name: backup, namespace },
    spec: { cluster: { name: 'src' }, repoName: 'repo1', type: 'full' },
  });
  const b = await waitFor(
    `PGBackup ${backup} finished`,
    async () => {
      const got = await s.api.get<KubeObject & { status?: PGBackupStatus }>(KINDS.PGBackup, { namespace, name: backup });
      return got?.status?.phase === 'completed' || got?.status?.phase === 'failed' ? got : undefined;
    },
    420_000,
  );
  expect(b.status!.phase, b.status!.message).to.equal('completed');
  return b.status!;
}

export function useRestoreSource(stack: StackHandle, name: string): RestoreSource {
  const fx = useKube(name, { withKubelet: false });
  const env = () => stack.env();
  const scratch = mkdtempSync(join(tmpdir(), 'silo-pg-dangers-'));
  chmodSync(scratch, 0o777);
  const self = {
    fx,
    path: () => `/silo/${fx.namespace}/src`,
    startOperator: () =>
      startOperator({
        watchNamespaces: [fx.namespace],
        leaderElectionId: `${name}-${fx.namespace}`,
        // The instance image may be chosen by the run (the Pods then run what that image's recipe runs).
        ...(process.env.SILO_PG_INSTANCE_IMAGE ? { env: { SILO_PG_INSTANCE_IMAGE: process.env.SILO_PG_INSTANCE_IMAGE } } : {}),
      }),
    getCluster: (cluster: string) => self.api.get<PGClusterObj>(KINDS.PGCluster, { namespace: fx.namespace, name: cluster }),
    /** Polls every second until `want`; a Failed phase it does not want ends the wait at once. */
    async phase(cluster: string, want: (c: PGClusterObj | undefined) => boolean, timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = await self.getCluster(cluster);
        if (want(got)) return got!;
        if (got?.status?.phase === 'Failed') throw new Error(`PGCluster ${cluster} failed: ${JSON.stringify(got.status)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for PGCluster ${cluster}: ${JSON.stringify(got?.status)}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    },
    async psql(cluster: string, sql: string) {
      const c = (await self.getCluster(cluster))!;
      const secret = await fx.core.readNamespacedSecret({ namespace: fx.namespace, name: `${cluster}-pguser-postgres` });
      const password = Buffer.from(secret.data!.password, 'base64').toString('utf8');
      return execFileSync(
        pgBin('psql'),
        ['-X', '-A', '-t', '-q', '-h', c.status!.primary!.podIP!, '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-c', sql],
        { env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' }, encoding: 'utf8', timeout: 600_000 },
      ).trim();
    },
    backup: (backup: string) => fullBackup(self, backup),
    minioRepo: (path: string, credentialsSecret = 'minio-creds'): PGBackRestRepo => ({
      name: 'repo1',
      path,
      s3: {
        bucket: env().MINIO_BUCKET,
        endpoint: env().MINIO_TLS_ENDPOINT,
        region: 'us-east-1',
        uriStyle: 'path',
        caSecret: { name: 'minio-ca', key: 'ca.crt' },
        credentials: {
          accessKeyId: { name: credentialsSecret, key: 'accessKey' },
          secretAccessKey: { name: credentialsSecret, key: 'secretKey' },
        },
      },
    }),
    pgbackrestOn: (path: string, args: string[]) => pgbackrestOnMinio(env(), scratch, path, args),
    verify: () => self.pgbackrestOn(self.path(), ['--log-level-console=info', 'verify']),
  } as RestoreSource;

  before(async function () {
    this.timeout(120_000);
    self.api = new CustomObjects(fx.kc);
    const endpoint = new URL(env().MINIO_TLS_ENDPOINT);
    self.valve = await valveProxy({ host: '127.0.0.1', port: Number(endpoint.port) });
    const secret = (secretName: string, stringData: Record<string, string>) =>
      fx.core.createNamespacedSecret({ namespace: fx.namespace, body: { metadata: { name: secretName }, stringData } });
    await secret('minio-creds', { accessKey: env().MINIO_ACCESS_KEY, secretKey: env().MINIO_SECRET_KEY });
    await secret('minio-ca', { 'ca.crt': readFileSync(env().MINIO_CA_FILE, 'utf8') });
    self.operator = await self.startOperator();
  });

  after(async function () {
    this.timeout(120_000);
    if (self.operator && this.currentTest?.state === 'failed') console.log(self.operator.logs().slice(-12000));
    await self.operator?.stop();
    await self.valve?.close();
    rmSync(scratch, { recursive: true, force: true });
  });
  return self;
}

/** The source PGCluster: repo1 on MinIO through the valve (its path the default /silo/<namespace>/src), Ready, its initial backup done. */
export async function createSource(s: RestoreSource): Promise<void> {
  const repo = s.minioRepo(s.path());
  delete (repo as { path?: string }).path;
  repo.s3!.endpoint = `https://localhost:${s.valve.port}`;
  const spec: PGClusterSpec = { storage: { size: '2Gi' }, backups: { pgbackrest: { repos: [repo] } } };
  await s.api.create(KINDS.PGCluster, { metadata: { name: 'src', namespace: s.fx.namespace }, spec });
  await s.phase('src', (c) => c?.status?.phase === 'Ready', 420_000);
  await waitFor(
    'src-initial completed',
    async () =>
      (await s.api.get<KubeObject & { status?: PGBackupStatus }>(KINDS.PGBackup, { namespace: s.fx.namespace, name: 'src-initial' }))
        ?.status?.phase === 'completed'
        ? true
        : undefined,
    300_000,
  );
}

/** Rows of incompressible-ish text (about 100 bytes each), then every WAL written so far archived. */
export async function writeRowsArchived(s: RestoreSource, from: number, to: number): Promise<void> {
  await s.psql('src', 'CREATE TABLE IF NOT EXISTS orders (id int primary key, note text)');
  await s.psql(
    'src',
    `INSERT INTO orders SELECT g, md5(random()::text) || md5(random()::text) || md5(random()::text) FROM generate_series(${from}, ${to}) g`,
  );
  const archived = Number(await s.psql('src', 'SELECT archived_count FROM pg_stat_archiver'));
  await s.psql('src', 'SELECT pg_switch_wal()');
  await waitFor(
    'the rows archived',
    async () => Number(await s.psql('src', 'SELECT archived_count FROM pg_stat_archiver')) > archived,
    300_000,
  );
}

/** A PGCluster restored from the source's repo1, with its own repo1 on a volume (no initial backup: the restore is the point). */
export function restoredSpec(target?: Record<string, unknown>, ownRepo?: PGBackRestRepo): PGClusterSpec {
  return {
    storage: { size: '2Gi' },
    dataSource: { postgresCluster: { clusterName: 'src', repoName: 'repo1' }, ...(target ? { target } : {}) },
    backups: {
      pgbackrest: { initialBackup: false, repos: [ownRepo ?? { name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] },
    },
  };
}
