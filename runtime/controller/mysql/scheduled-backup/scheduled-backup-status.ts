/**
 * Status of a ScheduledBackup: the Ready condition and the schedule times.
 * The reconciler writes status only when something other than lastCheckTime
 * changed, so its own status writes do not wake it up in a loop.
 */
import type { Condition } from '../../../../src/api/common/types.js';
import type { ScheduledBackupStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { findCondition, nextCondition } from '../../kube/conditions.js';
import { SCHEDULED_BACKUP_REASONS as R, type ReadyReason } from './scheduled-backup-reasons.js';

/** The Ready condition; its transition time moves when its status or its reason changes. */
export function readyCondition(
  reason: ReadyReason,
  message: string,
  now: Date,
  generation: number | undefined,
  previous?: Condition[],
): Condition {
  const status = reason === R.Scheduled ? 'True' : 'False';
  return nextCondition(findCondition(previous, 'Ready'), { type: 'Ready', status, reason, message }, now, {
    observedGeneration: generation,
    transitionOn: 'statusOrReason',
  });
}

/** True when `next` differs from `current` in anything but lastCheckTime. */
export function statusChanged(current: ScheduledBackupStatus | undefined, next: ScheduledBackupStatus): boolean {
  const strip = (s: ScheduledBackupStatus | undefined) =>
    JSON.stringify({
      ...(s ?? {}),
      lastCheckTime: undefined,
      conditions: (s?.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: undefined })),
    });
  return strip(current) !== strip(next);
}
