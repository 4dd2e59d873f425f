/** Reconcilers of mysql.cloudnative-mysql.io (seed 003): Cluster, Backup, ScheduledBackup, Cluster backup retention. */
import type { Reconciler } from '../reconciler.js';
import { BackupReconciler } from './backup/backup-reconciler.js';
import { ClusterReconciler } from './cluster/cluster-reconciler.js';
import { retentionReconciler } from './retention/retention-reconciler.js';
import { scheduledBackupReconciler } from './scheduled-backup/scheduled-backup-reconciler.js';

export const mysqlReconcilers = (): Reconciler[] => [
  new ClusterReconciler(),
  new BackupReconciler(),
  scheduledBackupReconciler(),
  retentionReconciler(),
];
