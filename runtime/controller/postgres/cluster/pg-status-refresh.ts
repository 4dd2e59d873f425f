/**
 * When a PGCluster pass may leave its status as it is (decision 0269, as for mysql Clusters): every
 * status write wakes the reconciler again, and the instance rows carry an observation time, so a pass
 * that wrote every time would run back to back. A pass skips its write when everything but the rows'
 * observedAt is what the status already says and the oldest row is younger than REFRESH_MAX_AGE_MS;
 * the pass's requeue (10 s at most with replicas) brings the next refresh.
 */
import type { PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';

export const REFRESH_MAX_AGE_MS = 9_000;

/** JSON with every object's keys sorted: the API server hands status back with its keys in its own order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

const withoutTimes = (s: PGClusterStatus): PGClusterStatus => ({
  ...s,
  instancesStatus: s.instancesStatus?.map(({ observedAt: _at, ...row }) => row),
});

export function pgStatusUnchangedRecently(
  current: PGClusterStatus,
  next: PGClusterStatus,
  now: Date,
  maxAgeMs = REFRESH_MAX_AGE_MS,
): boolean {
  const observed = (current.instancesStatus ?? []).map((r) => Date.parse(r.observedAt ?? ''));
  if (observed.some((t) => !Number.isFinite(t))) return false;
  if (observed.length && now.getTime() - Math.min(...observed) >= maxAgeMs) return false;
  return canonical(withoutTimes(current)) === canonical(withoutTimes({ ...current, ...next }));
}
