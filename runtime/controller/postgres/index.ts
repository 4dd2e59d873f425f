/** Reconcilers of postgres.silo.io (seed 001): PGCluster, PGBackup and PGRestore (in place). */
import type { Reconciler } from '../reconciler.js';
import { PGBackupReconciler } from './backup/pg-backup-reconciler.js';
import { PGClusterReconciler } from './cluster/pg-cluster-reconciler.js';
import { PGInPlaceRestoreReconciler } from './restore/pg-inplace-restore-reconciler.js';

export const postgresReconcilers = (): Reconciler[] => [
  new PGClusterReconciler(),
  new PGBackupReconciler(),
  new PGInPlaceRestoreReconciler(),
];
