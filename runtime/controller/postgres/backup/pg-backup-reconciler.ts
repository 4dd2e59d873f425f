/**
 * postgres.silo.io PGBackup: `pending → running → completed | failed`, terminal for good. Backups of
 * one cluster are queued (pg-backup-lock.ts), so overlapping requests never hit pgBackRest's lock; a
 * short-lived Job asks the repo host to run the backup (pg-backup-job.ts); the outcome is the Job's,
 * its cause read from pgBackRest's output; the status fields come from `pgbackrest info`, matched by
 * the annotation stored with the backup, so a Job that exits 0 without a backup in the repository is
 * never a success (decision 0272).
 */
import type { PGBackupStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { pgNames } from '../../../contracts/pg-pods.js';
import { isConditionTrue, setCondition } from '../../kube/conditions.js';
import { readJobOutcome, workerFinished } from '../../kube/job-outcome.js';
import { KINDS } from '../../kube/kinds.js';
import { annotatedKeys, ownerKeysOf } from '../../kube/owner-keys.js';
import type { ObjectKey, ReconcileContext, ReconcileResult, Reconciler } from '../../reconciler.js';
import {
  PG_BACKUP_POD_ANNOTATION,
  PG_LABELS,
  pgImage,
  repoIndex,
  type PGBackupObject,
  type PGClusterObject,
} from '../shared/pg-objects.js';
import { backupStatusFields, findBackup, stanzaOf } from '../shared/pgbackrest-info.js';
import { RepoAgentClient } from '../shared/repo-agent-client.js';
import type { MetadataAnswer } from '../../../contracts/pg-backup-metadata.js';
import { PGB, isPgBackupReason, pgBackupMessage, type PGBackupReason } from './pg-backup-reasons.js';
import { backupAnnotation, pgBackupJob, pgBackupJobName } from './pg-backup-job.js';
import { acquirePgBackupLock, releasePgBackupLock } from './pg-backup-lock.js';

const POLL_MS = 3_000;

export class PGBackupReconciler implements Reconciler {
  readonly name = 'pgbackup';
  readonly kind = KINDS.PGBackup;
  readonly watches = [
    { kind: KINDS.Job, labelSelector: PG_LABELS.backup, toKeys: ownerKeysOf(KINDS.PGBackup) },
    // The worker's Pod ends about a second before the Job controller marks its Job Complete (decision 0289).
    { kind: KINDS.Pod, labelSelector: `${PG_LABELS.role}=backup`, toKeys: backupOfPod },
  ];

  async reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const backup = await ctx.client.get<PGBackupObject>(KINDS.PGBackup, key);
    if (!backup || backup.metadata.deletionTimestamp) return;
    const pass = new PGBackupPass(ctx, backup);
    return pass.run();
  }
}

/** The PGBackup a backup Job's Pod works for, from the annotation its template carries. */
export const backupOfPod = annotatedKeys(PG_BACKUP_POD_ANNOTATION);

/**
 * The worker exited 0 and said it backed up: done, without waiting for the Job controller's Complete
 * condition. Safe because completion is only ever confirmed by `pgbackrest info` holding the backup.
 */
export const workerBackedUp = (outcome: ReturnType<typeof readJobOutcome>): boolean => workerFinished(outcome, 'backed-up');

/**
 * The Job failed because its Pod went away mid-backup (gone, being deleted, or never told how its container ended)
 * without the worker's result; not its deadline, whose kill is the Job controller's own and has a reason of its own.
 */
export function workerLost(outcome: ReturnType<typeof readJobOutcome>): boolean {
  const podLost = !outcome.pod || !!outcome.pod.metadata?.deletionTimestamp || !outcome.terminated;
  return outcome.state === 'failed' && !outcome.result && podLost && outcome.condition?.reason !== 'DeadlineExceeded';
}

class PGBackupPass {
  constructor(
    private readonly ctx: ReconcileContext,
    private readonly backup: PGBackupObject,
  ) {}

  private get key() {
    return { namespace: this.backup.metadata.namespace, name: this.backup.metadata.name };
  }

  private async cluster(): Promise<PGClusterObject | undefined> {
    return this.ctx.client.get<PGClusterObject>(KINDS.PGCluster, { namespace: this.key.namespace, name: this.backup.spec.cluster.name });
  }

  async run(): Promise<ReconcileResult> {
    const phase = this.backup.status?.phase;
    const jobName = pgBackupJobName(this.key.name);
    const terminal = phase === 'completed' || phase === 'failed';
    // The cluster, the Job and (once running) its Pods at once: the pass that completes a backup starts as the worker
    // exits, and every read in turn is time a user, and the next queued backup, waits.
    const [cluster, job, pods] = await Promise.all([
      this.cluster(),
      terminal ? undefined : this.ctx.client.readJob(this.key.namespace, jobName),
      phase === 'running' ? this.ctx.client.listPods(this.key.namespace, `job-name=${jobName}`) : undefined,
    ]);
    if (terminal) {
      await releasePgBackupLock(this.ctx.client, cluster, this.backup);
      return {};
    }
    if (!cluster) return this.wait(PGB.ClusterNotFound, 10_000);
    if (!cluster.spec.backups.pgbackrest.repos.some((r) => r.name === this.backup.spec.repoName))
      return this.fail(cluster, PGB.RepoNotFound);
    if (job) return this.follow(cluster, job, pods);
    if (!isConditionTrue(cluster.status?.conditions, 'StanzaReady') || !cluster.status?.repoHost?.podIP)
      return this.wait(PGB.WaitingForStanza, 5_000);
    const lock = await acquirePgBackupLock(this.ctx.client, cluster, this.backup);
    if (!lock.held)
      return this.wait(PGB.Queued, POLL_MS, lock.holder ? `waiting for PGBackup ${lock.holder} of this cluster to finish` : undefined);
    await this.ctx.client.createJob(
      pgBackupJob({
        backup: this.backup,
        // The Job runs the cluster's image: its spec.image, else the operator's SILO_PG_INSTANCE_IMAGE.
        cluster: { ...cluster, spec: { ...cluster.spec, image: pgImage(cluster.spec, this.ctx.settings) } },
        repoHost: { podIp: cluster.status.repoHost.podIP, host: cluster.status.repoHost.host! },
        owner: {
          apiVersion: 'postgres.silo.io/v1alpha1',
          kind: 'PGBackup',
          name: this.key.name,
          uid: this.backup.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      }),
    );
    await this.patch('running', PGB.Running, {
      jobName: pgBackupJobName(this.key.name),
      repo: this.backup.spec.repoName,
      stanza: 'db',
      annotation: backupAnnotation(this.backup),
      requestedType: this.backup.spec.type ?? 'incremental',
      startedAt: this.ctx.now().toISOString(),
    });
    return { requeueAfterMs: POLL_MS };
  }

  private async follow(
    cluster: PGClusterObject,
    job: NonNullable<Awaited<ReturnType<ReconcileContext['client']['readJob']>>>,
    listed?: Awaited<ReturnType<ReconcileContext['client']['listPods']>>,
  ): Promise<ReconcileResult> {
    const pods = listed ?? (await this.ctx.client.listPods(this.key.namespace, `job-name=${job.metadata!.name}`));
    const outcome = readJobOutcome(job, pods, 'backup');
    if (this.backup.status?.phase !== 'running') await this.patch('running', PGB.Running, { jobName: job.metadata!.name });
    if (outcome.state === 'running' && !workerBackedUp(outcome)) return { requeueAfterMs: POLL_MS };
    // The repository says whether a backup whose Pod went away still got there (it can, if the Pod went as it finished).
    if (workerLost(outcome)) return this.complete(cluster, PGB.WorkerLost);
    if (outcome.state === 'failed') {
      const reason = outcome.result?.reason;
      if (isPgBackupReason(reason)) return this.fail(cluster, reason, outcome.result?.error);
      if (outcome.condition?.reason === 'DeadlineExceeded') return this.fail(cluster, PGB.DeadlineExceeded);
      return this.fail(cluster, PGB.JobFailed, outcome.terminated?.message?.slice(0, 400));
    }
    return this.complete(cluster);
  }

  /** The Job succeeded: the backup's fields from `pgbackrest info`, or a failure (`missing`) if the repository does not hold it. */
  private async complete(cluster: PGClusterObject, missing: PGBackupReason = PGB.NotInRepository): Promise<ReconcileResult> {
    const names = pgNames(cluster.metadata.name);
    const agent = new RepoAgentClient(this.ctx.client, {
      namespace: this.key.namespace,
      podIp: cluster.status!.repoHost!.podIP!,
      serverName: cluster.status!.repoHost!.host!,
      tlsSecret: names.backupTlsSecret,
    });
    const info = await agent.status();
    const found = findBackup(stanzaOf(info.info), repoIndex({ name: this.backup.spec.repoName }), backupAnnotation(this.backup));
    if (!found) return this.fail(cluster, missing);
    const fields = { ...backupStatusFields(found), ...(await this.writeMetadata(agent, found.label)) };
    const detail = `pgBackRest took ${fields.type} backup ${fields.label} in ${this.backup.spec.repoName}${fields.type !== (this.backup.spec.type ?? 'incremental') ? ` (${this.backup.spec.type ?? 'incremental'} was asked; the repository had no full backup)` : ''}`;
    // The lock is released while the status is written, not before it: a lock naming a completed PGBackup is stale
    // and the next backup takes it over (pg-backup-lock.ts), and should the operator stop in between, the terminal
    // pass releases it. With the cluster this pass read: a change since (its status is written every few seconds) is
    // a conflict, and the release reads it again then.
    await Promise.all([
      releasePgBackupLock(this.ctx.client, cluster, this.backup),
      this.patch('completed', PGB.Completed, { ...fields, completedAt: this.ctx.now().toISOString() }, detail),
    ]);
    await this.ctx.events.record(this.backup, 'Normal', PGB.Completed, detail);
    this.observe('completed', undefined, fields.repoDeltaBytes);
    return {};
  }

  /**
   * The repo host writes the set's metadata.json (decision 0296). A failure leaves the backup completed (pgBackRest
   * holds it) with condition MetadataWritten False and a Warning Event: never a silent skip.
   */
  private async writeMetadata(agent: RepoAgentClient, label: string): Promise<PGBackupStatus> {
    const repo = repoIndex({ name: this.backup.spec.repoName });
    const answer = await agent
      .writeMetadata({ repo, label })
      .catch((error: Error) => ({ ok: false, error: error.message }) as MetadataAnswer);
    const reason = answer.ok ? PGB.MetadataWritten : PGB.MetadataNotWritten;
    const message = pgBackupMessage(reason, answer.ok ? answer.url : answer.error);
    if (!answer.ok) await this.ctx.events.record(this.backup, 'Warning', reason, message);
    return {
      ...(answer.ok ? { metadataPath: answer.path, manifestSha256: answer.manifestSha256 } : {}),
      conditions: setCondition(
        this.backup.status?.conditions,
        { type: 'MetadataWritten', status: answer.ok ? 'True' : 'False', reason, message },
        this.ctx.now(),
      ),
    };
  }

  private async fail(cluster: PGClusterObject | undefined, reason: PGBackupReason, detail?: string): Promise<ReconcileResult> {
    const message = pgBackupMessage(reason, detail);
    await releasePgBackupLock(this.ctx.client, cluster ? await this.cluster() : undefined, this.backup);
    await this.patch('failed', reason, { completedAt: this.ctx.now().toISOString() }, detail);
    await this.ctx.events.record(this.backup, 'Warning', reason, message);
    this.observe('failed', reason);
    return {};
  }

  /** The backup metrics every kind feeds (duration, size, last success or failure per cluster). */
  private observe(outcome: 'completed' | 'failed', reason?: string, sizeBytes?: number): void {
    const started = Date.parse(this.backup.status?.startedAt ?? '');
    const finishedAt = this.ctx.now();
    this.ctx.metrics.observeBackup({
      kind: 'PGBackup',
      namespace: this.key.namespace,
      name: this.key.name,
      cluster: this.backup.spec.cluster.name,
      schedule: '',
      outcome,
      finishedAt,
      ...(reason ? { reason } : {}),
      ...(Number.isFinite(started) ? { durationSeconds: (finishedAt.getTime() - started) / 1000 } : {}),
      ...(sizeBytes !== undefined ? { sizeBytes } : {}),
    });
  }

  private async wait(reason: PGBackupReason, ms: number, detail?: string): Promise<ReconcileResult> {
    if (this.backup.status?.reason !== reason || !this.backup.status?.phase) await this.patch('pending', reason, {}, detail);
    return { requeueAfterMs: ms };
  }

  private async patch(
    phase: NonNullable<PGBackupStatus['phase']>,
    reason: PGBackupReason,
    fields: PGBackupStatus,
    detail?: string,
  ): Promise<void> {
    const message = pgBackupMessage(reason, detail);
    const ready = phase === 'completed' ? 'True' : 'False';
    const status: PGBackupStatus = {
      ...fields,
      phase,
      reason,
      message,
      observedGeneration: this.backup.metadata.generation,
      conditions: setCondition(
        fields.conditions ?? this.backup.status?.conditions,
        { type: 'Ready', status: ready, reason, message },
        this.ctx.now(),
      ),
    };
    const updated = await this.ctx.client.patchStatus<PGBackupObject>(KINDS.PGBackup, this.key, status);
    this.backup.status = updated.status;
  }
}
