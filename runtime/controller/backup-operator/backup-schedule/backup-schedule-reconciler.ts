/**
 * BackupSchedule: creates BackupRuns on a 5-field cron in spec.timeZone,
 * honours concurrencyPolicy, startingDeadlineSeconds and suspend, starts one
 * run when the `backup-operator.io/trigger` annotation is set, trims history
 * and returns requeueAfter = time to the next slot.
 */
import type { BackupRunStatus, BackupScheduleStatus } from '../../../../src/generated/api-types.js';
import { CustomObjects, isAlreadyExists } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import { ownerKeysOf, type KubeObject, type ObjectKey, type ReconcileContext, type ReconcileResult, type Reconciler } from '../../reconciler.js';
import { setCondition } from '../shared/conditions.js';
import { ANNOTATION_TRIGGER, LABEL_SCHEDULE, labelValue } from '../shared/names.js';
import { InvalidScheduleError, planSlots } from './backup-schedule-cron.js';
import { isActive, lastSuccessful, manualRunName, runFor, runsBeyondHistory, scheduledRunName, type Schedule } from './backup-schedule-runs.js';

/** A schedule is looked at least hourly, whatever its next slot. */
export const MAX_REQUEUE_MS = 60 * 60_000;

export class BackupScheduleReconciler implements Reconciler {
  readonly name = 'backup-schedule';
  readonly kind = KINDS.BackupSchedule;
  readonly watches = [{
    kind: KINDS.BackupRun,
    toKeys: ownerKeysOf(KINDS.BackupSchedule),
  }];

  async reconcile(key: ObjectKey, context: ReconcileContext): Promise<ReconcileResult | void> {
    const objects = new CustomObjects(context.kubeConfig);
    const schedule = await objects.get<Schedule>(this.kind, key);
    if (!schedule || schedule.metadata?.deletionTimestamp) return;
    const now = context.now();
    const spec = schedule.spec;
    let conditions = schedule.status?.conditions;
    const generation = schedule.metadata?.generation;

    const lastHandled = new Date(schedule.status?.lastScheduleTime ?? schedule.metadata?.creationTimestamp ?? now);
    let plan;
    try {
      plan = planSlots(spec.schedule, spec.timeZone, lastHandled, now);
    } catch (error) {
      if (!(error instanceof InvalidScheduleError)) throw error;
      conditions = setCondition(conditions, { type: 'Scheduled', status: 'False', reason: 'InvalidSchedule', message: error.message }, now, generation);
      await objects.patchStatus(this.kind, key, { observedGeneration: generation, conditions } satisfies BackupScheduleStatus);
      if (schedule.status?.conditions?.find((c) => c.type === 'Scheduled')?.reason !== 'InvalidSchedule') await context.events.record(schedule, 'Warning', 'InvalidSchedule', error.message);
      return;
    }

    const owned = (await objects.list(KINDS.BackupRun, key.namespace, `${LABEL_SCHEDULE}=${labelValue(key.name)}`))
      .filter((r) => r.metadata?.ownerReferences?.some((o) => o.uid === schedule.metadata?.uid));
    const status: BackupScheduleStatus = {};
    /** A skipped slot's Event, recorded only once lastScheduleTime has moved past it (a failed status write retries without a second Event). */
    let missed: string | undefined;

    // A manual trigger: one run per annotation value, then the annotation is removed.
    const trigger = schedule.metadata?.annotations?.[ANNOTATION_TRIGGER];
    if (trigger !== undefined) {
      await this.launch(schedule, owned, manualRunName(key.name, schedule.metadata!.uid!, trigger), undefined, objects, context);
      await objects.patch(this.kind, key, { metadata: { annotations: { [ANNOTATION_TRIGGER]: null } } });
    }

    if (plan.due && spec.suspend) {
      status.lastScheduleTime = plan.due.toISOString();
    } else if (plan.due) {
      const lateBy = (now.getTime() - plan.due.getTime()) / 1000;
      if (spec.startingDeadlineSeconds !== undefined && lateBy > spec.startingDeadlineSeconds) {
        missed = `the run due at ${plan.due.toISOString()} could not start within startingDeadlineSeconds (${spec.startingDeadlineSeconds} s; ${Math.round(lateBy)} s late) and was skipped.`;
      } else {
        await this.launch(schedule, owned, scheduledRunName(key.name, plan.due), plan.due, objects, context);
      }
      status.lastScheduleTime = plan.due.toISOString();
    }

    // History: the oldest runs beyond the limits go (their data follows their retainPolicy).
    const current = (await objects.list(KINDS.BackupRun, key.namespace, `${LABEL_SCHEDULE}=${labelValue(key.name)}`))
      .filter((r) => r.metadata?.ownerReferences?.some((o) => o.uid === schedule.metadata?.uid));
    const trimmed = runsBeyondHistory(current, spec.successfulRunsHistoryLimit ?? 3, spec.failedRunsHistoryLimit ?? 1);
    for (const run of trimmed) {
      await objects.delete(KINDS.BackupRun, { namespace: key.namespace, name: run.metadata!.name! });
      context.log.info('schedule history trimmed', { schedule: `${key.namespace}/${key.name}`, run: run.metadata!.name, phase: (run.status as BackupRunStatus | undefined)?.phase });
    }
    const kept = current.filter((r) => !trimmed.includes(r));

    conditions = setCondition(conditions, spec.suspend
      ? { type: 'Scheduled', status: 'False', reason: 'Suspended', message: 'spec.suspend is true: no runs are created; running ones finish.' }
      : { type: 'Scheduled', status: 'True', reason: 'Scheduled', message: `next run at ${plan.next.toISOString()} (${spec.timeZone ?? 'UTC'} schedule "${spec.schedule}").` }, now, generation);
    const finished = kept.filter((r) => !isActive(r)).sort((a, b) => Date.parse(String((a.status as BackupRunStatus).completedAt ?? 0)) - Date.parse(String((b.status as BackupRunStatus).completedAt ?? 0))).at(-1);
    if (finished) {
      const s = finished.status as BackupRunStatus;
      conditions = setCondition(conditions, s.phase === 'Failed'
        ? { type: 'LastRunSucceeded', status: 'False', reason: s.reason ?? 'Failed', message: `run ${finished.metadata!.name} failed: ${s.error ?? 'no error recorded'}` }
        : { type: 'LastRunSucceeded', status: 'True', reason: 'Completed', message: `run ${finished.metadata!.name} completed.` }, now, generation);
    }
    const success = lastSuccessful(kept) ?? schedule.status?.lastSuccessfulTime;
    await objects.patchStatus(this.kind, key, {
      ...status,
      ...(success ? { lastSuccessfulTime: success } : {}),
      nextScheduleTime: plan.next.toISOString(),
      active: kept.filter(isActive).map((r) => r.metadata!.name!).sort(),
      observedGeneration: generation,
      conditions,
    } satisfies BackupScheduleStatus);
    if (missed) await context.events.record(schedule, 'Warning', 'MissedSchedule', missed);
    // Capped: timers beyond 2^31 ms (24.8 days, e.g. a yearly schedule) overflow and fire at once.
    return { requeueAfterMs: Math.min(MAX_REQUEUE_MS, Math.max(1000, plan.next.getTime() - now.getTime())) };
  }

  /** Creates run `name` under concurrencyPolicy; an existing run of that name (an earlier attempt) counts as created. */
  private async launch(schedule: Schedule, owned: KubeObject[], name: string, slot: Date | undefined, objects: CustomObjects, context: ReconcileContext): Promise<void> {
    const namespace = schedule.metadata!.namespace!;
    if (owned.some((r) => r.metadata?.name === name)) return;
    const active = owned.filter((r) => isActive(r) && !r.metadata?.deletionTimestamp);
    const policy = schedule.spec.concurrencyPolicy ?? 'Replace';
    const when = slot ? `the run due at ${slot.toISOString()}` : 'the manually triggered run';
    if (active.length && policy === 'Forbid') {
      await context.events.record(schedule, 'Warning', 'RunSkipped', `${when} was skipped: concurrencyPolicy is Forbid and ${active.map((r) => r.metadata!.name).join(', ')} is still running.`);
      return;
    }
    if (active.length && policy === 'Replace') {
      for (const run of active) await objects.delete(KINDS.BackupRun, { namespace, name: run.metadata!.name! });
      await context.events.record(schedule, 'Normal', 'RunReplaced', `concurrencyPolicy Replace: deleted the still-running ${active.map((r) => r.metadata!.name).join(', ')} to start ${name}.`);
    }
    try {
      await objects.create(KINDS.BackupRun, runFor(schedule, name, slot));
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      return;
    }
    await context.events.record(schedule, 'Normal', 'RunCreated', `created BackupRun ${name} for ${when}.`);
  }
}
