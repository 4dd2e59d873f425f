/** The kinds the controller reads and writes, as REST coordinates. */
import type { KindRef } from '../reconciler.js';

const mysql = (kind: string, plural: string): KindRef => ({ group: 'mysql.cloudnative-mysql.io', version: 'v1alpha1', plural, kind, namespaced: true });
const backupOperator = (kind: string, plural: string, namespaced = true): KindRef => ({ group: 'backup-operator.io', version: 'v1', plural, kind, namespaced });

export const KINDS = {
  Cluster: mysql('Cluster', 'clusters'),
  Backup: mysql('Backup', 'backups'),
  ScheduledBackup: mysql('ScheduledBackup', 'scheduledbackups'),
  BackupStorage: backupOperator('BackupStorage', 'backupstorages', false),
  BackupRun: backupOperator('BackupRun', 'backupruns'),
  BackupSchedule: backupOperator('BackupSchedule', 'backupschedules'),
  Job: { group: 'batch', version: 'v1', plural: 'jobs', kind: 'Job', namespaced: true },
  Pod: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  Secret: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  Lease: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
} as const satisfies Record<string, KindRef>;

export const apiVersionOfKind = (kind: KindRef): string => (kind.group ? `${kind.group}/${kind.version}` : kind.version);
