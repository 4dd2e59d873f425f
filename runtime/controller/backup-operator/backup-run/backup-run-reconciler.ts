/**
 * BackupRun: one Pod per run (backup-run-pod.ts), phase Pending → Running →
 * Completed | Failed, then optionally Restoring → Restored | RestoreFailed when
 * the run carries `backup-operator.io/restore: "true"`. The outcome comes from
 * the worker container's termination message; every failure has its own reason,
 * an Event and one sentence in status.error.
 */
import { ApiException, type V1Pod } from '@kubernetes/client-node';
import type { BackupRunResource, BackupRunStatus } from '../../../../src/generated/api-types.js';
import { renderPathTemplate } from '../../../../src/validation/path-template.js';
import { CustomObjects } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import { newBackupId } from '../../../objectstore/object-layout.js';
import { ownerKeysOf, type KubeObject, type ObjectKey, type ReconcileContext, type ReconcileResult, type Reconciler } from '../../reconciler.js';
import { setCondition } from '../shared/conditions.js';
import { setFinalizer } from '../shared/finalizers.js';
import { ANNOTATION_RESTORE, FINALIZER_DELETE_REMOTE, LABEL_RUN } from '../shared/names.js';
import { createPod, deletePod, readPod } from '../shared/pods.js';
import { deleteCredentialsCopy } from './backup-run-credentials.js';
import { finalizeRun } from './backup-run-finalizer.js';
import { BACKUP_FAILURE_REASONS, RESTORE_FAILURE_REASONS, workerOutcome } from './backup-run-outcome.js';
import {
  DEFAULT_DEADLINE_SECONDS, POD_DEADLINE_SLACK_SECONDS, WORKER_CONTAINER, buildBackupPod, buildRestorePod, objectKeyFromPath, podNameFor, type RunPodInput,
} from './backup-run-pod.js';
import { completedStatus, failedStatus, restorable, restoreFinishedStatus } from './backup-run-status.js';
import { resolveStorage } from './backup-run-storage.js';

export type Run = BackupRunResource & KubeObject;

/** How often a running Pod is looked at without a watch event (Pod events normally arrive first). */
const POLL_MS = 15_000;

/** The BackupSchedule that owns a run, or ''. */
export const scheduleOf = (run: KubeObject): string => run.metadata?.ownerReferences?.find((o) => o.kind === 'BackupSchedule')?.name ?? '';

export class BackupRunReconciler implements Reconciler {
  readonly name = 'backup-run';
  readonly kind = KINDS.BackupRun;
  readonly watches = [{
    kind: KINDS.Pod,
    labelSelector: LABEL_RUN,
    toKeys: ownerKeysOf(KINDS.BackupRun),
  }];

  async reconcile(key: ObjectKey, context: ReconcileContext): Promise<ReconcileResult | void> {
    const objects = new CustomObjects(context.kubeConfig);
    let run = await objects.get<Run>(this.kind, key);
    if (!run) return;
    if (run.metadata?.deletionTimestamp) return finalizeRun(run, objects, context);
    run = await setFinalizer(objects, this.kind, run, FINALIZER_DELETE_REMOTE, run.spec.retainPolicy === 'Delete');

    switch (run.status?.phase) {
      case undefined:
      case 'Pending':
        return this.start(run, objects, context);
      case 'Running':
        return this.watch(run, 'backup', objects, context);
      case 'Completed':
        if (run.metadata?.annotations?.[ANNOTATION_RESTORE] === 'true') return this.startRestore(run, objects, context);
        return this.tidyIfPodsRemain(run, context);
      case 'Restoring':
        return this.watch(run, 'restore', objects, context);
      default:
        return this.tidyIfPodsRemain(run, context);
    }
  }

  /**
   * Terminal runs are resynced forever; they cost API calls only while the informer
   * cache still shows one of their Pods (a tidy that failed after the status was written).
   */
  private async tidyIfPodsRemain(run: Run, context: ReconcileContext): Promise<void> {
    const namespace = run.metadata!.namespace!;
    const remains = (['backup', 'restore'] as const).some((role) => context.cache.get(KINDS.Pod, { namespace, name: podNameFor(run.metadata!.name!, role) }));
    if (remains) await this.tidy(run, context);
  }

  private async podInput(run: Run, storeEnv: RunPodInput['storeEnv'], context: ReconcileContext, path: string): Promise<RunPodInput> {
    return {
      runName: run.metadata!.name!, namespace: run.metadata!.namespace!, runUid: run.metadata!.uid!, scheduleName: scheduleOf(run),
      spec: run.spec, workerImage: context.settings.workerImage, storeEnv, dataKey: objectKeyFromPath(path),
      backupId: newBackupId(new Date(run.status?.startedAt ?? context.now())),
    };
  }

  private async start(run: Run, objects: CustomObjects, context: ReconcileContext): Promise<ReconcileResult | void> {
    const name = run.metadata!.name!;
    const resolved = await resolveStorage(run, objects, context);
    if (!resolved.ok) return this.fail(run, resolved.reason, resolved.message, objects, context);
    const now = context.now();
    // The key is rendered once and kept in status, so a retried reconcile writes the same object.
    let path = run.status?.path;
    if (!path) {
      try {
        path = renderPathTemplate(run.spec.storage.path, {
          Name: name, Namespace: run.metadata!.namespace!, ScheduleName: scheduleOf(run), StorageName: run.spec.storage.name, now,
        });
      } catch (error) {
        return this.fail(run, 'PathTemplateInvalid', `spec.storage.path ${(error as Error).message}; fix the template.`, objects, context);
      }
      if (!objectKeyFromPath(path)) return this.fail(run, 'PathTemplateInvalid', 'spec.storage.path renders to an empty object key; add a file name.', objects, context);
      const podName = podNameFor(name, 'backup');
      run = await objects.patchStatus<Run>(this.kind, { namespace: run.metadata!.namespace, name }, {
        phase: 'Pending', path, podName, startedAt: now.toISOString(), observedGeneration: run.metadata?.generation,
      } satisfies BackupRunStatus);
    }
    const pod = buildBackupPod(await this.podInput(run, resolved.storeEnv, context, path));
    try {
      await createPod(context.kubeConfig, pod);
    } catch (error) {
      const code = error instanceof ApiException ? error.code : undefined;
      if (code !== 422 && code !== 400) throw error;
      const detail = String((error as ApiException<unknown>).body ?? '').match(/"message":"((?:[^"\\]|\\.)*)"/)?.[1] ?? `HTTP ${code}`;
      return this.fail(run, 'PodRejected', `the API server rejected the backup Pod built from spec.template (${detail}); fix spec.template.`, objects, context);
    }
    await objects.patchStatus(this.kind, { namespace: run.metadata!.namespace, name }, { phase: 'Running' } satisfies BackupRunStatus);
    await context.events.record(run, 'Normal', 'Started', `backup started in Pod ${pod.metadata!.name}, writing ${run.spec.storage.name}:${objectKeyFromPath(path)}.`);
    context.log.info('backup run started', { run: `${run.metadata!.namespace}/${name}`, pod: pod.metadata!.name });
    return { requeueAfterMs: POLL_MS };
  }

  private async startRestore(run: Run, objects: CustomObjects, context: ReconcileContext): Promise<ReconcileResult | void> {
    const key = { namespace: run.metadata!.namespace, name: run.metadata!.name! };
    const now = context.now();
    const r = restorable(run, true);
    const refuse = async (reason: string, message: string) => {
      await objects.patchStatus(this.kind, key, restoreFinishedStatus(run, false, reason, message, now));
      await context.events.record(run, 'Warning', reason, message);
    };
    if (r.status !== 'True') return refuse(r.reason, `cannot restore: ${r.message}`);
    const resolved = await resolveStorage(run, objects, context);
    if (!resolved.ok) return refuse(resolved.reason, resolved.message);
    const pod = buildRestorePod(await this.podInput(run, resolved.storeEnv, context, run.status!.path!));
    // The backup Pod is gone by now; a restore Pod of an earlier attempt is reused by name.
    await createPod(context.kubeConfig, pod);
    await objects.patchStatus(this.kind, key, {
      phase: 'Restoring', reason: 'Restoring', restoreStartedAt: now.toISOString(),
      conditions: setCondition(run.status?.conditions, { type: 'Restored', status: 'Unknown', reason: 'Restoring', message: `restore running in Pod ${pod.metadata!.name}.` }, now),
    } satisfies BackupRunStatus);
    await context.events.record(run, 'Normal', 'RestoreStarted', `restore of ${run.spec.storage.name}:${objectKeyFromPath(run.status!.path!)} started in Pod ${pod.metadata!.name}.`);
    return { requeueAfterMs: POLL_MS };
  }

  private async watch(run: Run, role: 'backup' | 'restore', objects: CustomObjects, context: ReconcileContext): Promise<ReconcileResult | void> {
    const namespace = run.metadata!.namespace!;
    const podName = podNameFor(run.metadata!.name!, role);
    const pod = await readPod(context.kubeConfig, namespace, podName);
    const fail = (reason: string, message: string) => (role === 'backup' ? this.fail(run, reason, message, objects, context) : this.finishRestore(run, false, reason, message, objects, context));
    if (!pod) return fail('PodLost', `the ${role} Pod ${podName} disappeared before its worker reported; nothing is known to be ${role === 'backup' ? 'stored' : 'restored'}. Check who deleted it and retry with a new run.`);
    const outcome = workerOutcome(pod);
    if (outcome.state === 'failed') {
      const reasons = role === 'backup' ? BACKUP_FAILURE_REASONS : RESTORE_FAILURE_REASONS;
      return fail(reasons[outcome.workerReason] ?? (role === 'backup' ? 'UploadFailed' : 'RestoreFailed'), sentence(outcome.error));
    }
    if (role === 'backup' && outcome.state === 'completed') return this.complete(run, outcome, objects, context);
    if (role === 'restore' && outcome.state === 'restored') {
      return this.finishRestore(run, true, 'Restored', `the backup was streamed into the restore command of container ${run.spec.restore?.container}, and its checksum matched.`, objects, context);
    }
    const stuck = podStuck(pod, run, role, context.now());
    if (stuck) return fail(stuck.reason, stuck.message);
    return { requeueAfterMs: nextLookMs(pod, run, role, context.now()) };
  }

  private async complete(run: Run, facts: Parameters<typeof completedStatus>[1], objects: CustomObjects, context: ReconcileContext): Promise<void> {
    const now = context.now();
    const where = `${run.spec.storage.name}:${objectKeyFromPath(run.status!.path!)}`;
    const message = `the backup was stored at ${where} (${facts.storedBytes ?? '?'} bytes).`;
    await objects.patchStatus(this.kind, { namespace: run.metadata!.namespace, name: run.metadata!.name! }, completedStatus(run, facts, message, now));
    await context.events.record(run, 'Normal', 'Completed', message);
    this.observe(run, 'completed', now, undefined, facts.storedBytes, context);
    await this.tidy(run, context);
  }

  private async fail(run: Run, reason: string, error: string, objects: CustomObjects, context: ReconcileContext): Promise<void> {
    const now = context.now();
    await objects.patchStatus(this.kind, { namespace: run.metadata!.namespace, name: run.metadata!.name! }, failedStatus(run, reason, error, now));
    await context.events.record(run, 'Warning', reason, error);
    context.log.warn('backup run failed', { run: `${run.metadata!.namespace}/${run.metadata!.name}`, reason });
    this.observe(run, 'failed', now, reason, undefined, context);
    await this.tidy(run, context);
  }

  private async finishRestore(run: Run, ok: boolean, reason: string, message: string, objects: CustomObjects, context: ReconcileContext): Promise<void> {
    const now = context.now();
    await objects.patchStatus(this.kind, { namespace: run.metadata!.namespace, name: run.metadata!.name! }, restoreFinishedStatus(run, ok, reason, message, now));
    await context.events.record(run, ok ? 'Normal' : 'Warning', reason, message);
    await this.tidy(run, context);
  }

  private observe(run: Run, outcome: 'completed' | 'failed', now: Date, reason: string | undefined, sizeBytes: number | undefined, context: ReconcileContext): void {
    const started = run.status?.startedAt ? Date.parse(run.status.startedAt) : undefined;
    context.metrics.observeBackup({
      kind: 'BackupRun', namespace: run.metadata!.namespace!, name: run.metadata!.name!, cluster: run.spec.storage.name, schedule: scheduleOf(run),
      outcome, ...(reason ? { reason } : {}), ...(started ? { durationSeconds: (now.getTime() - started) / 1000 } : {}),
      ...(sizeBytes !== undefined ? { sizeBytes } : {}), finishedAt: now,
    });
  }

  /** Seed 004: the operator removes the run's Pod when it is done (the template's other containers may run forever). */
  private async tidy(run: Run, context: ReconcileContext): Promise<void> {
    const namespace = run.metadata!.namespace!;
    for (const role of ['backup', 'restore'] as const) await deletePod(context.kubeConfig, namespace, podNameFor(run.metadata!.name!, role), 5);
    await deleteCredentialsCopy(context.kubeConfig, namespace, run.metadata!.name!);
  }
}

/** How long after the worker's own deadline the controller stops the Pod itself. */
export const WORKER_DEADLINE_GRACE_SECONDS = 15;

/** When to look again at a running Pod: at the latest when its deadline check is due. */
export function nextLookMs(pod: V1Pod, run: BackupRunResource, role: 'backup' | 'restore', now: Date): number {
  const deadline = (role === 'backup' ? run.spec.backup : run.spec.restore)?.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS;
  const workerStarted = pod.status?.containerStatuses?.find((c) => c.name === WORKER_CONTAINER)?.state?.running?.startedAt;
  if (!workerStarted) return POLL_MS;
  const due = new Date(workerStarted).getTime() + (deadline + WORKER_DEADLINE_GRACE_SECONDS) * 1000 + 500 - now.getTime();
  return Math.max(1000, Math.min(POLL_MS, due));
}

const sentence = (text: string): string => (/[.!?]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

/** A Pod that can no longer report: failed by the kubelet (activeDeadlineSeconds) or past the deadline plus slack. */
export function podStuck(pod: V1Pod, run: BackupRunResource, role: 'backup' | 'restore', now: Date): { reason: string; message: string } | undefined {
  const deadline = (role === 'backup' ? run.spec.backup : run.spec.restore)?.deadlineSeconds ?? DEFAULT_DEADLINE_SECONDS;
  // The worker enforces deadlineSeconds itself, but a pipe whose writer is idle can hold it past
  // that; the controller stops the Pod 15 s after the worker's own deadline.
  const workerStarted = pod.status?.containerStatuses?.find((c) => c.name === WORKER_CONTAINER)?.state?.running?.startedAt;
  if (workerStarted && now.getTime() - new Date(workerStarted).getTime() > (deadline + WORKER_DEADLINE_GRACE_SECONDS) * 1000) {
    return { reason: 'DeadlineExceeded', message: `the deadline of ${deadline} s (deadlineSeconds) passed before the ${role} finished; the Pod was stopped and the ${role === 'backup' ? 'upload abandoned' : 'restore is incomplete'}. Raise deadlineSeconds or check why the command is slow.` };
  }
  if (pod.status?.reason === 'DeadlineExceeded') {
    return { reason: 'DeadlineExceeded', message: `the ${role} Pod ran longer than deadlineSeconds (${deadline} s) plus ${POD_DEADLINE_SLACK_SECONDS} s of start-up and was stopped; raise deadlineSeconds or check why the command is slow.` };
  }
  const created = pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : now.getTime();
  if (now.getTime() - created > (deadline + 2 * POD_DEADLINE_SLACK_SECONDS) * 1000) {
    return { reason: 'DeadlineExceeded', message: `the ${role} Pod did not finish within deadlineSeconds (${deadline} s) plus start-up time; raise deadlineSeconds or check the Pod's events (image pulls, scheduling).` };
  }
  if (pod.status?.phase === 'Failed') {
    return { reason: 'PodFailed', message: `the ${role} Pod failed (${pod.status.reason ?? 'no reason'}: ${pod.status.message ?? 'no message'}) before its worker reported; check the Pod's events.` };
  }
  const init = pod.status?.initContainerStatuses?.find((s) => s.state?.terminated && s.state.terminated.exitCode !== 0);
  if (init) return { reason: 'PodFailed', message: `init container ${init.name} of the ${role} Pod exited with code ${init.state!.terminated!.exitCode}; check its logs.` };
  return undefined;
}
