/**
 * BackupStorage (cluster-scoped): checks the credentials Secret and the
 * bucket's reachability on a period, reports them in the Ready condition, and
 * holds a finalizer while BackupRuns reference the storage.
 */
import type { BackupRunResource, BackupStorageResource } from '../../../../src/api/backup-operator.io/types.js';
import { BACKUP_STORAGE_PHASE } from '../../../../src/api/backup-operator.io/phases.js';
import type { KubeClient } from '../../kube/client.js';
import { findCondition } from '../../kube/conditions.js';
import { setFinalizer } from '../../kube/finalizers.js';
import { KINDS } from '../../kube/kinds.js';
import type { KubeObject, ObjectKey, ReconcileContext, ReconcileResult, Reconciler } from '../../reconciler.js';
import { readCredentials } from '../shared/credentials-secret.js';
import { FINALIZER_STORAGE_IN_USE } from '../shared/names.js';
import { decodeSecretData } from '../shared/storage-credentials.js';
import { deletionBlockedMessage, runsUsingStorage } from './backup-storage-finalizer.js';
import { probeStorage } from './backup-storage-probe.js';
import { BACKUP_STORAGE_REASONS as R } from './backup-storage-reasons.js';
import { deletionBlockedConditions, storageStatus, type StorageFinding } from './backup-storage-status.js';

/** How often a storage is checked again. Overridable for tests and the load benchmark. */
export interface StorageIntervals {
  readonly readyMs: number;
  readonly notReadyMs: number;
  readonly deletionBlockedMs: number;
}

export const DEFAULT_STORAGE_INTERVALS: StorageIntervals = { readyMs: 5 * 60_000, notReadyMs: 30_000, deletionBlockedMs: 15_000 };

type Storage = BackupStorageResource & KubeObject;

export class BackupStorageReconciler implements Reconciler {
  readonly name = 'backup-storage';
  readonly kind = KINDS.BackupStorage;
  readonly watches = [
    {
      // A run going away may release a storage that is being deleted.
      kind: KINDS.BackupRun,
      toKeys: (run: KubeObject): ObjectKey[] => {
        const storage = (run as unknown as BackupRunResource).spec?.storage?.name;
        return storage ? [{ name: storage }] : [];
      },
    },
  ];

  constructor(private readonly intervals: StorageIntervals = DEFAULT_STORAGE_INTERVALS) {}

  async reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const storage = await ctx.client.get<Storage>(this.kind, { name: key.name });
    if (!storage) return;
    const pass = new StoragePass(ctx, storage, this.intervals);
    return storage.metadata?.deletionTimestamp ? pass.finalize() : pass.check();
  }
}

/** One reconcile of one BackupStorage. */
class StoragePass {
  private readonly client: KubeClient;
  private readonly name: string;
  private readonly now: Date;

  constructor(
    private readonly ctx: ReconcileContext,
    private storage: Storage,
    private readonly intervals: StorageIntervals,
  ) {
    this.client = ctx.client;
    this.name = storage.metadata!.name!;
    this.now = ctx.now();
  }

  /** Live storage: hold the finalizer, probe when due, report Ready. */
  async check(): Promise<ReconcileResult | void> {
    this.storage = await setFinalizer(this.client, KINDS.BackupStorage, this.storage, FINALIZER_STORAGE_IN_USE, true);
    // Run events also wake this reconciler (for deletion protection); the store itself is
    // probed only when the spec changed or the interval passed, not once per run event.
    const due = this.nextCheckInMs();
    if (due > 0) return { requeueAfterMs: due };
    const finding = await this.probe();
    const previous = findCondition(this.storage.status?.conditions, 'Ready');
    await this.client.patchStatus(
      KINDS.BackupStorage,
      { name: this.name },
      storageStatus(this.storage.status, finding, this.now, this.storage.metadata?.generation),
    );
    if (previous?.reason !== finding.reason) {
      const ready = finding.reason === R.Ready;
      await this.ctx.events.record(this.storage, ready ? 'Normal' : 'Warning', finding.reason, finding.message);
      this.ctx.log.info('storage checked', { storage: this.name, reason: finding.reason });
    }
    return { requeueAfterMs: finding.reason === R.Ready ? this.intervals.readyMs : this.intervals.notReadyMs };
  }

  /** Milliseconds until the next probe is due; 0 when it is due now. */
  private nextCheckInMs(): number {
    const status = this.storage.status;
    if (!status?.lastCheckTime || status.observedGeneration !== this.storage.metadata?.generation) return 0;
    const interval = status.phase === BACKUP_STORAGE_PHASE.Ready ? this.intervals.readyMs : this.intervals.notReadyMs;
    return Math.max(0, Date.parse(status.lastCheckTime) + interval - this.now.getTime());
  }

  private async probe(): Promise<StorageFinding> {
    const credentials = await readCredentials(this.client, this.name, this.storage.spec);
    if (!credentials.ok) return credentials;
    // Decoded values live only in this call's memory (decision 0003); the probe's messages never include them.
    return probeStorage(this.storage.spec, decodeSecretData(credentials.secret.data));
  }

  /** Storage being deleted: keep the finalizer while runs reference it. */
  async finalize(): Promise<ReconcileResult | void> {
    const storage = this.storage;
    if (!storage.metadata?.finalizers?.includes(FINALIZER_STORAGE_IN_USE)) return;
    // Listed from the API server, not the cache: releasing the storage on a stale view would orphan runs.
    const holders = runsUsingStorage(await this.client.list(KINDS.BackupRun), this.name);
    if (holders.length) {
      const message = deletionBlockedMessage(this.name, holders);
      const before = findCondition(storage.status?.conditions, 'DeletionBlocked');
      await this.client.patchStatus(
        KINDS.BackupStorage,
        { name: this.name },
        { conditions: deletionBlockedConditions(storage.status?.conditions, message, this.now) },
      );
      if (before?.message !== message) await this.ctx.events.record(storage, 'Warning', R.InUseByBackupRuns, message);
      return { requeueAfterMs: this.intervals.deletionBlockedMs };
    }
    await setFinalizer(this.client, KINDS.BackupStorage, storage, FINALIZER_STORAGE_IN_USE, false);
    this.ctx.log.info('storage released', { storage: this.name });
  }
}
