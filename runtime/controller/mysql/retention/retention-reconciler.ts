/**
 * Retention reconciler, keyed by Cluster (it owns retention only, not the
 * Cluster's lifecycle). Each pass:
 *   1. keeps the remote-data finalizer in step with the opt-in annotation;
 *   2. acts on a finished prune Job: deletes the Backup objects whose objects
 *      are gone, or reports the failure and retries after a pause;
 *   3. otherwise plans the next batch — Backups being deleted with remote
 *      deletion opted in, and backups the recovery window no longer needs —
 *      marks the expired ones and starts one prune Job.
 * It runs after every Backup change (watch) and at least every interval.
 */
import { ApiException } from '@kubernetes/client-node';
import type { ObjectStore } from '../../../../src/api/common/types.js';
import type { ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { BACKUP_PHASE, isBackupTerminal } from '../../../../src/api/mysql.cloudnative-mysql.io/phases.js';
import type { Job, KubeClient } from '../../kube/client.js';
import { isConflict, isNotFound } from '../../kube/custom-objects.js';
import { finishedCondition } from '../../kube/job-outcome.js';
import { apiVersionOfKind, KINDS } from '../../kube/kinds.js';
import type { KubeObject, ObjectKey, ReconcileContext, ReconcileResult, Reconciler, SecondaryWatch } from '../../reconciler.js';
import {
  ANNOTATION_BATCH,
  MAX_BATCH,
  PRUNE_JOB_SELECTOR,
  PRUNE_LABEL,
  pruneOutcome,
  renderPruneJob,
  type PruneEntry,
} from './prune-job.js';
import {
  ANNOTATION_EXPIRED,
  finalizerPatch,
  hasFinalizer,
  isDeleting,
  optedIn,
  prefixOf,
  recordedStore,
  type BackupObject,
} from './remote-deletion.js';
import { describePolicy, parseRetentionPolicy, RetentionPolicyError, windowStart } from './retention-policy.js';
import { RETENTION_REASONS as R } from './retention-reasons.js';
import { selectRetention, type RetentionCandidate } from './retention-selection.js';

export interface RetentionOptions {
  /** Longest time between two passes. @default 1 hour */
  readonly intervalMs?: number;
  /** Pause before a failed prune is retried. @default 5 minutes */
  readonly retryDelayMs?: number;
  /** Poll of a running prune Job, besides its watch events. @default 15 s */
  readonly pollMs?: number;
}

type ClusterObject = KubeObject & ClusterResource;
/** A prune entry with the store it is pruned from. */
type StoreEntry = PruneEntry & { store: ObjectStore };

export class RetentionReconciler implements Reconciler {
  readonly name = 'retention';
  readonly kind = KINDS.Cluster;
  readonly watches: SecondaryWatch[] = [
    { kind: KINDS.Backup, toKeys: (b) => clusterKeyOf(b, (b.spec as { cluster?: { name?: string } } | undefined)?.cluster?.name) },
    { kind: KINDS.Job, labelSelector: PRUNE_JOB_SELECTOR, toKeys: (job) => clusterKeyOf(job, job.metadata?.labels?.[PRUNE_LABEL]) },
  ];

  /**
   * UIDs of failed prune Jobs already acted on, kept while the Job waits out the retry pause.
   * In memory on purpose: the operator's RBAC cannot patch Jobs, and after a restart acting
   * again is harmless (deleting what is gone is a no-op; one more Event).
   */
  private readonly processed = new Set<string>();

  constructor(private readonly options: RetentionOptions = {}) {}

  reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult> {
    return new RetentionPass(key, ctx, this.options, this.processed).run();
  }
}

export const retentionReconciler = (options: RetentionOptions = {}): Reconciler => new RetentionReconciler(options);

const isNamespaceTerminating = (error: unknown): boolean =>
  error instanceof ApiException && error.code === 403 && /being terminated/.test(String(error.body));

const clusterKeyOf = (object: KubeObject, cluster: string | undefined): ObjectKey[] =>
  cluster && object.metadata?.namespace ? [{ namespace: object.metadata.namespace, name: cluster }] : [];

const ANNOTATION_BOOL_HINT = 'mysql.cloudnative-mysql.io/delete-remote-data: "true"';

/** One reconcile of one Cluster's retention. */
class RetentionPass {
  private readonly api: KubeClient;
  private readonly namespace: string;
  private readonly interval: number;
  private cluster?: ClusterObject;
  private backups: BackupObject[] = [];

  constructor(
    private readonly key: ObjectKey,
    private readonly ctx: ReconcileContext,
    private readonly options: RetentionOptions,
    private readonly processed: Set<string>,
  ) {
    this.api = ctx.client;
    this.namespace = key.namespace ?? '';
    this.interval = options.intervalMs ?? 3_600_000;
  }

  /** The Cluster, or a stand-in when it is gone, to hang Events on. */
  private get clusterRef(): KubeObject {
    return (
      this.cluster ?? {
        apiVersion: apiVersionOfKind(KINDS.Cluster),
        kind: KINDS.Cluster.kind,
        metadata: { name: this.key.name, namespace: this.namespace },
      }
    );
  }

  async run(): Promise<ReconcileResult> {
    this.cluster = await this.api.get<ClusterObject>(KINDS.Cluster, this.key);
    if (this.nothingToDo()) return { requeueAfterMs: this.interval };
    this.backups = (await this.api.list<BackupObject>(KINDS.Backup, this.namespace)).filter((b) => b.spec?.cluster?.name === this.key.name);
    await this.syncFinalizers();

    const jobs = await this.api.listJobs(this.namespace, `${PRUNE_LABEL}=${this.key.name}`);
    for (const job of jobs) {
      const wait = await this.handleJob(job);
      if (wait !== undefined) return { requeueAfterMs: wait };
    }
    return this.startNext();
  }

  /**
   * Most Clusters have no retention policy and no opted-in Backups; for them a
   * pass is one GET. The informer cache only decides "nothing to do": an event
   * that changes that (an annotation, a finalizer, a prune Job) reaches the
   * cache before it wakes this reconciler, and the real work reads the API server.
   */
  private nothingToDo(): boolean {
    if (this.cluster?.spec.backup?.retentionPolicy) return false;
    const mine = (o: KubeObject) => (o.spec as { cluster?: { name?: string } } | undefined)?.cluster?.name === this.key.name;
    const cached = this.ctx.cache.list(KINDS.Backup, this.namespace).filter(mine) as BackupObject[];
    if (cached.some((b) => optedIn(b) || hasFinalizer(b) || b.metadata.annotations?.[ANNOTATION_EXPIRED])) return false;
    return !this.ctx.cache.list(KINDS.Job, this.namespace).some((job) => job.metadata?.labels?.[PRUNE_LABEL] === this.key.name);
  }

  private async syncFinalizers(): Promise<void> {
    for (const backup of this.backups) {
      if (isDeleting(backup) || optedIn(backup) === hasFinalizer(backup)) continue;
      try {
        Object.assign(
          backup,
          await this.api.patch<BackupObject>(
            KINDS.Backup,
            { namespace: this.namespace, name: backup.metadata.name! },
            finalizerPatch(backup, optedIn(backup), this.storeOf(backup)),
          ),
        );
      } catch (error) {
        if (!isConflict(error) && !isNotFound(error)) throw error; // changed meanwhile: the watch brings us back
      }
    }
  }

  /** Acts on one prune Job; returns a requeue delay while it (or its retry pause) blocks the next batch. */
  private async handleJob(job: Job): Promise<number | undefined> {
    const name = job.metadata!.name!;
    const finishedAt = finishedCondition(job)?.lastTransitionTime;
    const uid = job.metadata?.uid ?? name;
    const retryDelay = this.options.retryDelayMs ?? 300_000;
    const sinceFailure = finishedAt ? Math.max(0, this.ctx.now().getTime() - new Date(finishedAt).getTime()) : 0;
    if (finishedAt && sinceFailure >= retryDelay) {
      // Acted on (now or before a restart) and paused long enough: clear the way for a fresh batch.
      if (!this.processed.has(uid)) await this.actOn(job);
      this.processed.delete(uid);
      await this.deleteJob(name);
      return undefined;
    }
    if (this.processed.has(uid)) return Math.max(1000, retryDelay - sinceFailure);
    const done = await this.actOn(job);
    if (done === undefined) return this.options.pollMs ?? 15_000;
    if (done) {
      await this.deleteJob(name);
      return undefined;
    }
    this.processed.add(uid);
    return Math.max(1000, retryDelay - sinceFailure);
  }

  /** Applies a finished Job's outcome; undefined while it runs, else whether it succeeded. */
  private async actOn(job: Job): Promise<boolean | undefined> {
    const name = job.metadata!.name!;
    const pods = await this.api.listPods(this.namespace, `batch.kubernetes.io/job-name=${name}`);
    const outcome = pruneOutcome(job, pods);
    if (outcome.state === 'running') return undefined;

    const batch = JSON.parse(job.metadata?.annotations?.[ANNOTATION_BATCH] ?? '[]') as Array<{ backup: string; why: PruneEntry['why'] }>;
    let expired = 0;
    for (const [index, entry] of batch.entries()) {
      if (!outcome.deleted.has(index)) continue;
      const backup = this.backups.find((b) => b.metadata.name === entry.backup);
      if (!backup) continue;
      await this.release(backup);
      if (entry.why === 'expired') expired += 1;
      else
        await this.ctx.events.record(
          backup,
          'Normal',
          R.RemoteDataDeleted,
          `deleted the backup's objects from the object store (${ANNOTATION_BOOL_HINT}) through Job ${name}`,
        );
    }
    if (expired) {
      const policy = this.cluster?.spec.backup?.retentionPolicy;
      await this.ctx.events.record(
        this.clusterRef,
        'Normal',
        R.BackupsExpired,
        `deleted ${expired} expired backup${expired === 1 ? '' : 's'} from the object store and the API${policy ? ` (retentionPolicy ${policy})` : ''}; ${this.keptCount()} completed backup(s) kept`,
      );
    }
    if (!outcome.succeeded) {
      const failed = batch.length - outcome.deleted.size;
      await this.ctx.events.record(
        this.clusterRef,
        'Warning',
        R.PruneFailed,
        `prune Job ${name} could not delete ${failed} of ${batch.length} backup(s): ${outcome.error}; their Backup objects stay and the prune is retried in ${Math.round((this.options.retryDelayMs ?? 300_000) / 1000)} s — check the object store and its credentials`,
      );
    }
    return outcome.succeeded;
  }

  /** The Backup's objects are gone: let the object go too (finalizer off, delete). */
  private async release(backup: BackupObject): Promise<void> {
    const key = { namespace: this.namespace, name: backup.metadata.name! };
    this.backups = this.backups.filter((b) => b !== backup);
    try {
      if (hasFinalizer(backup)) await this.api.patch(KINDS.Backup, key, finalizerPatch(backup, false));
      if (!isDeleting(backup)) await this.api.delete(KINDS.Backup, key);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async deleteJob(name: string): Promise<void> {
    await this.api.deleteJob(this.namespace, name);
  }

  private keptCount(): number {
    return this.backups.filter(
      (b) => b.status?.phase === BACKUP_PHASE.Completed && !isDeleting(b) && !b.metadata.annotations?.[ANNOTATION_EXPIRED],
    ).length;
  }

  /** The Backup's own store, else the one recorded with the finalizer (what it resolved to then), else its Cluster's. */
  private storeOf(backup: BackupObject): ObjectStore | undefined {
    return backup.spec.objectStore ?? recordedStore(backup) ?? this.cluster?.spec.backup?.objectStore;
  }

  /** Plans and starts the next prune Job, if anything needs deleting. */
  private async startNext(): Promise<ReconcileResult> {
    const entries = [...(await this.deletedEntries()), ...(await this.expiredEntries())];
    if (!entries.length) return { requeueAfterMs: this.interval };

    // One store per Job: its credentials are the Job's only ones.
    const storeKey = JSON.stringify(entries[0].store);
    const batch = entries.filter((e) => JSON.stringify(e.store) === storeKey).slice(0, MAX_BATCH);
    await this.markExpired(batch);
    const job = renderPruneJob({
      namespace: this.namespace,
      cluster: this.key.name,
      clusterSpec: this.cluster?.spec,
      store: batch[0].store,
      entries: batch.map(({ backupName, prefix, why }) => ({ backupName, prefix, why })),
      workerImage: this.ctx.settings.workerImage,
    });
    try {
      await this.api.createJob(job);
    } catch (error) {
      if (isNamespaceTerminating(error)) return this.abandonInTerminatingNamespace(batch);
      if (!isConflict(error)) throw error; // the same batch, started by a pass that crashed before it could requeue
    }
    const expired = batch.filter((e) => e.why === 'expired').length;
    const deleted = batch.length - expired;
    await this.ctx.events.record(
      this.clusterRef,
      'Normal',
      R.PruneStarted,
      `prune Job ${job.metadata!.name} deletes ${batch.length} backup(s) from the object store: ${expired} expired by retention, ${deleted} deleted with remote deletion opted in`,
    );
    return { requeueAfterMs: this.options.pollMs ?? 15_000 };
  }

  /** Backups being deleted with remote deletion opted in; one whose prefix is unknown is released, saying where its data stays. */
  private async deletedEntries(): Promise<StoreEntry[]> {
    const entries: StoreEntry[] = [];
    for (const backup of this.backups) {
      if (!isDeleting(backup) || !hasFinalizer(backup)) continue;
      const store = this.storeOf(backup);
      const prefix = store
        ? prefixOf(backup, store, this.key.name)
        : { problem: `neither its spec.objectStore nor Cluster ${this.key.name}'s spec.backup.objectStore is available` };
      if ('problem' in prefix) {
        if (backup.status?.backupId) {
          await this.ctx.events.record(
            backup,
            'Warning',
            R.RemoteDataLeft,
            `remote deletion was opted in, but ${prefix.problem}; the Backup object goes and its objects${backup.status?.destinationPath ? ` at ${backup.status.destinationPath}` : ''} stay in the store`,
          );
        }
        await this.release(backup);
        continue;
      }
      entries.push({ backupName: backup.metadata.name!, prefix: prefix.prefix, why: 'deleted', store: store! });
    }
    return entries;
  }

  /** Backups retention expired; one whose prefix is unknown stays, with a Warning Event. */
  private async expiredEntries(): Promise<StoreEntry[]> {
    const entries: StoreEntry[] = [];
    for (const backup of await this.expiredBackups()) {
      const store = this.storeOf(backup);
      const prefix = store ? prefixOf(backup, store, this.key.name) : { problem: 'no object store is configured for it' };
      if ('problem' in prefix) {
        await this.ctx.events.record(
          backup,
          'Warning',
          R.ExpiryBlocked,
          `retention expired this backup but cannot delete it: ${prefix.problem}`,
        );
        continue;
      }
      entries.push({ backupName: backup.metadata.name!, prefix: prefix.prefix, why: 'expired', store: store! });
    }
    return entries;
  }

  /** Marks the batch's expired Backups before the Job runs: from here on they are committed to deletion, so nothing restores from them. */
  private async markExpired(batch: readonly StoreEntry[]): Promise<void> {
    const now = this.ctx.now().toISOString();
    for (const entry of batch) {
      const backup = this.backups.find((b) => b.metadata.name === entry.backupName)!;
      if (entry.why !== 'expired' || backup.metadata.annotations?.[ANNOTATION_EXPIRED]) continue;
      await this.api.patch(
        KINDS.Backup,
        { namespace: this.namespace, name: entry.backupName },
        { metadata: { annotations: { [ANNOTATION_EXPIRED]: now } } },
      );
    }
  }

  /**
   * No Job can start in a namespace being deleted, and the finalizer must not
   * hold the namespace forever: release the opted-in Backups, saying where their
   * objects stay. Expired ones simply go with the namespace.
   */
  private async abandonInTerminatingNamespace(batch: readonly PruneEntry[]): Promise<ReconcileResult> {
    for (const entry of batch) {
      const backup = this.backups.find((b) => b.metadata.name === entry.backupName);
      if (!backup || entry.why !== 'deleted') continue;
      await this.ctx.events.record(
        backup,
        'Warning',
        R.RemoteDataLeft,
        `remote deletion was opted in, but namespace ${this.namespace} is being deleted and no prune Job can start in it; the objects under ${entry.prefix} stay in the store — delete them by hand`,
      );
      await this.release(backup);
    }
    return {};
  }

  /**
   * Completed Backups the recovery window no longer needs, plus any already
   * marked expired (a marked backup may be half-deleted, so it is finished,
   * never revived — even if the policy has since grown).
   */
  private async expiredBackups(): Promise<BackupObject[]> {
    const marked = this.backups.filter((b) => !isDeleting(b) && b.metadata.annotations?.[ANNOTATION_EXPIRED]);
    const policyText = this.cluster?.spec.backup?.retentionPolicy;
    if (!policyText || !this.cluster) return marked;
    let policy;
    try {
      policy = parseRetentionPolicy(policyText);
    } catch (error) {
      if (!(error instanceof RetentionPolicyError)) throw error;
      await this.ctx.events.record(this.clusterRef, 'Warning', R.InvalidRetentionPolicy, error.message);
      return marked;
    }
    const start = windowStart(this.ctx.now(), policy);
    const live = this.backups.filter((b) => !isDeleting(b) && !b.metadata.annotations?.[ANNOTATION_EXPIRED]);
    const candidates: RetentionCandidate[] = live
      .filter((b) => b.status?.phase === BACKUP_PHASE.Completed && b.status.backupId)
      .map((b) => ({
        name: b.metadata.name!,
        backupId: b.status!.backupId!,
        parentBackupId: b.status!.parentBackupId,
        recoveryPoint: new Date(b.status!.stoppedAt ?? b.metadata.creationTimestamp ?? ''),
      }));
    const decision = selectRetention(candidates, start, await this.protectedIds(live));
    this.ctx.log.debug('retention decision', {
      cluster: this.key.name,
      window: describePolicy(policy),
      start: start.toISOString(),
      keep: Object.fromEntries(decision.keep),
      expire: decision.expire,
    });
    return [...marked, ...live.filter((b) => decision.expire.includes(b.metadata.name!))];
  }

  /** Backup IDs whose chains must survive: parents of backups in progress, and backups a Cluster recovers from. */
  private async protectedIds(live: BackupObject[]): Promise<Set<string>> {
    const ids = new Set<string>();
    for (const b of live) if (!isBackupTerminal(b.status?.phase) && b.status?.parentBackupId) ids.add(b.status.parentBackupId);
    const clusters = await this.api.list<ClusterObject>(KINDS.Cluster, this.namespace);
    for (const c of clusters) {
      const name = c.spec?.bootstrap?.recovery?.backup?.name;
      const id = name ? this.backups.find((b) => b.metadata.name === name)?.status?.backupId : undefined;
      if (id) ids.add(id);
    }
    return ids;
  }
}
