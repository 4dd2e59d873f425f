/**
 * postgres.silo.io PGRestore: an in-place restore of a PGCluster from its own repository (decisions 0294, 0295,
 * 0298). Pending → Resolved → Stopping → Restoring → Recovering → Rebuilding → Succeeded, or Refused (checked
 * before anything stopped) or Failed. Each step persists what it decided in status before it acts, so a restarted
 * operator goes on from the phase; nothing loops: a restore container that keeps ending without a result fails
 * the restore, and a rebuild that does not finish in time fails it with the data restored.
 */
import type { PGInPlaceRestoreStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { pgNames } from '../../../contracts/pg-pods.js';
import { setCondition } from '../../kube/conditions.js';
import { KINDS } from '../../kube/kinds.js';
import type { KubeObject, ObjectKey, ReconcileContext, ReconcileResult, Reconciler } from '../../reconciler.js';
import { lastProgress } from '../cluster/pg-restore.js';
import { PG_BACKUP_LOCK } from '../backup/pg-backup-lock.js';
import {
  PG_LABELS,
  PG_RESTORE_POD_ANNOTATION,
  type PGBackupObject,
  type PGClusterObject,
  type PGRestoreObject,
} from '../shared/pg-objects.js';
import { RESTORE_CONTAINER } from '../cluster/pg-restore-pod.js';
import { isReady, restoreContainerState, stopInstances } from './pg-inplace-instances.js';
import { resolveInPlace } from './pg-inplace-resolve.js';
import { PGI, isPgInPlaceReason, pgInPlaceMessage, type PGInPlaceReason } from './pg-restore-kind-reasons.js';
import { restoreProgressStatus } from '../shared/pg-restore-progress.js';

type Phase = NonNullable<PGInPlaceRestoreStatus['phase']>;
import { otherRestore, releaseRestoreHold, takeRestoreHold } from './pg-restore-hold.js';

const POLL_MS = 3_000;
/** While the restore runs the cluster takes no writes: its end is looked for every second (the RTO counts the wait). */
const FOLLOW_MS = 1_000;
/** While the old instances stop, the next look: the restoring primary is built once they are gone. */
const STOPPING_MS = 250;
/** A restore container that ended this many times without a result is not retried again. */
const MAX_RESTARTS = 3;
/** From the primary accepting writes to replicas streaming and the archive checked on the new timeline. */
const REBUILD_DEADLINE_MS = 20 * 60_000;
const FINISHED = new Set(['Succeeded', 'Refused', 'Failed']);

/** The PGRestore a restoring primary Pod runs, from its annotation. */
export function restoreOfPod(pod: KubeObject): ObjectKey[] {
  const name = pod.metadata?.annotations?.[PG_RESTORE_POD_ANNOTATION];
  return name && pod.metadata?.namespace ? [{ namespace: pod.metadata.namespace, name }] : [];
}

export class PGInPlaceRestoreReconciler implements Reconciler {
  readonly name = 'pgrestore';
  readonly kind = KINDS.PGRestore;
  readonly watches = [
    // The restoring primary (pg-inplace-plan.ts names it): its restore container ending and its Ready turning True
    // start a pass at once, where a 1 s poll added up to a second each, and the probe's period more (decision 0063).
    { kind: KINDS.Pod, labelSelector: PG_LABELS.inPlaceRestore, toKeys: restoreOfPod },
  ];

  async reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const restore = await ctx.client.get<PGRestoreObject>(KINDS.PGRestore, key);
    if (!restore || restore.metadata.deletionTimestamp || FINISHED.has(restore.status?.phase ?? '')) return;
    return new InPlacePass(ctx, restore).run();
  }
}

class InPlacePass {
  constructor(
    private readonly ctx: ReconcileContext,
    private restore: PGRestoreObject,
  ) {}

  private get status(): PGInPlaceRestoreStatus {
    return this.restore.status ?? {};
  }
  private get key(): ObjectKey {
    return { namespace: this.restore.metadata.namespace, name: this.restore.metadata.name };
  }
  private get ns(): string {
    return this.restore.metadata.namespace;
  }
  private get clusterName(): string {
    return this.restore.spec.cluster.name;
  }

  async run(): Promise<ReconcileResult> {
    const cluster = await this.ctx.client.get<PGClusterObject>(KINDS.PGCluster, { namespace: this.ns, name: this.clusterName });
    if (!cluster) {
      if (this.status.startedAt) return this.fail(PGI.ClusterNotFound, 'the PGCluster was deleted during the restore');
      return this.write('Pending', PGI.ClusterNotFound, {}, { requeueAfterMs: 10_000 });
    }
    switch (this.status.phase) {
      case 'Stopping':
        return this.stop();
      case 'Restoring':
      case 'Recovering':
        return this.follow(cluster);
      case 'Rebuilding':
        return this.rebuild(cluster);
      default:
        return this.start(cluster);
    }
  }

  /** Another restore first; then resolved once, the hold taken, a running backup waited for. */
  private async start(cluster: PGClusterObject): Promise<ReconcileResult> {
    const other = await otherRestore(this.ctx.client, cluster, this.restore);
    if (other) return this.write('Pending', PGI.AnotherRestoreRunning, {}, { requeueAfterMs: 5_000 }, `PGRestore ${other}`);
    if (!this.status.resolvedAt) {
      const resolved = await resolveInPlace(this.ctx, this.restore, cluster);
      if ('refuse' in resolved) {
        const { reason, detail, window, waiting } = resolved.refuse;
        if (waiting) return this.write('Pending', reason, {}, { requeueAfterMs: 10_000 }, detail);
        return this.write('Refused', reason, window ? { window } : {}, {}, detail);
      }
      await this.write('Resolved', PGI.Resolved, { ...resolved.resolved, resolvedAt: this.ctx.now().toISOString() }, {});
    }
    if (!(await takeRestoreHold(this.ctx.client, cluster, this.restore))) return { requeueAfterMs: 1_000 };
    const backup = await this.runningBackup(cluster);
    if (backup) return this.write('Pending', PGI.WaitingForBackup, {}, { requeueAfterMs: POLL_MS }, `PGBackup ${backup}`);
    return this.write('Stopping', PGI.Stopping, { startedAt: this.ctx.now().toISOString() }, { requeueAfterMs: 0 });
  }

  /** The PGBackup that holds the cluster's backup lock and has not finished (pg-backup-lock.ts). */
  private async runningBackup(cluster: PGClusterObject): Promise<string | undefined> {
    const current = cluster.metadata.annotations?.[PG_BACKUP_LOCK];
    if (!current) return undefined;
    const [name, uid] = current.split('/');
    const holder = await this.ctx.client.get<PGBackupObject>(KINDS.PGBackup, { namespace: this.ns, name });
    const running = holder && holder.metadata.uid === uid && !['completed', 'failed'].includes(holder.status?.phase ?? '');
    return running ? name : undefined;
  }

  private async stop(): Promise<ReconcileResult> {
    const { remaining } = await stopInstances(this.ctx.client, this.ns, this.clusterName);
    // The old Pods' fast shutdown takes a fraction of a second: looked for again soon (the RTO counts the wait).
    if (remaining.length) return { requeueAfterMs: STOPPING_MS };
    return this.write('Restoring', PGI.Restoring, { step: 'starting' }, { requeueAfterMs: FOLLOW_MS });
  }

  /** The primary's restore container, built by the PGCluster reconciler while the hold says Restoring. */
  private async follow(cluster: PGClusterObject): Promise<ReconcileResult> {
    const primaryName = pgNames(this.clusterName).primary;
    const pod = await this.ctx.client.readPod(this.ns, primaryName);
    const seen = restoreContainerState(pod);
    switch (seen.state) {
      case 'absent':
        return { requeueAfterMs: 1_000 };
      case 'plain':
        // Built by a PGCluster pass that began before the hold: never started on the volume being restored.
        await this.ctx.client.deletePod(this.ns, primaryName, 0);
        return { requeueAfterMs: 1_000 };
      case 'failed': {
        const reported = String(seen.line.reason ?? '');
        return this.fail(isPgInPlaceReason(reported) ? reported : PGI.RestoreFailed, String(seen.line.error ?? '').slice(0, 600));
      }
      case 'done':
        return this.done(cluster, seen.line, isReady(pod));
      default: {
        if (seen.restarts >= MAX_RESTARTS) return this.fail(PGI.RestoreRetriesExhausted, `${seen.restarts} restarts`);
        const tail = await this.ctx.client.readPodLogTail(this.ns, primaryName, RESTORE_CONTAINER, 60).catch(() => undefined);
        const progress = seen.state === 'running' ? lastProgress(tail) : undefined;
        const recovering = progress?.step === 'recovering';
        const reason = seen.state === 'interrupted' ? PGI.RestoreInterrupted : recovering ? PGI.Recovering : PGI.Restoring;
        const step = progress?.step ?? (seen.state === 'interrupted' ? 'interrupted, resuming' : 'starting');
        const extra = { step, ...restoreProgressStatus(progress, this.status) };
        return this.write(recovering ? 'Recovering' : 'Restoring', reason, extra, { requeueAfterMs: FOLLOW_MS });
      }
    }
  }

  /** Promoted: what it reached goes to status; once the primary accepts writes the RTO is measured and the hold released. */
  private async done(cluster: PGClusterObject, line: Record<string, unknown>, ready: boolean): Promise<ReconcileResult> {
    const reached: PGInPlaceRestoreStatus = {
      step: 'done',
      // A pass may have seen the copy half-way last, or (a short --delta) not at all: its figures say it ended.
      ...restoreProgressStatus({ step: 'done' }, this.status),
      ...(line.reachedLsn ? { reachedLsn: String(line.reachedLsn) } : {}),
      ...(typeof line.reachedTimeline === 'number' ? { reachedTimeline: line.reachedTimeline } : {}),
      ...(line.reachedTime ? { reachedTime: String(line.reachedTime) } : {}),
    };
    if (!ready) return this.write('Recovering', PGI.Recovering, reached, { requeueAfterMs: 1_000 });
    const now = this.ctx.now();
    const created = Date.parse(this.restore.metadata.creationTimestamp ?? '');
    const rto = Number.isFinite(created) ? { rtoSeconds: Math.round((now.getTime() - created) / 100) / 10 } : {};
    await this.write('Rebuilding', PGI.Rebuilding, { ...reached, readyAt: now.toISOString(), ...rto }, {});
    await releaseRestoreHold(this.ctx.client, cluster, this.restore);
    this.ctx.log.info('in-place restore: primary accepts writes', { cluster: this.clusterName, restore: this.key.name, ...rto });
    return { requeueAfterMs: POLL_MS };
  }

  /** Replicas streaming again and the archive checked after the restore (pgbackrest check on the new timeline). */
  private async rebuild(cluster: PGClusterObject): Promise<ReconcileResult> {
    const readyAt = Date.parse(this.status.readyAt ?? '');
    const s = cluster.status ?? {};
    const replicas = (s.readyInstances ?? 0) >= (cluster.spec.instances ?? 1);
    const archiving = s.conditions?.find((c) => c.type === 'ContinuousArchiving');
    const archived = archiving?.status === 'True' && Date.parse(s.lastArchiveCheck ?? '') >= readyAt;
    if (replicas && archived) return this.write('Succeeded', PGI.Succeeded, { completedAt: this.ctx.now().toISOString() }, {});
    if (this.ctx.now().getTime() - readyAt > REBUILD_DEADLINE_MS) {
      const detail = `${s.readyInstances ?? 0} of ${cluster.spec.instances ?? 1} instances ready, ContinuousArchiving ${archiving?.reason ?? 'unknown'}`;
      return this.fail(PGI.RebuildTimedOut, detail);
    }
    return { requeueAfterMs: POLL_MS };
  }

  /** Failed: the primary Pod goes (a half-restored volume never starts); the hold stays until another PGRestore or a deletion. */
  private async fail(reason: PGInPlaceReason, detail: string): Promise<ReconcileResult> {
    await this.write('Failed', reason, { completedAt: this.ctx.now().toISOString() }, {}, detail);
    if (reason !== PGI.RebuildTimedOut && reason !== PGI.ClusterNotFound) {
      const primary = pgNames(this.clusterName).primary;
      if (await this.ctx.client.readPod(this.ns, primary)) await this.ctx.client.deletePod(this.ns, primary);
    }
    return {};
  }

  /** Writes phase, reason, message and the Ready condition with `extra`; an Event when the reason changed. */
  private async write(
    phase: Phase,
    reason: PGInPlaceReason,
    extra: PGInPlaceRestoreStatus,
    result: ReconcileResult,
    detail?: string,
  ): Promise<ReconcileResult> {
    const eventType = phase === 'Failed' || phase === 'Refused' ? 'Warning' : 'Normal';
    const message = pgInPlaceMessage(reason, detail);
    const changed = this.status.reason !== reason || this.status.phase !== phase;
    const condition = { type: 'Ready', status: phase === 'Succeeded' ? ('True' as const) : ('False' as const), reason, message };
    const status: PGInPlaceRestoreStatus = {
      ...extra,
      phase,
      reason,
      message,
      observedGeneration: this.restore.metadata.generation,
      conditions: setCondition(this.status.conditions, condition, this.ctx.now(), this.restore.metadata.generation),
    };
    if (changed || Object.keys(extra).length) {
      this.restore = await this.ctx.client.patchStatus<PGRestoreObject>(KINDS.PGRestore, this.key, status);
    }
    if (changed) await this.ctx.events.record(this.restore, eventType, reason, message);
    return result;
  }
}
