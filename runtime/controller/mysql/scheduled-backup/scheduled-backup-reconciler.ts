/**
 * ScheduledBackup reconciler (CloudNativePG semantics): on each due slot of a
 * 6-field cron schedule it creates one child Backup, named after the slot.
 * Missed slots collapse into one catch-up backup; a slot that comes while a
 * child is still pending or running is skipped with an Event. It returns the
 * time to the next slot as its requeue and never sleeps.
 *
 * Reads come from the informer cache (the schedule, its children, the Cluster),
 * so the reconciles that its own status writes and its children's updates cause
 * cost no API call. The API server is asked only where a stale cache could do
 * harm: when the cached status says a slot is due and the cache may not hold
 * this process's last status write (a GET, so a slot never fires twice), and
 * when the cache says the owning Cluster is absent. The
 * child's name is deterministic in (schedule, slot), and 409 AlreadyExists on
 * create counts as created, so a child the cache has not seen yet is never made twice.
 */
import type { ScheduledBackupSpec, ScheduledBackupStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { BACKUP_PHASE, isBackupTerminal } from '../../../../src/api/mysql.cloudnative-mysql.io/phases.js';
import type { Logger } from '../../../logging/logger.js';
import type { KubeClient } from '../../kube/client.js';
import { findCondition } from '../../kube/conditions.js';
import { isConflict } from '../../kube/custom-objects.js';
import { apiVersionOfKind, KINDS } from '../../kube/kinds.js';
import { keyString } from '../../kube/owner-keys.js';
import type { KubeObject, ObjectKey, ReconcileContext, ReconcileResult, Reconciler, SecondaryWatch } from '../../reconciler.js';
import { dueSlot, nextSlot, requeueUntil, ScheduleError, validateSchedule } from '../../schedule/cron.js';
import {
  ANNOTATION_SCHEDULED_BACKUP,
  childBackupName,
  LABEL_SCHEDULED_BACKUP,
  renderChildBackup,
  type OwnerObject,
} from './child-backup.js';
import { SCHEDULED_BACKUP_REASONS as R, type ReadyReason } from './scheduled-backup-reasons.js';
import { readyCondition, statusChanged } from './scheduled-backup-status.js';

interface ScheduledBackupObject extends KubeObject {
  spec: ScheduledBackupSpec;
  status?: ScheduledBackupStatus;
}

type StatusFields = Partial<Record<keyof ScheduledBackupStatus, string | null>>;

export class ScheduledBackupReconciler implements Reconciler {
  readonly name = 'scheduled-backup';
  readonly kind = KINDS.ScheduledBackup;
  readonly watches: SecondaryWatch[] = [
    {
      // A child finishing updates lastSuccessfulBackupName and frees the concurrency guard.
      kind: KINDS.Backup,
      labelSelector: LABEL_SCHEDULED_BACKUP,
      toKeys: (backup) => {
        const name = backup.metadata?.annotations?.[ANNOTATION_SCHEDULED_BACKUP];
        return name && backup.metadata?.namespace ? [{ namespace: backup.metadata.namespace, name }] : [];
      },
    },
  ];

  /**
   * resourceVersion of this process's last status write per schedule ("namespace/name").
   * A cached copy with that resourceVersion holds every lastScheduleTime this process
   * wrote; a process that lost the Lease exits, so a new leader starts with none and
   * asks the API server.
   */
  private readonly written = new Map<string, string>();

  async reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult> {
    const id = keyString(key);
    // The cache first; the API server when the cache has not seen the object (a fresh create, or a test's partial cache).
    const cached = ctx.cache.get(KINDS.ScheduledBackup, key) as ScheduledBackupObject | undefined;
    let schedule = cached ?? (await ctx.client.get<ScheduledBackupObject>(KINDS.ScheduledBackup, key));
    if (!schedule || schedule.metadata?.deletionTimestamp) {
      this.written.delete(id);
      return {};
    }
    const current = cached !== undefined && this.written.get(id) === cached.metadata?.resourceVersion;
    if (cached && !current && !schedule.spec.suspend && slotDue(schedule, ctx.now())) {
      // The cached status may lag our own last write; lastScheduleTime must be current or a slot could fire twice.
      schedule = await ctx.client.get<ScheduledBackupObject>(KINDS.ScheduledBackup, key);
      if (!schedule || schedule.metadata?.deletionTimestamp) return {};
    }
    return new ScheduledBackupPass(ctx, key, schedule, this.written).run();
  }
}

/** The reconciler the manager registers for ScheduledBackup. */
export const scheduledBackupReconciler = (): Reconciler => new ScheduledBackupReconciler();

type SlotOutcome = { kind: 'created'; name: string } | { kind: 'skipped' } | { kind: 'cluster-not-found'; message: string };

/** One reconcile of one ScheduledBackup. */
class ScheduledBackupPass {
  private readonly client: KubeClient;
  private readonly now: Date;
  private readonly status: ScheduledBackupStatus;
  private readonly generation?: number;
  private readonly log: Logger;

  constructor(
    private readonly ctx: ReconcileContext,
    private readonly key: ObjectKey,
    private readonly schedule: ScheduledBackupObject,
    private readonly written: Map<string, string>,
  ) {
    this.client = ctx.client;
    this.now = ctx.now();
    this.status = schedule.status ?? {};
    this.generation = schedule.metadata?.generation;
    this.log = ctx.log.child({ scheduledBackup: key.name, namespace: key.namespace });
  }

  async run(): Promise<ReconcileResult> {
    const { spec } = this.schedule;
    const now = this.now;
    const lastSuccessful = this.latestCompletedChild() ?? this.status.lastSuccessfulBackupName ?? null;

    try {
      validateSchedule(spec.schedule, now);
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      this.log.warn('unusable schedule', { reason: error.reason, error: error.message });
      await this.writeStatus(error.reason, error.message, { nextScheduleTime: null, lastSuccessfulBackupName: lastSuccessful });
      return {}; // a spec edit wakes the reconciler again
    }
    if (spec.suspend) {
      await this.writeStatus(R.Suspended, 'spec.suspend is true: no new Backups are created until it is set to false', {
        nextScheduleTime: null,
        lastSuccessfulBackupName: lastSuccessful,
      });
      return {};
    }

    const slot = slotDue(this.schedule, now);
    const next = nextSlot(spec.schedule, now);

    let reason: ReadyReason = R.Scheduled;
    let message = `next Backup at ${next.toISOString()}`;
    const fields: StatusFields = { nextScheduleTime: next.toISOString(), lastSuccessfulBackupName: lastSuccessful };
    const ready = findCondition(this.status.conditions, 'Ready');
    if (slot) {
      const outcome = await this.fireSlot(slot, next);
      this.log.info('slot handled', { slot: slot.toISOString(), outcome: outcome.kind });
      fields.lastScheduleTime = slot.toISOString();
      if (outcome.kind === 'created') fields.lastBackupName = outcome.name;
      if (outcome.kind === 'cluster-not-found') {
        reason = R.ClusterNotFound;
        message = outcome.message;
      }
    } else if (ready?.reason === R.ClusterNotFound) {
      // Keep reporting the missing Cluster until a slot finds it.
      reason = R.ClusterNotFound;
      message = ready.message;
    }
    await this.writeStatus(reason, message, fields);
    return { requeueAfterMs: requeueUntil(next, now) };
  }

  /** Writes status when anything but lastCheckTime changed; a change of Ready reason is also a Warning Event. */
  private async writeStatus(reason: ReadyReason, message: string, fields: StatusFields): Promise<void> {
    const { status, generation, now } = this;
    const next = {
      ...status,
      ...fields,
      observedGeneration: generation,
      conditions: [
        ...(status.conditions ?? []).filter((c) => c.type !== 'Ready'),
        readyCondition(reason, message, now, generation, status.conditions),
      ],
    } as ScheduledBackupStatus;
    for (const [field, value] of Object.entries(next)) if (value === null) delete (next as Record<string, unknown>)[field];
    if (!statusChanged(status, next)) return;
    const previous = findCondition(status.conditions, 'Ready');
    if (reason !== R.Scheduled && previous?.reason !== reason) await this.ctx.events.record(this.schedule, 'Warning', reason, message);
    // Merge patch: null removes a field (nextScheduleTime while suspended).
    const updated = await this.client.patchStatus(KINDS.ScheduledBackup, this.key, {
      ...fields,
      lastCheckTime: now.toISOString(),
      observedGeneration: generation,
      conditions: next.conditions,
    });
    if (updated.metadata?.resourceVersion) this.written.set(keyString(this.key), updated.metadata.resourceVersion);
  }

  /** Creates the child for one slot, or skips it; either way the slot is consumed. */
  private async fireSlot(slot: Date, next: Date): Promise<SlotOutcome> {
    const { schedule, ctx } = this;
    const namespace = schedule.metadata!.namespace!;
    const scheduleName = schedule.metadata!.name!;
    const name = childBackupName(scheduleName, slot);
    // From the cache: a child it has not seen yet is caught by the 409 on create below.
    const children = this.children();
    if (children.some((child) => child.metadata?.name === name)) return { kind: 'created', name }; // created before a crash

    const active = children.find((child) => !isBackupTerminal((child.status as { phase?: string } | undefined)?.phase));
    if (active) {
      const phase = (active.status as { phase?: string } | undefined)?.phase ?? BACKUP_PHASE.Pending;
      await ctx.events.record(
        schedule,
        'Warning',
        R.BackupSkipped,
        `skipped the backup due at ${slot.toISOString()}: Backup ${active.metadata?.name} is still ${phase}; the next slot is at ${next.toISOString()}`,
      );
      return { kind: 'skipped' };
    }

    let owner: OwnerObject | undefined;
    const ownerPolicy = schedule.spec.backupOwnerReference ?? 'none';
    if (ownerPolicy === 'self') {
      owner = {
        apiVersion: apiVersionOfKind(KINDS.ScheduledBackup),
        kind: KINDS.ScheduledBackup.kind,
        name: scheduleName,
        uid: schedule.metadata!.uid!,
      };
    } else if (ownerPolicy === 'cluster') {
      const clusterKey = { namespace, name: schedule.spec.cluster.name };
      // Absence is confirmed with the API server: a Cluster created a moment ago must not cost a slot.
      const cluster = ctx.cache.get(KINDS.Cluster, clusterKey) ?? (await this.client.get(KINDS.Cluster, clusterKey));
      if (!cluster) {
        const message = `spec.cluster.name "${schedule.spec.cluster.name}" does not name a Cluster in namespace ${namespace}, and backupOwnerReference: cluster needs it as the owner; create the Cluster or set backupOwnerReference to none or self (the backup due at ${slot.toISOString()} was skipped)`;
        await ctx.events.record(schedule, 'Warning', R.BackupSkipped, message);
        return { kind: 'cluster-not-found', message };
      }
      owner = {
        apiVersion: apiVersionOfKind(KINDS.Cluster),
        kind: KINDS.Cluster.kind,
        name: cluster.metadata!.name!,
        uid: cluster.metadata!.uid!,
      };
    }

    const child = renderChildBackup({
      scheduleName,
      namespace,
      spec: schedule.spec,
      annotations: schedule.metadata?.annotations,
      slot,
      owner,
    });
    try {
      await this.client.create(KINDS.Backup, child);
    } catch (error) {
      if (!isConflict(error)) throw error; // already exists: the same slot, created by an earlier attempt
      return { kind: 'created', name };
    }
    // Not awaited, like client-go's asynchronous recorder: record() never throws, and a slot's
    // worker should not wait on an Event when a thousand schedules share one slot.
    void ctx.events.record(schedule, 'Normal', R.BackupCreated, `created Backup ${name} for the slot at ${slot.toISOString()}`);
    return { kind: 'created', name };
  }

  /** This schedule's child Backups, from the informer cache (the label-selected secondary watch fills it). */
  private children(): KubeObject[] {
    const name = this.schedule.metadata?.name;
    return this.ctx.cache
      .list(KINDS.Backup, this.schedule.metadata?.namespace)
      .filter((backup) => backup.metadata?.annotations?.[ANNOTATION_SCHEDULED_BACKUP] === name);
  }

  /** Name of the newest completed child, from the informer cache (good enough for a status hint). */
  private latestCompletedChild(): string | undefined {
    let best: { name: string; at: string } | undefined;
    for (const backup of this.children()) {
      const status = backup.status as { phase?: string; stoppedAt?: string } | undefined;
      if (status?.phase !== BACKUP_PHASE.Completed) continue;
      const at = status.stoppedAt ?? backup.metadata?.creationTimestamp ?? '';
      if (!best || at > best.at) best = { name: backup.metadata!.name!, at };
    }
    return best?.name;
  }
}

/** The slot due now by this copy of the schedule's status, or undefined. */
function slotDue(schedule: ScheduledBackupObject, now: Date): Date | undefined {
  const created = new Date(schedule.metadata?.creationTimestamp ?? now);
  created.setUTCMilliseconds(0);
  const lastScheduleTime = schedule.status?.lastScheduleTime;
  const handledUpTo = lastScheduleTime ? new Date(lastScheduleTime) : undefined;
  try {
    return !handledUpTo && schedule.spec.immediate ? created : dueSlot(schedule.spec.schedule, handledUpTo ?? created, now);
  } catch {
    return undefined; // an unusable schedule is reported by validateSchedule
  }
}
