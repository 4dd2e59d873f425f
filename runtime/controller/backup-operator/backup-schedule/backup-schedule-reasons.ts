/**
 * Every reason a backup-operator.io BackupSchedule reports: its Scheduled
 * condition, its Events, and LastRunSucceeded (`Completed`, or the failed
 * run's own reason from backup-run-reasons.ts). docs/decisions/0213-backup-operator-reasons.md.
 */
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';
import { SCHEDULE_REASON_TABLE } from '../../schedule/schedule-reasons.js';

export const BACKUP_SCHEDULE_REASON_TABLE = {
  // Condition Scheduled
  Scheduled: { sentence: 'runs are created on the schedule' },
  Suspended: { sentence: 'spec.suspend is true: no runs are created', fix: 'set spec.suspend to false' },
  // From schedule/cron.ts (5 fields, minute first, in spec.timeZone); ScheduleNeverFires does not occur in this dialect.
  InvalidSchedule: SCHEDULE_REASON_TABLE.InvalidSchedule,
  // Condition LastRunSucceeded
  Completed: { sentence: 'the last finished run completed' },
  Failed: { sentence: 'the last finished run failed without a reason recorded' },
  // Events
  RunCreated: { sentence: 'a BackupRun was created for a slot or a trigger' },
  RunSkipped: { sentence: 'a run was skipped: concurrencyPolicy is Forbid and another run is active' },
  RunReplaced: { sentence: 'concurrencyPolicy Replace deleted the active run' },
  MissedSchedule: {
    sentence: 'a slot could not start within startingDeadlineSeconds',
    fix: 'raise startingDeadlineSeconds or keep the operator running',
  },
} as const satisfies ReasonTable;

export const BACKUP_SCHEDULE_REASONS = reasonsOf(BACKUP_SCHEDULE_REASON_TABLE);
