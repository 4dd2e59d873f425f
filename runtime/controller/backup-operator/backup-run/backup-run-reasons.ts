/**
 * Every reason a backup-operator.io BackupRun reports (`status.reason`, its
 * conditions, its Events), for the backup, the restore and retainPolicy Delete
 * (docs/decisions/0213-backup-operator-reasons.md). The worker's failure
 * classes map onto these in backup-run-outcome.ts.
 */
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';
import { CREDENTIALS_REASON_TABLE } from '../backup-storage/backup-storage-reasons.js';

export const BACKUP_RUN_REASON_TABLE = {
  // Progress and success
  Started: { sentence: 'the backup Pod started' },
  Completed: { sentence: 'the backup was stored' },
  // Before the Pod
  StorageNotFound: {
    sentence: 'the BackupStorage named in spec.storage.name does not exist or is being deleted',
    fix: 'create it or fix spec.storage.name',
  },
  StorageNotReady: { sentence: 'the BackupStorage reports NotReady', fix: "fix what the storage's Ready condition names" },
  ...CREDENTIALS_REASON_TABLE,
  CredentialsCopyFailed: {
    sentence: 'the credentials Secret is in another namespace and could not be copied',
    fix: "grant the operator create/delete on secrets or put the Secret in the run's namespace",
  },
  PathTemplateInvalid: { sentence: 'spec.storage.path does not render to an object key', fix: 'fix the template' },
  PodRejected: { sentence: 'the API server rejected the Pod built from spec.template', fix: 'fix spec.template' },
  // From the worker's result (backup)
  CommandFailed: { sentence: "the user's backup command failed", fix: "read the command container's log" },
  AccessDenied: { sentence: 'the store refused the credentials', fix: 'check the keys in the credentials Secret and their permissions' },
  EndpointUnreachable: { sentence: 'the store could not be reached', fix: 'check spec.parameters.endpoint and the network path' },
  BucketNotFound: { sentence: 'the bucket or container does not exist', fix: 'create it or fix the storage parameters' },
  StorageFull: { sentence: 'the store is full' },
  DeadlineExceeded: {
    sentence: 'the backup or restore ran past deadlineSeconds',
    fix: 'raise deadlineSeconds or check why the command is slow',
  },
  WorkerConfigInvalid: { sentence: 'the worker rejected its configuration' },
  UploadFailed: { sentence: 'the upload failed' },
  // From the Pod
  PodLost: { sentence: 'the Pod disappeared before its worker reported', fix: 'check who deleted it and retry with a new run' },
  PodFailed: { sentence: 'the Pod failed before its worker reported', fix: "check the Pod's events" },
  // Restore
  Restoring: { sentence: 'the restore is running' },
  RestoreStarted: { sentence: 'the restore Pod started' },
  Restored: { sentence: 'the backup was streamed into the restore command and its checksum matched' },
  RestoreCommandFailed: { sentence: "the user's restore command failed", fix: "read the restore container's log" },
  ChecksumMismatch: { sentence: 'the stored bytes do not match their checksum' },
  DecryptionFailed: { sentence: 'the age identity could not decrypt the backup', fix: 'check spec.encryption.age.identitySecretRef' },
  BackupObjectNotFound: { sentence: 'the stored backup object is gone' },
  RestoreFailed: { sentence: 'the restore failed' },
  // Condition Restorable (refusals double as RestoreFailed reasons)
  Restorable: { sentence: 'the run can be restored', fix: 'annotate the run with backup-operator.io/restore="true" to restore it' },
  BackupNotCompleted: { sentence: 'the backup did not complete, so there is nothing to restore' },
  NoRestoreCommand: { sentence: 'spec.restore is not set', fix: 'add a restore command' },
  NoDecryptionKey: {
    sentence: 'the backup is age-encrypted and no identity is referenced',
    fix: 'set spec.encryption.age.identitySecretRef',
  },
  // Conditions Compressed and Encrypted
  Gzip: { sentence: 'the stream was compressed with gzip' },
  Zstd: { sentence: 'the stream was compressed with zstd' },
  NotCompressed: { sentence: 'the stream was stored uncompressed' },
  Age: { sentence: 'the stream was encrypted with age' },
  NotEncrypted: { sentence: 'the stream was stored unencrypted', fix: 'set spec.encryption.age to encrypt it' },
  // retainPolicy: Delete (Events)
  CleanupStarted: { sentence: 'a cleanup Pod is removing the stored object' },
  CleanupCompleted: { sentence: 'the stored object and its metadata.json were removed' },
  CleanupFailed: { sentence: 'the cleanup Pod could not remove the stored object; it is retried' },
  CleanupBlocked: { sentence: 'the stored object cannot be removed now', fix: 'fix the storage, or remove the finalizer to keep the data' },
} as const satisfies ReasonTable;

export const BACKUP_RUN_REASONS = reasonsOf(BACKUP_RUN_REASON_TABLE);
