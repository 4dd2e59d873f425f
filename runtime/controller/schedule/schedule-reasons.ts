/**
 * The reasons a cron schedule itself can be unusable with, shared by every
 * schedule kind's reasons table (BackupSchedule, ScheduledBackup) because
 * schedule/cron.ts raises them.
 */
import { reasonsOf, type ReasonTable } from '../kube/reasons.js';

export const SCHEDULE_REASON_TABLE = {
  InvalidSchedule: {
    sentence: "spec.schedule (or spec.timeZone) is not a cron expression of the kind's dialect",
    fix: 'fix spec.schedule as the condition message says',
  },
  ScheduleNeverFires: { sentence: 'spec.schedule never fires', fix: 'pick a day that exists in the chosen months' },
} as const satisfies ReasonTable;

export const SCHEDULE_REASONS = reasonsOf(SCHEDULE_REASON_TABLE);
export type ScheduleReason = keyof typeof SCHEDULE_REASON_TABLE;
