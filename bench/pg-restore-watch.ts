/**
 * One Silo round of bench/pg-restore.ts: creates the restoring PGCluster and watches it until its primary accepts
 * connections out of recovery, sampling status.restore on the way (the progress a user sees), then tells where the
 * time went from this machine's clocks: the bench's, status.restore.resolvedAt and the restore container's log lines.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { pgNames } from '../runtime/contracts/pg-pods.js';
import { RESTORE_CONTAINER } from '../runtime/controller/postgres/cluster/pg-restore-pod.js';
import { PG_RESTORE_PROGRESS_MSG } from '../runtime/contracts/pg-restore.js';
import type { PGClusterSpec, PGRestoreStatus } from '../src/api/postgres.silo.io/types.js';
import type { PGClusterObj, PgBench } from './pg-cluster.js';
import { median } from './measure.js';

export const COPY_PHASE = 'copy (pgbackrest restore through the source repo host)';

export interface RestoreWatch {
  /** From creating the PGCluster to its primary answering `SELECT pg_is_in_recovery()` with false. */
  readonly seconds: number;
  readonly primaryIp: string;
  readonly phases: Record<string, number>;
  /** What status.restore showed while the copy ran, e.g. `41 % 459/1120 MB ETA 8 s; 93 % …`, or `none`. */
  readonly progressSeen: string;
  readonly rtoSeconds?: number;
}

/** status.restore while it copies, in a few words; undefined at other steps. */
function copying(r: PGRestoreStatus | undefined): string | undefined {
  if (r?.step !== 'copying' || r.bytesDone === undefined) return undefined;
  const mb = (n?: number) => (n === undefined ? '?' : (n / 1e6).toFixed(0));
  return `${r.percent} % ${mb(r.bytesDone)}/${mb(r.bytesTotal)} MB ETA ${r.etaSeconds ?? '?'} s`;
}

/**
 * The primary's IP once its restore container is done: psql looks only from then on, as the baseline's starts once
 * `pgbackrest restore` returned. A psql every 100 ms during the copy took CPU from the restore it measures.
 */
function restoredIp(pod: V1Pod | undefined): string | undefined {
  const done = pod?.status?.initContainerStatuses?.some((c) => c.name === RESTORE_CONTAINER && c.state?.terminated?.exitCode === 0);
  return done ? pod?.status?.podIP : undefined;
}

export async function watchRestore(bench: PgBench, name: string, spec: PGClusterSpec): Promise<RestoreWatch> {
  const primary = `${name}-1`;
  // Watches, opened before the cluster exists and the clock starts, as a user's `kubectl wait` would be: nothing
  // polls the API server.
  const cluster = await bench.follow<PGClusterObj>('pgclusters', name);
  const pod = await bench.follow<V1Pod>('pods', primary);
  const createdAt = Date.now();
  const started = process.hrtime.bigint();
  const seen: string[] = [];
  let ip: string | undefined;
  let seconds: number;
  try {
    await bench.create(name, spec);
    const deadline = Date.now() + 1_200_000;
    for (;;) {
      const c = cluster.latest();
      if (c?.status?.phase === 'Failed') throw new Error(`PGCluster ${name} failed: ${c.status.phaseReason}`);
      const sample = copying(c?.status?.restore);
      if (sample && seen[seen.length - 1] !== sample) seen.push(sample);
      ip = restoredIp(pod.latest());
      if (ip && (await bench.psql(name, ip, 'SELECT pg_is_in_recovery()').catch(() => '')) === 'f') break;
      if (Date.now() > deadline) throw new Error(`PGCluster ${name}: no primary after 1200 s`);
      // As often as the baseline looks (startUntilPrimary): the two sides wait for the same check at the same pace.
      await new Promise((r) => setTimeout(r, 100));
    }
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    cluster.stop();
    pod.stop();
  }
  const readyAt = Date.now();
  // Its repo host's IP too, so what the Pod leaves (pgBackRest's async archiver) is found at the end.
  await bench.podIp(pgNames(name).repoHost);
  const restore = (await bench.cluster(name))?.status?.restore;
  const log = await bench.podLog(primary, 'restore');
  return {
    seconds,
    primaryIp: ip,
    phases: phasesOf({ createdAt, readyAt, resolvedAt: Date.parse(restore?.resolvedAt ?? ''), log }),
    progressSeen: seen.join('; ') || 'none',
    ...(restore?.rtoSeconds !== undefined ? { rtoSeconds: restore.rtoSeconds } : {}),
  };
}

/** The `ts` of the restore container's lines: its first, the copy's start and end (the `recovering` step) and `promoted`. */
function restoreLogTimes(log: string): { first: number; copyStart: number; copyEnd: number; promoted: number } {
  const lines = log
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as { ts: string; msg: string; step?: string };
      } catch {
        return undefined;
      }
    })
    // The result line (stdout, no ts) comes last: only the logger's lines carry a time.
    .filter((l): l is { ts: string; msg: string; step?: string } => typeof l?.ts === 'string');
  const at = (pick: (l: { msg: string; step?: string }) => boolean) => Date.parse(lines.find(pick)?.ts ?? '');
  return {
    first: Date.parse(lines[0]?.ts ?? ''),
    copyStart: at((l) => l.msg === 'pgbackrest restore'),
    copyEnd: at((l) => l.msg === PG_RESTORE_PROGRESS_MSG && l.step === 'recovering'),
    promoted: at((l) => l.msg === 'promoted'),
  };
}

function phasesOf(r: { createdAt: number; readyAt: number; resolvedAt: number; log: string }): Record<string, number> {
  const { first, copyStart, copyEnd, promoted } = restoreLogTimes(r.log);
  return {
    'created → restore resolved (status.restore.resolvedAt)': (r.resolvedAt - r.createdAt) / 1000,
    'resolved → restore container starts (Pod created and started)': (first - r.resolvedAt) / 1000,
    'restore container starts → copy starts': (copyStart - first) / 1000,
    [COPY_PHASE]: (copyEnd - copyStart) / 1000,
    'replay to the archive end and promote (seen by a psql poll)': (promoted - copyEnd) / 1000,
    'password, checkpoint, stop; database container starts; the bench sees a primary': (r.readyAt - promoted) / 1000,
  };
}

export function restorePhases(runs: readonly RestoreWatch[]): Array<Record<string, string | number>> {
  return Object.keys(runs[0]?.phases ?? {}).map((phase) => ({
    "where a restore's time goes (this machine's clocks)": phase,
    'median s': median(runs.map((r) => r.phases[phase])),
    'per round': runs.map((r) => r.phases[phase].toFixed(2)).join(' / '),
  }));
}

/**
 * Where an in-place restore's time goes, from the PGRestore's status (created, resolvedAt, startedAt: the first
 * instance stopped, readyAt: the primary takes writes) and the restored primary's restore container log.
 */
export function inPlacePhases(r: { createdAt: number; resolvedAt: number; stoppedAt: number; readyAt: number; log: string }) {
  const { first, copyEnd, promoted } = restoreLogTimes(r.log);
  const phases: Record<string, number> = {
    'created → resolved (status.resolvedAt)': (r.resolvedAt - r.createdAt) / 1000,
    'resolved → stopping the instances (status.startedAt)': (r.stoppedAt - r.resolvedAt) / 1000,
    'stopping → restore container starts (old Pods gone, new primary Pod started)': (first - r.stoppedAt) / 1000,
    'restore container starts → copy ends (pgbackrest restore --delta)': (copyEnd - first) / 1000,
    'replay and promote (seen by a psql poll)': (promoted - copyEnd) / 1000,
    'promoted → the operator sees the primary take writes (status.readyAt)': (r.readyAt - promoted) / 1000,
  };
  return Object.entries(phases).map(([phase, seconds]) => ({ "where the in-place restore's time goes": phase, s: seconds }));
}
