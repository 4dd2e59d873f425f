/**
 * BackupSchedule: creates BackupRuns on a 5-field cron in spec.timeZone,
 * honours concurrencyPolicy, startingDeadlineSeconds and suspend, starts one
 * run when the `backup-operator.io/trigger` annotation is set, trims history
 * and returns requeueAfter = time to the next slot.
 */
import type { Condition } from '../../../../src/api/common/types.js';
import type { BackupRunStatus, BackupScheduleStatus } from '../../../../src/api/backup-operator.io/types.js';
import { BACKUP_RUN_PHASE } from '../../../../src/api/backup-operator.io/phases.js';
import type { KubeClient } from '../../kube/client.js';
import { findCondition, setCondition } from '../../kube/conditions.js';
import { isAlreadyExists } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import { labelValue } from '../../kube/names.js';
import { keyOf, ownerKeysOf } from '../../kube/owner-keys.js';
import type { KubeObject, ObjectKey, ReconcileContext, ReconcileResult, Reconciler } from '../../reconciler.js';
import { InvalidScheduleError, planSlots, type SlotPlan } from '../../schedule/cron.js';
import { ANNOTATION_TRIGGER, LABEL_SCHEDULE } from '../shared/names.js';
import { BACKUP_SCHEDULE_REASONS as R } from './backup-schedule-reasons.js';
import {
  isActive,
  lastSuccessful,
  manualRunName,
  runFor,
  runsBeyondHistory,
  scheduledRunName,
  type Schedule,
} from './backup-schedule-runs.js';

/** A schedule is looked at least hourly, whatever its next slot. */
export const MAX_REQUEUE_MS = 60 * 60_000;

export class BackupScheduleReconciler implements Reconciler {
  readonly name = 'backup-schedule';
  readonly kind = KINDS.BackupSchedule;
  readonly watches = [
    {
      kind: KINDS.BackupRun,
      toKeys: ownerKeysOf(KINDS.BackupSchedule),
    },
  ];

  async reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const schedule = await ctx.client.get<Schedule>(this.kind, key);
    if (!schedule || schedule.metadata?.deletionTimestamp) return;
    return new SchedulePass(ctx, schedule).run();
  }
}

/** One reconcile of one BackupSchedule. */
class SchedulePass {
  private readonly client: KubeClient;
  private readonly key: ObjectKey;
  private readonly now: Date;
  private readonly generation?: number;
  private conditions: Condition[] | undefined;

  constructor(
    private readonly ctx: ReconcileContext,
    private readonly schedule: Schedule,
  ) {
    this.client = ctx.client;
    this.key = keyOf(schedule);
    this.now = ctx.now();
    this.generation = schedule.metadata?.generation;
    this.conditions = schedule.status?.conditions;
  }

  async run(): Promise<ReconcileResult | void> {
    const { schedule, key, now } = this;
    const spec = schedule.spec;
    const lastHandled = new Date(schedule.status?.lastScheduleTime ?? schedule.metadata?.creationTimestamp ?? now);
    let plan: SlotPlan;
    try {
      plan = planSlots(spec.schedule, spec.timeZone, lastHandled, now);
    } catch (error) {
      if (!(error instanceof InvalidScheduleError)) throw error;
      return this.invalid(error.message);
    }

    const owned = await this.ownedRuns();
    const status: BackupScheduleStatus = {};
    /** A skipped slot's Event, recorded only once lastScheduleTime has moved past it (a failed status write retries without a second Event). */
    let missed: string | undefined;

    // A manual trigger: one run per annotation value, then the annotation is removed.
    const trigger = schedule.metadata?.annotations?.[ANNOTATION_TRIGGER];
    if (trigger !== undefined) {
      await this.launch(owned, manualRunName(key.name, schedule.metadata!.uid!, trigger), undefined);
      await this.client.patch(KINDS.BackupSchedule, key, { metadata: { annotations: { [ANNOTATION_TRIGGER]: null } } });
    }

    if (plan.due && spec.suspend) {
      status.lastScheduleTime = plan.due.toISOString();
    } else if (plan.due) {
      const lateBy = (now.getTime() - plan.due.getTime()) / 1000;
      if (spec.startingDeadlineSeconds !== undefined && lateBy > spec.startingDeadlineSeconds) {
        missed = `the run due at ${plan.due.toISOString()} could not start within startingDeadlineSeconds (${spec.startingDeadlineSeconds} s; ${Math.round(lateBy)} s late) and was skipped.`;
      } else {
        await this.launch(owned, scheduledRunName(key.name, plan.due), plan.due);
      }
      status.lastScheduleTime = plan.due.toISOString();
    }

    const kept = await this.trimHistory();
    this.report(plan, kept);
    const success = lastSuccessful(kept) ?? schedule.status?.lastSuccessfulTime;
    await this.client.patchStatus(KINDS.BackupSchedule, key, {
      ...status,
      ...(success ? { lastSuccessfulTime: success } : {}),
      nextScheduleTime: plan.next.toISOString(),
      active: kept
        .filter(isActive)
        .map((r) => r.metadata!.name!)
        .sort(),
      observedGeneration: this.generation,
      conditions: this.conditions,
    } satisfies BackupScheduleStatus);
    if (missed) await this.ctx.events.record(schedule, 'Warning', R.MissedSchedule, missed);
    // Capped: timers beyond 2^31 ms (24.8 days, e.g. a yearly schedule) overflow and fire at once.
    return { requeueAfterMs: Math.min(MAX_REQUEUE_MS, Math.max(1000, plan.next.getTime() - now.getTime())) };
  }

  /** An unusable schedule or zone: Scheduled False, one Event, and no requeue (a spec edit wakes us). */
  private async invalid(message: string): Promise<void> {
    this.setCondition({ type: 'Scheduled', status: 'False', reason: R.InvalidSchedule, message });
    await this.client.patchStatus(KINDS.BackupSchedule, this.key, {
      observedGeneration: this.generation,
      conditions: this.conditions,
    } satisfies BackupScheduleStatus);
    if (findCondition(this.schedule.status?.conditions, 'Scheduled')?.reason !== R.InvalidSchedule)
      await this.ctx.events.record(this.schedule, 'Warning', R.InvalidSchedule, message);
  }

  private setCondition(input: Parameters<typeof setCondition>[1]): void {
    this.conditions = setCondition(this.conditions, input, this.now, this.generation);
  }

  /** This schedule's runs, from the API server. */
  private async ownedRuns(): Promise<KubeObject[]> {
    return (await this.client.list(KINDS.BackupRun, this.key.namespace, `${LABEL_SCHEDULE}=${labelValue(this.key.name)}`)).filter((r) =>
      r.metadata?.ownerReferences?.some((o) => o.uid === this.schedule.metadata?.uid),
    );
  }

  /** History: the oldest runs beyond the limits go (their data follows their retainPolicy). Returns the runs kept. */
  private async trimHistory(): Promise<KubeObject[]> {
    const spec = this.schedule.spec;
    const current = await this.ownedRuns();
    const trimmed = runsBeyondHistory(current, spec.successfulRunsHistoryLimit ?? 3, spec.failedRunsHistoryLimit ?? 1);
    for (const run of trimmed) {
      await this.client.delete(KINDS.BackupRun, { namespace: this.key.namespace, name: run.metadata!.name! });
      this.ctx.log.info('schedule history trimmed', {
        schedule: `${this.key.namespace}/${this.key.name}`,
        run: run.metadata!.name,
        phase: (run.status as BackupRunStatus | undefined)?.phase,
      });
    }
    return current.filter((r) => !trimmed.includes(r));
  }

  /** The Scheduled and LastRunSucceeded conditions. */
  private report(plan: SlotPlan, kept: KubeObject[]): void {
    const spec = this.schedule.spec;
    this.setCondition(
      spec.suspend
        ? {
            type: 'Scheduled',
            status: 'False',
            reason: R.Suspended,
            message: 'spec.suspend is true: no runs are created; running ones finish.',
          }
        : {
            type: 'Scheduled',
            status: 'True',
            reason: R.Scheduled,
            message: `next run at ${plan.next.toISOString()} (${spec.timeZone ?? 'UTC'} schedule "${spec.schedule}").`,
          },
    );
    const finished = kept
      .filter((r) => !isActive(r))
      .sort(
        (a, b) =>
          Date.parse(String((a.status as BackupRunStatus).completedAt ?? 0)) -
          Date.parse(String((b.status as BackupRunStatus).completedAt ?? 0)),
      )
      .at(-1);
    if (finished) {
      const s = finished.status as BackupRunStatus;
      this.setCondition(
        s.phase === BACKUP_RUN_PHASE.Failed
          ? {
              type: 'LastRunSucceeded',
              status: 'False',
              reason: s.reason ?? R.Failed,
              message: `run ${finished.metadata!.name} failed: ${s.error ?? 'no error recorded'}`,
            }
          : { type: 'LastRunSucceeded', status: 'True', reason: R.Completed, message: `run ${finished.metadata!.name} completed.` },
      );
    }
  }

  /** Creates run `name` under concurrencyPolicy; an existing run of that name (an earlier attempt) counts as created. */
  private async launch(owned: KubeObject[], name: string, slot: Date | undefined): Promise<void> {
    const schedule = this.schedule;
    const namespace = schedule.metadata!.namespace!;
    if (owned.some((r) => r.metadata?.name === name)) return;
    const active = owned.filter((r) => isActive(r) && !r.metadata?.deletionTimestamp);
    const policy = schedule.spec.concurrencyPolicy ?? 'Replace';
    const when = slot ? `the run due at ${slot.toISOString()}` : 'the manually triggered run';
    if (active.length && policy === 'Forbid') {
      await this.ctx.events.record(
        schedule,
        'Warning',
        R.RunSkipped,
        `${when} was skipped: concurrencyPolicy is Forbid and ${active.map((r) => r.metadata!.name).join(', ')} is still running.`,
      );
      return;
    }
    if (active.length && policy === 'Replace') {
      for (const run of active) await this.client.delete(KINDS.BackupRun, { namespace, name: run.metadata!.name! });
      await this.ctx.events.record(
        schedule,
        'Normal',
        R.RunReplaced,
        `concurrencyPolicy Replace: deleted the still-running ${active.map((r) => r.metadata!.name).join(', ')} to start ${name}.`,
      );
    }
    try {
      await this.client.create(KINDS.BackupRun, runFor(schedule, name, slot));
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      return;
    }
    await this.ctx.events.record(schedule, 'Normal', R.RunCreated, `created BackupRun ${name} for ${when}.`);
  }
}
