/** Every reason a PGBackup reports, in its phase, its Ready condition and its Events (decision 0251). */
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';
import { PGBACKREST_REASON_TABLE } from '../shared/pgbackrest-reasons.js';

export const PG_BACKUP_REASON_TABLE = {
  ...PGBACKREST_REASON_TABLE,
  ClusterNotFound: { sentence: 'the PGCluster does not exist', fix: 'create it, or name an existing PGCluster in spec.cluster.name' },
  RepoNotFound: {
    sentence: 'the PGCluster has no repository of this name',
    fix: 'use a repository named in the PGCluster spec.backups.pgbackrest.repos',
  },
  WaitingForStanza: { sentence: 'the backup starts once the cluster stanza exists (StanzaReady)' },
  Queued: { sentence: 'another backup of this cluster is running; this one starts after it' },
  Running: { sentence: 'the backup Job is running pgbackrest backup on the repo host' },
  Completed: { sentence: 'pgBackRest completed the backup' },
  Expired: { sentence: "pgBackRest's retention expired this backup set from its repository" },
  JobFailed: { sentence: 'the backup Job failed without a result', fix: 'read the Job Pod log' },
  WorkerLost: {
    sentence:
      "the backup Job's Pod went away before the backup ended (deleted, evicted, or its node lost), and the repository holds no set from it; the repo host stops a backup whose Job goes away",
    fix: 'create a new PGBackup; if Pods are being evicted, back up after the drain',
  },
  DeadlineExceeded: {
    sentence: 'the backup Job ran past its deadline',
    fix: 'raise spec.backups.pgbackrest.jobs.deadlineSeconds on the PGCluster',
  },
  MetadataWritten: { sentence: 'the repo host wrote metadata.json beside the backup set (status.metadataPath)' },
  MetadataNotWritten: {
    sentence:
      'the repo host could not write metadata.json for this backup set; the backup itself is complete and restorable through pgBackRest',
    fix: 'fix the cause named here (storage credentials, bucket, volume); until then a restore from the bucket alone does not see this set',
  },
  NotInRepository: {
    sentence: 'the Job succeeded but pgbackrest info shows no backup with this backup annotation',
    fix: 'read the repo host log; run the backup again',
  },
} as const satisfies ReasonTable;

export const PGB = reasonsOf(PG_BACKUP_REASON_TABLE);
export type PGBackupReason = keyof typeof PG_BACKUP_REASON_TABLE;

export function pgBackupMessage(reason: PGBackupReason, detail?: string): string {
  const entry: { sentence: string; fix?: string } = PG_BACKUP_REASON_TABLE[reason];
  // The sentence, what pgBackRest (or the step) said in parentheses, then the fix.
  return [detail ? `${entry.sentence} (${detail})` : entry.sentence, entry.fix].filter(Boolean).join('; ');
}

export const isPgBackupReason = (value: unknown): value is PGBackupReason =>
  typeof value === 'string' && Object.prototype.hasOwnProperty.call(PG_BACKUP_REASON_TABLE, value);
