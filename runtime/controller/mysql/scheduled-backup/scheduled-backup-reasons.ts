/**
 * Every reason a mysql.cloudnative-mysql.io ScheduledBackup reports: its Ready
 * condition's reasons (emitted as Warning Events when they change) and its
 * Events (docs/decisions/0230-scheduled-backup-slots.md).
 */
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';
import { SCHEDULE_REASON_TABLE } from '../../schedule/schedule-reasons.js';

/** Condition Ready. */
export const READY_REASON_TABLE = {
  Scheduled: { sentence: 'the next Backup is scheduled' },
  Suspended: { sentence: 'spec.suspend is true: no new Backups are created', fix: 'set spec.suspend to false' },
  // From schedule/cron.ts: not 6 fields (seconds first) or a macro, or never fires.
  ...SCHEDULE_REASON_TABLE,
  ClusterNotFound: {
    sentence: 'backupOwnerReference: cluster needs a Cluster that does not exist',
    fix: 'create the Cluster or set backupOwnerReference to none or self',
  },
} as const satisfies ReasonTable;

export const SCHEDULED_BACKUP_REASON_TABLE = {
  ...READY_REASON_TABLE,
  // Events
  BackupCreated: { sentence: 'a child Backup was created for a slot' },
  BackupSkipped: { sentence: 'a slot was skipped: a child Backup is still pending or running, or the owning Cluster is missing' },
} as const satisfies ReasonTable;

export const SCHEDULED_BACKUP_REASONS = reasonsOf(SCHEDULED_BACKUP_REASON_TABLE);

export type ReadyReason = keyof typeof READY_REASON_TABLE;
