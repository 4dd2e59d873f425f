/**
 * Status of a ScheduledBackup: the Ready condition and the schedule times.
 * The reconciler writes status only when something other than lastCheckTime
 * changed, so its own status writes do not wake it up in a loop.
 */
import type { Condition, ScheduledBackupStatus } from '../../../../src/generated/api-types.js';

/** Every reason the Ready condition can carry. */
export const REASONS = {
  scheduled: 'Scheduled',
  suspended: 'Suspended',
  invalidSchedule: 'InvalidSchedule',
  scheduleNeverFires: 'ScheduleNeverFires',
  clusterNotFound: 'ClusterNotFound',
} as const;

/** Event reasons (the Ready reasons above are also emitted as Events on a change). */
export const EVENT_REASONS = {
  backupCreated: 'BackupCreated',
  backupSkipped: 'BackupSkipped',
} as const;

export type ReadyReason = (typeof REASONS)[keyof typeof REASONS];

export function readyCondition(reason: ReadyReason, message: string, now: Date, generation: number | undefined, previous?: Condition[]): Condition {
  const status = reason === REASONS.scheduled ? 'True' : 'False';
  const old = previous?.find((c) => c.type === 'Ready');
  const unchanged = old && old.status === status && old.reason === reason;
  return {
    type: 'Ready',
    status,
    reason,
    message,
    lastTransitionTime: unchanged ? old.lastTransitionTime : now.toISOString(),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

/** True when `next` differs from `current` in anything but lastCheckTime. */
export function statusChanged(current: ScheduledBackupStatus | undefined, next: ScheduledBackupStatus): boolean {
  const strip = (s: ScheduledBackupStatus | undefined) => JSON.stringify({ ...(s ?? {}), lastCheckTime: undefined, conditions: (s?.conditions ?? []).map((c) => ({ ...c, lastTransitionTime: undefined })) });
  return strip(current) !== strip(next);
}
