/**
 * Helpers for tests of Clusters the operator runs (Cluster reconciler): wait for a phase, read
 * status, reach an instance's mariadbd over TCP on its pod IP as the Cluster's app user (the
 * operator's `<cluster>-app` Secret), and checksum every table of a database.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { CustomObjects } from '../../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../../runtime/controller/reconciler.js';
import type { ClusterSpec, ClusterStatus } from '../../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { waitFor } from '../../../kube/fixture.js';

export type ClusterObject = KubeObject & { spec: ClusterSpec; status?: ClusterStatus };

export interface AppUser {
  readonly username: string;
  readonly password: string;
}

export async function appUser(core: CoreV1Api, namespace: string, secretName: string): Promise<AppUser> {
  const secret = await core.readNamespacedSecret({ namespace, name: secretName });
  const value = (key: string) => Buffer.from(secret.data![key], 'base64').toString('utf8');
  return { username: value('username'), password: value('password') };
}

/** One statement batch over TCP to the instance at `ip`, as `user`; the password travels in the environment, never in argv. */
export function userSql(ip: string, user: AppUser, query: string, database?: string): string {
  return execFileSync(
    'mariadb',
    ['--no-defaults', '-h', ip, '-P', '3306', '-u', user.username, '-N', '-B', '-e', query, ...(database ? [database] : [])],
    { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MYSQL_PWD: user.password } },
  ).trim();
}

/** A script of many statements, fed on stdin (argv holds at most 128 KiB), as `user`. */
export function userSqlScript(ip: string, user: AppUser, script: string, database: string): void {
  execFileSync('mariadb', ['--no-defaults', '-h', ip, '-P', '3306', '-u', user.username, database], {
    input: script,
    encoding: 'utf8',
    timeout: 300_000,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, MYSQL_PWD: user.password },
  });
}

/**
 * root through an instance Pod's socket (unix_socket authentication: the tests run as root), for
 * what no Cluster user may do (PURGE BINARY LOGS). `podDir`: the process kubelet's directory of the
 * Pod (`<kubelet state>/pods/<uid>`); a short link keeps the socket path under 108 bytes.
 */
export function rootSql(podDir: string, query: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'silo-sock-'));
  const link = join(dir, 's');
  symlinkSync(join(podDir, 'volumes', 'run', 'mysqld.sock'), link);
  try {
    return execFileSync('mariadb', ['--no-defaults', `--socket=${link}`, '-u', 'root', '-N', '-B', '-e', query], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `CHECKSUM TABLE` of every base table of `database`, as "table=checksum" lines. */
export function checksums(ip: string, user: AppUser, database: string): string[] {
  const tables = userSql(
    ip,
    user,
    `SELECT table_name FROM information_schema.tables WHERE table_schema='${database}' AND table_type='BASE TABLE' ORDER BY table_name`,
  )
    .split('\n')
    .filter(Boolean);
  return tables.map((t) => userSql(ip, user, `CHECKSUM TABLE \`${database}\`.\`${t}\``).replace(/\s+/g, '='));
}

export async function getCluster(api: CustomObjects, namespace: string, name: string): Promise<ClusterObject | undefined> {
  return api.get<ClusterObject>(KINDS.Cluster, { namespace, name });
}

/** Waits until the Cluster is in `phase` (and, for Healthy, has `instances` ready). */
export async function waitClusterPhase(
  api: CustomObjects,
  namespace: string,
  name: string,
  want: { phase: string; timeoutMs: number; instances?: number },
): Promise<ClusterObject> {
  const { phase, timeoutMs, instances } = want;
  let last: ClusterStatus | undefined;
  try {
    return await waitFor(
      `Cluster ${name} ${phase}`,
      async () => {
        const cluster = await getCluster(api, namespace, name);
        last = cluster?.status;
        if (!cluster?.status || cluster.status.phase !== phase) return undefined;
        if (instances !== undefined && cluster.status.readyInstances !== instances) return undefined;
        return cluster;
      },
      timeoutMs,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last).slice(0, 3000)}`, { cause: error });
  }
}

export const podIpOf = (cluster: ClusterObject, instance: string): string => {
  const row = cluster.status?.instancesStatus?.find((i) => i.name === instance);
  if (!row?.podIP) throw new Error(`no pod IP for ${instance} in ${JSON.stringify(cluster.status?.instancesStatus)}`);
  return row.podIP;
};
