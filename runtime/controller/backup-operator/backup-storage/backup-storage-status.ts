/** BackupStorage status: phase, lastCheckTime and the Ready / DeletionBlocked conditions. */
import type { Condition } from '../../../../src/api/common/types.js';
import type { BackupStorageStatus } from '../../../../src/api/backup-operator.io/types.js';
import { BACKUP_STORAGE_PHASE } from '../../../../src/api/backup-operator.io/phases.js';
import { setCondition } from '../../kube/conditions.js';
import { BACKUP_STORAGE_REASONS as R, type StorageReason } from './backup-storage-reasons.js';

export { STORAGE_REASONS, type StorageReason } from './backup-storage-reasons.js';

export interface StorageFinding {
  readonly reason: StorageReason;
  readonly message: string;
}

export function storageStatus(
  previous: BackupStorageStatus | undefined,
  finding: StorageFinding,
  now: Date,
  generation: number | undefined,
): BackupStorageStatus {
  const ready = finding.reason === R.Ready;
  return {
    phase: ready ? BACKUP_STORAGE_PHASE.Ready : BACKUP_STORAGE_PHASE.NotReady,
    lastCheckTime: now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: setCondition(
      previous?.conditions,
      { type: 'Ready', status: ready ? 'True' : 'False', reason: finding.reason, message: finding.message },
      now,
      generation,
    ),
  };
}

export function deletionBlockedConditions(previous: readonly Condition[] | undefined, message: string | undefined, now: Date): Condition[] {
  return setCondition(
    previous,
    message
      ? { type: 'DeletionBlocked', status: 'True', reason: R.InUseByBackupRuns, message }
      : { type: 'DeletionBlocked', status: 'False', reason: R.NotInUse, message: 'no BackupRun references this storage.' },
    now,
  );
}
