/**
 * Bootstrap by recovery (issue 13): resolve once, write the choice to status.recovery before any
 * data moves, then run the recovery Job on the first instance's PVC until it completes, fails with
 * a reason, or (killed, interrupted) is attempted again; the next attempt resumes on the volume.
 * After the Job, the instance Pod starts on the recovered datadir and the pass marks recovery
 * complete with its RTO once the primary is Ready (cluster-reconciler.ts).
 */
import type { BackupResource, RecoveryStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { readJobOutcome, workerFinished } from '../../kube/job-outcome.js';
import { KINDS } from '../../kube/kinds.js';
import type { KubeObject } from '../../reconciler.js';
import type { ClusterObject, ClusterScope } from './cluster-scope.js';
import { openObjectStore } from './cluster-store-client.js';
import { progressDueInMs } from './status-refresh.js';
import { instancePvc } from './instance-pvc.js';
import { instanceNameFor } from './instance-pvc.js';
import { RECOVERY_CONTAINER, RECOVERY_JOB_SELECTOR, recoveryJobName, renderRecoveryJob } from './recovery-job.js';
import { recoveryFailureFromWorker, latestRecoveryProgress } from './recovery-outcome.js';
import { failure, isFailure, type Failure } from './cluster-reasons.js';
import {
  checkDecryptionKey,
  describeSkipped,
  recoverySourceEntry,
  resolveFromBackup,
  resolveFromObjectStore,
  storeFailure,
  type ResolvedRecovery,
} from './recovery-resolve.js';

/** How many times a recovery Job that was killed or interrupted is started again before the Cluster fails. */
export const MAX_RECOVERY_ATTEMPTS = 3;
export const RECOVERY_POLL_MS = 5_000;

/**
 * Refusals that end by themselves, and how soon resolution is tried again: an object store that
 * cannot be reached now, and a Backup that is still pending or running (recovery starts when it
 * completes; if it fails, the next resolution refuses with BackupFailed). Every other refusal is
 * Failed: only a change of the spec or the source can mend it.
 */
const WAITED_ON: Partial<Record<string, number>> = { ObjectStoreUnreachable: 30_000, BackupNotCompleted: 10_000 };

/** Clears (merge patch: null) the reason and sentence a wait left in status.recovery, once the wait is over. */
const NO_REFUSAL = { reason: null, message: null } as unknown as Pick<RecoveryStatus, 'reason' | 'message'>;

export type StepResult = { readonly done: true } | { readonly done: false; readonly requeueAfterMs?: number };

const isResolved = (r: RecoveryStatus | undefined): boolean => !!r?.backupID && !!r.chain?.length;

export class RecoveryStep {
  constructor(private readonly scope: ClusterScope) {}

  private get recovery(): RecoveryStatus | undefined {
    return this.scope.status.recovery;
  }
  private get primary(): string {
    return instanceNameFor(this.scope.name, 1);
  }

  /** Resolves once (before the destination check, which needs the source's prefix). */
  async ensureResolved(): Promise<StepResult> {
    const recovery = this.recovery;
    if (recovery?.phase === 'failed') return { done: false };
    if (isResolved(recovery)) return { done: true };
    return this.resolve();
  }

  /** Runs the recovery Job until the datadir is restored. */
  async run(): Promise<StepResult> {
    const recovery = this.recovery;
    if (recovery?.phase === 'failed' || !isResolved(recovery)) return { done: false };
    if (recovery?.phase === 'completed' || recovery?.phase === 'finalizing') return { done: true };
    return this.runJob();
  }

  /** Resolves what to restore and records it; never called again once status.recovery has a chain. */
  private async resolve(): Promise<StepResult> {
    const { scope } = this;
    const spec = scope.cluster.spec.bootstrap!.recovery!;
    const startedAt = scope.ctx.now().toISOString();
    let resolved: ResolvedRecovery | Failure;
    try {
      if (spec.backup) {
        const all = await scope.ctx.client.list<BackupResource & KubeObject>(KINDS.Backup, scope.namespace);
        const backup = all.find((b) => b.metadata?.name === spec.backup!.name);
        // The Backup's data lives in its own spec.objectStore, else in its source Cluster's (as the Backup
        // reconciler resolved it); this Cluster's store is the last candidate (the same bucket and path).
        const source = backup
          ? await scope.ctx.client.get<ClusterObject>(KINDS.Cluster, { namespace: scope.namespace, name: backup.spec.cluster.name })
          : undefined;
        resolved = resolveFromBackup(backup, all, {
          backupName: spec.backup.name,
          clusterStore: source?.spec.backup?.objectStore ?? scope.cluster.spec.backup?.objectStore,
          now: scope.ctx.now(),
        });
      } else {
        const entry = recoverySourceEntry(scope.cluster.spec, spec.source!);
        if (isFailure(entry)) return this.refuse(entry.reason, entry.message);
        const store = await openObjectStore(scope.ctx.client, scope.namespace, entry.objectStore!);
        resolved = await resolveFromObjectStore(store, entry, spec.backupID || undefined, scope.ctx.now());
      }
    } catch (error) {
      resolved =
        storeFailure(error, 'resolving the recovery source') ??
        failure('ObjectStoreFailed', `resolving the recovery source failed: ${(error as Error).message.slice(0, 300)}`);
    }
    if (isFailure(resolved)) return this.refuse(resolved.reason, resolved.message, WAITED_ON[resolved.reason]);
    const noKey = checkDecryptionKey(resolved);
    if (noKey) return this.refuse(noKey.reason, noKey.message);
    await scope.patchStatus({
      recovery: { ...toStatus(resolved), phase: 'downloading', resolvedAt: startedAt, attempts: 1, ...NO_REFUSAL },
    });
    await scope.event(
      'Normal',
      'RecoveryResolved',
      `recovering ${resolved.backupID} (${resolved.chain.length} link${resolved.chain.length > 1 ? 's' : ''}) from ${resolved.sourcePrefix}`,
    );
    return { done: false, requeueAfterMs: 1 };
  }

  /** Failed for good, or (`retryInMs`) a wait: the Cluster stays Recovering and resolves again then. */
  private async refuse(reason: string, message: string, retryInMs?: number): Promise<StepResult> {
    const transient = retryInMs !== undefined;
    await this.scope.setPhase(transient ? 'Recovering' : 'Failed', reason, message, {
      recovery: { ...(this.recovery ?? {}), phase: transient ? 'resolving' : 'failed', reason, message },
    });
    return { done: false, requeueAfterMs: retryInMs ?? 60_000 };
  }

  /** Creates the PVC and the current attempt's Job, then follows it. */
  private async runJob(): Promise<StepResult> {
    const { scope } = this;
    const recovery = this.recovery!;
    const attempt = recovery.attempts ?? 1;
    await scope.ctx.client.createPvc(instancePvc({ cluster: scope.cluster, instanceName: this.primary, owner: scope.owner }));
    if ((scope.status.latestGeneratedInstance ?? 0) < 1) await scope.patchStatus({ latestGeneratedInstance: 1 });
    const name = recoveryJobName(this.primary, attempt);
    const job = await scope.ctx.client.readJob(scope.namespace, name);
    if (!job) {
      const image = scope.cluster.spec.imageName ?? scope.ctx.settings.instanceImage ?? scope.ctx.settings.workerImage;
      await scope.ctx.client.createJob(
        renderRecoveryJob({ cluster: scope.cluster, recovery, instanceName: this.primary, attempt, image, owner: scope.owner }),
      );
      await scope.setPhase('Recovering', 'Recovering', `recovery attempt ${attempt} of ${recovery.backupID} started (Job ${name})`, {
        recovery: { ...recovery, jobName: name, startedAt: recovery.startedAt ?? scope.ctx.now().toISOString() },
      });
      return { done: false, requeueAfterMs: RECOVERY_POLL_MS };
    }
    const pods = await scope.ctx.client.listPods(scope.namespace, `job-name=${name}`);
    const outcome = readJobOutcome(job, pods, RECOVERY_CONTAINER);
    // Restored once the worker exited 0 and said so, not a second later when the Job controller marks the Job Complete:
    // that second is RTO (decision 0289).
    const restored = outcome.state === 'complete' || workerFinished(outcome, 'restored');
    if (outcome.state === 'running' && !restored) return this.progress(outcome.pod?.metadata?.name);
    if (restored) {
      await scope.patchStatus({ recovery: { ...recovery, phase: 'finalizing', bytesDone: recovery.bytesTotal, etaSeconds: 0 } });
      await scope.event('Normal', 'RecoveryRestored', `the datadir of ${this.primary} is restored; starting it as the primary`);
      return { done: true };
    }
    const failure = recoveryFailureFromWorker(outcome.result, outcome.terminated?.message);
    if (failure.retry && attempt < MAX_RECOVERY_ATTEMPTS) {
      await scope.event(
        'Warning',
        'RecoveryInterrupted',
        `recovery attempt ${attempt} ended (${failure.message}); attempt ${attempt + 1} resumes on the volume`,
      );
      await scope.patchStatus({ recovery: { ...recovery, attempts: attempt + 1 } });
      return { done: false, requeueAfterMs: 1 };
    }
    return this.refuse(failure.reason, failure.message);
  }

  /** Copies the worker's newest progress line into status.recovery (at most every RECOVERY_POLL_MS). */
  private async progress(podName: string | undefined): Promise<StepResult> {
    const { scope } = this;
    // A pass woken by this step's own last write finds the progress fresh: nothing to read or write yet.
    const dueIn = progressDueInMs(this.recovery, scope.ctx.now(), RECOVERY_POLL_MS);
    if (dueIn) return { done: false, requeueAfterMs: dueIn };
    const log = podName
      ? await scope.ctx.client.readPodLogTail(scope.namespace, podName, RECOVERY_CONTAINER, 40).catch(() => undefined)
      : undefined;
    const progress = latestRecoveryProgress(log);
    if (progress) {
      await scope.patchStatus({
        recovery: {
          ...this.recovery,
          phase: progress.phase,
          bytesDone: progress.bytesDone,
          bytesTotal: progress.bytesTotal,
          bytesPerSecond: Math.round(progress.rate),
          ...(progress.etaSeconds !== null ? { etaSeconds: Math.round(progress.etaSeconds) } : {}),
          progressAt: scope.ctx.now().toISOString(),
        },
      });
    }
    return { done: false, requeueAfterMs: RECOVERY_POLL_MS };
  }
}

export { RECOVERY_JOB_SELECTOR };

function toStatus(r: ResolvedRecovery): RecoveryStatus {
  return {
    sourceKind: r.source.kind,
    ...(r.source.kind === 'backup' ? { backupName: r.source.backupName } : { externalCluster: r.source.externalCluster }),
    sourceCluster: r.sourceCluster,
    sourcePrefix: r.sourcePrefix,
    backupID: r.backupID,
    objectStore: r.objectStore,
    chain: r.chain.map((l: ResolvedRecovery['chain'][number]) => ({
      backupId: l.backupId,
      type: l.type,
      metadataKey: l.metadataKey,
      dataKey: l.dataKey,
      sha256: l.sha256,
      encrypted: l.encrypted,
    })),
    ...(r.chain.at(-1)?.endGTID ? { endGTID: r.chain.at(-1)!.endGTID } : {}),
    ...(r.skipped.length ? { skipped: describeSkipped(r.skipped) } : {}),
  };
}
