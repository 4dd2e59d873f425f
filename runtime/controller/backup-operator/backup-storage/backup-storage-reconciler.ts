/**
 * BackupStorage (cluster-scoped): checks the credentials Secret and the
 * bucket's reachability on a period, reports them in the Ready condition, and
 * holds a finalizer while BackupRuns reference the storage.
 */
import type { BackupRunResource, BackupStorageResource } from '../../../../src/generated/api-types.js';
import { CustomObjects } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import type { KubeObject, ObjectKey, ReconcileContext, ReconcileResult, Reconciler } from '../../reconciler.js';
import { findCondition } from '../shared/conditions.js';
import { readCredentials } from '../shared/credentials-secret.js';
import { setFinalizer } from '../shared/finalizers.js';
import { FINALIZER_STORAGE_IN_USE } from '../shared/names.js';
import { decodeSecretData } from '../shared/storage-credentials.js';
import { deletionBlockedMessage, runsUsingStorage } from './backup-storage-finalizer.js';
import { probeStorage } from './backup-storage-probe.js';
import { deletionBlockedConditions, storageStatus, type StorageFinding } from './backup-storage-status.js';

/** How often a storage is checked again. Overridable for tests and the load benchmark. */
export interface StorageIntervals {
  readonly readyMs: number;
  readonly notReadyMs: number;
  readonly deletionBlockedMs: number;
}

export const DEFAULT_STORAGE_INTERVALS: StorageIntervals = { readyMs: 5 * 60_000, notReadyMs: 30_000, deletionBlockedMs: 15_000 };

export class BackupStorageReconciler implements Reconciler {
  readonly name = 'backup-storage';
  readonly kind = KINDS.BackupStorage;
  readonly watches = [{
    // A run going away may release a storage that is being deleted.
    kind: KINDS.BackupRun,
    toKeys: (run: KubeObject): ObjectKey[] => {
      const storage = (run as unknown as BackupRunResource).spec?.storage?.name;
      return storage ? [{ name: storage }] : [];
    },
  }];

  constructor(private readonly intervals: StorageIntervals = DEFAULT_STORAGE_INTERVALS) {}

  async reconcile(key: ObjectKey, context: ReconcileContext): Promise<ReconcileResult | void> {
    const objects = new CustomObjects(context.kubeConfig);
    let storage = await objects.get<BackupStorageResource & KubeObject>(this.kind, { name: key.name });
    if (!storage) return;
    const now = context.now();
    if (storage.metadata?.deletionTimestamp) return this.finalize(storage, objects, context);
    storage = await setFinalizer(objects, this.kind, storage, FINALIZER_STORAGE_IN_USE, true);

    // Run events also wake this reconciler (for deletion protection); the store itself is
    // probed only when the spec changed or the interval passed, not once per run event.
    const due = this.nextCheckInMs(storage, now);
    if (due > 0) return { requeueAfterMs: due };
    const finding = await this.check(key.name, storage, context);
    const previous = findCondition(storage.status?.conditions, 'Ready');
    await objects.patchStatus(this.kind, { name: key.name }, storageStatus(storage.status, finding, now, storage.metadata?.generation));
    if (previous?.reason !== finding.reason) {
      const ready = finding.reason === 'Ready';
      await context.events.record(storage, ready ? 'Normal' : 'Warning', finding.reason, finding.message);
      context.log.info('storage checked', { storage: key.name, reason: finding.reason });
    }
    return { requeueAfterMs: finding.reason === 'Ready' ? this.intervals.readyMs : this.intervals.notReadyMs };
  }

  /** Milliseconds until the next probe is due; 0 when it is due now. */
  private nextCheckInMs(storage: BackupStorageResource & KubeObject, now: Date): number {
    const status = storage.status;
    if (!status?.lastCheckTime || status.observedGeneration !== storage.metadata?.generation) return 0;
    const interval = status.phase === 'Ready' ? this.intervals.readyMs : this.intervals.notReadyMs;
    return Math.max(0, Date.parse(status.lastCheckTime) + interval - now.getTime());
  }

  private async check(name: string, storage: BackupStorageResource, context: ReconcileContext): Promise<StorageFinding> {
    const credentials = await readCredentials(context.kubeConfig, name, storage.spec);
    if (!credentials.ok) return credentials;
    // Decoded values live only in this call's memory (decision 0003); the probe's messages never include them.
    return probeStorage(storage.spec, decodeSecretData(credentials.secret.data));
  }

  private async finalize(storage: BackupStorageResource & KubeObject, objects: CustomObjects, context: ReconcileContext): Promise<ReconcileResult | void> {
    const name = storage.metadata!.name!;
    if (!storage.metadata?.finalizers?.includes(FINALIZER_STORAGE_IN_USE)) return;
    // Listed from the API server, not the cache: releasing the storage on a stale view would orphan runs.
    const holders = runsUsingStorage(await objects.list(KINDS.BackupRun), name);
    const now = context.now();
    if (holders.length) {
      const message = deletionBlockedMessage(name, holders);
      const before = findCondition(storage.status?.conditions, 'DeletionBlocked');
      await objects.patchStatus(this.kind, { name }, { conditions: deletionBlockedConditions(storage.status?.conditions, message, now) });
      if (before?.message !== message) await context.events.record(storage, 'Warning', 'InUseByBackupRuns', message);
      return { requeueAfterMs: this.intervals.deletionBlockedMs };
    }
    await setFinalizer(objects, this.kind, storage, FINALIZER_STORAGE_IN_USE, false);
    context.log.info('storage released', { storage: name });
  }
}
