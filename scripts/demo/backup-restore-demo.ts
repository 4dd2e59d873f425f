/**
 * The main job's demonstration, on the real local stack: the operator (as a
 * process, with its ServiceAccount bound by the synthesized ClusterRole) backs
 * up a MariaDB Pod through a BackupRun — mariadb-dump → gzip → age → MinIO —
 * then restores it into a second, empty MariaDB Pod through the restore
 * annotation, and compares CHECKSUM TABLE on both sides.
 *
 * Stops only the stack components it started (SILO_KEEP_STACK=1 keeps them).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { generateAgeKeyPair } from '../../runtime/datapath/age/age-keys.js';
import { CustomObjects } from '../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../runtime/controller/kube/kinds.js';
import { startOperator } from '../../test/support/operator-process.js';
import { createContext } from '../../test/stack/context.js';
import { adminKubeconfig } from '../../test/stack/kube/layout.js';
import { downAll, upAll } from '../../test/stack/orchestrate.js';
import { minio } from '../../test/stack/components/minio.js';

const say = (line: string) => process.stdout.write(`demo: ${line}\n`);

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const sql = (ip: string, query: string) =>
  execFileSync('mariadb', ['-h', ip, '-u', 'root', '--batch', '--skip-column-names', 'shop', '-e', query], {
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();

/** A MariaDB Pod with an empty `shop` database, Ready once the server answers on its socket. */
const mariadbPod = (name: string) => ({
  metadata: { name },
  spec: {
    terminationGracePeriodSeconds: 10,
    containers: [
      {
        name: 'mariadb',
        image: 'mariadb:10.11',
        args: ['--skip-log-bin', '--innodb-buffer-pool-size=16M'],
        env: [
          { name: 'MARIADB_ALLOW_EMPTY_ROOT_PASSWORD', value: '1' },
          { name: 'MARIADB_DATABASE', value: 'shop' },
        ],
        readinessProbe: { exec: { command: ['mariadb-admin', '--socket=/run/mysqld/mysqld.sock', 'ping'] }, periodSeconds: 1 },
      },
    ],
  },
});

/** Starts one MariaDB Pod per name and waits until each is Ready and answers SQL; returns name → pod IP. */
async function startDatabases(core: CoreV1Api, namespace: string, names: string[]): Promise<Record<string, string>> {
  const ips: Record<string, string> = {};
  for (const name of names) await core.createNamespacedPod({ namespace, body: mariadbPod(name) });
  for (const name of names) {
    ips[name] = await poll(`${name} Ready`, async () => {
      const pod = await core.readNamespacedPod({ namespace, name });
      return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? pod.status.podIP : undefined;
    });
    await poll(`${name} answering`, async () => (sql(ips[name], 'SELECT 1') === '1' ? true : undefined), 60_000);
  }
  return ips;
}

/** The BackupStorage (the stack's MinIO) and the BackupRun that dumps the source and restores into the target; returns the storage's name. */
async function createStorageAndRun(
  objects: CustomObjects,
  demo: { namespace: string; suffix: string; minioEnv: ReturnType<typeof minio.env>; ips: Record<string, string>; recipient: string },
): Promise<string> {
  const { namespace, suffix, minioEnv, ips, recipient } = demo;
  const storage = `silo-demo-${suffix}`;
  await objects.create(KINDS.BackupStorage, {
    metadata: { name: storage },
    spec: {
      type: 's3',
      credentials: { name: 'minio-credentials', namespace },
      parameters: {
        bucket: minioEnv.MINIO_BUCKET,
        endpoint: minioEnv.MINIO_ENDPOINT,
        region: 'us-east-1',
        insecure: 'true',
        s3ForcePathStyle: 'true',
      },
    },
  });
  await objects.create(KINDS.BackupRun, {
    metadata: { name: 'shop-backup', namespace },
    spec: {
      storage: { name: storage, path: `/silo-demo/${suffix}/shop-{{ now | date "2006.01.02-15:04:05" }}.sql` },
      backup: { container: 'mysql', command: ['/bin/sh', '-c'], args: [`mariadb-dump -h ${ips['source-db']} -u root shop`] },
      restore: { container: 'mysql', command: ['/bin/sh', '-c'], args: [`mariadb -h ${ips['target-db']} -u root shop`] },
      compression: { algorithm: 'gzip' },
      encryption: { age: { recipients: [recipient], identitySecretRef: { name: 'age-identity', key: 'identity' } } },
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'mysql', image: 'mariadb:10.11', command: ['sleep', '1d'] }] } },
    },
  });
  return storage;
}

async function main(): Promise<void> {
  const ctx = createContext();
  const started = await upAll(ctx, ['kube', 'kubelet', 'minio', 'mariadb']);
  const suffix = randomBytes(3).toString('hex');
  const namespace = `silo-demo-${suffix}`;
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig(ctx));
  const core = kc.makeApiClient(CoreV1Api);
  const objects = new CustomObjects(kc);
  const operator = await startOperator({ watchNamespaces: [namespace], leaderElectionId: `silo-demo-${suffix}` });
  say(`operator running (pid ${operator.pid}, metrics ${operator.metricsUrl})`);
  try {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const env = minio.env(ctx);
    const keys = generateAgeKeyPair();
    const secret = (name: string, stringData: Record<string, string>) =>
      core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData } });
    await secret('minio-credentials', { accessKeyId: env.MINIO_ACCESS_KEY, secretAccessKey: env.MINIO_SECRET_KEY });
    await secret('age-identity', { identity: keys.identity });

    const ips = await startDatabases(core, namespace, ['source-db', 'target-db']);
    sql(ips['source-db'], 'CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(64), total DECIMAL(10,2))');
    sql(
      ips['source-db'],
      `INSERT INTO orders VALUES ${Array.from({ length: 1000 }, (_, i) => `(${i}, 'item-${i}', ${(i * 0.75).toFixed(2)})`).join(',')}`,
    );
    say(`MariaDB source ${ips['source-db']} seeded with 1000 rows; target ${ips['target-db']} is empty`);

    const storage = await createStorageAndRun(objects, { namespace, suffix, minioEnv: env, ips, recipient: keys.recipient });
    const run = (phases: string[]) =>
      poll(`BackupRun phase ${phases.join('|')}`, async () => {
        const r = await objects.get<{ status?: Record<string, any> }>(KINDS.BackupRun, { namespace, name: 'shop-backup' });
        return r?.status && phases.includes(r.status.phase) ? r.status : undefined;
      });
    const backedUp = await run(['Completed', 'Failed']);
    if (backedUp.phase !== 'Completed') throw new Error(`the backup failed: ${backedUp.reason}: ${backedUp.message ?? backedUp.error}`);
    const conditions = (backedUp.conditions ?? []).map((c: any) => `${c.type}=${c.reason}`).join(', ');
    say(`backup Completed: s3://${env.MINIO_BUCKET}${backedUp.path}, ${backedUp.sizeInBytes} bytes stored (${conditions})`);

    await objects.patch(
      KINDS.BackupRun,
      { namespace, name: 'shop-backup' },
      { metadata: { annotations: { 'backup-operator.io/restore': 'true' } } },
    );
    const restored = await run(['Restored', 'RestoreFailed']);
    if (restored.phase !== 'Restored') throw new Error(`the restore failed: ${restored.reason}: ${restored.message ?? restored.error}`);
    const [source, target] = [ips['source-db'], ips['target-db']].map((ip) => sql(ip, 'CHECKSUM TABLE orders').split('\t')[1]);
    say(`restore Restored into ${ips['target-db']}: CHECKSUM TABLE source ${source}, target ${target}`);
    if (source !== target) throw new Error('the restored table differs from the source');
    say('backup and restore verified');
    await objects.delete(KINDS.BackupRun, { namespace, name: 'shop-backup' });
    await poll(
      'the run to be deleted',
      async () => ((await objects.get(KINDS.BackupRun, { namespace, name: 'shop-backup' })) ? undefined : true),
      60_000,
    );
    await objects.delete(KINDS.BackupStorage, { name: storage });
  } finally {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await operator.stop();
    if (process.env.SILO_KEEP_STACK !== '1') await downAll(ctx, started);
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`demo: ${error.message}\n`);
    process.exit(1);
  },
);
