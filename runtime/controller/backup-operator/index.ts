/** Reconcilers of backup-operator.io (seeds 002 and 004): BackupStorage, BackupRun, BackupSchedule. */
import type { Reconciler } from '../reconciler.js';

export const backupOperatorReconcilers = (): Reconciler[] => [];
