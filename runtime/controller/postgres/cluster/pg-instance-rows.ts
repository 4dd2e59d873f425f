/**
 * What each instance's state means for the PGCluster: its status row, and whether it serves (the
 * primary in `<c>-rw`, a replica in `<c>-ro`). Pure: the reconciler feeds it the Pods and what the
 * primary's pg_stat_replication said. A replica serves when its Pod is Ready, the primary has a WAL
 * sender for it in state `streaming` that knows its replay position, and its replay is less than
 * MAX_SERVING_LAG_BYTES behind.
 */
import type { PGInstanceRow } from '../../../../src/api/postgres.silo.io/types.js';
import type { Pod } from '../../kube/client.js';
import type { PrimaryReplication } from './pg-primary-sql.js';

/** A replica further behind than this leaves `<c>-ro` until it catches up (reads there would be noticeably stale). */
export const MAX_SERVING_LAG_BYTES = 64 * 1024 * 1024;

export type InstanceReason = 'InstanceNotReady' | 'ReplicaJoining' | 'ReplicaNotStreaming' | 'ReplicaLagging' | 'PrimaryUnreadable';

/** Row reasons of an instance on its way in (starting, or streaming before its first feedback): not a failure. */
export const JOINING_REASONS: readonly string[] = ['InstanceNotReady', 'ReplicaJoining'] satisfies InstanceReason[];

export interface RowInput {
  readonly pods: readonly Pod[];
  readonly primaryName: string;
  /** What the primary said, or why it could not be read. */
  readonly replication?: PrimaryReplication;
  readonly replicationError?: string;
  readonly now: Date;
  /** Instances the spec wants: one without a Pod (being created, or its Pod deleted) still gets a row saying so. */
  readonly wanted?: readonly string[];
}

const isReady = (pod: Pod): boolean =>
  !pod.metadata?.deletionTimestamp && !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

const ordinalOf = (name: string): number => Number(/-(\d+)$/.exec(name)?.[1] ?? 0);

function replicaProblem(name: string, input: RowInput): { reason: InstanceReason; message: string; streaming: string } | undefined {
  if (!input.replication)
    return {
      reason: 'PrimaryUnreadable',
      message: `the primary's replication state: ${input.replicationError ?? 'no answer'}`,
      streaming: 'unknown',
    };
  const sender = input.replication.senders.find((s) => s.applicationName === name);
  if (!sender) return { reason: 'ReplicaNotStreaming', message: `${name} has no WAL sender on the primary`, streaming: 'none' };
  if (sender.state !== 'streaming')
    return { reason: 'ReplicaNotStreaming', message: `${name}'s WAL sender is in state ${sender.state}`, streaming: sender.state };
  // replay_lsn stays NULL until the standby's first feedback message: its lag is unknown, so it cannot serve reads yet.
  if (!sender.replayLsn)
    return { reason: 'ReplicaJoining', message: `${name} streams but has not reported a replay position yet`, streaming: sender.state };
  if ((sender.lagBytes ?? 0) > MAX_SERVING_LAG_BYTES)
    return {
      reason: 'ReplicaLagging',
      message: `${name} replays ${sender.lagBytes} bytes behind the primary (more than ${MAX_SERVING_LAG_BYTES})`,
      streaming: sender.state,
    };
  return undefined;
}

function rowOf(pod: Pod, input: RowInput): PGInstanceRow {
  const name = pod.metadata!.name!;
  const base = {
    name,
    ready: isReady(pod),
    ...(pod.status?.podIP ? { podIP: pod.status.podIP } : {}),
    observedAt: input.now.toISOString(),
  };
  if (name === input.primaryName) {
    const lsn = input.replication?.currentLsn;
    if (base.ready) return { ...base, role: 'primary', ...(lsn ? { lsn } : {}), serving: true };
    return { ...base, role: 'primary', serving: false, reason: 'InstanceNotReady', message: `${name} is not Ready` };
  }
  const sender = input.replication?.senders.find((s) => s.applicationName === name);
  const position = {
    ...(sender?.replayLsn ? { lsn: sender.replayLsn } : {}),
    ...(sender?.lagBytes !== undefined ? { lagBytes: sender.lagBytes } : {}),
  };
  if (!base.ready)
    return {
      ...base,
      role: 'replica',
      ...position,
      streaming: sender?.state ?? 'none',
      serving: false,
      reason: 'InstanceNotReady',
      message: `${name} is not Ready (joining or starting)`,
    };
  const problem = replicaProblem(name, input);
  if (problem) return { ...base, role: 'replica', ...position, serving: false, ...problem };
  return { ...base, role: 'replica', ...position, streaming: sender!.state, serving: true };
}

/** One row per instance Pod, in ordinal order. */
export function instanceRows(input: RowInput): PGInstanceRow[] {
  const present = new Set(input.pods.map((p) => p.metadata!.name!));
  const missing: PGInstanceRow[] = (input.wanted ?? [])
    .filter((name) => !present.has(name))
    .map((name) => ({
      name,
      role: name === input.primaryName ? 'primary' : 'replica',
      ready: false,
      serving: false,
      reason: 'InstanceNotReady',
      message: `${name} has no Pod: it is being created`,
      observedAt: input.now.toISOString(),
    }));
  return [...input.pods.map((pod) => rowOf(pod, input)), ...missing].sort((a, b) => ordinalOf(a.name!) - ordinalOf(b.name!));
}
