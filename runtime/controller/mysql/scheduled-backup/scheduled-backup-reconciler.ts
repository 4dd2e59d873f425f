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
import type { ScheduledBackupSpec, ScheduledBackupStatus } from '../../../../src/generated/api-types.js';
import { CustomObjects, isConflict } from '../../kube/custom-objects.js';
import { apiVersionOfKind, KINDS } from '../../kube/kinds.js';
import { keyString, type KubeObject, type ObjectKey, type ReconcileContext, type ReconcileResult, type Reconciler } from '../../reconciler.js';
import {
  ANNOTATION_SCHEDULED_BACKUP, childBackupName, LABEL_SCHEDULED_BACKUP, renderChildBackup, type OwnerObject,
} from './child-backup.js';
import { dueSlot, nextSlot, requeueUntil, ScheduleError, validateSchedule } from './schedule-slots.js';
import { EVENT_REASONS, readyCondition, REASONS, statusChanged, type ReadyReason } from './scheduled-backup-status.js';

interface ScheduledBackupObject extends KubeObject {
  spec: ScheduledBackupSpec;
  status?: ScheduledBackupStatus;
}

const TERMINAL = new Set(['completed', 'failed']);

/** The reconciler the manager registers for ScheduledBackup. */
export function scheduledBackupReconciler(): Reconciler {
  // resourceVersion of this process's last status write per schedule. A cached copy with that
  // resourceVersion holds every lastScheduleTime this process wrote; a process that lost the
  // Lease exits, so a new leader starts with none and asks the API server.
  const written = new Map<string, string>();
  return {
    name: 'scheduled-backup',
    kind: KINDS.ScheduledBackup,
    watches: [{
      // A child finishing updates lastSuccessfulBackupName and frees the concurrency guard.
      kind: KINDS.Backup,
      labelSelector: LABEL_SCHEDULED_BACKUP,
      toKeys: (backup) => {
        const name = backup.metadata?.annotations?.[ANNOTATION_SCHEDULED_BACKUP];
        return name && backup.metadata?.namespace ? [{ namespace: backup.metadata.namespace, name }] : [];
      },
    }],
    reconcile: (key, ctx) => reconcileScheduledBackup(key, ctx, written),
  };
}

type SlotOutcome = { kind: 'created'; name: string } | { kind: 'skipped' } | { kind: 'cluster-not-found'; message: string };

/**
 * One reconcile. `written` maps "namespace/name" to the resourceVersion of this
 * process's last status write (see scheduledBackupReconciler); without it every
 * due slot is confirmed with a GET.
 */
export async function reconcileScheduledBackup(key: ObjectKey, ctx: ReconcileContext, written = new Map<string, string>()): Promise<ReconcileResult> {
  const api = new CustomObjects(ctx.kubeConfig);
  const id = keyString(key);
  // The cache first; the API server when the cache has not seen the object (a fresh create, or a test's partial cache).
  const cached = ctx.cache.get(KINDS.ScheduledBackup, key) as ScheduledBackupObject | undefined;
  let schedule = cached ?? await api.get<ScheduledBackupObject>(KINDS.ScheduledBackup, key);
  if (!schedule || schedule.metadata?.deletionTimestamp) {
    written.delete(id);
    return {};
  }
  const current = cached !== undefined && written.get(id) === cached.metadata?.resourceVersion;
  if (cached && !current && !schedule.spec.suspend && slotDue(schedule, ctx.now())) {
    // The cached status may lag our own last write; lastScheduleTime must be current or a slot could fire twice.
    schedule = await api.get<ScheduledBackupObject>(KINDS.ScheduledBackup, key);
    if (!schedule || schedule.metadata?.deletionTimestamp) return {};
  }
  const now = ctx.now();
  const { spec } = schedule;
  const status = schedule.status ?? {};
  const generation = schedule.metadata?.generation;
  const log = ctx.log.child({ scheduledBackup: key.name, namespace: key.namespace });

  const writeStatus = async (reason: ReadyReason, message: string, fields: Partial<Record<keyof ScheduledBackupStatus, string | null>>) => {
    const next = {
      ...status,
      ...fields,
      observedGeneration: generation,
      conditions: [...(status.conditions ?? []).filter((c) => c.type !== 'Ready'), readyCondition(reason, message, now, generation, status.conditions)],
    } as ScheduledBackupStatus;
    for (const [field, value] of Object.entries(next)) if (value === null) delete (next as Record<string, unknown>)[field];
    if (!statusChanged(status, next)) return;
    const previous = status.conditions?.find((c) => c.type === 'Ready');
    if (reason !== REASONS.scheduled && previous?.reason !== reason) await ctx.events.record(schedule, 'Warning', reason, message);
    // Merge patch: null removes a field (nextScheduleTime while suspended).
    const updated = await api.patchStatus(KINDS.ScheduledBackup, key, { ...fields, lastCheckTime: now.toISOString(), observedGeneration: generation, conditions: next.conditions });
    if (updated.metadata?.resourceVersion) written.set(id, updated.metadata.resourceVersion);
  };

  const lastSuccessful = latestCompletedChild(ctx, schedule) ?? status.lastSuccessfulBackupName ?? null;

  try {
    validateSchedule(spec.schedule, now);
  } catch (error) {
    if (!(error instanceof ScheduleError)) throw error;
    log.warn('unusable schedule', { reason: error.reason, error: error.message });
    await writeStatus(error.reason, error.message, { nextScheduleTime: null, lastSuccessfulBackupName: lastSuccessful });
    return {}; // a spec edit wakes the reconciler again
  }
  if (spec.suspend) {
    await writeStatus(REASONS.suspended, 'spec.suspend is true: no new Backups are created until it is set to false', { nextScheduleTime: null, lastSuccessfulBackupName: lastSuccessful });
    return {};
  }

  const slot = slotDue(schedule, now);
  const next = nextSlot(spec.schedule, now);

  let reason: ReadyReason = REASONS.scheduled;
  let message = `next Backup at ${next.toISOString()}`;
  const fields: Partial<Record<keyof ScheduledBackupStatus, string | null>> = { nextScheduleTime: next.toISOString(), lastSuccessfulBackupName: lastSuccessful };
  if (slot) {
    const outcome = await fireSlot(api, ctx, schedule, slot, next);
    log.info('slot handled', { slot: slot.toISOString(), outcome: outcome.kind });
    fields.lastScheduleTime = slot.toISOString();
    if (outcome.kind === 'created') fields.lastBackupName = outcome.name;
    if (outcome.kind === 'cluster-not-found') {
      reason = REASONS.clusterNotFound;
      message = outcome.message;
    }
  } else if (status.conditions?.find((c) => c.type === 'Ready')?.reason === REASONS.clusterNotFound) {
    // Keep reporting the missing Cluster until a slot finds it.
    reason = REASONS.clusterNotFound;
    message = status.conditions.find((c) => c.type === 'Ready')!.message;
  }
  await writeStatus(reason, message, fields);
  return { requeueAfterMs: requeueUntil(next, now) };
}

/** Creates the child for one slot, or skips it; either way the slot is consumed. */
async function fireSlot(api: CustomObjects, ctx: ReconcileContext, schedule: ScheduledBackupObject, slot: Date, next: Date): Promise<SlotOutcome> {
  const namespace = schedule.metadata!.namespace!;
  const scheduleName = schedule.metadata!.name!;
  const name = childBackupName(scheduleName, slot);
  // From the cache: a child it has not seen yet is caught by the 409 on create below.
  const children = childrenOf(ctx, schedule);
  if (children.some((child) => child.metadata?.name === name)) return { kind: 'created', name }; // created before a crash

  const active = children.find((child) => !TERMINAL.has((child.status as { phase?: string } | undefined)?.phase ?? ''));
  if (active) {
    const phase = (active.status as { phase?: string } | undefined)?.phase ?? 'pending';
    await ctx.events.record(schedule, 'Warning', EVENT_REASONS.backupSkipped,
      `skipped the backup due at ${slot.toISOString()}: Backup ${active.metadata?.name} is still ${phase}; the next slot is at ${next.toISOString()}`);
    return { kind: 'skipped' };
  }

  let owner: OwnerObject | undefined;
  const ownerPolicy = schedule.spec.backupOwnerReference ?? 'none';
  if (ownerPolicy === 'self') {
    owner = { apiVersion: apiVersionOfKind(KINDS.ScheduledBackup), kind: KINDS.ScheduledBackup.kind, name: scheduleName, uid: schedule.metadata!.uid! };
  } else if (ownerPolicy === 'cluster') {
    const clusterKey = { namespace, name: schedule.spec.cluster.name };
    // Absence is confirmed with the API server: a Cluster created a moment ago must not cost a slot.
    const cluster = ctx.cache.get(KINDS.Cluster, clusterKey) ?? await api.get(KINDS.Cluster, clusterKey);
    if (!cluster) {
      const message = `spec.cluster.name "${schedule.spec.cluster.name}" does not name a Cluster in namespace ${namespace}, and backupOwnerReference: cluster needs it as the owner; create the Cluster or set backupOwnerReference to none or self (the backup due at ${slot.toISOString()} was skipped)`;
      await ctx.events.record(schedule, 'Warning', EVENT_REASONS.backupSkipped, message);
      return { kind: 'cluster-not-found', message };
    }
    owner = { apiVersion: apiVersionOfKind(KINDS.Cluster), kind: KINDS.Cluster.kind, name: cluster.metadata!.name!, uid: cluster.metadata!.uid! };
  }

  const child = renderChildBackup({ scheduleName, namespace, spec: schedule.spec, annotations: schedule.metadata?.annotations, slot, owner });
  try {
    await api.create(KINDS.Backup, child);
  } catch (error) {
    if (!isConflict(error)) throw error; // already exists: the same slot, created by an earlier attempt
    return { kind: 'created', name };
  }
  // Not awaited, like client-go's asynchronous recorder: record() never throws, and a slot's
  // worker should not wait on an Event when a thousand schedules share one slot.
  void ctx.events.record(schedule, 'Normal', EVENT_REASONS.backupCreated, `created Backup ${name} for the slot at ${slot.toISOString()}`);
  return { kind: 'created', name };
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

/** This schedule's child Backups, from the informer cache (the label-selected secondary watch fills it). */
function childrenOf(ctx: ReconcileContext, schedule: ScheduledBackupObject): KubeObject[] {
  const name = schedule.metadata?.name;
  return ctx.cache.list(KINDS.Backup, schedule.metadata?.namespace)
    .filter((backup) => backup.metadata?.annotations?.[ANNOTATION_SCHEDULED_BACKUP] === name);
}

/** Name of the newest completed child, from the informer cache (good enough for a status hint). */
function latestCompletedChild(ctx: ReconcileContext, schedule: ScheduledBackupObject): string | undefined {
  let best: { name: string; at: string } | undefined;
  for (const backup of childrenOf(ctx, schedule)) {
    const status = backup.status as { phase?: string; stoppedAt?: string } | undefined;
    if (status?.phase !== 'completed') continue;
    const at = status.stoppedAt ?? backup.metadata?.creationTimestamp?.toString() ?? '';
    if (!best || at > best.at) best = { name: backup.metadata!.name!, at };
  }
  return best?.name;
}
