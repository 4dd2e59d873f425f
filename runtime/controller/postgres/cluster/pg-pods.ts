/**
 * The Pods, PVCs and headless Services of a PGCluster, as pure builders (decision 0271):
 * - the primary `<cluster>-1`: `silo pg instance` (PostgreSQL, archive-push, `pgbackrest server`),
 *   PGDATA on its PVC, hostname and subdomain so pgBackRest reaches it by a name its certificate holds,
 *   no storage key, and only the passphrases of encrypted repositories (pgBackRest encrypts WAL there);
 * - the repo host `<cluster>-repo-host`: `silo pg repo-host`, volume repositories on their PVCs, every
 *   storage credential and cipher passphrase as variables from Secret references.
 * A hash of what each Pod is built from is its annotation: a Pod whose hash differs is replaced.
 */
import { createHash } from 'node:crypto';
import type {
  V1EnvVar,
  V1OwnerReference,
  V1PersistentVolumeClaim,
  V1Pod,
  V1Service,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import type { PGClusterSpec } from '../../../../src/api/postgres.silo.io/types.js';
import {
  PG_PORT,
  PG_RUN_DIR,
  PG_SUPERUSER_MOUNT,
  PG_USER_ID,
  PG_TLS_MOUNT,
  PG_VAR,
  PG_VOLUME_MOUNT,
  PGBACKREST_SERVER_PORT,
  PG_REPLICA_VAR,
  REPO_AGENT_PORT,
  pgInstanceName,
  pgNames,
  pgReplicationSlot,
  podDnsName,
  repoCaMount,
  repoGcsKeyMount,
  repoVolumeMount,
} from '../../../contracts/pg-pods.js';
import { MANAGED_BY } from '../../kube/names.js';
import { DEFAULT_PG_IMAGE, PG_LABELS, podLabels } from '../shared/pg-objects.js';
import { instanceCipherEnv, repoHostCredentialEnv, storeCaSecret } from './pgbackrest-config.js';

export const CONFIG_HASH_ANNOTATION = 'postgres.silo.io/config-hash';

export interface PodInput {
  readonly cluster: string;
  readonly namespace: string;
  readonly spec: PGClusterSpec;
  readonly owner: V1OwnerReference;
  /** The rendered pgbackrest.conf (pgbackrest-config.ts). */
  readonly pgbackrestConf: string;
}

/** Fresh PVCs (PGDATA, volume repositories) belong to the image's postgres group; the image already runs as that user. */
const POD_SECURITY = { fsGroup: PG_USER_ID, fsGroupChangePolicy: 'OnRootMismatch' };
const hashOf = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
const mount = (name: string, mountPath: string, readOnly = true): V1VolumeMount => ({ name, mountPath, ...(readOnly ? { readOnly } : {}) });
const podIpEnv: V1EnvVar = { name: PG_VAR.podIp, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } };
const tlsVolume = (secretName: string): V1Volume => ({
  name: 'pgbackrest-tls',
  secret: { secretName, items: ['tls.crt', 'tls.key', 'ca.crt'].map((key) => ({ key, path: key })) },
});

export function withHash(pod: V1Pod): V1Pod {
  pod.metadata!.annotations = { ...pod.metadata!.annotations, [CONFIG_HASH_ANNOTATION]: hashOf(pod.spec) };
  return pod;
}

export const podConfigHash = (pod: { metadata?: { annotations?: Record<string, string> } } | undefined): string | undefined =>
  pod?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];

export const primaryPod = (input: PodInput): V1Pod => instancePod(input, 1);

/**
 * Instance `ordinal`: 1 is the primary; a replica gets the primary's name and its slot (decision 0275)
 * and none of the repositories' passphrases, since it neither archives nor restores from them.
 */
export function instancePod(input: PodInput, ordinal: number): V1Pod {
  const names = pgNames(input.cluster);
  const name = pgInstanceName(input.cluster, ordinal);
  const replica = ordinal > 1;
  const roleEnv: V1EnvVar[] = replica
    ? [
        { name: PG_REPLICA_VAR.primaryHost, value: podDnsName(names.primary, names.instancesService, input.namespace) },
        { name: PG_REPLICA_VAR.slot, value: pgReplicationSlot(name) },
        { name: PG_REPLICA_VAR.instance, value: name },
      ]
    : instanceCipherEnv(input.spec.backups.pgbackrest.repos);
  return withHash({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: input.namespace,
      labels: podLabels(input.cluster, replica ? 'replica' : 'primary'),
      ownerReferences: [input.owner],
    },
    spec: {
      hostname: name,
      subdomain: names.instancesService,
      securityContext: POD_SECURITY,
      terminationGracePeriodSeconds: 60,
      enableServiceLinks: false,
      // Nothing in the Pod calls the Kubernetes API.
      automountServiceAccountToken: false,
      ...(input.spec.imagePullSecrets?.length ? { imagePullSecrets: input.spec.imagePullSecrets } : {}),
      containers: [
        {
          name: 'database',
          image: input.spec.image ?? DEFAULT_PG_IMAGE,
          command: ['silo', 'pg', 'instance'],
          env: [podIpEnv, { name: PG_VAR.pgbackrestConf, value: input.pgbackrestConf }, ...roleEnv],
          ports: [
            { name: 'postgres', containerPort: PG_PORT },
            { name: 'pgbackrest', containerPort: PGBACKREST_SERVER_PORT },
          ],
          // Every second: a primary's Ready is what puts it behind the read-write Service after a start or a restore
          // (the RTO a client sees); a TCP connect a second costs PostgreSQL nothing it logs.
          readinessProbe: { tcpSocket: { port: PG_PORT }, periodSeconds: 1, failureThreshold: 3 },
          ...(input.spec.resources ? { resources: input.spec.resources } : {}),
          terminationMessagePolicy: 'FallbackToLogsOnError',
          volumeMounts: [
            mount('data', PG_VOLUME_MOUNT, false),
            mount('run', PG_RUN_DIR, false),
            mount('pgbackrest-tls', PG_TLS_MOUNT),
            mount('superuser', PG_SUPERUSER_MOUNT),
          ],
        },
      ],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: name } },
        { name: 'run', emptyDir: {} },
        tlsVolume(names.instanceTlsSecret),
        { name: 'superuser', secret: { secretName: names.superuserSecret, items: [{ key: 'password', path: 'password' }] } },
      ],
    },
  });
}

/** Volumes and mounts of the repositories that need files on the repo host: volume PVCs, CA bundles, GCS keys. */
function repoFiles(input: PodInput): { volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  for (const repo of input.spec.backups.pgbackrest.repos) {
    if (repo.volume) {
      volumes.push({ name: `${repo.name}-volume`, persistentVolumeClaim: { claimName: pgNames(input.cluster).repoVolume(repo.name) } });
      mounts.push(mount(`${repo.name}-volume`, repoVolumeMount(repo.name), false));
    }
    const ca = storeCaSecret(repo);
    if (ca) {
      volumes.push({ name: `${repo.name}-ca`, secret: { secretName: ca.name, items: [{ key: ca.key, path: 'ca.crt' }] } });
      mounts.push(mount(`${repo.name}-ca`, repoCaMount(repo.name)));
    }
    const ref = repo.gcs?.credentials?.serviceAccountKey;
    if (ref) {
      volumes.push({ name: `${repo.name}-gcs`, secret: { secretName: ref.name, items: [{ key: ref.key, path: 'key.json' }] } });
      mounts.push(mount(`${repo.name}-gcs`, repoGcsKeyMount(repo.name)));
    }
  }
  return { volumes, mounts };
}

export function repoHostPod(input: PodInput): V1Pod {
  const names = pgNames(input.cluster);
  const pgbackrest = input.spec.backups.pgbackrest;
  const files = repoFiles(input);
  const volumeRepos = pgbackrest.repos.filter((r) => r.volume).map((r) => r.name);
  return withHash({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: names.repoHost,
      namespace: input.namespace,
      labels: podLabels(input.cluster, 'repo-host'),
      ownerReferences: [input.owner],
    },
    spec: {
      hostname: names.repoHost,
      subdomain: names.repoService,
      securityContext: POD_SECURITY,
      terminationGracePeriodSeconds: 30,
      enableServiceLinks: false,
      automountServiceAccountToken: false,
      ...(input.spec.imagePullSecrets?.length ? { imagePullSecrets: input.spec.imagePullSecrets } : {}),
      ...(pgbackrest.repoHost?.tolerations?.length ? { tolerations: pgbackrest.repoHost.tolerations } : {}),
      containers: [
        {
          name: 'repo-host',
          image: pgbackrest.image ?? input.spec.image ?? DEFAULT_PG_IMAGE,
          command: ['silo', 'pg', 'repo-host'],
          env: [
            podIpEnv,
            { name: PG_VAR.pgbackrestConf, value: input.pgbackrestConf },
            { name: PG_VAR.volumeRepos, value: JSON.stringify(volumeRepos) },
            ...repoHostCredentialEnv(pgbackrest.repos),
          ],
          ports: [
            { name: 'pgbackrest', containerPort: PGBACKREST_SERVER_PORT },
            { name: 'agent', containerPort: REPO_AGENT_PORT },
          ],
          readinessProbe: { tcpSocket: { port: REPO_AGENT_PORT }, periodSeconds: 2, failureThreshold: 3 },
          ...(pgbackrest.repoHost?.resources ? { resources: pgbackrest.repoHost.resources } : {}),
          terminationMessagePolicy: 'FallbackToLogsOnError',
          volumeMounts: [mount('run', PG_RUN_DIR, false), mount('pgbackrest-tls', PG_TLS_MOUNT), ...files.mounts],
        },
      ],
      volumes: [{ name: 'run', emptyDir: {} }, tlsVolume(names.repoHostTlsSecret), ...files.volumes],
    },
  });
}

export function pvc(name: string, input: PodInput, size: string, storageClass: string | undefined, role: string): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: input.namespace,
      labels: { ...MANAGED_BY, [PG_LABELS.cluster]: input.cluster, [PG_LABELS.role]: role },
      ownerReferences: [input.owner],
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      ...(storageClass ? { storageClassName: storageClass } : {}),
    },
  };
}

/** The primary's PGDATA volume and each volume repository's. */
export function clusterPvcs(input: PodInput): V1PersistentVolumeClaim[] {
  const names = pgNames(input.cluster);
  return [
    pvc(names.primary, input, input.spec.storage.size, input.spec.storage.storageClass, 'primary'),
    ...input.spec.backups.pgbackrest.repos
      .filter((r) => r.volume)
      .map((r) =>
        pvc(names.repoVolume(r.name), input, r.volume!.volumeClaimSpec.size, r.volume!.volumeClaimSpec.storageClass, 'repo-host'),
      ),
  ];
}

/** Headless Services: with them, cluster DNS answers the Pods' hostname.subdomain names. */
export function clusterServices(input: Pick<PodInput, 'cluster' | 'namespace' | 'owner'>): V1Service[] {
  const names = pgNames(input.cluster);
  const service = (name: string, role: string, port: number): V1Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: input.namespace,
      labels: { ...MANAGED_BY, [PG_LABELS.cluster]: input.cluster },
      ownerReferences: [input.owner],
    },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: { [PG_LABELS.cluster]: input.cluster, [PG_LABELS.role]: role },
      ports: [{ name: 'pgbackrest', port }],
    },
  });
  return [
    service(names.instancesService, 'primary', PGBACKREST_SERVER_PORT),
    service(names.repoService, 'repo-host', PGBACKREST_SERVER_PORT),
  ];
}
