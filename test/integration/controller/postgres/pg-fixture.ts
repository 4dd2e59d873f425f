/**
 * What every PostgreSQL e2e file needs, in one place: the operator as a process watching the test's
 * namespaces, the MinIO Secrets a repository refers to, a MinIO repository spec, `psql` as a cluster's
 * superuser against its primary, and waits for a PGCluster's phase and a PGBackup's outcome. A file adds
 * its own cases and whatever is particular to it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { PGBackRestRepo, PGBackupStatus, PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { pgBin } from '../../../stack/components/postgres.js';
import { s3Client } from '../../../stack/lib/s3.js';
import type { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';

export type PGClusterObj = KubeObject & { status?: PGClusterStatus };
export type PGBackupObj = KubeObject & { status?: PGBackupStatus };

type Stack = ReturnType<typeof useStack>;

export interface PgFixtureOptions {
  /** Further namespaces (from the test's own) the operator watches and that get the MinIO Secrets; created by the fixture, deleted after. */
  extraNamespaces?: (namespace: string) => string[];
  /** The cipher passphrase Secret `pgbackrest-cipher` holds in every namespace. */
  passphrase?: string;
  /** How much of the operator's log to print when a test failed. */
  logChars?: number;
}

/** Registers before/after hooks in the calling describe; use inside it, after `this.timeout(...)`. */
export function usePgFixture(stack: Stack, name: string, options: PgFixtureOptions = {}) {
  const fx = useKube(name, { withKubelet: false });
  const state: { api?: CustomObjects; operator?: OperatorProcess } = {};
  const env = () => stack.env();
  const api = () => state.api!;
  const extraNamespaces = () => options.extraNamespaces?.(fx.namespace) ?? [];
  const namespaces = () => [fx.namespace, ...extraNamespaces()];

  before(async function () {
    this.timeout(300_000);
    state.api = new CustomObjects(fx.kc);
    for (const extra of extraNamespaces()) {
      await fx.core.createNamespace({ body: { metadata: { name: extra } } });
      await waitFor('default ServiceAccount', () => fx.core.readNamespacedServiceAccount({ namespace: extra, name: 'default' }));
    }
    for (const namespace of namespaces()) {
      await secret(namespace, 'minio-creds', { accessKey: env().MINIO_ACCESS_KEY, secretKey: env().MINIO_SECRET_KEY });
      await secret(namespace, 'minio-ca', { 'ca.crt': readFileSync(env().MINIO_CA_FILE, 'utf8') });
      await secret(namespace, 'pgbackrest-cipher', { passphrase: options.passphrase ?? `${name} test passphrase` });
    }
    state.operator = await startOperator({ watchNamespaces: namespaces(), leaderElectionId: `${name}-e2e-${fx.namespace}` });
  });

  after(async function () {
    this.timeout(120_000);
    if (state.operator && this.currentTest?.state === 'failed') console.log(state.operator.logs().slice(-(options.logChars ?? 12_000)));
    await state.operator?.stop();
    for (const extra of extraNamespaces()) await fx.core.deleteNamespace({ name: extra }).catch(() => undefined);
  });

  function secret(namespace: string, secretName: string, stringData: Record<string, string>) {
    return fx.core.createNamespacedSecret({ namespace, body: { metadata: { name: secretName }, stringData } });
  }

  const getCluster = (clusterName: string, namespace = fx.namespace) =>
    api().get<PGClusterObj>(KINDS.PGCluster, { namespace, name: clusterName });
  const getBackup = (backupName: string, namespace = fx.namespace) =>
    api().get<PGBackupObj>(KINDS.PGBackup, { namespace, name: backupName });

  /** `psql` as the cluster's superuser (its own Secret's password) against its primary, one statement, unaligned output. */
  async function psql(clusterName: string, sql: string, namespace = fx.namespace): Promise<string> {
    const cluster = await getCluster(clusterName, namespace);
    const host = cluster?.status?.primary?.podIP;
    if (!host) throw new Error(`PGCluster ${namespace}/${clusterName} has no primary yet: ${JSON.stringify(cluster?.status)}`);
    const s = await fx.core.readNamespacedSecret({ namespace, name: `${clusterName}-pguser-postgres` });
    return psqlAt(host, Buffer.from(s.data!.password, 'base64').toString('utf8'), sql);
  }

  /** Waits until `want` holds; a Failed cluster that `want` does not accept ends the wait at once, with its status. */
  const phase = (clusterName: string, want: (c: PGClusterObj | undefined) => boolean, timeoutMs: number, namespace = fx.namespace) =>
    clusterPhase(() => getCluster(clusterName, namespace), `PGCluster ${namespace}/${clusterName}`, want, timeoutMs);

  /** Waits for a PGBackup to finish and expects it completed. */
  async function backupCompleted(backupName: string, namespace = fx.namespace): Promise<PGBackupStatus> {
    const b = await waitFor(
      `PGBackup ${backupName} finished`,
      async () => {
        const got = await getBackup(backupName, namespace);
        return got?.status?.phase === 'completed' || got?.status?.phase === 'failed' ? got : undefined;
      },
      300_000,
    );
    expect(b.status!.phase, b.status!.message).to.equal('completed');
    return b.status!;
  }

  return {
    fx,
    api,
    operator: () => state.operator!,
    secret,
    getCluster,
    getBackup,
    psql,
    phase,
    backupCompleted,
    minioRepo: (repoName: PGBackRestRepo['name'], opts: MinioRepoOptions = {}) => minioRepo(stack, repoName, opts),
    s3: () => minioS3(stack),
  };
}

export interface MinioRepoOptions {
  path?: string;
  /** The Secret with the cipher passphrase; null for an unencrypted repository. */
  passphraseSecret?: string | null;
}

/** A repository in the stack's MinIO over TLS, through the Secrets the fixture made; encrypted unless `passphraseSecret` is null. */
export function minioRepo(stack: Stack, repoName: PGBackRestRepo['name'], opts: MinioRepoOptions = {}): PGBackRestRepo {
  const passphraseSecret = opts.passphraseSecret === undefined ? 'pgbackrest-cipher' : opts.passphraseSecret;
  return {
    name: repoName,
    ...(opts.path ? { path: opts.path } : {}),
    s3: {
      bucket: stack.env().MINIO_BUCKET,
      endpoint: stack.env().MINIO_TLS_ENDPOINT,
      region: 'us-east-1',
      uriStyle: 'path',
      caSecret: { name: 'minio-ca', key: 'ca.crt' },
      credentials: { accessKeyId: { name: 'minio-creds', key: 'accessKey' }, secretAccessKey: { name: 'minio-creds', key: 'secretKey' } },
    },
    ...(passphraseSecret ? { encryption: { passphrase: { name: passphraseSecret, key: 'passphrase' } } } : {}),
  };
}

/** An S3 client for the stack's MinIO over TLS, to look at what a repository holds. */
export const minioS3 = (stack: Stack) =>
  s3Client({
    endpoint: stack.env().MINIO_TLS_ENDPOINT,
    caFile: stack.env().MINIO_CA_FILE,
    accessKeyId: stack.env().MINIO_ACCESS_KEY,
    secretAccessKey: stack.env().MINIO_SECRET_KEY,
  });

/** One statement through `psql` as postgres, unaligned and without headers; a failure throws with psql's message. */
export function psqlAt(host: string, password: string, sql: string): string {
  return execFileSync(pgBin('psql'), ['-X', '-A', '-t', '-h', host, '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-c', sql], {
    env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
    encoding: 'utf8',
  }).trim();
}

/** The wait behind usePgFixture's phase; a timeout says what the cluster last showed. */
async function clusterPhase(
  get: () => Promise<PGClusterObj | undefined>,
  what: string,
  want: (c: PGClusterObj | undefined) => boolean,
  timeoutMs: number,
): Promise<PGClusterObj> {
  let last: PGClusterObj | undefined;
  try {
    return await waitFor(
      what,
      async () => {
        const got = (last = await get());
        if (got?.status?.phase === 'Failed' && !want(got)) throw new Error(JSON.stringify(got.status));
        return want(got) ? got : undefined;
      },
      timeoutMs,
    );
  } catch (err) {
    // A timeout names what the cluster last showed: "last: undefined" alone sent a CI failure's reader to the logs.
    throw new Error(`${(err as Error).message}; its last status: ${JSON.stringify(last?.status)?.slice(0, 3000)}`, { cause: err });
  }
}
