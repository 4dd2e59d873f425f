/** Event reasons of the retention reconciler (Cluster and Backup Events). */
export const RETENTION_REASONS = {
  /** Normal, Cluster: a prune Job started, with the counts. */
  pruneStarted: 'PruneStarted',
  /** Normal, Cluster: expired backups are gone from the store and the API. */
  backupsExpired: 'BackupsExpired',
  /** Warning, Cluster: a prune Job failed; the Backups stay and the next run retries. */
  pruneFailed: 'PruneFailed',
  /** Warning, Cluster: retentionPolicy unusable (only when the CRD did not already refuse it). */
  invalidRetentionPolicy: 'InvalidRetentionPolicy',
  /** Normal, Backup: its objects were deleted because it opted in to remote deletion. */
  remoteDataDeleted: 'RemoteDataDeleted',
  /** Warning, Backup: remote deletion was asked for but cannot happen; the objects stay. */
  remoteDataLeft: 'RemoteDataLeft',
  /** Warning, Backup: an expired backup cannot be pruned (no store, foreign bucket). */
  expiryBlocked: 'ExpiryBlocked',
} as const;
