/**
 * The worker Job of one Backup (docs/decisions/0222-backup-job-shape.md):
 * `silo backup physical` in the Cluster's instance image, one attempt
 * (backoffLimit 0), a hard activeDeadlineSeconds, the Cluster's pod settings,
 * the client certificate and store credentials by Secret reference only.
 */
import type { V1Job, V1EnvVar, V1PodSpec, V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';
import type { ObjectStore } from '../../../../src/api/common/types.js';
import type { BackupResource, ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { CLUSTER_LABEL, type SelectedSource } from './backup-source.js';
import { storeEnv } from './backup-store.js';
import { encodeWorkerEnv } from '../../../contracts/worker-env.js';
import { MYSQL_ENGINE } from '../../../contracts/engines.js';
import { cutName, MANAGED_BY } from '../../kube/names.js';

export const BACKUP_LABEL = 'mysql.cloudnative-mysql.io/backup';
export const COMPONENT_LABEL = 'app.kubernetes.io/component';
/** The manager's Job watch narrows on this; the Jobs' Pods carry the same labels. */
export const JOB_SELECTOR = `app.kubernetes.io/managed-by=silo,${BACKUP_LABEL}`;
/** On the worker Pod: the Backup's whole name (BACKUP_LABEL's value is cut to 63 characters), so the Pod maps to it. */
export const BACKUP_POD_ANNOTATION = 'mysql.cloudnative-mysql.io/backup-name';
/** The worker stops itself this long before the Job's hard deadline, so it can abort the upload and say why. */
export const WORKER_DEADLINE_MARGIN_SECONDS = 15;
export const DEFAULT_DEADLINE_SECONDS = 21_600;
export const CLIENT_TLS_DIR = '/var/run/silo/client-tls';
export const SERVER_CA_DIR = '/var/run/silo/server-ca';

/** Where the backup goes and under which ID; persisted in status before the Job exists. */
export interface BackupPlan {
  readonly backupId: string;
  readonly jobName: string;
  readonly dataKey: string;
  readonly metadataKey: string;
  readonly type: 'full' | 'differential' | 'incremental';
  readonly parentBackupId?: string;
  readonly incrementalLsn?: string;
}

/** PKI Secret names: the Cluster's spec.certificates, else the names the operator will create. */
export function pkiSecrets(cluster: ClusterResource): { serverCA: string; clientTLS: string } {
  const name = (cluster.metadata as { name: string }).name;
  return {
    serverCA: cluster.spec.certificates?.serverCASecret ?? `${name}-server-ca`,
    clientTLS: cluster.spec.certificates?.clientTLSSecret ?? `${name}-client-tls`,
  };
}

/** The DNS name every instance manager's server certificate carries, whatever the pod IP. */
export const instanceManagerServerName = (cluster: string): string => `${cluster}-instance-manager`;

/**
 * Job name: the Backup name (cut to fit) plus the lower-cased backup ID; at most 63 characters.
 * Cut without the hash boundedName adds: a long Backup name would otherwise give a different Job
 * name than earlier releases gave it, and an operator upgraded mid-backup would not find its Job.
 */
export function jobNameFor(backupName: string, backupId: string): string {
  const suffix = `-${backupId.toLowerCase()}`;
  return `${cutName(backupName, 63 - suffix.length)}${suffix}`;
}

/** The backup label is the Backup name cut to 63 characters (not labelValue's hash), as earlier releases wrote it. */
export function jobLabels(backupName: string, cluster: string): Record<string, string> {
  return {
    ...MANAGED_BY,
    [COMPONENT_LABEL]: 'backup',
    [CLUSTER_LABEL]: cluster,
    [BACKUP_LABEL]: cutName(backupName, 63),
  };
}

export interface JobInput {
  readonly backup: BackupResource;
  readonly cluster: ClusterResource;
  readonly store: ObjectStore;
  readonly source: SelectedSource;
  readonly plan: BackupPlan;
  readonly workerImage: string;
}

type StoreEnv = ReturnType<typeof storeEnv>;

/** The worker's environment: the store's credentials and codec, then the plan and the mTLS files (runtime/contracts/worker-env.ts). */
function backupWorkerEnv(input: JobInput, store: StoreEnv, deadline: number): V1EnvVar[] {
  const { backup, cluster, source, plan } = input;
  const meta = backup.metadata as { name: string; namespace: string };
  const clusterName = (cluster.metadata as { name: string }).name;
  return [
    ...store.env,
    ...encodeWorkerEnv({
      backupId: plan.backupId,
      backupType: plan.type,
      parentBackupId: plan.parentBackupId,
      incrementalLsn: plan.incrementalLsn,
      dataKey: plan.dataKey,
      metadataKey: plan.metadataKey,
      cluster: clusterName,
      namespace: meta.namespace,
      backupName: meta.name,
      sourceInstance: source.podName,
      deadlineSeconds: Math.max(1, deadline - WORKER_DEADLINE_MARGIN_SECONDS),
      tls: {
        caFile: `${SERVER_CA_DIR}/ca.crt`,
        certFile: `${CLIENT_TLS_DIR}/tls.crt`,
        keyFile: `${CLIENT_TLS_DIR}/tls.key`,
        serverName: instanceManagerServerName(clusterName),
      },
      engine: MYSQL_ENGINE.name,
      podName: true,
    }),
  ];
}

/** The Pod: the Cluster's pod settings, one `backup` container, the client certificate, the server CA and the store's files. */
function backupPodSpec(input: JobInput, store: StoreEnv, env: V1EnvVar[]): V1PodSpec {
  const { cluster, source } = input;
  const pki = pkiSecrets(cluster);
  return {
    restartPolicy: 'Never',
    ...(cluster.spec.serviceAccountName ? { serviceAccountName: cluster.spec.serviceAccountName } : {}),
    ...(cluster.spec.imagePullSecrets?.length ? { imagePullSecrets: cluster.spec.imagePullSecrets.map((p) => ({ name: p.name })) } : {}),
    ...(cluster.spec.tolerations?.length ? { tolerations: cluster.spec.tolerations as V1Toleration[] } : {}),
    containers: [
      {
        name: 'backup',
        image: cluster.spec.imageName ?? input.workerImage,
        command: ['silo', 'backup', 'physical', '--instance-manager', source.instanceManagerUrl],
        env,
        ...(cluster.spec.backup?.resources ? { resources: cluster.spec.backup.resources as V1ResourceRequirements } : {}),
        terminationMessagePolicy: 'FallbackToLogsOnError',
        volumeMounts: [
          { name: 'client-tls', mountPath: CLIENT_TLS_DIR, readOnly: true },
          { name: 'server-ca', mountPath: SERVER_CA_DIR, readOnly: true },
          ...store.mounts,
        ],
      },
    ],
    volumes: [
      {
        name: 'client-tls',
        secret: {
          secretName: pki.clientTLS,
          items: [
            { key: 'tls.crt', path: 'tls.crt' },
            { key: 'tls.key', path: 'tls.key' },
          ],
        },
      },
      { name: 'server-ca', secret: { secretName: pki.serverCA, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      ...store.volumes,
    ],
  };
}

export function renderBackupJob(input: JobInput): V1Job {
  const { backup, cluster, store, source, plan } = input;
  const meta = backup.metadata as { name: string; namespace: string; uid: string };
  const clusterName = (cluster.metadata as { name: string }).name;
  const deadline = backup.spec.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS;
  const s = storeEnv(store);
  const labels = jobLabels(meta.name, clusterName);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: plan.jobName,
      namespace: meta.namespace,
      labels,
      annotations: { 'mysql.cloudnative-mysql.io/backup-id': plan.backupId, 'mysql.cloudnative-mysql.io/source-instance': source.podName },
      ownerReferences: [
        {
          apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
          kind: 'Backup',
          name: meta.name,
          uid: meta.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      // One attempt: a retry would be a different stream under the same ID (issue 5).
      backoffLimit: 0,
      activeDeadlineSeconds: deadline,
      template: {
        metadata: { labels, annotations: { [BACKUP_POD_ANNOTATION]: meta.name } },
        spec: backupPodSpec(input, s, backupWorkerEnv(input, s, deadline)),
      },
    },
  };
}
