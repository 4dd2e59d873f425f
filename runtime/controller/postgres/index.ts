/** Reconcilers of postgres.silo.io (seed 001): PGCluster and PGBackup. */
import type { Reconciler } from '../reconciler.js';
import { PGBackupReconciler } from './backup/pg-backup-reconciler.js';
import { PGClusterReconciler } from './cluster/pg-cluster-reconciler.js';

export const postgresReconcilers = (): Reconciler[] => [new PGClusterReconciler(), new PGBackupReconciler()];
