/**
 * Every reason a mysql.cloudnative-mysql.io Cluster reports: its phase reasons
 * (Initializing … ScalingDown), its instances' reasons, and every way recovery
 * can refuse or fail (seed 003's "Restore from a backup", "Restore from raw
 * object store" and "Failure surfaces"). Each is the condition reason, the
 * Event reason and `status.recovery.reason` / `status.phaseReason`'s reason; the
 * message says what happened and the fix (docs/decisions/0251-reasons-one-table-per-kind.md).
 *
 * Recovery reasons fall in three groups: decided from the spec alone
 * (recovery-resolve.ts validateRecoverySpec), decided while resolving what to
 * restore (resolveFromBackup, resolveFromObjectStore, checkDestination), and
 * reported by the restore worker (failureFromRestoreWorker below).
 */
import type { ExitReason } from '../../../contracts/worker-result.js';
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';

/** Phases and instance states: progress, health and the problems of a running Cluster. */
export const CLUSTER_STATE_REASON_TABLE = {
  Initializing: { sentence: 'the first instance is initialising an empty database' },
  WaitingForPreviousCluster: {
    sentence:
      'a Cluster of the same name was deleted and the garbage collector has not removed its Pods, PVCs, Jobs, Services or Secrets yet',
    fix: 'nothing to do: the Cluster starts once they are gone; delete a Cluster with propagationPolicy Foreground to avoid the wait',
  },
  Recovering: { sentence: 'the first instance is being restored from a backup before it starts as the primary' },
  Cloning: { sentence: 'a replica is cloning its data from the primary before it joins' },
  Healthy: { sentence: 'every instance is ready and every replica replicates from the primary' },
  Degraded: {
    sentence: 'some instances are not ready',
    fix: "read the instance's reason in status.instancesStatus and its Pod's Events and log",
  },
  ReplicationStopped: {
    sentence: "a replica's SQL or IO replication thread is stopped, with or without an error",
    fix: "read the replica's last replication error in status.instancesStatus; fix its cause, or delete the replica's PVC and Pod so it clones again",
  },
  ErrantTransactions: {
    sentence: 'a replica holds GTIDs the primary never wrote, so it cannot follow the primary',
    fix: 'find who wrote on the replica; delete its PVC and Pod so it clones again from the primary',
  },
  PkiInvalid: {
    sentence: "the instance manager's mTLS certificates are missing, expired or not signed by the configured CAs",
    fix: 'fix the Secrets named in spec.certificates, or remove spec.certificates to let the operator manage them',
  },
  ScalingDown: { sentence: 'instances above spec.instances are being removed, highest serial first, never the primary' },
  PrimaryVolumeLost: {
    sentence: "the primary's PVC is gone, so its data is gone",
    fix: 'recover a new Cluster from a backup (bootstrap.recovery); the operator never initialises an empty primary over lost data',
  },
  InstanceNotReady: { sentence: "an instance's Pod is not Ready", fix: "read the Pod's Events and its containers' logs" },
  StatusUnavailable: {
    sentence: 'an instance manager did not answer /status over mTLS',
    fix: "check the instance manager container's log and the Cluster's certificates",
  },
  NotReplicating: {
    sentence: 'a replica has no replication configured',
    fix: 'delete its PVC and Pod so it clones again from the primary',
  },
  // Events of progress (never a failure)
  RecoveryResolved: { sentence: 'what recovery restores is decided and recorded in status.recovery' },
  RecoveryRestored: { sentence: "the first instance's datadir is restored; it starts as the primary" },
  RecoveryCompleted: { sentence: 'the recovered primary accepts connections; status.recovery.rtoSeconds is the measured recovery time' },
  ReplicaCloning: { sentence: 'a replica is created and clones from the primary' },
  InstanceDeleted: { sentence: "an instance's Pod was deleted (scale-down, a failed Pod, or a lost volume)" },
  InstanceVolumeDeleted: { sentence: "an instance's PVC was deleted (scale-down)" },
} as const satisfies ReasonTable;

/** Recovery: what to restore, where the data lives, and what went wrong moving it. */
export const RECOVERY_REASON_TABLE = {
  // From the spec alone
  RecoverySpecInvalid: {
    sentence: 'spec.bootstrap.recovery does not name exactly one of backup or source, or pins a backupID without a source',
    fix: 'set exactly one of bootstrap.recovery.backup or bootstrap.recovery.source; backupID only with source',
  },
  RecoverySourceNotFound: {
    sentence: 'spec.bootstrap.recovery.source names no entry of spec.externalClusters',
    fix: 'add an externalClusters entry with that name (the key prefix of its backups) or fix the source',
  },
  RecoverySourceHasNoObjectStore: {
    sentence: 'the externalClusters entry recovery reads from has no objectStore',
    fix: 'give the entry an objectStore with the bucket, path and credentials its backups were written with',
  },
  RecoveryTargetUnsupported: {
    sentence: 'point-in-time recovery needs an archive of binlogs, and Silo does not archive binlogs yet',
    fix: "remove spec.bootstrap.recovery.recoveryTarget to recover to the backup's consistent point (its end GTID)",
  },
  // Resolving what to restore, before any data moves
  BackupNotFound: {
    sentence: 'spec.bootstrap.recovery.backup names no Backup in the namespace',
    fix: 'fix backup.name, or recover from the object store with bootstrap.recovery.source',
  },
  BackupNotCompleted: {
    sentence: 'the Backup is still pending or running',
    fix: 'wait: recovery starts when it completes; or name a completed Backup',
  },
  BackupFailed: { sentence: 'the Backup failed, so it holds nothing to restore', fix: 'name a completed Backup' },
  BackupExpired: {
    sentence: 'the Backup is expired by retention or being deleted, so its objects are (being) removed',
    fix: 'name a completed Backup that is kept, or recover from the object store with bootstrap.recovery.source',
  },
  BackupLocationUnknown: {
    sentence: "the Backup's status or object store does not say where its data lives",
    fix: "recover with bootstrap.recovery.source and an externalClusters entry whose objectStore has the bucket and path of the Backup's status.destinationPath",
  },
  BackupChainIncomplete: {
    sentence: 'an incremental or differential backup needs parents that are missing or not complete',
    fix: 'pick another backup whose chain back to its full backup is complete',
  },
  BackupIncomplete: {
    sentence: 'the pinned backup has no valid metadata.json or its data object is missing or the wrong size',
    fix: 'pin another backupID, or leave it empty for the latest complete backup',
  },
  NoCompleteBackups: {
    sentence: 'no complete backup (data object plus a valid metadata.json) is under the source prefix',
    fix: "check the entry's objectStore bucket and path and its name (the key prefix)",
  },
  BackupIDNotFound: {
    sentence: 'the pinned backupID is not under the source prefix',
    fix: 'set spec.bootstrap.recovery.backupID to one of the IDs present, or empty for the latest',
  },
  DestinationNotEmpty: {
    sentence: "the new Cluster's backup destination already holds backups of another lineage",
    fix: 'change spec.backup.objectStore.path, or set spec.backup.continueLineage: true if this Cluster continues those backups',
  },
  DestinationIsRecoverySource: {
    sentence: "the recovered Cluster's backups would be written under its recovery source's prefix",
    fix: "change spec.backup.objectStore.path (or the Cluster's name) so its destination is outside the source's",
  },
  // Object store, while resolving or restoring
  ObjectStoreUnreachable: { sentence: 'the object store could not be reached', fix: 'check the endpoint and the network path' },
  ObjectStoreAccessDenied: {
    sentence: 'the object store refused the credentials',
    fix: 'check the Secret keys named in objectStore.credentials (azure.credentials, gcs.credentials) and their permissions on the bucket',
  },
  ObjectStoreBucketNotFound: {
    sentence: 'the bucket does not exist',
    fix: 'fix objectStore.bucket, azure.container or gcs.bucket (and the endpoint)',
  },
  ObjectStoreFailed: { sentence: 'the object store answered with an error', fix: 'check the object store; recovery is retried' },
  // Reported by the restore worker
  StoredDataDamaged: {
    sentence: "a stored data object does not match its SHA256 or an age chunk's authentication: the stored object is damaged",
    fix: 'recover from another backup (pin an older backupID or name another Backup)',
  },
  DecryptionFailed: {
    sentence: "the age identity is missing or wrong: the backup's age header does not open",
    fix: 'set objectStore.encryption.age.identitySecretRef to the identity of a recipient the backups were encrypted to',
  },
  PrepareFailed: {
    sentence: 'XtraBackup (mariabackup) prepare failed on the restored files',
    fix: "read the restore Job's log; use an instance image whose server version matches the backup",
  },
  VolumeFull: {
    sentence: "the first instance's volume filled up while the backup was restored",
    fix: "raise spec.storage.size to at least 1.1 times the backup's datadir, then delete the Cluster and create it again",
  },
  CopyBackFailed: {
    sentence: 'copying the prepared backup into the data directory failed',
    fix: "read the restore Job's log; check the data volume's size and permissions",
  },
  RecoveryInterrupted: {
    sentence: 'the restore stopped before it finished (Pod deleted, node lost, deadline)',
    fix: 'nothing to do: recovery restarts from the same resolved backup; if it repeats, read the Events of the restore Job',
  },
} as const satisfies ReasonTable;

export const CLUSTER_REASON_TABLE = { ...CLUSTER_STATE_REASON_TABLE, ...RECOVERY_REASON_TABLE } as const satisfies ReasonTable;

export const CLUSTER_REASONS = reasonsOf(CLUSTER_REASON_TABLE);

export type ClusterReason = keyof typeof CLUSTER_REASON_TABLE;
export type RecoveryReason = keyof typeof RECOVERY_REASON_TABLE;

/** A refusal or failure: the reason plus one sentence saying what happened and what to fix. Never carries a secret value. */
export interface Failure {
  readonly reason: ClusterReason;
  readonly message: string;
}

/** Keeps a message to one line of bounded length. */
const oneLine = (text: string, max = 1000): string => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/**
 * Builds a Failure: `what` says what happened in this case (names, keys, IDs);
 * the fix is the table's unless `fix` says it more precisely (pass '' for none).
 */
export function failure(reason: ClusterReason, what: string, fix?: string): Failure {
  const entry = CLUSTER_REASON_TABLE[reason] as { readonly fix?: string };
  const tail = fix ?? entry.fix;
  return { reason, message: oneLine(tail ? `${what}; ${tail}` : what) };
}

export const isFailure = (value: unknown): value is Failure =>
  typeof value === 'object' && value !== null && 'reason' in value && 'message' in value;

/**
 * Maps the restore worker's failure class (runtime/contracts/worker-result.ts) to a recovery
 * reason; its sentence follows. Within a class the worker's sentence tells the cases apart:
 * `decryption` covers both a header that does not open and a chunk that fails authentication,
 * `restoreFailed` covers extract, prepare and copy-back. Undefined for a class with no reason
 * of its own here (config, deadline, other …): the caller decides (RecoveryInterrupted, retry).
 */
export function failureFromRestoreWorker(worker: { readonly reason: ExitReason | string; readonly error: string }): Failure | undefined {
  const byClass: Partial<Record<string, RecoveryReason>> = {
    auth: 'ObjectStoreAccessDenied',
    network: 'ObjectStoreUnreachable',
    notFound: 'BackupIncomplete',
    checksumMismatch: 'StoredDataDamaged',
    decryption: 'DecryptionFailed',
    interrupted: 'RecoveryInterrupted',
    deadline: 'RecoveryInterrupted',
    // physical-restore.ts names the step: `<tool> --prepare of …` or `<tool> --copy-back into …`.
    restoreFailed: /--copy-back/.test(worker.error) ? 'CopyBackFailed' : 'PrepareFailed',
    prepareFailed: 'PrepareFailed',
    copyBackFailed: 'CopyBackFailed',
    volumeFull: 'VolumeFull',
  };
  const reason = byClass[worker.reason];
  if (!reason) return undefined;
  const what = reason === 'BackupIncomplete' ? `an object of the resolved backup is gone: ${worker.error}` : worker.error;
  return failure(reason, what);
}
