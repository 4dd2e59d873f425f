/**
 * Every reason a mysql.cloudnative-mysql.io Backup can end or wait with. Each
 * one is the condition reason, the Event reason and `status.reason`; the
 * sentence in `status.error` says what to fix. Seed 003's "Failure surfaces"
 * map onto these (docs/decisions/0221-backup-failure-reasons.md).
 */
import type { ExitReason } from '../../../contracts/worker-result.js';

export const REASON = {
  // Progress
  Started: 'BackupStarted',
  Completed: 'BackupCompleted',
  WaitingForRunningBackup: 'WaitingForRunningBackup',
  // Decided by the controller before any Job exists
  ClusterNotFound: 'ClusterNotFound',
  ObjectStoreMissing: 'ObjectStoreMissing',
  UnsupportedObjectStoreOption: 'UnsupportedObjectStoreOption',
  UnsupportedMethod: 'UnsupportedMethod',
  NoHealthySource: 'NoHealthySource',
  // Reported by the worker (its termination message / exit code)
  InstanceManagerTLSFailure: 'InstanceManagerTLSFailure',
  InstanceManagerUnreachable: 'InstanceManagerUnreachable',
  InstanceManagerBusy: 'InstanceManagerBusy',
  XtraBackupFailed: 'XtraBackupFailed',
  SourceStreamInterrupted: 'SourceStreamInterrupted',
  ObjectStoreAuthFailed: 'ObjectStoreAuthFailed',
  ObjectStoreUnreachable: 'ObjectStoreUnreachable',
  ObjectStoreBucketNotFound: 'ObjectStoreBucketNotFound',
  ObjectStoreFull: 'ObjectStoreFull',
  ChecksumMismatch: 'ChecksumMismatch',
  EncryptionFailed: 'EncryptionFailed',
  InvalidWorkerConfiguration: 'InvalidWorkerConfiguration',
  DeadlineExceeded: 'DeadlineExceeded',
  WorkerFailed: 'WorkerFailed',
  // Seen on the Job or its Pod
  JobCannotStart: 'JobCannotStart',
  JobFailed: 'JobFailed',
  JobDeleted: 'JobDeleted',
  MetadataInvalid: 'MetadataInvalid',
} as const;

export type Reason = (typeof REASON)[keyof typeof REASON];

/** A terminal failure: the reason plus one sentence naming the fix. Never carries a secret value. */
export interface Failure {
  readonly reason: Reason;
  readonly message: string;
}

/** The failed worker's JSON line: `{outcome: 'failed', reason, error}`. */
export interface WorkerFailure {
  readonly reason: ExitReason | string;
  readonly error: string;
}

/**
 * Maps a worker failure to a Backup reason by its class alone (runtime/contracts/worker-result.ts):
 * a busy, unreachable or TLS-failing instance manager and a cut stream each have their own class.
 */
export function failureFromWorker(worker: WorkerFailure): Failure {
  const error = oneLine(worker.error);
  const family: Record<string, Reason> = {
    config: REASON.InvalidWorkerConfiguration,
    auth: REASON.ObjectStoreAuthFailed,
    network: REASON.ObjectStoreUnreachable,
    notFound: REASON.ObjectStoreBucketNotFound,
    storageFull: REASON.ObjectStoreFull,
    checksumMismatch: REASON.ChecksumMismatch,
    deadline: REASON.DeadlineExceeded,
    decryption: REASON.EncryptionFailed,
    tls: REASON.InstanceManagerTLSFailure,
    unreachable: REASON.InstanceManagerUnreachable,
    busy: REASON.InstanceManagerBusy,
    interrupted: REASON.SourceStreamInterrupted,
    sourceFailed: REASON.XtraBackupFailed,
  };
  const reason: Reason = family[worker.reason] ?? REASON.WorkerFailed;
  return {
    reason,
    message: `${WORKER_PREFIX[reason] ?? 'the backup worker failed'}: ${error}${WORKER_FIX[reason] ? `; ${WORKER_FIX[reason]}` : ''}`,
  };
}

const WORKER_PREFIX: Partial<Record<Reason, string>> = {
  [REASON.InvalidWorkerConfiguration]: 'the backup worker rejected its configuration',
  [REASON.ObjectStoreAuthFailed]: 'the object store refused the credentials',
  [REASON.ObjectStoreUnreachable]: 'the object store could not be reached during the upload',
  [REASON.ObjectStoreBucketNotFound]: 'the object store bucket does not exist',
  [REASON.ObjectStoreFull]: 'the object store is full',
  [REASON.ChecksumMismatch]: 'the stored bytes do not match their checksum',
  [REASON.DeadlineExceeded]: 'the backup ran past its deadline',
  [REASON.EncryptionFailed]: 'age encryption failed',
  [REASON.InstanceManagerTLSFailure]: 'the mTLS connection to the instance manager failed',
  [REASON.InstanceManagerUnreachable]: 'the instance manager could not be reached',
  [REASON.InstanceManagerBusy]: 'the instance manager was already streaming another backup',
  [REASON.XtraBackupFailed]: 'XtraBackup (mariabackup) failed on the source instance',
  [REASON.SourceStreamInterrupted]: 'the backup stream from the instance manager broke off',
};

const WORKER_FIX: Partial<Record<Reason, string>> = {
  [REASON.ObjectStoreAuthFailed]: 'check the Secret keys named in objectStore.credentials (azure.credentials, gcs.credentials)',
  [REASON.ObjectStoreBucketNotFound]: 'create the bucket (or container) or fix objectStore.bucket, azure.container or gcs.bucket',
  [REASON.DeadlineExceeded]: 'raise spec.deadlineSeconds or find out why the stream is slow',
  [REASON.InstanceManagerTLSFailure]:
    "the Cluster's spec.certificates Secrets must hold a client certificate signed by the client CA the instance manager trusts",
  [REASON.XtraBackupFailed]: "read the instance manager's log on the source Pod",
  [REASON.SourceStreamInterrupted]: 'the source instance or its instance manager stopped mid-stream; take a new Backup',
  [REASON.InstanceManagerBusy]: 'take a new Backup when the running one finishes',
};

/** Keeps status.error to one line of bounded length. */
export function oneLine(text: string, max = 1000): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
