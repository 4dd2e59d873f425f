/** Every reason a PGRestore (an in-place restore) reports, in its status, its Ready condition and its Events. */
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';
import { PGBACKREST_REASON_TABLE } from '../shared/pgbackrest-reasons.js';

export const PG_INPLACE_REASON_TABLE = {
  ...PGBACKREST_REASON_TABLE,
  ClusterNotFound: { sentence: 'the PGCluster does not exist', fix: 'create it, or name an existing PGCluster in spec.cluster.name' },
  RepoNotFound: {
    sentence: 'the PGCluster has no repository of this name',
    fix: 'use a repository named in the PGCluster spec.backups.pgbackrest.repos',
  },
  BackupNotFound: {
    sentence: 'the backup named in spec.backup is not a completed backup of this cluster in this repository',
    fix: 'name a completed PGBackup of this cluster (spec.backup.pgBackup) or a label pgbackrest info lists for spec.repoName (spec.backup.label)',
  },
  BackupAfterTarget: {
    sentence: 'the backup named in spec.backup ended after the target, so replay cannot reach the target from it',
    fix: 'name a backup that ended before the target, or remove spec.backup and let Silo choose',
  },
  NoBackupBeforeTarget: {
    sentence: 'no backup in the repository ended before the target',
    fix: 'choose a later target, or restore from a repository with an older backup',
  },
  TargetOutsideRecoveryWindow: {
    sentence: 'the target lies outside what the repository can recover',
    fix: 'choose a target inside the window in status.window',
  },
  ClusterNotReady: {
    sentence: 'the restore starts once the cluster stanza exists and its repo host is Ready',
    fix: 'wait, or fix what the PGCluster status says',
  },
  ClusterFromDataSource: {
    sentence: 'the cluster is still being made from its spec.dataSource',
    fix: 'wait until the PGCluster status.restore phase is Restored, then create the PGRestore again',
  },
  RepositoryUnreachable: {
    sentence: "the cluster's repo host could not read the repository",
    fix: 'fix what pgBackRest says; the restore tries again',
  },
  AnotherRestoreRunning: { sentence: 'another PGRestore holds this cluster; this one starts after it ends' },
  WaitingForBackup: { sentence: 'a backup of this cluster is running; the restore stops the cluster after it ends' },
  Resolved: { sentence: 'the backup set and target were checked against the repository (status.backupLabel, status.target)' },
  Stopping: { sentence: 'every instance of the cluster is being stopped; the volumes stay, the replicas are rebuilt later' },
  Restoring: { sentence: "pgbackrest restore --delta is rewriting the primary's volume" },
  RestoreInterrupted: { sentence: 'the restore was interrupted and resumes from its state on the volume' },
  Recovering: { sentence: 'PostgreSQL replays WAL to the target, with archiving off, and promotes' },
  Rebuilding: { sentence: 'the restored primary accepts writes on a new timeline; the replicas are being built from it' },
  Succeeded: { sentence: 'the cluster was restored in place; it archives a new timeline into the same stanza' },
  TargetNotReached: {
    sentence: 'PostgreSQL ended recovery before reaching the target (the archive ends earlier)',
    fix: 'choose a target inside status.window; the cluster stays stopped until another PGRestore succeeds',
  },
  RestoreFailed: {
    sentence: 'the restore failed; the cluster stays stopped so a half-restored volume never starts',
    fix: 'fix the cause named here and create another PGRestore (it takes over this one)',
  },
  RestoreRetriesExhausted: {
    sentence: 'the restore container kept ending without a result',
    fix: 'read the primary Pod restore container log; create another PGRestore to try again',
  },
  RebuildTimedOut: {
    sentence: 'the primary was restored but the replicas or archiving did not come back in time',
    fix: 'read the PGCluster status; the data is restored and the PGCluster keeps reconciling',
  },
} as const satisfies ReasonTable;

export const PGI = reasonsOf(PG_INPLACE_REASON_TABLE);
export type PGInPlaceReason = keyof typeof PG_INPLACE_REASON_TABLE;

export const isPgInPlaceReason = (reason: string): reason is PGInPlaceReason => reason in PG_INPLACE_REASON_TABLE;

export function pgInPlaceMessage(reason: PGInPlaceReason, detail?: string): string {
  const entry: { sentence: string; fix?: string } = PG_INPLACE_REASON_TABLE[reason];
  // The sentence, what pgBackRest (or the step) said in parentheses, then the fix.
  return [detail ? `${entry.sentence} (${detail})` : entry.sentence, entry.fix].filter(Boolean).join('; ');
}
