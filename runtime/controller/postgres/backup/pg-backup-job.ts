/**
 * The Job of one PGBackup (`silo pg backup`): one container, the cluster's `silo-pg-backup` client
 * certificate, the agent's pod IP and name, the request. No storage credential: those stay on the
 * repo host. backoffLimit 0 (a retry is a new PGBackup), a hard activeDeadlineSeconds.
 */
import type { V1Job, V1OwnerReference } from '@kubernetes/client-node';
import { PG_TLS_MOUNT, PG_VAR, REPO_AGENT_PORT, pgNames, type BackupRequest } from '../../../contracts/pg-pods.js';
import { boundedName, MANAGED_BY } from '../../kube/names.js';
import {
  DEFAULT_PG_IMAGE,
  PG_BACKUP_POD_ANNOTATION,
  PG_LABELS,
  repoIndex,
  type PGBackupObject,
  type PGClusterObject,
} from '../shared/pg-objects.js';

export const pgBackupJobName = (backup: string): string => boundedName(backup, 'pgbackrest');

/** `<namespace>/<name>/<uid>`: stored with the backup, so `pgbackrest info` finds it again. */
export const backupAnnotation = (backup: PGBackupObject): string =>
  `${backup.metadata.namespace}/${backup.metadata.name}/${backup.metadata.uid}`;

export function backupRequest(backup: PGBackupObject): BackupRequest {
  return {
    repo: repoIndex({ name: backup.spec.repoName }),
    type: backup.spec.type ?? 'incremental',
    annotation: backupAnnotation(backup),
    options: backup.spec.options ?? [],
  };
}

export interface PgBackupJobInput {
  readonly backup: PGBackupObject;
  readonly cluster: PGClusterObject;
  readonly repoHost: { readonly podIp: string; readonly host: string };
  readonly owner: V1OwnerReference;
}

export function pgBackupJob(input: PgBackupJobInput): V1Job {
  const { backup, cluster } = input;
  const names = pgNames(cluster.metadata.name);
  const pgbackrest = cluster.spec.backups.pgbackrest;
  const resources = backup.spec.jobResources ?? pgbackrest.jobs?.resources;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: pgBackupJobName(backup.metadata.name),
      namespace: backup.metadata.namespace,
      labels: { ...MANAGED_BY, [PG_LABELS.cluster]: cluster.metadata.name, [PG_LABELS.backup]: boundedName(backup.metadata.name, '') },
      ownerReferences: [input.owner],
    },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: pgbackrest.jobs?.deadlineSeconds ?? 21_600,
      template: {
        metadata: {
          labels: { ...MANAGED_BY, [PG_LABELS.cluster]: cluster.metadata.name, [PG_LABELS.role]: 'backup' },
          annotations: { [PG_BACKUP_POD_ANNOTATION]: backup.metadata.name },
        },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(cluster.spec.imagePullSecrets?.length ? { imagePullSecrets: cluster.spec.imagePullSecrets } : {}),
          containers: [
            {
              name: 'backup',
              image: pgbackrest.image ?? cluster.spec.image ?? DEFAULT_PG_IMAGE,
              command: ['silo', 'pg', 'backup'],
              env: [
                { name: PG_VAR.agentUrl, value: `https://${input.repoHost.podIp}:${REPO_AGENT_PORT}` },
                { name: PG_VAR.agentServerName, value: input.repoHost.host },
                { name: PG_VAR.backupRequest, value: JSON.stringify(backupRequest(backup)) },
              ],
              ...(resources ? { resources } : {}),
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: [{ name: 'backup-tls', mountPath: PG_TLS_MOUNT, readOnly: true }],
            },
          ],
          volumes: [
            {
              name: 'backup-tls',
              secret: { secretName: names.backupTlsSecret, items: ['tls.crt', 'tls.key', 'ca.crt'].map((key) => ({ key, path: key })) },
            },
          ],
        },
      },
    },
  };
}
