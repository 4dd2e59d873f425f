/**
 * Hand-made instance Pods of a Cluster, following the contract of decision
 * 0220 until the Cluster reconciler exists: Debian's mariadbd (mariadb image
 * recipe) plus `silo instance-manager` as a sidecar listening with mTLS on the
 * pod IP, sharing the data directory and the socket through emptyDirs.
 */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { waitFor } from '../../../kube/fixture.js';
import { encodeInstanceManagerEnv } from '../../../../../runtime/contracts/worker-env.js';

export interface InstanceOptions {
  name: string;
  cluster: string;
  role: 'primary' | 'replica';
  serverId: number;
  /** mysql.cloudnative-mysql.io/replication-lag-seconds */
  lag?: string;
  /** Only the instance manager, pointed at another Pod's mariadbd over TCP (with a user of your choice). */
  borrowDatabase?: { host: string; user: string };
  /** Advertise this port as `instance-mgr` while the instance manager listens on 8443 (a test proxy in between). */
  advertisedPort?: number;
}

export function instancePod(o: InstanceOptions): V1Pod {
  return {
    metadata: {
      name: o.name,
      labels: { 'mysql.cloudnative-mysql.io/cluster': o.cluster, 'mysql.cloudnative-mysql.io/instance-role': o.role },
      ...(o.lag !== undefined ? { annotations: { 'mysql.cloudnative-mysql.io/replication-lag-seconds': o.lag } } : {}),
    },
    spec: {
      terminationGracePeriodSeconds: 5,
      containers: [
        ...(o.borrowDatabase
          ? []
          : [
              {
                name: 'mariadb',
                image: 'mariadb:10.11',
                args: ['--log-bin=mysql-bin', `--server-id=${o.serverId}`, '--innodb-buffer-pool-size=16M', '--innodb-log-file-size=16M'],
                env: [{ name: 'MARIADB_ALLOW_EMPTY_ROOT_PASSWORD', value: '1' }],
                readinessProbe: { exec: { command: ['mariadb-admin', '--socket=/run/mysqld/mysqld.sock', 'ping'] }, periodSeconds: 1 },
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/mysql' },
                  { name: 'run', mountPath: '/run/mysqld' },
                ],
              },
            ]),
        {
          name: 'instance-manager',
          image: 'ghcr.io/silo-operator/silo:0.1.0',
          command: ['silo', 'instance-manager'],
          env: encodeInstanceManagerEnv({
            tls: {
              certFile: '/var/run/silo/server-tls/tls.crt',
              keyFile: '/var/run/silo/server-tls/tls.key',
              clientCaFile: '/var/run/silo/client-ca/ca.crt',
            },
            connection: o.borrowDatabase
              ? { host: o.borrowDatabase.host, user: o.borrowDatabase.user }
              : { socket: '/run/mysqld/mysqld.sock', user: 'root' },
            podName: true,
            host: { fromPodIp: true },
          }),
          ports: [{ name: 'instance-mgr', containerPort: o.advertisedPort ?? 8443 }],
          readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 1 },
          volumeMounts: [
            { name: 'data', mountPath: '/var/lib/mysql' },
            { name: 'run', mountPath: '/run/mysqld' },
            { name: 'server-tls', mountPath: '/var/run/silo/server-tls', readOnly: true },
            { name: 'client-ca', mountPath: '/var/run/silo/client-ca', readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'run', emptyDir: {} },
        { name: 'server-tls', secret: { secretName: `${o.cluster}-server-tls` } },
        { name: 'client-ca', secret: { secretName: `${o.cluster}-client-ca` } },
      ],
    },
  };
}

const ready = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export async function waitReady(core: CoreV1Api, namespace: string, name: string, timeoutMs = 120_000): Promise<V1Pod> {
  return waitFor(
    `instance Pod ${name} Ready`,
    async () => {
      const pod = await core.readNamespacedPod({ namespace, name });
      return ready(pod) && pod.status?.podIP ? pod : undefined;
    },
    timeoutMs,
  );
}

/** SQL over TCP to the pod's mariadbd as root (root@'%' has no password in the test image). */
export function sql(ip: string, query: string, database?: string): string {
  return execFileSync(
    'mariadb',
    ['--no-defaults', '-h', ip, '-P', '3306', '-u', 'root', '-N', '-B', '-e', query, ...(database ? [database] : [])],
    {
      encoding: 'utf8',
      timeout: 30_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  ).trim();
}

/** Makes `replicaIp` a GTID replica of `primaryIp` and waits until it runs. */
export async function startReplication(primaryIp: string, replicaIp: string): Promise<void> {
  // Start from the primary's current position: its binlog already holds the init-file's CREATE USER, which the replica has too.
  const position = sql(primaryIp, 'SELECT @@global.gtid_binlog_pos');
  sql(replicaIp, `SET GLOBAL gtid_slave_pos = '${position}'`);
  sql(
    replicaIp,
    `CHANGE MASTER TO MASTER_HOST='${primaryIp}', MASTER_PORT=3306, MASTER_USER='root', MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos; START SLAVE;`,
  );
  await waitFor(
    'replication running',
    async () => {
      const status = execFileSync('mariadb', ['--no-defaults', '-h', replicaIp, '-u', 'root', '-e', 'SHOW SLAVE STATUS\\G'], {
        encoding: 'utf8',
      });
      if (/Slave_IO_Running: Yes/.test(status) && /Slave_SQL_Running: Yes/.test(status)) return true;
      throw new Error(status.replace(/\s+/g, ' ').slice(0, 1500));
    },
    30_000,
  );
}
