/**
 * The Pod of one instance of a MySQL/MariaDB Cluster (decision 0220 and
 * runtime/contracts/instance-pod.ts), as the Cluster reconciler creates it beside its PVC
 * (instance-pvc.ts):
 * - init container `bootstrap` (`silo instance init`): a complete datadir on the volume, or it
 *   makes one (mariadb-install-db on a primary, a streamed clone of the primary on a replica);
 * - container `mariadb` (`silo instance db`): mariadbd with Silo's options and init-file;
 * - container `instance-manager` (`silo instance-manager`): mTLS on the pod IP, port `instance-mgr`.
 *
 * Secrets are mounted per container, only where used. The backup client certificate
 * (`<cluster>-client-tls`) never enters this Pod: backup Jobs hold it, and a replica clones with its
 * own replication certificate.
 */
import type {
  V1Container,
  V1EnvVar,
  V1OwnerReference,
  V1Pod,
  V1Probe,
  V1ResourceRequirements,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import {
  ANNOTATIONS,
  CONTAINERS,
  INSTANCE_FS_GROUP,
  INSTANCE_VAR,
  LABELS,
  MOUNTS,
  MYSQL_PORT,
  PVC_MOUNT,
  RUN_DIR,
  SOCKET,
  SYSTEM_USERS,
  type InstanceRole,
} from '../../../contracts/instance-pod.js';
import { INSTANCE_MANAGER_PORT, INSTANCE_MANAGER_PORT_NAME, instanceManagerUrl } from '../../../contracts/instance-manager-protocol.js';
import { encodeInstanceManagerEnv, VAR } from '../../../contracts/worker-env.js';
import { instanceManagerServerName } from '../backup/backup-job.js';
import { clusterName, clusterNamespace, instanceLabels } from './instance-pvc.js';

/** The Secrets an instance Pod mounts, by name. */
export interface InstanceSecrets {
  /** kubernetes.io/tls: the instance manager's server certificate (DNS name `<cluster>-instance-manager`). */
  readonly serverTLS: string;
  /** ca.crt that signs the server certificates: a replica checks its primary's instance manager with it. */
  readonly serverCA: string;
  /** ca.crt that signs the client certificates the instance manager accepts. */
  readonly clientCA: string;
  /** kubernetes.io/tls: the client certificate (CN silo-replication) a replica clones with. */
  readonly replicationTLS: string;
  /** Keys `manager`, `replication`, `backup`: the system users' passwords. */
  readonly systemUsers: string;
  /** kubernetes.io/basic-auth (username, password): the application user, when there is one. */
  readonly appUser?: string;
}

/** The Secret names the operator creates when spec.certificates names none (decision 0220). */
export function defaultInstanceSecrets(cluster: ClusterResource): InstanceSecrets {
  const name = clusterName(cluster);
  const certificates = cluster.spec.certificates;
  return {
    serverTLS: certificates?.serverTLSSecret ?? `${name}-server-tls`,
    serverCA: certificates?.serverCASecret ?? `${name}-server-ca`,
    clientCA: certificates?.clientCASecret ?? `${name}-client-ca`,
    replicationTLS: `${name}-replication-tls`,
    systemUsers: `${name}-system-users`,
  };
}

export interface InstancePodInput {
  /** The Cluster (metadata.name and namespace set). */
  readonly cluster: ClusterResource;
  /** `<cluster>-<serial>` (instanceNameFor): the Pod's and the PVC's name. */
  readonly instanceName: string;
  readonly serial: number;
  readonly role: InstanceRole;
  /** Unique within the Cluster, never reused for another instance. */
  readonly serverId: number;
  /** A replica's primary: its pod IP (no DNS is needed) and name, and its instance manager's port (default 8443). */
  readonly primary?: { readonly podIp: string; readonly instanceName: string; readonly instanceManagerPort?: number };
  /** The operator's default instance image; the Cluster's spec.imageName wins. */
  readonly image: string;
  readonly secrets: InstanceSecrets;
  /** Usually the Cluster, as controller. */
  readonly owner: V1OwnerReference;
  /** Extra mariadbd options (SILO_MARIADB_ARGS), e.g. a smaller buffer pool. */
  readonly extraArgs?: readonly string[];
  /** The application database a primary creates at its first start (with secrets.appUser's user). */
  readonly appDatabase?: string;
  /** The first primary of a Cluster bootstrapped by recovery: an empty volume is an error, never initdb. */
  readonly bootstrap?: 'initdb' | 'recovery';
}

/** MariaDB flushes and closes its tables on SIGTERM; a large buffer pool takes a while to write out. */
export const TERMINATION_GRACE_SECONDS = 180;

const VOLUMES = {
  data: 'data',
  run: 'run',
  serverTls: 'server-tls',
  serverCa: 'server-ca',
  clientCa: 'client-ca',
  replicationTls: 'replication-tls',
  systemUsers: 'system-users',
  appUser: 'app-user',
} as const;

const mount = (name: string, mountPath: string, readOnly = true): V1VolumeMount => ({ name, mountPath, ...(readOnly ? { readOnly } : {}) });
const DATA_MOUNTS: V1VolumeMount[] = [mount(VOLUMES.data, PVC_MOUNT, false), mount(VOLUMES.run, RUN_DIR, false)];
const env = (name: string, value: string | number | undefined): V1EnvVar[] =>
  value === undefined || value === '' ? [] : [{ name, value: String(value) }];
const secretVolume = (name: string, secretName: string, keys: readonly string[]): V1Volume => ({
  name,
  secret: { secretName, items: keys.map((key) => ({ key, path: key })) },
});

/** `silo instance init|db`'s environment (INSTANCE_VAR). */
function instanceEnv(input: InstancePodInput): V1EnvVar[] {
  const { primary } = input;
  return [
    ...env(INSTANCE_VAR.cluster, clusterName(input.cluster)),
    ...env(INSTANCE_VAR.instanceName, input.instanceName),
    ...env(INSTANCE_VAR.role, input.role),
    ...(primary
      ? [
          ...env(INSTANCE_VAR.primaryHost, primary.podIp),
          ...env(INSTANCE_VAR.primaryInstanceManager, instanceManagerUrl(primary.podIp, primary.instanceManagerPort)),
          ...env(INSTANCE_VAR.primaryInstanceName, primary.instanceName),
        ]
      : []),
    ...env(INSTANCE_VAR.tlsServerName, instanceManagerServerName(clusterName(input.cluster))),
    ...env(INSTANCE_VAR.bootstrap, input.role === 'primary' ? input.bootstrap : undefined),
    { name: VAR.podIp, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
  ];
}

/** `mariadb-admin ping` answers 0 whenever the server runs, whatever the user may do: a primary and a replica alike. */
const pingProbe = (periodSeconds: number, failureThreshold: number): V1Probe => ({
  exec: { command: ['mariadb-admin', '--no-defaults', `--socket=${SOCKET}`, '--connect-timeout=5', 'ping'] },
  periodSeconds,
  timeoutSeconds: 10,
  failureThreshold,
});

function bootstrapContainer(input: InstancePodInput, image: string): V1Container {
  const replica = input.role === 'replica';
  return {
    name: CONTAINERS.init,
    image,
    command: ['silo', 'instance', 'init'],
    env: instanceEnv(input),
    ...(input.cluster.spec.resources ? { resources: input.cluster.spec.resources as V1ResourceRequirements } : {}),
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [
      ...DATA_MOUNTS,
      ...(replica ? [mount(VOLUMES.serverCa, MOUNTS.serverCa), mount(VOLUMES.replicationTls, MOUNTS.replicationTls)] : []),
    ],
  };
}

function databaseContainer(input: InstancePodInput, image: string): V1Container {
  return {
    name: CONTAINERS.database,
    image,
    command: ['silo', 'instance', 'db'],
    env: [
      ...instanceEnv(input),
      ...env(INSTANCE_VAR.serverId, input.serverId),
      ...env(INSTANCE_VAR.appDatabase, input.role === 'primary' ? input.appDatabase : undefined),
      ...env(INSTANCE_VAR.extraArgs, input.extraArgs?.length ? JSON.stringify(input.extraArgs) : undefined),
    ],
    ports: [{ name: 'mysql', containerPort: MYSQL_PORT, protocol: 'TCP' }],
    // Crash recovery may take long before the socket answers (an hour: 3600 looks); liveness starts only after it did.
    // Every second: readiness starts only once this succeeds, so a server up in 1 s was Ready only after the next look,
    // 5 s later, for every start, restart, clone and recovery (decision 0023).
    startupProbe: pingProbe(1, 3600),
    readinessProbe: pingProbe(2, 3),
    livenessProbe: pingProbe(10, 6),
    ...(input.cluster.spec.resources ? { resources: input.cluster.spec.resources as V1ResourceRequirements } : {}),
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [
      ...DATA_MOUNTS,
      mount(VOLUMES.systemUsers, MOUNTS.systemUsers),
      ...(input.secrets.appUser && input.role === 'primary' ? [mount(VOLUMES.appUser, MOUNTS.appUser)] : []),
    ],
  };
}

function instanceManagerContainer(image: string): V1Container {
  const password = (key: keyof typeof SYSTEM_USERS) => `${MOUNTS.systemUsers}/${key}`;
  return {
    name: CONTAINERS.instanceManager,
    image,
    command: ['silo', 'instance-manager'],
    env: encodeInstanceManagerEnv({
      port: INSTANCE_MANAGER_PORT,
      tls: { certFile: `${MOUNTS.serverTls}/tls.crt`, keyFile: `${MOUNTS.serverTls}/tls.key`, clientCaFile: `${MOUNTS.clientCa}/ca.crt` },
      connection: { socket: SOCKET, user: SYSTEM_USERS.manager, passwordFile: password('manager') },
      backupUser: { user: SYSTEM_USERS.backup, passwordFile: password('backup') },
      replicationUser: { user: SYSTEM_USERS.replication, passwordFile: password('replication') },
      podName: true,
      host: { fromPodIp: true },
    }),
    ports: [{ name: INSTANCE_MANAGER_PORT_NAME, containerPort: INSTANCE_MANAGER_PORT, protocol: 'TCP' }],
    readinessProbe: { tcpSocket: { port: INSTANCE_MANAGER_PORT }, periodSeconds: 2, failureThreshold: 3 },
    terminationMessagePolicy: 'FallbackToLogsOnError',
    volumeMounts: [
      ...DATA_MOUNTS,
      mount(VOLUMES.serverTls, MOUNTS.serverTls),
      mount(VOLUMES.clientCa, MOUNTS.clientCa),
      mount(VOLUMES.systemUsers, MOUNTS.systemUsers),
    ],
  };
}

function volumes(input: InstancePodInput): V1Volume[] {
  const { secrets } = input;
  const replica = input.role === 'replica';
  return [
    { name: VOLUMES.data, persistentVolumeClaim: { claimName: input.instanceName } },
    { name: VOLUMES.run, emptyDir: {} },
    secretVolume(VOLUMES.serverTls, secrets.serverTLS, ['tls.crt', 'tls.key']),
    secretVolume(VOLUMES.clientCa, secrets.clientCA, ['ca.crt']),
    secretVolume(VOLUMES.systemUsers, secrets.systemUsers, Object.keys(SYSTEM_USERS)),
    ...(replica
      ? [
          secretVolume(VOLUMES.serverCa, secrets.serverCA, ['ca.crt']),
          secretVolume(VOLUMES.replicationTls, secrets.replicationTLS, ['tls.crt', 'tls.key']),
        ]
      : []),
    ...(secrets.appUser && input.role === 'primary' ? [secretVolume(VOLUMES.appUser, secrets.appUser, ['username', 'password'])] : []),
  ];
}

export function instancePod(input: InstancePodInput): V1Pod {
  const { cluster } = input;
  if (input.role === 'replica' && !input.primary) throw new Error(`instance ${input.instanceName} is a replica: give it its primary`);
  const image = cluster.spec.imageName ?? input.image;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: input.instanceName,
      namespace: clusterNamespace(cluster),
      labels: { ...instanceLabels(cluster, input.instanceName), [LABELS.instanceRole]: input.role },
      annotations: { [ANNOTATIONS.serverId]: String(input.serverId), [ANNOTATIONS.serial]: String(input.serial) },
      ownerReferences: [input.owner],
    },
    spec: {
      terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
      // The image's user (999) owns the volume; OnRootMismatch skips the recursive chown of a large datadir.
      securityContext: { fsGroup: INSTANCE_FS_GROUP, fsGroupChangePolicy: 'OnRootMismatch' },
      enableServiceLinks: false,
      // Nothing in the Pod calls the Kubernetes API.
      automountServiceAccountToken: false,
      ...(cluster.spec.imagePullSecrets?.length ? { imagePullSecrets: cluster.spec.imagePullSecrets.map((p) => ({ name: p.name })) } : {}),
      ...(cluster.spec.tolerations?.length ? { tolerations: cluster.spec.tolerations as V1Toleration[] } : {}),
      initContainers: [bootstrapContainer(input, image)],
      containers: [databaseContainer(input, image), instanceManagerContainer(image)],
      volumes: volumes(input),
    },
  };
}
