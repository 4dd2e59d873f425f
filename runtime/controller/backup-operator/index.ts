/** Reconcilers of backup-operator.io (seeds 002 and 004): BackupStorage, BackupRun, BackupSchedule. */
import type { Reconciler } from '../reconciler.js';
import { BackupRunReconciler } from './backup-run/backup-run-reconciler.js';
import { BackupScheduleReconciler } from './backup-schedule/backup-schedule-reconciler.js';
import { BackupStorageReconciler } from './backup-storage/backup-storage-reconciler.js';

export const backupOperatorReconcilers = (): Reconciler[] => [
  new BackupStorageReconciler(),
  new BackupRunReconciler(),
  new BackupScheduleReconciler(),
];
