/** Every reconciler the operator runs, one per kind. The manager starts them all. */
import type { Reconciler } from './reconciler.js';
import { backupOperatorReconcilers } from './backup-operator/index.js';
import { mysqlReconcilers } from './mysql/index.js';
import { postgresReconcilers } from './postgres/index.js';

export const allReconcilers = (): Reconciler[] => [...mysqlReconcilers(), ...postgresReconcilers(), ...backupOperatorReconcilers()];
