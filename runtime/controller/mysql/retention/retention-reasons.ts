/**
 * Every reason the retention reconciler reports, on the Cluster and on its
 * Backups (Events only: retention has no status of its own).
 * docs/decisions/0233-retention-window.md, 0234-remote-deletion-opt-in.md, 0235-prune-job.md.
 */
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';

export const RETENTION_REASON_TABLE = {
  /** Normal, Cluster. */
  PruneStarted: { sentence: 'a prune Job started deleting a batch of backups from the object store' },
  /** Normal, Cluster. */
  BackupsExpired: { sentence: 'expired backups are gone from the object store and the API' },
  /** Warning, Cluster: the Backups stay and the prune is retried. */
  PruneFailed: { sentence: 'a prune Job could not delete some backups', fix: 'check the object store and its credentials' },
  /** Warning, Cluster: only when the CRD did not already refuse it. */
  InvalidRetentionPolicy: {
    sentence: 'spec.backup.retentionPolicy is not a recovery window',
    fix: 'use a number followed by d, w or m, e.g. 30d',
  },
  /** Normal, Backup. */
  RemoteDataDeleted: { sentence: "the backup's objects were deleted because it opted in to remote deletion" },
  /** Warning, Backup: the objects stay in the store. */
  RemoteDataLeft: { sentence: 'remote deletion was asked for but cannot happen', fix: 'delete the objects by hand' },
  /** Warning, Backup: no store, or a foreign bucket. */
  ExpiryBlocked: { sentence: 'an expired backup cannot be pruned', fix: 'configure the object store the backup was written to' },
} as const satisfies ReasonTable;

export const RETENTION_REASONS = reasonsOf(RETENTION_REASON_TABLE);
