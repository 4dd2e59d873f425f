/**
 * The main job's demonstration of the physical path, on the real local stack (issue 13): the
 * operator (a process with its ServiceAccount, bound by the synthesized ClusterRole) runs a
 * 3-instance MariaDB Cluster whose replicas clone from the primary; data is written; a Backup
 * streams mariabackup → zstd → age → MinIO; a new Cluster recovers from that Backup; then the
 * source namespace is deleted and a Cluster in a fresh namespace recovers from the bucket alone.
 * Each step prints what it did; both recoveries compare CHECKSUM TABLE with the source and print
 * their RTO.
 *
 * Stops only the stack components it started (SILO_KEEP_STACK=1 keeps them).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { generateAgeKeyPair } from '../../runtime/datapath/age/age-keys.js';
import { CustomObjects } from '../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../runtime/controller/kube/kinds.js';
import type { ClusterSpec, ClusterStatus } from '../../src/api/mysql.cloudnative-mysql.io/types.js';
import { startOperator } from '../../test/support/operator-process.js';
import { createContext } from '../../test/stack/context.js';
import { adminKubeconfig } from '../../test/stack/kube/layout.js';
import { downAll, upAll } from '../../test/stack/orchestrate.js';
import { minio } from '../../test/stack/components/minio.js';
import { poll, runDemo, say } from './demo-support.js';

interface User {
  username: string;
  password: string;
}
/** The statements go on stdin: argv holds at most 128 KiB. */
const sql = (ip: string, user: User, query: string) =>
  execFileSync('mariadb', ['--no-defaults', '-h', ip, '-u', user.username, '-N', '-B', 'shop'], {
    input: query,
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, MYSQL_PWD: user.password },
  }).trim();

interface Demo {
  core: CoreV1Api;
  objects: CustomObjects;
}

async function healthy(demo: Demo, namespace: string, name: string, instances: number): Promise<ClusterStatus> {
  return poll(`Cluster ${namespace}/${name} Healthy with ${instances} instances`, async () => {
    const c = await demo.objects.get<{ status?: ClusterStatus }>(KINDS.Cluster, { namespace, name });
    if (c?.status?.phase === 'Failed') throw new Error(`fatal: Cluster ${name} failed: ${c.status.phaseReason}`);
    return c?.status?.phase === 'Healthy' && c.status.readyInstances === instances ? c.status : undefined;
  });
}

async function appUser(demo: Demo, namespace: string, cluster: string): Promise<User> {
  const secret = await demo.core.readNamespacedSecret({ namespace, name: `${cluster}-app` });
  const v = (k: string) => Buffer.from(secret.data![k], 'base64').toString('utf8');
  return { username: v('username'), password: v('password') };
}

const ipOf = (status: ClusterStatus, name: string) => status.instancesStatus!.find((i) => i.name === name)!.podIP!;
const checksum = (ip: string, user: User) => sql(ip, user, 'CHECKSUM TABLE orders').split('\t')[1];

async function namespaceWithSecrets(demo: Demo, namespace: string, secrets: Record<string, Record<string, string>>): Promise<void> {
  await demo.core.createNamespace({ body: { metadata: { name: namespace } } });
  for (const [name, stringData] of Object.entries(secrets))
    await demo.core.createNamespacedSecret({ namespace, body: { metadata: { name }, stringData } });
}

async function sourceAndBackup(
  demo: Demo,
  namespace: string,
  objectStore: ClusterSpec['backup'],
): Promise<{ sum: string; backupId: string; user: User }> {
  const spec = { instances: 3, storage: { size: '2Gi' }, bootstrap: { initdb: { database: 'shop' } }, backup: objectStore } as ClusterSpec;
  await demo.objects.create(KINDS.Cluster, { metadata: { name: 'shop-db', namespace }, spec });
  say(`Cluster ${namespace}/shop-db created: 3 instances, backups to MinIO (zstd + age)`);
  const status = await healthy(demo, namespace, 'shop-db', 3);
  const rows = status.instancesStatus!.map((i) => `${i.name} ${i.role} server-id ${i.serverId}`).join(', ');
  say(`shop-db Healthy: ${rows}; replicas cloned from the primary over mTLS`);
  const user = await appUser(demo, namespace, 'shop-db');
  const primary = ipOf(status, 'shop-db-1');
  sql(primary, user, 'CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(64), total DECIMAL(10,2))');
  sql(
    primary,
    user,
    `INSERT INTO orders VALUES ${Array.from({ length: 5000 }, (_, i) => `(${i}, 'item-${i}', ${(i * 0.75).toFixed(2)})`).join(',')}`,
  );
  const gtid = sql(primary, user, 'SELECT @@global.gtid_binlog_pos');
  for (const replica of ['shop-db-2', 'shop-db-3'])
    await poll(
      `${replica} at ${gtid}`,
      async () => (sql(ipOf(status, replica), user, 'SELECT @@global.gtid_slave_pos') === gtid ? true : undefined),
      60_000,
    );
  const sum = checksum(primary, user);
  say(`5000 orders written on the primary; both replicas at GTID ${gtid}; CHECKSUM TABLE orders = ${sum}`);
  await demo.objects.create(KINDS.Backup, { metadata: { name: 'shop-db-backup', namespace }, spec: { cluster: { name: 'shop-db' } } });
  const backup = await poll('the Backup', async () => {
    const b = await demo.objects.get<{ status?: Record<string, any> }>(KINDS.Backup, { namespace, name: 'shop-db-backup' });
    if (b?.status?.phase === 'failed') throw new Error(`fatal: the Backup failed: ${b.status.reason}: ${b.status.error}`);
    return b?.status?.phase === 'completed' ? b.status : undefined;
  });
  say(`Backup completed from ${backup.instanceName}: ${backup.destinationPath} (sha256 ${String(backup.sha256).slice(0, 16)}…)`);
  return { sum, backupId: backup.backupId, user };
}

/** `user`: the source's app user; a recovered datadir keeps its application users (only Silo's system users take the new Cluster's Secrets). */
async function recovered(
  demo: Demo,
  target: { namespace: string; name: string; instances: number },
  expected: string,
  user: User,
): Promise<void> {
  const { namespace, name, instances } = target;
  const status = await healthy(demo, namespace, name, instances);
  const r = status.recovery!;
  const sums = status.instancesStatus!.map((i) => `${i.name} ${checksum(i.podIP!, user)}`);
  say(
    `${namespace}/${name} recovered ${r.backupID} from ${r.sourceKind === 'backup' ? `Backup ${r.backupName}` : `the bucket (${r.sourcePrefix})`}: RTO ${r.rtoSeconds} s`,
  );
  say(`  CHECKSUM TABLE orders per instance: ${sums.join(', ')} (source ${expected})`);
  if (status.instancesStatus!.some((i) => checksum(i.podIP!, user) !== expected)) throw new Error(`${name} differs from the source`);
}

async function main(): Promise<void> {
  const ctx = createContext();
  const started = await upAll(ctx, ['kube', 'kubelet', 'minio']);
  const suffix = randomBytes(3).toString('hex');
  const [source, dr] = [`silo-demo-${suffix}`, `silo-dr-${suffix}`];
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig(ctx));
  const demo: Demo = { core: kc.makeApiClient(CoreV1Api), objects: new CustomObjects(kc) };
  const operator = await startOperator({ watchNamespaces: [source, dr], leaderElectionId: `silo-demo-${suffix}` });
  say(`operator running (pid ${operator.pid}, metrics ${operator.metricsUrl})`);
  try {
    const env = minio.env(ctx);
    const keys = generateAgeKeyPair();
    const secrets = {
      'minio-creds': { accessKey: env.MINIO_ACCESS_KEY, secretKey: env.MINIO_SECRET_KEY },
      'age-identity': { identity: keys.identity },
    };
    const objectStore = {
      bucket: env.MINIO_BUCKET,
      path: `silo-demo/${suffix}`,
      endpoint: env.MINIO_ENDPOINT,
      forcePathStyle: true,
      credentials: { accessKeyId: { name: 'minio-creds', key: 'accessKey' }, secretAccessKey: { name: 'minio-creds', key: 'secretKey' } },
      compression: { algorithm: 'zstd' },
      encryption: { age: { recipients: [keys.recipient], identitySecretRef: { name: 'age-identity', key: 'identity' } } },
    } as NonNullable<ClusterSpec['backup']>['objectStore'];
    await namespaceWithSecrets(demo, source, secrets);
    const { sum, user } = await sourceAndBackup(demo, source, { objectStore });

    await demo.objects.create(KINDS.Cluster, {
      metadata: { name: 'shop-db-restored', namespace: source },
      spec: { instances: 2, storage: { size: '2Gi' }, bootstrap: { recovery: { backup: { name: 'shop-db-backup' } } } },
    });
    say(`Cluster ${source}/shop-db-restored created with bootstrap.recovery.backup`);
    await recovered(demo, { namespace: source, name: 'shop-db-restored', instances: 2 }, sum, user);

    await demo.core.deleteNamespace({ name: source });
    await poll(`namespace ${source} deleted`, async () =>
      (await demo.core.readNamespace({ name: source }).catch(() => undefined)) ? undefined : true,
    );
    say(`namespace ${source} deleted: the source Cluster, its Backup and the restored Cluster are gone; the bucket remains`);
    await namespaceWithSecrets(demo, dr, secrets);
    await demo.objects.create(KINDS.Cluster, {
      metadata: { name: 'shop-db-dr', namespace: dr },
      spec: {
        instances: 3,
        storage: { size: '2Gi' },
        bootstrap: { recovery: { source: 'shop-db' } },
        externalClusters: [{ name: 'shop-db', objectStore }],
      },
    });
    say(`Cluster ${dr}/shop-db-dr created with bootstrap.recovery.source (externalClusters shop-db): no Backup object exists anywhere`);
    await recovered(demo, { namespace: dr, name: 'shop-db-dr', instances: 3 }, sum, user);
    say('recovery verified: from a Backup, and from the bucket alone');
  } finally {
    for (const ns of [source, dr]) await demo.core.deleteNamespace({ name: ns }).catch(() => undefined);
    await operator.stop();
    if (process.env.SILO_KEEP_STACK !== '1') await downAll(ctx, started);
  }
}

runDemo(main);
