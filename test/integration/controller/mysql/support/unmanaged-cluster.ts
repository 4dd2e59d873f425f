/**
 * Annotations of a Cluster whose instances a test makes by hand (support/instance-pods.ts): the
 * Cluster reconciler leaves it alone (its reconciliation is paused), while Backups, ScheduledBackups
 * and retention work on it as on any other.
 */
import { RECONCILIATION_ANNOTATION } from '../../../../../runtime/controller/mysql/cluster/cluster-scope.js';

export const UNMANAGED_CLUSTER = { [RECONCILIATION_ANNOTATION]: 'disabled' };
