/**
 * The reasons of a PGCluster made from spec.dataSource (decision 0251: one table per kind; this part is
 * spread into PG_CLUSTER_REASON_TABLE). pgBackRest's own causes met while restoring (CipherMismatch,
 * RepoHostUnreachable, StorageAuthFailed, ...) keep their reasons from pgbackrest-reasons.ts.
 */
import type { ReasonTable } from '../../kube/reasons.js';

export const PG_RESTORE_REASON_TABLE = {
  SourceClusterNotFound: {
    sentence: 'the PGCluster named in spec.dataSource.postgresCluster does not exist',
    fix: 'create it, or fix clusterName and namespace (dataSource is immutable: recreate this PGCluster)',
  },
  SourceRepositoryMissing: {
    sentence: 'the source PGCluster has no repository named spec.dataSource.postgresCluster.repoName',
    fix: "name one of the source's spec.backups.pgbackrest.repos (recreate this PGCluster)",
  },
  SourceRepositoryUnreachable: {
    sentence: "the source's repository could not be read through its repo host",
    fix: "check the source PGCluster's repo host and its RepoHostReady condition; the restore starts once it answers",
  },
  RepositoryOfTheSource: {
    sentence:
      "one of this cluster's repositories is the source's (same store and path): the restored copy has the source's system id and would archive into the source's stanza",
    fix: 'give that repository another path (spec.backups.pgbackrest.repos[].path), or leave path unset for /silo/<namespace>/<cluster>; recreate this PGCluster',
  },
  SourceCipherOutOfReach: {
    sentence: 'the source repository is encrypted and its passphrase Secret is in another namespace',
    fix: "restore into the source's namespace, or copy the passphrase Secret with the same name into this namespace",
  },
  RestoreSourceStarting: {
    sentence: "this cluster's repo host Pod is starting as the restore source of spec.dataSource.pgbackrest",
    fix: 'wait; if it does not start, read its Events and check the repository credentials Secrets exist in this namespace',
  },
  SourceStanzaNotFound: {
    sentence: 'the repository named in spec.dataSource.pgbackrest holds no stanza at its path',
    fix: 'give the path the source cluster wrote to (its repos[].path, by default /silo/<old namespace>/<old cluster>) and the right bucket; recreate this PGCluster',
  },
  NoBackupBeforeTarget: {
    sentence: 'no backup in the source repository ended before the target',
    fix: 'choose a later target, or a repository with an older backup (recreate this PGCluster)',
  },
  TargetOutsideRecoveryWindow: {
    sentence: 'the target lies outside what the source repository can recover',
    fix: 'choose a target inside the window the message names (recreate this PGCluster)',
  },
  RestoreResolved: { sentence: 'the restore is resolved: source, backup set, window and target are in status.restore' },
  Restoring: { sentence: 'the primary is being restored from the source repository' },
  RestoreInterrupted: {
    sentence: 'the restore was interrupted; it resumes from its step on the volume (the copy starts over, a replay goes on)',
  },
  RestoreInterruptedRepeatedly: {
    sentence: 'the restore was interrupted on every attempt and gave up (the message names the last cause)',
    fix: "fix what the message names (the source's repo host, the object store, the node), then recreate this PGCluster",
  },
  Restored: { sentence: 'the primary was restored and promoted; the cluster now uses its own repositories' },
  TargetNotReached: {
    sentence: 'recovery ended before the configured recovery target was reached: the archive holds no WAL up to it',
    fix: 'choose a target before the last archived WAL, or archive the missing WAL, then recreate this PGCluster',
  },
  RestoreFailed: { sentence: 'the restore failed', fix: "read the message and the log of the primary's restore container" },
} as const satisfies ReasonTable;
