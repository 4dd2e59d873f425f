/**
 * mysql.cloudnative-mysql.io Backup: one physical backup of a Cluster, streamed
 * by a worker Job. pending → running → completed | failed; terminal phases are
 * never looked at again. Each step persists its decision in status before it
 * acts, so a restarted operator neither loses nor duplicates a backup.
 */
import type { V1Job } from '@kubernetes/client-node';
import type { ObjectStore } from '../../../../src/api/common/types.js';
import type { BackupResource, BackupStatus, ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { BACKUP_PHASE, isBackupTerminal } from '../../../../src/api/mysql.cloudnative-mysql.io/phases.js';
import { backupPrefix, dataKey, METADATA_OBJECT, metadataKey, newBackupId } from '../../../objectstore/object-layout.js';
import { MYSQL_ENGINE } from '../../../contracts/engines.js';
import type { KubeClient } from '../../kube/client.js';
import { isAlreadyExists } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import { annotatedKeys, ownerKeysOf } from '../../kube/owner-keys.js';
import type { KubeObject, ObjectKey, ReconcileContext, ReconcileResult, Reconciler } from '../../reconciler.js';
import { blockingBackup, findParent } from './backup-guard.js';
import { acquireBackupLock, releaseBackupLock } from './backup-lock.js';
import { BACKUP_POD_ANNOTATION, JOB_SELECTOR, jobNameFor, renderBackupJob, type BackupPlan } from './backup-job.js';
import { jobOutcome, STUCK_GRACE_MS } from './backup-outcome.js';
import { REASON, type Failure } from './backup-reasons.js';
import { instanceSelector, isFailure, selectSource, type BackupTarget, type SelectedSource } from './backup-source.js';
import { unsupportedSpec } from './backup-spec-check.js';
import { destinationUrl, resolveObjectStore, unsupportedStoreOption, type ResolvedStore } from './backup-store.js';
import { completedPatch, conditionOf, failedPatch, STARTED, startedCondition, waitingPatch } from './backup-status.js';

/** How often a waiting Backup looks again for its turn. */
export const WAIT_REQUEUE_MS = 5_000;
/** A safety net while running; Job events normally wake the reconciler first. */
export const RUNNING_REQUEUE_MS = 15_000;
const SCHEDULED_LABEL = 'mysql.cloudnative-mysql.io/scheduled-backup';

type Meta = {
  name: string;
  namespace: string;
  uid: string;
  generation?: number;
  labels?: Record<string, string>;
  deletionTimestamp?: unknown;
};

export class BackupReconciler implements Reconciler {
  readonly name = 'backup';
  readonly kind = KINDS.Backup;
  readonly watches = [
    {
      kind: KINDS.Job,
      labelSelector: JOB_SELECTOR,
      toKeys: ownerKeysOf(KINDS.Backup),
    },
    // The worker's Pod ends about a second before the Job controller marks its Job Complete (decision 0289).
    { kind: KINDS.Pod, labelSelector: JOB_SELECTOR, toKeys: annotatedKeys(BACKUP_POD_ANNOTATION) },
  ];

  async reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const backup = await ctx.client.get<BackupResource & KubeObject>(KINDS.Backup, key);
    if (!backup || isBackupTerminal(backup.status?.phase)) return;
    const meta = backup.metadata as Meta;
    if (meta.deletionTimestamp) return;
    const pass = new BackupPass(ctx, backup);
    return backup.status?.phase === BACKUP_PHASE.Running ? pass.watchJob() : pass.start();
  }
}

/** One reconcile of one Backup. */
class BackupPass {
  private readonly meta: Meta;
  private readonly client: KubeClient;

  constructor(
    private readonly ctx: ReconcileContext,
    private readonly backup: BackupResource & KubeObject,
  ) {
    this.meta = backup.metadata as Meta;
    this.client = ctx.client;
  }

  private get key(): ObjectKey {
    return { namespace: this.meta.namespace, name: this.meta.name };
  }
  private get status(): BackupStatus | undefined {
    return this.backup.status;
  }

  private async patch(status: BackupStatus): Promise<void> {
    const updated = await this.client.patchStatus<BackupResource & KubeObject>(KINDS.Backup, this.key, status);
    this.backup.status = updated.status;
  }

  /** pending: validate, wait for the guard, pick the source, persist the plan, then create the Job. */
  async start(): Promise<ReconcileResult | void> {
    const cluster = await this.client.get<ClusterResource & KubeObject>(KINDS.Cluster, {
      namespace: this.meta.namespace,
      name: this.backup.spec.cluster.name,
    });
    if (!cluster) return this.fail(this.clusterNotFound());
    const resolved = this.checkSpec(cluster);
    if (isFailure(resolved)) return this.fail(resolved);

    const all = this.ctx.cache.list(KINDS.Backup, this.meta.namespace) as Array<BackupResource & KubeObject>;
    const waiting = await this.takeTurn(cluster, all);
    if (waiting) return waiting;

    const clusterName = this.backup.spec.cluster.name;
    const pods = await this.client.listPods(this.meta.namespace, instanceSelector(clusterName));
    const target = (this.backup.spec.target ?? cluster.spec.backup?.target ?? 'prefer-standby') as BackupTarget;
    const source = selectSource(pods, target, clusterName, cluster.status?.currentPrimary);
    if (isFailure(source)) return this.fail(source);

    const plan = this.planFor(resolved.store, all);
    await this.launch(cluster, resolved.store, source, plan);
    return { requeueAfterMs: RUNNING_REQUEUE_MS };
  }

  private clusterNotFound(): Failure {
    return {
      reason: REASON.ClusterNotFound,
      message: `Cluster ${this.backup.spec.cluster.name} does not exist in namespace ${this.meta.namespace}; fix spec.cluster.name or create the Cluster, then create a new Backup`,
    };
  }

  /** The spec asks for what Silo supports, and the object store resolves to a usable one. */
  private checkSpec(cluster: ClusterResource & KubeObject): ResolvedStore | Failure {
    const invalid = unsupportedSpec(this.backup);
    if (invalid) return invalid;
    const resolved = resolveObjectStore(this.backup, cluster);
    if (isFailure(resolved)) return resolved;
    return unsupportedStoreOption(resolved) ?? resolved;
  }

  /** Waits (a requeue) unless this Backup's turn has come and it holds the Cluster's backup lock. */
  private async takeTurn(
    cluster: ClusterResource & KubeObject,
    all: Array<BackupResource & KubeObject>,
  ): Promise<ReconcileResult | undefined> {
    const clusterName = this.backup.spec.cluster.name;
    // First come, first served among this Cluster's Backups (the cache is enough for the order) ...
    const blocker = blockingBackup(this.backup, all);
    if (blocker) {
      const other = (blocker.metadata as Meta).name;
      return this.wait(
        `Backup ${other} of Cluster ${clusterName} is ${blocker.status?.phase === BACKUP_PHASE.Running ? 'running' : 'older and not finished'}; this one starts when it ends`,
      );
    }
    // ... and the Cluster's lock makes "one at a time" atomic.
    const lock = await acquireBackupLock(this.client, cluster, this.backup);
    if (lock.held) return undefined;
    if (lock.conflict) return { requeueAfterMs: 1_000 };
    return this.wait(`Backup ${lock.holder} of Cluster ${clusterName} holds the Cluster's backup lock; this one starts when it ends`);
  }

  /** A new backup ID and its keys; a differential or incremental backup without a completed parent in this store falls back to full. */
  private planFor(store: ObjectStore, all: Array<BackupResource & KubeObject>): BackupPlan {
    const location = this.locationFor(store, newBackupId(this.ctx.now()));
    const storeRoot = destinationUrl(store, backupPrefix({ ...location, backupName: '', backupId: '' }));
    const requested = this.backup.spec.type ?? 'full';
    const parent = findParent(this.backup, all, requested, (b) => String(b.status?.destinationPath ?? '').startsWith(storeRoot));
    return {
      backupId: location.backupId,
      jobName: jobNameFor(this.meta.name, location.backupId),
      dataKey: dataKey(location, MYSQL_ENGINE.dataObject),
      metadataKey: metadataKey(location),
      type: parent ? requested : 'full',
      ...(parent ? { parentBackupId: parent.backupId, incrementalLsn: parent.toLSN } : {}),
    };
  }

  private locationFor(store: ObjectStore, backupId: string) {
    return { path: store.path ?? '', cluster: this.backup.spec.cluster.name, backupName: this.meta.name, backupId };
  }

  /** Persists the plan, then creates the Job: a restart re-creates the same Job, never a second backup. */
  private async launch(cluster: ClusterResource & KubeObject, store: ObjectStore, source: SelectedSource, plan: BackupPlan): Promise<void> {
    const requested = this.backup.spec.type ?? 'full';
    await this.patch({
      phase: BACKUP_PHASE.Running,
      reason: REASON.Started,
      method: this.backup.spec.method ?? 'xtrabackup',
      type: plan.type,
      backupId: plan.backupId,
      jobName: plan.jobName,
      ...(plan.parentBackupId ? { parentBackupId: plan.parentBackupId } : {}),
      instanceName: source.podName,
      destinationPath: destinationUrl(store, backupPrefix(this.locationFor(store, plan.backupId))),
      startedAt: this.ctx.now().toISOString(),
      observedGeneration: this.meta.generation,
    });
    this.ctx.log.info('backup starting', {
      backup: `${this.meta.namespace}/${this.meta.name}`,
      source: source.podName,
      role: source.role,
      job: plan.jobName,
      type: plan.type,
    });
    await this.createJob(
      renderBackupJob({ backup: this.backup, cluster, store, source, plan, workerImage: this.ctx.settings.workerImage }),
    );
    const fallback = requested !== plan.type ? ` (${requested} requested; no completed parent in this store, so full)` : '';
    await this.ctx.events.record(
      this.backup,
      'Normal',
      REASON.Started,
      `${plan.type} backup ${plan.backupId} from ${source.role} ${source.podName}${source.lagSeconds !== undefined ? ` (lag ${source.lagSeconds} s)` : ''} by Job ${plan.jobName}${fallback}`,
    );
  }

  private async wait(message: string): Promise<ReconcileResult> {
    if (conditionOf(this.status, STARTED)?.message !== message) {
      await this.patch(waitingPatch(this.status, message, this.meta.generation, this.ctx.now()));
      await this.ctx.events.record(this.backup, 'Normal', REASON.WaitingForRunningBackup, message);
    }
    return { requeueAfterMs: WAIT_REQUEUE_MS };
  }

  private async createJob(job: V1Job): Promise<void> {
    try {
      await this.client.createJob(job);
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
    await this.patch(startedCondition(this.status, job.metadata!.name!, this.meta.generation, this.ctx.now()));
  }

  /** running: mirror the Job's outcome. */
  async watchJob(): Promise<ReconcileResult | void> {
    const jobName = this.status?.jobName ?? '';
    const job = await this.client.readJob(this.meta.namespace, jobName);
    if (!job) {
      if (conditionOf(this.status, STARTED)?.status === 'True') {
        return this.fail({
          reason: REASON.JobDeleted,
          message: `the backup Job ${jobName} was deleted before it reported an outcome; create a new Backup`,
        });
      }
      return this.recreateJob();
    }
    if (conditionOf(this.status, STARTED)?.status !== 'True')
      await this.patch(startedCondition(this.status, jobName, this.meta.generation, this.ctx.now()));
    const pods = await this.client.listPods(this.meta.namespace, `job-name=${jobName}`);
    const location = this.location();
    const graceMs = (this.ctx.settings.podStartGraceSeconds ?? STUCK_GRACE_MS / 1000) * 1000;
    const outcome = jobOutcome(job, pods, { backupId: this.status?.backupId ?? '', dataKey: location.dataKey }, this.ctx.now(), graceMs);
    if (outcome.state === 'failed') return this.fail(outcome.failure);
    if (outcome.state === 'completed') {
      await this.patch(completedPatch(this.status, outcome.metadata, this.meta.generation, this.ctx.now()));
      const s = this.status!;
      await this.ctx.events.record(
        this.backup,
        'Normal',
        REASON.Completed,
        `backup ${s.backupId} from ${s.instanceName} completed: ${s.size} at ${s.destinationPath}, SHA256 ${s.sha256}`,
      );
      this.observe('completed');
      await releaseBackupLock(this.client, this.meta.namespace, this.backup.spec.cluster.name, this.backup);
      return;
    }
    return { requeueAfterMs: outcome.waiting ? 10_000 : RUNNING_REQUEUE_MS };
  }

  /** The operator stopped between persisting the plan and creating the Job: create it now, from the persisted plan. */
  private async recreateJob(): Promise<ReconcileResult | void> {
    const clusterName = this.backup.spec.cluster.name;
    const cluster = await this.client.get<ClusterResource & KubeObject>(KINDS.Cluster, {
      namespace: this.meta.namespace,
      name: clusterName,
    });
    if (!cluster)
      return this.fail({
        reason: REASON.ClusterNotFound,
        message: `Cluster ${clusterName} was deleted before the backup Job was created; create a new Backup`,
      });
    const resolved = resolveObjectStore(this.backup, cluster);
    if (isFailure(resolved)) return this.fail(resolved);
    const pods = await this.client.listPods(this.meta.namespace, instanceSelector(clusterName));
    // The source was chosen and persisted; only that instance may serve this backup ID.
    const chosen = selectSource(
      pods.filter((p) => p.metadata?.name === this.status?.instanceName),
      'prefer-standby',
      clusterName,
    );
    if (isFailure(chosen))
      return this.fail({
        reason: REASON.NoHealthySource,
        message: `the chosen source instance ${this.status?.instanceName} is no longer healthy; create a new Backup`,
      });
    const location = this.location();
    const plan: BackupPlan = {
      backupId: this.status!.backupId!,
      jobName: this.status!.jobName!,
      dataKey: location.dataKey,
      metadataKey: location.metadataKey,
      type: this.status?.type ?? 'full',
      ...(this.status?.parentBackupId ? { parentBackupId: this.status.parentBackupId } : {}),
    };
    const incrementalLsn = plan.parentBackupId
      ? (await this.client.list<BackupResource & KubeObject>(KINDS.Backup, this.meta.namespace)).find(
          (b) => b.status?.backupId === plan.parentBackupId,
        )?.status?.toLSN
      : undefined;
    if (plan.parentBackupId && !incrementalLsn)
      return this.fail({
        reason: REASON.JobDeleted,
        message: `the parent backup ${plan.parentBackupId} disappeared before the Job was created; create a new Backup`,
      });
    await this.createJob(
      renderBackupJob({
        backup: this.backup,
        cluster,
        store: resolved.store,
        source: chosen,
        plan: { ...plan, ...(incrementalLsn ? { incrementalLsn } : {}) },
        workerImage: this.ctx.settings.workerImage,
      }),
    );
    return { requeueAfterMs: RUNNING_REQUEUE_MS };
  }

  /** destinationPath is <scheme>://<bucket>/<prefix>/ (s3, gs or azure); the keys follow from it (object-layout.ts). */
  private location() {
    const prefix = String(this.status?.destinationPath ?? '').replace(/^[a-z0-9]+:\/\/[^/]+\//, '');
    return { dataKey: `${prefix}${MYSQL_ENGINE.dataObject}`, metadataKey: `${prefix}${METADATA_OBJECT}` };
  }

  private async fail(failure: Failure): Promise<void> {
    await this.patch(failedPatch(this.status, failure, this.meta.generation, this.ctx.now()));
    this.ctx.log.warn('backup failed', {
      backup: `${this.meta.namespace}/${this.meta.name}`,
      reason: failure.reason,
      error: failure.message,
    });
    await this.ctx.events.record(this.backup, 'Warning', failure.reason, failure.message);
    this.observe('failed', failure.reason);
    await releaseBackupLock(this.client, this.meta.namespace, this.backup.spec.cluster.name, this.backup);
  }

  private observe(outcome: 'completed' | 'failed', reason?: string): void {
    const s = this.status;
    const started = s?.startedAt ? Date.parse(s.startedAt) : undefined;
    const stopped = s?.stoppedAt ? Date.parse(s.stoppedAt) : this.ctx.now().getTime();
    this.ctx.metrics.observeBackup({
      kind: KINDS.Backup.kind,
      namespace: this.meta.namespace,
      name: this.meta.name,
      cluster: this.backup.spec.cluster.name,
      schedule: this.meta.labels?.[SCHEDULED_LABEL] ?? '',
      outcome,
      ...(reason ? { reason } : {}),
      ...(started !== undefined ? { durationSeconds: Math.max(0, (stopped - started) / 1000) } : {}),
      ...(s?.sizeBytes !== undefined ? { sizeBytes: s.sizeBytes } : {}),
      finishedAt: this.ctx.now(),
    });
  }
}
