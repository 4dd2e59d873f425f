/** Objects shaped as the API server returns them, for the pure parts of the Backup reconciler. */
import type { Pod } from '../../../../../runtime/controller/kube/client.js';
import type { BackupResource, ClusterResource } from '../../../../../src/api/mysql.cloudnative-mysql.io/types.js';

export function pod(
  name: string,
  role: 'primary' | 'replica',
  opts: { ready?: boolean; lag?: string; ip?: string; phase?: string; port?: number; deleting?: boolean } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: 'ns',
      labels: { 'mysql.cloudnative-mysql.io/cluster': 'db', 'mysql.cloudnative-mysql.io/instance-role': role },
      ...(opts.lag !== undefined ? { annotations: { 'mysql.cloudnative-mysql.io/replication-lag-seconds': opts.lag } } : {}),
      ...(opts.deleting ? { deletionTimestamp: new Date().toISOString() } : {}),
    },
    spec: {
      containers: [
        { name: 'mariadb' },
        { name: 'instance-manager', ...(opts.port ? { ports: [{ name: 'instance-mgr', containerPort: opts.port }] } : {}) },
      ],
    },
    status: {
      phase: opts.phase ?? 'Running',
      podIP: opts.ip ?? `127.1.0.${name.length}`,
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    },
  };
}

export function cluster(spec: Partial<ClusterResource['spec']> = {}): ClusterResource {
  return {
    apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'db', namespace: 'ns', uid: 'cluster-uid' },
    spec: { instances: 2, storage: { size: '1Gi' }, ...spec },
  } as ClusterResource;
}

export const store = {
  bucket: 'backups',
  path: 'prod',
  endpoint: 'http://127.0.0.1:19000',
  forcePathStyle: true,
  credentials: { accessKeyId: { name: 'minio', key: 'access' }, secretAccessKey: { name: 'minio', key: 'secret' } },
};

export function backup(
  name: string,
  spec: Partial<BackupResource['spec']> = {},
  extra: { created?: string; status?: BackupResource['status']; uid?: string } = {},
): BackupResource {
  return {
    apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
    kind: 'Backup',
    metadata: {
      name,
      namespace: 'ns',
      uid: extra.uid ?? `${name}-uid`,
      generation: 1,
      creationTimestamp: extra.created ?? '2026-11-22T05:00:00Z',
    },
    spec: {
      cluster: { name: 'db' },
      method: 'xtrabackup',
      target: 'prefer-standby',
      online: true,
      type: 'full',
      deadlineSeconds: 600,
      ...spec,
    },
    ...(extra.status ? { status: extra.status } : {}),
  } as BackupResource;
}
