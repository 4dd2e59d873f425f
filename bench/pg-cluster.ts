/**
 * The PGCluster bench/pg.ts measures: the stack's real API server, process kubelet and TLS MinIO (started
 * here when they are down, and stopped again after), the operator as a process with its own ServiceAccount,
 * a namespace of its own with the MinIO Secrets, the cluster, data loaded with pgbench, and PGBackups.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CustomObjects, isNotFound } from '../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../runtime/controller/reconciler.js';
import { pgNames, podDnsName } from '../runtime/contracts/pg-pods.js';
import type {
  PGBackRestRepo,
  PGBackupStatus,
  PGClusterSpec,
  PGClusterStatus,
  PGInPlaceRestoreStatus,
  PGRestoreSpec,
} from '../src/api/postgres.silo.io/types.js';
import { pgBin } from '../test/stack/components/postgres.js';
import { createContext } from '../test/stack/context.js';
import { adminKubeconfig } from '../test/stack/kube/layout.js';
import { s3Client } from '../test/stack/lib/s3.js';
import { downAll, installAll, resolveOrder, upAll } from '../test/stack/orchestrate.js';
import { startOperator, type OperatorProcess } from '../test/support/operator-process.js';
import { baselineConfig, killPodProcesses } from './pg-support.js';

export type Side = 'silo' | 'baseline';
export type PGClusterObj = KubeObject & { status?: PGClusterStatus };
type PGBackupObj = KubeObject & { status?: PGBackupStatus };
const COMPONENTS = ['kube', 'kubelet', 'minio'];
/** Installed, never started: the Pods' PostgreSQL and pgBackRest, and the baseline's, are Debian's packages on this host. */
const INSTALLED_ONLY = ['postgres'];

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export class PgBench {
  readonly env: Record<string, string>;
  readonly namespace: string;
  private readonly core: CoreV1Api;
  private readonly api: CustomObjects;
  private readonly kc: KubeConfig;
  private readonly operator: OperatorProcess;
  private readonly started: string[];
  /** The IPs of the cluster's Pods, to find their processes left after the namespace is gone. */
  private readonly podIps: string[] = [];

  private constructor(
    parts: Pick<PgBench, 'env' | 'namespace'> & {
      core: CoreV1Api;
      api: CustomObjects;
      kc: KubeConfig;
      operator: OperatorProcess;
      started: string[];
    },
  ) {
    ({
      env: this.env,
      namespace: this.namespace,
      core: this.core,
      api: this.api,
      kc: this.kc,
      operator: this.operator,
      started: this.started,
    } = parts);
  }

  static async start(): Promise<PgBench> {
    const ctx = createContext();
    const started: string[] = [];
    await installAll(ctx, INSTALLED_ONLY);
    await upAll(ctx, COMPONENTS, started);
    const env = Object.assign({}, ...resolveOrder(COMPONENTS).map((c) => c.env(ctx))) as Record<string, string>;
    const kc = new KubeConfig();
    kc.loadFromFile(adminKubeconfig(ctx));
    const core = kc.makeApiClient(CoreV1Api);
    const namespace = `bench-pg-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await until(
      'the default ServiceAccount',
      () => core.readNamespacedServiceAccount({ namespace, name: 'default' }).catch(() => undefined),
      30_000,
    );
    const secrets = {
      'minio-creds': { accessKey: env.MINIO_ACCESS_KEY, secretKey: env.MINIO_SECRET_KEY },
      'minio-ca': { 'ca.crt': readFileSync(env.MINIO_CA_FILE, 'utf8') },
    };
    for (const [name, stringData] of Object.entries(secrets))
      await core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData } });
    const operatorNodeOptions = process.env.SILO_BENCH_OPERATOR_NODE_OPTIONS;
    const operator = await startOperator({
      watchNamespaces: [namespace],
      leaderElectionId: `bench-${namespace}`,
      // SILO_BENCH_OPERATOR_NODE_OPTIONS reaches the operator's Node only, e.g. `--import <file>` that starts the
      // inspector's profiler (Node refuses --cpu-prof in NODE_OPTIONS): how decision 0253's profile was taken.
      env: { SILO_LOG_LEVEL: 'info', ...(operatorNodeOptions ? { NODE_OPTIONS: operatorNodeOptions } : {}) },
    });
    return new PgBench({ env, namespace, core, api: new CustomObjects(kc), kc, operator, started });
  }

  /** A repository on the TLS MinIO (pgBackRest's S3 needs TLS), at a path of this run's own (`under` it for another cluster). */
  s3Repo(name: 'repo1', under = ''): PGBackRestRepo {
    return {
      name,
      path: `/bench-pg/${this.namespace}${under}`,
      s3: {
        bucket: this.env.MINIO_BUCKET,
        endpoint: this.env.MINIO_TLS_ENDPOINT,
        region: 'us-east-1',
        uriStyle: 'path',
        caSecret: { name: 'minio-ca', key: 'ca.crt' },
        credentials: { accessKeyId: { name: 'minio-creds', key: 'accessKey' }, secretAccessKey: { name: 'minio-creds', key: 'secretKey' } },
      },
    };
  }

  async createCluster(name: string, spec: PGClusterSpec): Promise<PGClusterObj> {
    await this.api.create(KINDS.PGCluster, { metadata: { name, namespace: this.namespace }, spec });
    const ready = await until(
      `PGCluster ${name} Ready`,
      async () => {
        const got = await this.api.get<PGClusterObj>(KINDS.PGCluster, { namespace: this.namespace, name });
        if (got?.status?.phase === 'Failed') throw new Error(`PGCluster ${name} failed: ${got.status.phaseReason}`);
        return got?.status?.phase === 'Ready' ? got : undefined;
      },
      600_000,
      1000,
    );
    this.podIps.push(ready.status!.primary!.podIP!, ready.status!.repoHost!.podIP!);
    return ready;
  }

  /** Creates a PGCluster and returns at once (a restore's time is measured from here). */
  async create(name: string, spec: PGClusterSpec): Promise<void> {
    await this.api.create(KINDS.PGCluster, { metadata: { name, namespace: this.namespace }, spec });
  }

  cluster(name: string): Promise<PGClusterObj | undefined> {
    return this.api.get<PGClusterObj>(KINDS.PGCluster, { namespace: this.namespace, name });
  }

  /**
   * Follows one object of this namespace through a watch, as `kubectl wait` does, and keeps its latest state: a
   * restore's round reads that instead of asking the API server every 100 ms, which cost the 2 cores about 1 CPU-s
   * (the API server's and the bench's) during a 3 s copy that the baseline's side never paid.
   */
  async follow<T extends { metadata?: { name?: string } }>(
    kind: 'pods' | 'pgclusters' | 'pgbackups',
    name: string,
  ): Promise<{
    latest: () => T | undefined;
    next: (check: (object: T | undefined) => boolean) => Promise<T | undefined>;
    stop: () => void;
  }> {
    const silo = kind === 'pgbackups' ? KINDS.PGBackup : KINDS.PGCluster;
    const path =
      kind === 'pods'
        ? `/api/v1/namespaces/${this.namespace}/pods`
        : `/apis/${silo.group}/${silo.version}/namespaces/${this.namespace}/${silo.plural}`;
    let latest: T | undefined;
    let stopped = false;
    let controller: AbortController | undefined;
    // Waiters resolved on the event itself: a poll of `latest` every 100 ms added 0-100 ms to what the bench times.
    const waiters = new Set<() => void>();
    const seen = (type: string, object: T): void => {
      latest = type === 'DELETED' ? undefined : object;
      for (const wake of waiters) wake();
      // A Pod's IP is kept, as pod() keeps it, to find its processes left after the namespace is gone.
      const ip = kind === 'pods' ? (latest as V1Pod | undefined)?.status?.podIP : undefined;
      if (ip && !this.podIps.includes(ip)) this.podIps.push(ip);
    };
    const start = async (): Promise<void> => {
      controller = await new Watch(this.kc).watch(
        path,
        { fieldSelector: `metadata.name=${name}` },
        seen,
        // A watch the API server closes (its timeout) is opened again until the round stops it.
        () => void (stopped ? undefined : start()),
      );
    };
    await start();
    /** The object once `check` holds for it: now, or at the first event after which it does. */
    const next = (check: (object: T | undefined) => boolean): Promise<T | undefined> =>
      new Promise((resolve) => {
        const wake = () => {
          if (!check(latest)) return;
          waiters.delete(wake);
          resolve(latest);
        };
        waiters.add(wake);
        wake();
      });
    return { latest: () => latest, next, stop: () => ((stopped = true), controller?.abort()) };
  }

  /** A Pod's IP once it has one; the IP is kept to find the Pod's processes left after the namespace is gone. */
  async podIp(name: string): Promise<string | undefined> {
    return (await this.pod(name))?.status?.podIP;
  }

  async pod(name: string): Promise<V1Pod | undefined> {
    const pod = await this.core.readNamespacedPod({ namespace: this.namespace, name }).catch(() => undefined);
    const ip = pod?.status?.podIP;
    if (ip && !this.podIps.includes(ip)) this.podIps.push(ip);
    return pod;
  }

  async podLog(name: string, container: string): Promise<string> {
    return this.core.readNamespacedPodLog({ namespace: this.namespace, name, container });
  }

  /**
   * Deletes a PGCluster and waits until its Pods are gone, so the next round has the machine to itself. With
   * `volumes`, its claims and their Retain volumes go too, files and all, as a baseline removes the directory it
   * restored into: a restored GiB left in the page cache makes the next side's writes slower on this VM (the
   * sixteenth session measured pgBackRest's own CPU for the same restore at 3.7–3.9 s right after such a side,
   * 2.0–2.4 s otherwise, on either side of the benchmark).
   */
  async deleteCluster(name: string, options: { volumes?: boolean } = {}): Promise<void> {
    await this.api.delete(KINDS.PGCluster, { namespace: this.namespace, name });
    const left = async () =>
      (await this.core.listNamespacedPod({ namespace: this.namespace })).items.some((p) => p.metadata!.name!.startsWith(`${name}-`))
        ? undefined
        : true;
    await until(`the Pods of ${name} to go`, left, 180_000, 500);
    if (options.volumes) await this.deleteVolumes(name);
  }

  /** Removes the claims of a cluster whose Pods are gone, their PersistentVolumes and the directories behind them. */
  private async deleteVolumes(cluster: string): Promise<void> {
    const volumes = (await this.core.listPersistentVolume()).items.filter(
      (pv) => pv.spec?.claimRef?.namespace === this.namespace && pv.spec.claimRef.name?.startsWith(`${cluster}-`),
    );
    for (const pv of volumes) {
      await this.core
        .deleteNamespacedPersistentVolumeClaim({ namespace: this.namespace, name: pv.spec!.claimRef!.name! })
        .catch((error: unknown) => {
          if (!isNotFound(error)) throw error; // the claim may have gone with its cluster already
        });
      await this.core.deletePersistentVolume({ name: pv.metadata!.name! });
      if (pv.spec?.hostPath?.path) rmSync(pv.spec.hostPath.path, { recursive: true, force: true });
    }
  }

  private async password(cluster: string): Promise<string> {
    const secret = await this.core.readNamespacedSecret({ namespace: this.namespace, name: pgNames(cluster).superuserSecret });
    return Buffer.from(secret.data!.password, 'base64').toString('utf8');
  }

  async psql(cluster: string, ip: string, sql: string): Promise<string> {
    return execFileSync(pgBin('psql'), ['-X', '-A', '-t', '-h', ip, '-U', 'postgres', '-d', 'postgres', '-c', sql], {
      env: { ...process.env, PGPASSWORD: await this.password(cluster), PGCONNECT_TIMEOUT: '5' },
      encoding: 'utf8',
      // A restore's watch polls a primary that is not up yet: its refusals are expected, not news.
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  }

  async pgbench(cluster: string, ip: string, args: string[]): Promise<void> {
    execFileSync(pgBin('pgbench'), [...args, '-h', ip, '-U', 'postgres', 'postgres'], {
      env: { ...process.env, PGPASSWORD: await this.password(cluster) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }

  /** Switches WAL and waits until the archiver reports that segment done, so no round waits for the load's WAL. */
  async waitArchived(cluster: string, ip: string): Promise<void> {
    const segment = await this.psql(cluster, ip, 'SELECT pg_walfile_name(pg_switch_wal())');
    const archived = async () =>
      (await this.psql(cluster, ip, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")) >= segment || undefined;
    await until(`WAL ${segment} archived`, archived, 900_000, 2000);
  }

  /** Creates a PGBackup and resolves with its status once it is completed or failed. */
  async backup(cluster: string, name: string, type: 'full'): Promise<PGBackupStatus> {
    const spec = { cluster: { name: cluster }, repoName: 'repo1', type };
    // A watch, not a GET every 100 ms: the polling cost the 2 cores CPU the backup it measures could have used.
    const backup = await this.follow<PGBackupObj>('pgbackups', name);
    try {
      await this.api.create(KINDS.PGBackup, { metadata: { name, namespace: this.namespace }, spec });
      const finished = (b: PGBackupObj | undefined) => b?.status?.phase === 'completed' || b?.status?.phase === 'failed';
      const timeout = new Promise<never>((_, reject) => {
        const timer = setTimeout(() => reject(new Error(`PGBackup ${name} did not finish in 30 min`)), 1_800_000);
        timer.unref();
      });
      return (await Promise.race([backup.next(finished), timeout]))!.status!;
    } finally {
      backup.stop();
    }
  }

  /**
   * The by-hand baseline's pgbackrest.conf in `work`: the cluster's repository read directly, rendered by the operator's
   * own builder (pg-support.ts's baselineConfig), with MinIO's CA and a lock directory beside it, all owned by postgres.
   */
  writeBaselineConf(cluster: string, spec: PGClusterSpec, work: string, owner: { uid: number; gid: number }): string {
    const names = pgNames(cluster);
    mkdirSync(join(work, 'lock'));
    writeFileSync(join(work, 'ca.crt'), readFileSync(this.env.MINIO_CA_FILE));
    const conf = join(work, 'pgbackrest.conf');
    const input = {
      cluster,
      namespace: this.namespace,
      spec,
      primaryHost: podDnsName(names.primary, names.instancesService, this.namespace),
      repoHostHost: podDnsName(names.repoHost, names.repoService, this.namespace),
    };
    const paths = {
      caFile: join(work, 'ca.crt'),
      lockDir: join(work, 'lock'),
      accessKey: this.env.MINIO_ACCESS_KEY,
      secretKey: this.env.MINIO_SECRET_KEY,
    };
    writeFileSync(conf, baselineConfig(input, paths), { mode: 0o600 });
    for (const path of [work, join(work, 'lock'), conf, join(work, 'ca.crt')]) chownSync(path, owner.uid, owner.gid);
    return conf;
  }

  /** Creates a PGRestore (in place) and resolves with its status and the wall time once it succeeded; anything else throws. */
  async restoreInPlace(name: string, spec: PGRestoreSpec): Promise<{ status: PGInPlaceRestoreStatus; seconds: number; createdAt: number }> {
    const createdAt = Date.now();
    const started = process.hrtime.bigint();
    await this.api.create(KINDS.PGRestore, { metadata: { name, namespace: this.namespace }, spec });
    const status = await until(
      `PGRestore ${name} finished`,
      async () => {
        const got = await this.api.get<KubeObject & { status?: PGInPlaceRestoreStatus }>(KINDS.PGRestore, {
          namespace: this.namespace,
          name,
        });
        const phase = got?.status?.phase;
        if (phase === 'Failed' || phase === 'Refused')
          throw new Error(`PGRestore ${name} ${phase}: ${got!.status!.reason}: ${got!.status!.message}`);
        return phase === 'Succeeded' ? got!.status : undefined;
      },
      1_800_000,
      250,
    );
    return { status, seconds: Number(process.hrtime.bigint() - started) / 1e9, createdAt };
  }

  /** The backup Job's log: pgBackRest's lines as the repo host agent streamed them. */
  async jobLog(jobName: string): Promise<string> {
    const pods = await this.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `job-name=${jobName}` });
    const pod = pods.items[0]?.metadata?.name;
    if (!pod) throw new Error(`no Pod of Job ${jobName}`);
    return this.core.readNamespacedPodLog({ namespace: this.namespace, name: pod, container: 'backup' });
  }

  /** Stops the operator, deletes the namespace and this run's objects in MinIO, and stops what start() started. */
  async stop(): Promise<void> {
    if (process.exitCode && this.operator) process.stderr.write(this.operator.logs().slice(-6000));
    await this.operator.stop();
    await this.core.deleteNamespace({ name: this.namespace }).catch(() => undefined);
    await until(
      'the namespace to go',
      async () => (await this.core.listNamespacedPod({ namespace: this.namespace })).items.length === 0 || undefined,
      120_000,
      1000,
    ).catch(() => undefined);
    await killPodProcesses(this.podIps);
    await this.removeObjects(`bench-pg/${this.namespace}/`);
    await downAll(createContext(), this.started);
  }

  private async removeObjects(prefix: string): Promise<void> {
    const s3 = s3Client({
      endpoint: this.env.MINIO_TLS_ENDPOINT,
      caFile: this.env.MINIO_CA_FILE,
      accessKeyId: this.env.MINIO_ACCESS_KEY,
      secretAccessKey: this.env.MINIO_SECRET_KEY,
    });
    try {
      for (;;) {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: this.env.MINIO_BUCKET, Prefix: prefix }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (!keys.length) return;
        await s3.send(new DeleteObjectsCommand({ Bucket: this.env.MINIO_BUCKET, Delete: { Objects: keys } }));
      }
    } finally {
      s3.destroy();
    }
  }
}
