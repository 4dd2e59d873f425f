/** Every reason a PGCluster reports, in its phase, its conditions and its Events (decision 0251). */
import { reasonsOf, type ReasonTable } from '../../kube/reasons.js';
import { PGBACKREST_REASON_TABLE } from '../shared/pgbackrest-reasons.js';
import { PG_RESTORE_REASON_TABLE } from './pg-restore-reasons.js';

export const PG_CLUSTER_REASON_TABLE = {
  ...PGBACKREST_REASON_TABLE,
  ...PG_RESTORE_REASON_TABLE,
  Initializing: { sentence: 'the primary and the repo host are starting' },
  PrimaryStarting: { sentence: 'the primary is starting' },
  RepoHostStarting: { sentence: 'the repo host is starting' },
  RepoHostRunning: { sentence: 'the repo host serves pgBackRest and its agent' },
  RepoHostPodFailed: { sentence: 'the repo host Pod failed', fix: 'read its log; the operator replaces it' },
  StanzaPending: { sentence: 'the stanza is created once the primary and the repo host are ready' },
  StanzaCreated: { sentence: 'the stanza exists in every repository' },
  WALArchived: { sentence: 'WAL reaches every repository' },
  ArchivePending: { sentence: 'archiving is checked once the stanza exists' },
  Ready: { sentence: 'PostgreSQL serves, the stanza exists and WAL is archived' },
  // Replicas (decisions 0274-0276): the ReplicasReady condition and the Events of each replica.
  NoReplicas: { sentence: 'the cluster has only its primary' },
  ReplicasStreaming: { sentence: 'every replica streams WAL from the primary with a small lag' },
  ReplicasJoining: { sentence: 'replicas are joining the primary (pg_basebackup) or starting' },
  ReplicaNotStreaming: {
    sentence: 'a replica does not stream from the primary, or lags far behind, and is out of the -ro Service',
    fix: "read the replica's log; delete its Pod and PVC to have it join again from the primary",
  },
  ReplicaCreated: { sentence: 'a replica was created and joins the primary' },
  ReplicaRecreated: { sentence: 'a replica whose Pod and PVC were gone was created again and joins the primary' },
  ReplicaRemoved: { sentence: 'a replica was removed by scaling down, with its PVC and slot' },
  RestoringInPlace: {
    sentence: 'a PGRestore holds the cluster: its instances are stopped or restoring, schedules and backups wait (decision 0294)',
  },
} as const satisfies ReasonTable;

export const PGR = reasonsOf(PG_CLUSTER_REASON_TABLE);
export type PGClusterReason = keyof typeof PG_CLUSTER_REASON_TABLE;

/** The sentence of a reason with its fix, for a status message. */
export function pgClusterMessage(reason: PGClusterReason, detail?: string): string {
  const entry: { sentence: string; fix?: string } = PG_CLUSTER_REASON_TABLE[reason];
  // The sentence, what pgBackRest (or the step) said in parentheses, then the fix.
  return [detail ? `${entry.sentence} (${detail})` : entry.sentence, entry.fix].filter(Boolean).join('; ');
}
