/** BackupStorage status: phase, lastCheckTime and the Ready / DeletionBlocked conditions. */
import type { BackupStorageStatus, Condition } from '../../../../src/generated/api-types.js';
import { setCondition } from '../shared/conditions.js';

/** Every reason the Ready condition can carry. */
export const STORAGE_REASONS = ['Ready', 'SecretNotFound', 'SecretKeyMissing', 'SecretUnreadable', 'BucketNotFound', 'AccessDenied', 'EndpointUnreachable', 'CheckFailed'] as const;
export type StorageReason = (typeof STORAGE_REASONS)[number];

export interface StorageFinding {
  readonly reason: StorageReason;
  readonly message: string;
}

export function storageStatus(previous: BackupStorageStatus | undefined, finding: StorageFinding, now: Date, generation: number | undefined): BackupStorageStatus {
  const ready = finding.reason === 'Ready';
  return {
    phase: ready ? 'Ready' : 'NotReady',
    lastCheckTime: now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: setCondition(previous?.conditions, { type: 'Ready', status: ready ? 'True' : 'False', reason: finding.reason, message: finding.message }, now, generation),
  };
}

export function deletionBlockedConditions(previous: readonly Condition[] | undefined, message: string | undefined, now: Date): Condition[] {
  return setCondition(previous, message
    ? { type: 'DeletionBlocked', status: 'True', reason: 'InUseByBackupRuns', message }
    : { type: 'DeletionBlocked', status: 'False', reason: 'NotInUse', message: 'no BackupRun references this storage.' }, now);
}
