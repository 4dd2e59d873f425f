/**
 * Shared set-up of the backup-operator.io end-to-end tests: a namespace and a
 * kubelet of the file's own, MinIO from the stack, the operator as a process
 * (startOperator, its ServiceAccount bound by the synthesized ClusterRole)
 * watching only that namespace, and helpers to read runs, Events and objects.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useStack } from '../../../stack/mocha.js';
import { useKube, waitFor, type KubeFixture } from '../../kube/fixture.js';

export { waitFor };

export interface BackupOperatorFixture {
  kube: KubeFixture;
  objects: CustomObjects;
  operator: OperatorProcess;
  /** Unique per file: object keys live under it, storages are named after it. */
  prefix: string;
  minio: { endpoint: string; accessKey: string; secretKey: string; bucket: string };
  s3: S3Client;
}

export function useBackupOperator(name: string): BackupOperatorFixture {
  const stack = useStack('minio');
  const kube = useKube(name, { withKubelet: true });
  const fx = { kube, prefix: `bo-${name}-${randomBytes(3).toString('hex')}` } as BackupOperatorFixture;
  before(async function () {
    this.timeout(180_000);
    const env = stack.env();
    fx.minio = { endpoint: env.MINIO_ENDPOINT, accessKey: env.MINIO_ACCESS_KEY, secretKey: env.MINIO_SECRET_KEY, bucket: env.MINIO_BUCKET };
    fx.s3 = new S3Client({
      endpoint: fx.minio.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: fx.minio.accessKey, secretAccessKey: fx.minio.secretKey },
    });
    fx.objects = new CustomObjects(kube.kc);
    fx.operator = await startOperator({
      watchNamespaces: [kube.namespace],
      leaderElectionId: `${fx.prefix}-leader`,
      env: { SILO_LOG_LEVEL: 'debug' },
    });
  });
  after(async function () {
    this.timeout(120_000);
    // Runs first (their finalizers may need the operator), then storages, then the operator.
    for (const run of (await fx.objects?.list(KINDS.BackupRun, kube.namespace).catch(() => [])) ?? []) {
      await fx.objects
        .patch(KINDS.BackupRun, { namespace: kube.namespace, name: run.metadata!.name! }, { metadata: { finalizers: null } })
        .catch(() => undefined);
    }
    for (const storage of (await fx.objects?.list(KINDS.BackupStorage).catch(() => [])) ?? []) {
      if (!storage.metadata!.name!.startsWith(fx.prefix)) continue;
      await fx.objects
        .patch(KINDS.BackupStorage, { name: storage.metadata!.name! }, { metadata: { finalizers: null } })
        .catch(() => undefined);
      await fx.objects.delete(KINDS.BackupStorage, { name: storage.metadata!.name! }).catch(() => undefined);
    }
    await fx.operator?.stop();
    if (fx.s3) {
      const keys = await listKeys(fx, fx.prefix);
      if (keys.length)
        await fx.s3.send(new DeleteObjectsCommand({ Bucket: fx.minio.bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
      fx.s3.destroy();
    }
  });
  return fx;
}

export async function listKeys(fx: BackupOperatorFixture, prefix: string): Promise<string[]> {
  const out = await fx.s3.send(new ListObjectsV2Command({ Bucket: fx.minio.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

export async function getObjectBytes(fx: BackupOperatorFixture, key: string): Promise<Buffer> {
  const out = await fx.s3.send(new GetObjectCommand({ Bucket: fx.minio.bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

export async function createSecret(fx: BackupOperatorFixture, name: string, data: Record<string, string>): Promise<void> {
  await fx.kube.core.createNamespacedSecret({ namespace: fx.kube.namespace, body: { metadata: { name }, stringData: data } });
}

/** A BackupStorage on the stack's MinIO, under this file's prefix. */
export async function createMinioStorage(
  fx: BackupOperatorFixture,
  suffix: string,
  secret: string,
  overrides: Record<string, string> = {},
): Promise<string> {
  const name = `${fx.prefix}-${suffix}`;
  await fx.objects.create(KINDS.BackupStorage, {
    metadata: { name },
    spec: {
      type: 's3',
      parameters: { bucket: fx.minio.bucket, endpoint: fx.minio.endpoint, insecure: 'true', s3ForcePathStyle: 'true', ...overrides },
      credentials: { name: secret, namespace: fx.kube.namespace },
    },
  });
  return name;
}

export const getRun = (fx: BackupOperatorFixture, name: string) =>
  fx.objects.get<KubeObject & { status?: any; spec: any }>(KINDS.BackupRun, { namespace: fx.kube.namespace, name });

/** Waits until the run's phase is one of `phases`; the error shows the last status. */
export async function waitForPhase(fx: BackupOperatorFixture, name: string, phases: string[], timeoutMs = 120_000) {
  return waitFor(
    `BackupRun ${name} phase in ${phases.join('|')}`,
    async () => {
      const run = await getRun(fx, name);
      if (run && phases.includes(run.status?.phase)) return run;
      throw new Error(`phase ${run?.status?.phase ?? '(none)'}: ${JSON.stringify(run?.status ?? {}).slice(0, 600)}`);
    },
    timeoutMs,
  );
}

/** Events about `name`; cluster-scoped objects (BackupStorage) have theirs in `default`. */
export async function eventsFor(
  fx: BackupOperatorFixture,
  name: string,
  namespace = fx.kube.namespace,
): Promise<Array<{ reason: string; message: string; type: string }>> {
  const core = fx.kube.kc.makeApiClient(CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` });
  const v1 = list.items.map((e) => ({ reason: e.reason ?? '', message: e.message ?? '', type: e.type ?? '' }));
  return v1;
}

/** A minimal run spec: a busybox container whose command is `script`. */
export function shellRunSpec(fx: BackupOperatorFixture, storage: string, script: string, extra: Record<string, unknown> = {}) {
  return {
    storage: { name: storage, path: `/${fx.prefix}/{{ .Name }}-{{ now | date "2006.01.02-15:04:05" }}.txt` },
    backup: { container: 'main', command: ['/bin/sh', '-c'], args: [script] },
    compression: { algorithm: 'gzip' },
    template: {
      spec: {
        schedulerName: fx.kube.scheduler,
        restartPolicy: 'Never',
        containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'] }],
      },
    },
    ...extra,
  };
}

export async function createRun(
  fx: BackupOperatorFixture,
  name: string,
  spec: object,
  annotations: Record<string, string> = {},
): Promise<void> {
  await fx.objects.create(KINDS.BackupRun, { metadata: { name, namespace: fx.kube.namespace, annotations }, spec });
}

/** A MariaDB Pod on the file's kubelet; resolves with its pod IP once it answers. */
export async function startMariadb(fx: BackupOperatorFixture, name: string, database: string): Promise<string> {
  await fx.kube.core.createNamespacedPod({
    namespace: fx.kube.namespace,
    body: {
      metadata: { name, labels: { app: name } },
      spec: {
        schedulerName: fx.kube.scheduler,
        terminationGracePeriodSeconds: 10,
        containers: [
          {
            name: 'mariadb',
            image: 'mariadb:10.11',
            args: ['--skip-log-bin', '--innodb-buffer-pool-size=16M'],
            env: [
              { name: 'MARIADB_ALLOW_EMPTY_ROOT_PASSWORD', value: '1' },
              { name: 'MARIADB_DATABASE', value: database },
            ],
            readinessProbe: { exec: { command: ['mariadb-admin', '--socket=/run/mysqld/mysqld.sock', 'ping'] }, periodSeconds: 1 },
          },
        ],
      },
    },
  });
  const pod = await waitFor(
    `MariaDB pod ${name} Ready`,
    async () => {
      const p: V1Pod = await fx.kube.core.readNamespacedPod({ namespace: fx.kube.namespace, name });
      return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && p.status.podIP ? p : undefined;
    },
    120_000,
  );
  const ip = pod.status!.podIP!;
  await waitFor(`MariaDB on ${ip}`, async () => sql(ip, 'SELECT 1') === '1', 60_000);
  return ip;
}

export function sql(ip: string, query: string, database?: string): string {
  return execFileSync(
    'mariadb',
    ['-h', ip, '-P', '3306', '-u', 'root', '--batch', '--skip-column-names', ...(database ? [database] : []), '-e', query],
    {
      encoding: 'utf8',
      timeout: 20_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  ).trim();
}

/** Waits for an Event with `reason` about `name` (Events are recorded just after the status they explain). */
export async function waitForEvent(
  fx: BackupOperatorFixture,
  name: string,
  reason: string,
  namespace = fx.kube.namespace,
): Promise<{ reason: string; message: string }> {
  return waitFor(
    `Event ${reason} about ${name}`,
    async () => (await eventsFor(fx, name, namespace)).find((e) => e.reason === reason),
    30_000,
  );
}

/** The operator's /metrics samples of `metric` whose labels include all of `labels`, as [labels text, value]. */
export async function metricSamples(fx: BackupOperatorFixture, metric: string, labels: Record<string, string>): Promise<number[]> {
  const text = await (await fetch(fx.operator.metricsUrl)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`))
    .filter((line) => Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
    .map((line) => Number(line.split(' ').pop()));
}
