/**
 * When a pass may leave the Cluster's status as it is. Every status write is an update event on the
 * Cluster, and the manager queues the Cluster again for it (status-only updates are delivered unless
 * --skip-status-only-updates): a pass that wrote every time, if only a newer observedAt or
 * progressAt, woke itself at once, so the reconciler ran back to back (dozens of passes a second
 * here, each reading every instance manager's /status) instead of every 10 s. A pass now writes when
 * something other than those timestamps changed, or when the last observation is older than the
 * refresh interval allows; the requeue brings the next refresh.
 */
import type { ClusterStatus, InstanceStatus, RecoveryStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';

const withoutTime = (rows: readonly InstanceStatus[] | undefined) => (rows ?? []).map(({ observedAt: _at, ...row }) => row);

/** JSON with every object's keys sorted: the API server hands status back with its keys in its own order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

const comparable = (s: ClusterStatus) =>
  canonical([
    s.phase,
    s.phaseReason,
    s.observedGeneration,
    s.instances,
    s.readyInstances,
    s.currentPrimary,
    s.instanceNames,
    withoutTime(s.instancesStatus),
    s.certificates,
  ]);

/**
 * The status already says everything `next` says, apart from observation times, and its oldest row
 * was observed less than `maxAgeMs` before `now`.
 */
export function statusUnchangedRecently(current: ClusterStatus, next: ClusterStatus, now: Date, maxAgeMs: number): boolean {
  const observed = (current.instancesStatus ?? []).map((r) => Date.parse(r.observedAt ?? ''));
  if (!observed.length || observed.some((t) => !Number.isFinite(t))) return false;
  if (now.getTime() - Math.min(...observed) >= maxAgeMs) return false;
  return comparable(current) === comparable({ ...current, ...next });
}

/** How long until the recovery's progress may be written again (0: now), so it is written about every `intervalMs`. */
export function progressDueInMs(recovery: RecoveryStatus | undefined, now: Date, intervalMs: number): number {
  const at = Date.parse(recovery?.progressAt ?? '');
  if (!Number.isFinite(at)) return 0;
  const due = at + intervalMs - now.getTime();
  // Within a second of due counts as due: the requeue that brings the pass is not exact.
  return due > 1_000 ? due : 0;
}
