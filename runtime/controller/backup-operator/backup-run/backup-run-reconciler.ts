/**
 * BackupRun: one Pod per run (backup-run-pod.ts), phase Pending → Running →
 * Completed | Failed, then optionally Restoring → Restored | RestoreFailed when
 * the run carries `backup-operator.io/restore: "true"`. The outcome comes from
 * the worker container's termination message; every failure has its own reason
 * (backup-run-reasons.ts), an Event and one sentence in status.error.
 */
import { ApiException } from '@kubernetes/client-node';
import type { BackupRunResource, BackupRunStatus } from '../../../../src/api/backup-operator.io/types.js';
import { BACKUP_RUN_PHASE } from '../../../../src/api/backup-operator.io/phases.js';
import { renderPathTemplate } from '../../../../src/validation/path-template.js';
import type { KubeClient, Pod } from '../../kube/client.js';
import { setCondition } from '../../kube/conditions.js';
import { setFinalizer } from '../../kube/finalizers.js';
import { KINDS } from '../../kube/kinds.js';
import { keyOf, ownerKeysOf } from '../../kube/owner-keys.js';
import { newBackupId } from '../../../objectstore/object-layout.js';
import type { KubeObject, ObjectKey, ReconcileContext, ReconcileResult, Reconciler } from '../../reconciler.js';
import { ANNOTATION_RESTORE, FINALIZER_DELETE_REMOTE, LABEL_RUN } from '../shared/names.js';
import { deleteCredentialsCopy } from './backup-run-credentials.js';
import { finalizeRun } from './backup-run-finalizer.js';
import { timeOf } from '../../kube/job-outcome.js';
import { BACKUP_FAILURE_REASONS, RESTORE_FAILURE_REASONS, workerOutcome } from './backup-run-outcome.js';
import {
  DEFAULT_DEADLINE_SECONDS,
  POD_DEADLINE_SLACK_SECONDS,
  WORKER_CONTAINER,
  buildBackupPod,
  buildRestorePod,
  objectKeyFromPath,
  podNameFor,
  type RunPodInput,
} from './backup-run-pod.js';
import { BACKUP_RUN_REASONS as R } from './backup-run-reasons.js';
import { completedStatus, failedStatus, restorable, restoreFinishedStatus } from './backup-run-status.js';
import { resolveStorage } from './backup-run-storage.js';

export type Run = BackupRunResource & KubeObject;

/** How often a running Pod is looked at without a watch event (Pod events normally arrive first). */
const POLL_MS = 15_000;

/** The BackupSchedule that owns a run, or ''. */
export const scheduleOf = (run: KubeObject): string =>
  run.metadata?.ownerReferences?.find((o) => o.kind === KINDS.BackupSchedule.kind)?.name ?? '';

export class BackupRunReconciler implements Reconciler {
  readonly name = 'backup-run';
  readonly kind = KINDS.BackupRun;
  readonly watches = [
    {
      kind: KINDS.Pod,
      labelSelector: LABEL_RUN,
      toKeys: ownerKeysOf(KINDS.BackupRun),
    },
  ];

  async reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    let run = await ctx.client.get<Run>(this.kind, key);
    if (!run) return;
    if (run.metadata?.deletionTimestamp) return finalizeRun(new RunPass(ctx, run));
    run = await setFinalizer(ctx.client, this.kind, run, FINALIZER_DELETE_REMOTE, run.spec.retainPolicy === 'Delete');
    const pass = new RunPass(ctx, run);

    switch (run.status?.phase) {
      case undefined:
      case BACKUP_RUN_PHASE.Pending:
        return pass.start();
      case BACKUP_RUN_PHASE.Running:
        return pass.watch('backup');
      case BACKUP_RUN_PHASE.Completed:
        if (run.metadata?.annotations?.[ANNOTATION_RESTORE] === 'true') return pass.startRestore();
        return pass.tidyIfPodsRemain();
      case BACKUP_RUN_PHASE.Restoring:
        return pass.watch('restore');
      default:
        return pass.tidyIfPodsRemain();
    }
  }
}

/** One reconcile of one BackupRun. */
export class RunPass {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;

  constructor(
    readonly ctx: ReconcileContext,
    public run: Run,
  ) {
    this.client = ctx.client;
    this.namespace = run.metadata!.namespace!;
    this.name = run.metadata!.name!;
  }

  private get key(): ObjectKey {
    return keyOf(this.run);
  }

  /**
   * Terminal runs are resynced forever; they cost API calls only while the informer
   * cache still shows one of their Pods (a tidy that failed after the status was written).
   */
  async tidyIfPodsRemain(): Promise<void> {
    const remains = (['backup', 'restore'] as const).some((role) =>
      this.ctx.cache.get(KINDS.Pod, { namespace: this.namespace, name: podNameFor(this.name, role) }),
    );
    if (remains) await this.tidy();
  }

  podInput(storeEnv: RunPodInput['storeEnv'], path: string): RunPodInput {
    const run = this.run;
    return {
      runName: this.name,
      namespace: this.namespace,
      runUid: run.metadata!.uid!,
      scheduleName: scheduleOf(run),
      spec: run.spec,
      workerImage: this.ctx.settings.workerImage,
      storeEnv,
      dataKey: objectKeyFromPath(path),
      backupId: newBackupId(new Date(run.status?.startedAt ?? this.ctx.now())),
    };
  }

  /** Pending: resolve the storage, render and persist the key, create the backup Pod. */
  async start(): Promise<ReconcileResult | void> {
    const name = this.name;
    const resolved = await resolveStorage(this.run, this.client);
    if (!resolved.ok) return this.fail(resolved.reason, resolved.message);
    const now = this.ctx.now();
    // The key is rendered once and kept in status, so a retried reconcile writes the same object.
    let path = this.run.status?.path;
    if (!path) {
      try {
        path = renderPathTemplate(this.run.spec.storage.path, {
          Name: name,
          Namespace: this.namespace,
          ScheduleName: scheduleOf(this.run),
          StorageName: this.run.spec.storage.name,
          now,
        });
      } catch (error) {
        return this.fail(R.PathTemplateInvalid, `spec.storage.path ${(error as Error).message}; fix the template.`);
      }
      if (!objectKeyFromPath(path))
        return this.fail(R.PathTemplateInvalid, 'spec.storage.path renders to an empty object key; add a file name.');
      const podName = podNameFor(name, 'backup');
      this.run = await this.client.patchStatus<Run>(KINDS.BackupRun, { namespace: this.namespace, name }, {
        phase: BACKUP_RUN_PHASE.Pending,
        path,
        podName,
        startedAt: now.toISOString(),
        observedGeneration: this.run.metadata?.generation,
      } satisfies BackupRunStatus);
    }
    const pod = buildBackupPod(this.podInput(resolved.storeEnv, path));
    try {
      await this.client.createPod(pod);
    } catch (error) {
      const code = error instanceof ApiException ? error.code : undefined;
      if (code !== 422 && code !== 400) throw error;
      const detail = String((error as ApiException<unknown>).body ?? '').match(/"message":"((?:[^"\\]|\\.)*)"/)?.[1] ?? `HTTP ${code}`;
      return this.fail(R.PodRejected, `the API server rejected the backup Pod built from spec.template (${detail}); fix spec.template.`);
    }
    await this.client.patchStatus(KINDS.BackupRun, { namespace: this.namespace, name }, {
      phase: BACKUP_RUN_PHASE.Running,
    } satisfies BackupRunStatus);
    await this.ctx.events.record(
      this.run,
      'Normal',
      R.Started,
      `backup started in Pod ${pod.metadata!.name}, writing ${this.run.spec.storage.name}:${objectKeyFromPath(path)}.`,
    );
    this.ctx.log.info('backup run started', { run: `${this.namespace}/${name}`, pod: pod.metadata!.name });
    return { requeueAfterMs: POLL_MS };
  }

  /** Completed with the restore annotation: create the restore Pod, or refuse with a reason. */
  async startRestore(): Promise<ReconcileResult | void> {
    const run = this.run;
    const now = this.ctx.now();
    const r = restorable(run, true);
    const refuse = async (reason: string, message: string) => {
      await this.client.patchStatus(KINDS.BackupRun, this.key, restoreFinishedStatus(run, false, reason, message, now));
      await this.ctx.events.record(run, 'Warning', reason, message);
    };
    if (r.status !== 'True') return refuse(r.reason, `cannot restore: ${r.message}`);
    const resolved = await resolveStorage(run, this.client);
    if (!resolved.ok) return refuse(resolved.reason, resolved.message);
    const pod = buildRestorePod(this.podInput(resolved.storeEnv, run.status!.path!));
    // The backup Pod is gone by now; a restore Pod of an earlier attempt is reused by name.
    await this.client.createPod(pod);
    await this.client.patchStatus(KINDS.BackupRun, this.key, {
      phase: BACKUP_RUN_PHASE.Restoring,
      reason: R.Restoring,
      restoreStartedAt: now.toISOString(),
      conditions: setCondition(
        run.status?.conditions,
        { type: 'Restored', status: 'Unknown', reason: R.Restoring, message: `restore running in Pod ${pod.metadata!.name}.` },
        now,
      ),
    } satisfies BackupRunStatus);
    await this.ctx.events.record(
      run,
      'Normal',
      R.RestoreStarted,
      `restore of ${run.spec.storage.name}:${objectKeyFromPath(run.status!.path!)} started in Pod ${pod.metadata!.name}.`,
    );
    return { requeueAfterMs: POLL_MS };
  }

  /** Running or Restoring: mirror the worker's outcome, or stop a Pod past its deadline. */
  async watch(role: 'backup' | 'restore'): Promise<ReconcileResult | void> {
    const run = this.run;
    const podName = podNameFor(this.name, role);
    const pod = await this.client.readPod(this.namespace, podName);
    const fail = (reason: string, message: string) =>
      role === 'backup' ? this.fail(reason, message) : this.finishRestore(false, reason, message);
    if (!pod)
      return fail(
        R.PodLost,
        `the ${role} Pod ${podName} disappeared before its worker reported; nothing is known to be ${role === 'backup' ? 'stored' : 'restored'}. Check who deleted it and retry with a new run.`,
      );
    const outcome = workerOutcome(pod);
    if (outcome.state === 'failed') {
      const reasons = role === 'backup' ? BACKUP_FAILURE_REASONS : RESTORE_FAILURE_REASONS;
      return fail(reasons[outcome.workerReason] ?? (role === 'backup' ? R.UploadFailed : R.RestoreFailed), sentence(outcome.error));
    }
    if (role === 'backup' && outcome.state === 'completed') return this.complete(outcome);
    if (role === 'restore' && outcome.state === 'restored') {
      return this.finishRestore(
        true,
        R.Restored,
        `the backup was streamed into the restore command of container ${run.spec.restore?.container}, and its checksum matched.`,
      );
    }
    const stuck = podStuck(pod, run, role, this.ctx.now());
    if (stuck) return fail(stuck.reason, stuck.message);
    return { requeueAfterMs: nextLookMs(pod, run, role, this.ctx.now()) };
  }

  private async complete(facts: Parameters<typeof completedStatus>[1]): Promise<void> {
    const run = this.run;
    const now = this.ctx.now();
    const where = `${run.spec.storage.name}:${objectKeyFromPath(run.status!.path!)}`;
    const message = `the backup was stored at ${where} (${facts.storedBytes ?? '?'} bytes).`;
    await this.client.patchStatus(KINDS.BackupRun, this.key, completedStatus(run, facts, message, now));
    await this.ctx.events.record(run, 'Normal', R.Completed, message);
    this.observe('completed', now, undefined, facts.storedBytes);
    await this.tidy();
  }

  private async fail(reason: string, error: string): Promise<void> {
    const run = this.run;
    const now = this.ctx.now();
    await this.client.patchStatus(KINDS.BackupRun, this.key, failedStatus(run, reason, error, now));
    await this.ctx.events.record(run, 'Warning', reason, error);
    this.ctx.log.warn('backup run failed', { run: `${this.namespace}/${this.name}`, reason });
    this.observe('failed', now, reason, undefined);
    await this.tidy();
  }

  private async finishRestore(ok: boolean, reason: string, message: string): Promise<void> {
    const run = this.run;
    const now = this.ctx.now();
    await this.client.patchStatus(KINDS.BackupRun, this.key, restoreFinishedStatus(run, ok, reason, message, now));
    await this.ctx.events.record(run, ok ? 'Normal' : 'Warning', reason, message);
    await this.tidy();
  }

  private observe(outcome: 'completed' | 'failed', now: Date, reason: string | undefined, sizeBytes: number | undefined): void {
    const run = this.run;
    const started = run.status?.startedAt ? Date.parse(run.status.startedAt) : undefined;
    this.ctx.metrics.observeBackup({
      kind: KINDS.BackupRun.kind,
      namespace: this.namespace,
      name: this.name,
      cluster: run.spec.storage.name,
      schedule: scheduleOf(run),
      outcome,
      ...(reason ? { reason } : {}),
      ...(started ? { durationSeconds: (now.getTime() - started) / 1000 } : {}),
      ...(sizeBytes !== undefined ? { sizeBytes } : {}),
      finishedAt: now,
    });
  }

  /** Seed 004: the operator removes the run's Pod when it is done (the template's other containers may run forever). */
  async tidy(): Promise<void> {
    for (const role of ['backup', 'restore'] as const) await this.client.deletePod(this.namespace, podNameFor(this.name, role), 5);
    await deleteCredentialsCopy(this.client, this.namespace, this.name);
  }
}

/** How long after the worker's own deadline the controller stops the Pod itself. */
export const WORKER_DEADLINE_GRACE_SECONDS = 15;

/** When to look again at a running Pod: at the latest when its deadline check is due. */
/** The run's deadlineSeconds for `role`. */
const deadlineOf = (run: BackupRunResource, role: 'backup' | 'restore'): number =>
  (role === 'backup' ? run.spec.backup : run.spec.restore)?.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS;

/** When the worker container started running, if it runs. */
const workerStartedAt = (pod: Pod): string | undefined =>
  pod.status?.containerStatuses?.find((c) => c.name === WORKER_CONTAINER)?.state?.running?.startedAt;

export function nextLookMs(pod: Pod, run: BackupRunResource, role: 'backup' | 'restore', now: Date): number {
  const deadline = deadlineOf(run, role);
  const workerStarted = workerStartedAt(pod);
  if (!workerStarted) return POLL_MS;
  const due = new Date(workerStarted).getTime() + (deadline + WORKER_DEADLINE_GRACE_SECONDS) * 1000 + 500 - now.getTime();
  return Math.max(1000, Math.min(POLL_MS, due));
}

const sentence = (text: string): string => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

type Finding = { reason: string; message: string };

/** The deadline passed: the worker's own plus grace, the kubelet's, or the Pod's life plus start-up slack. */
function deadlinePassed(pod: Pod, deadline: number, role: 'backup' | 'restore', now: Date): Finding | undefined {
  // The worker enforces deadlineSeconds itself, but a pipe whose writer is idle can hold it past
  // that; the controller stops the Pod 15 s after the worker's own deadline.
  const workerStarted = workerStartedAt(pod);
  if (workerStarted && now.getTime() - new Date(workerStarted).getTime() > (deadline + WORKER_DEADLINE_GRACE_SECONDS) * 1000) {
    return {
      reason: R.DeadlineExceeded,
      message: `the deadline of ${deadline} s (deadlineSeconds) passed before the ${role} finished; the Pod was stopped and the ${role === 'backup' ? 'upload abandoned' : 'restore is incomplete'}. Raise deadlineSeconds or check why the command is slow.`,
    };
  }
  if (pod.status?.reason === 'DeadlineExceeded') {
    return {
      reason: R.DeadlineExceeded,
      message: `the ${role} Pod ran longer than deadlineSeconds (${deadline} s) plus ${POD_DEADLINE_SLACK_SECONDS} s of start-up and was stopped; raise deadlineSeconds or check why the command is slow.`,
    };
  }
  const created = timeOf(pod.metadata?.creationTimestamp) || now.getTime();
  if (now.getTime() - created > (deadline + 2 * POD_DEADLINE_SLACK_SECONDS) * 1000) {
    return {
      reason: R.DeadlineExceeded,
      message: `the ${role} Pod did not finish within deadlineSeconds (${deadline} s) plus start-up time; raise deadlineSeconds or check the Pod's events (image pulls, scheduling).`,
    };
  }
  return undefined;
}

/** The Pod failed, or one of its init containers did, before the worker could report. */
function podFailed(pod: Pod, role: 'backup' | 'restore'): Finding | undefined {
  if (pod.status?.phase === 'Failed') {
    return {
      reason: R.PodFailed,
      message: `the ${role} Pod failed (${pod.status.reason ?? 'no reason'}: ${pod.status.message ?? 'no message'}) before its worker reported; check the Pod's events.`,
    };
  }
  const init = pod.status?.initContainerStatuses?.find((s) => s.state?.terminated && s.state.terminated.exitCode !== 0);
  if (init)
    return {
      reason: R.PodFailed,
      message: `init container ${init.name} of the ${role} Pod exited with code ${init.state!.terminated!.exitCode}; check its logs.`,
    };
  return undefined;
}

/** A Pod that can no longer report: failed by the kubelet (activeDeadlineSeconds) or past the deadline plus slack. */
export function podStuck(pod: Pod, run: BackupRunResource, role: 'backup' | 'restore', now: Date): Finding | undefined {
  return deadlinePassed(pod, deadlineOf(run, role), role, now) ?? podFailed(pod, role);
}
