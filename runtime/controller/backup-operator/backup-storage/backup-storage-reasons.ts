/**
 * Every reason a backup-operator.io BackupStorage reports: the Ready
 * condition's reasons (also its Events) and the DeletionBlocked condition's
 * (docs/decisions/0213-backup-operator-reasons.md, 0250-controller-kit-and-reconciler-shape.md).
 * The credentials reasons are shared with BackupRun, which checks the same Secret.
 */
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';

/** The credentials Secret's findings (shared/credentials-secret.ts), for BackupStorage and BackupRun alike. */
export const CREDENTIALS_REASON_TABLE = {
  SecretNotFound: { sentence: 'the credentials Secret does not exist', fix: 'create it or fix spec.credentials' },
  SecretKeyMissing: { sentence: 'the credentials Secret lacks the keys the storage type needs', fix: 'add the missing keys to the Secret' },
  SecretUnreadable: { sentence: 'the credentials Secret could not be read', fix: "check the operator's RBAC (get secrets)" },
} as const satisfies ReasonTable;

export const BACKUP_STORAGE_REASON_TABLE = {
  // Condition Ready
  Ready: { sentence: 'the bucket or container is reachable with the credentials Secret' },
  ...CREDENTIALS_REASON_TABLE,
  BucketNotFound: { sentence: 'the bucket or container does not exist', fix: 'create it or fix the name in spec.parameters' },
  AccessDenied: { sentence: 'the credentials were refused', fix: 'check the keys in the credentials Secret and their permissions' },
  EndpointUnreachable: {
    sentence: 'the endpoint could not be reached within the probe timeout',
    fix: 'check spec.parameters.endpoint and the network path',
  },
  CheckFailed: { sentence: 'checking the bucket or container failed otherwise', fix: 'check spec.parameters and the credentials Secret' },
  // Condition DeletionBlocked (and its Event)
  InUseByBackupRuns: { sentence: 'BackupRuns still reference the storage being deleted', fix: 'delete those runs first' },
  NotInUse: { sentence: 'no BackupRun references this storage' },
} as const satisfies ReasonTable;

export const BACKUP_STORAGE_REASONS = reasonsOf(BACKUP_STORAGE_REASON_TABLE);

/** Every reason the Ready condition can carry. */
export const STORAGE_REASONS = [
  'Ready',
  'SecretNotFound',
  'SecretKeyMissing',
  'SecretUnreadable',
  'BucketNotFound',
  'AccessDenied',
  'EndpointUnreachable',
  'CheckFailed',
] as const;
export type StorageReason = (typeof STORAGE_REASONS)[number];
export type CredentialsReason = keyof typeof CREDENTIALS_REASON_TABLE;
