/**
 * The opt-in remote deletion of a Backup (docs/decisions/0234-remote-deletion-opt-in.md).
 * By default deleting a Backup object leaves its objects in the store: Silo
 * deletes stored backups only when asked to. With the annotation below set to
 * "true" — on the Backup, or on a ScheduledBackup, whose children inherit it — the retention reconciler
 * puts a finalizer on the Backup, and on deletion prunes its prefix through a
 * prune Job before letting the object go.
 */
import type { ObjectStore } from '../../../../src/api/common/types.js';
import type { BackupResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { backupPrefix } from '../../../objectstore/object-layout.js';
import { describeBucket, isStoreSpec, storeRoot } from '../backup/store-provider.js';
import { withFinalizer } from '../../kube/finalizers.js';
import type { KubeObject } from '../../reconciler.js';

export const ANNOTATION_DELETE_REMOTE = 'mysql.cloudnative-mysql.io/delete-remote-data';
export const FINALIZER_REMOTE_DATA = 'mysql.cloudnative-mysql.io/remote-data';
/**
 * The object store the Backup resolved to (JSON; Secret references, never
 * values), recorded with the finalizer so remote deletion still works after the
 * Cluster that held the store is gone (backupOwnerReference: cluster).
 */
export const ANNOTATION_REMOTE_STORE = 'mysql.cloudnative-mysql.io/remote-store';
/** Set (to the time) when retention commits to deleting a backup; from then on it is only ever finished, never undone. */
export const ANNOTATION_EXPIRED = 'mysql.cloudnative-mysql.io/expired';

export type BackupObject = KubeObject & BackupResource & { metadata: NonNullable<KubeObject['metadata']> };

export const optedIn = (backup: BackupObject): boolean => backup.metadata.annotations?.[ANNOTATION_DELETE_REMOTE] === 'true';
export const hasFinalizer = (backup: BackupObject): boolean => (backup.metadata.finalizers ?? []).includes(FINALIZER_REMOTE_DATA);
export const isDeleting = (backup: BackupObject): boolean => !!backup.metadata.deletionTimestamp;

/**
 * Merge patch adding or removing the finalizer. It carries the resourceVersion,
 * so a concurrent change of the list (another controller's finalizer) fails
 * with a conflict and is retried, instead of being overwritten.
 */
export function finalizerPatch(backup: BackupObject, present: boolean, store?: ObjectStore): object {
  const list = backup.metadata.finalizers ?? [];
  return {
    metadata: {
      resourceVersion: backup.metadata.resourceVersion,
      finalizers: withFinalizer(list, FINALIZER_REMOTE_DATA, present) ?? list,
      ...(present && store ? { annotations: { [ANNOTATION_REMOTE_STORE]: JSON.stringify(store) } } : {}),
    },
  };
}

/** The store recorded by finalizerPatch, if any and parsable. */
export function recordedStore(backup: BackupObject): ObjectStore | undefined {
  const raw = backup.metadata.annotations?.[ANNOTATION_REMOTE_STORE];
  if (!raw) return undefined;
  try {
    const store: unknown = JSON.parse(raw);
    return isStoreSpec(store) ? store : undefined;
  } catch {
    return undefined;
  }
}

/** Why a backup's prefix cannot be computed, as one sentence; or the prefix. */
export type PrefixResult = { prefix: string } | { problem: string };

/**
 * The key prefix holding a backup: from status.destinationPath (what the
 * Backup reconciler wrote, `s3://<bucket>/<prefix>/`, `gs://…` or `azure://<container>/…`), else from the object
 * layout. A destination in another bucket than the resolved store is refused:
 * the prune Job would be deleting with the wrong credentials, in the wrong place.
 */
export function prefixOf(backup: BackupObject, store: ObjectStore, cluster: string): PrefixResult {
  const status = backup.status ?? {};
  if (!status.backupId) return { problem: 'it has no status.backupId, so nothing of it was stored' };
  if (status.destinationPath) {
    const root = storeRoot(store);
    if (!status.destinationPath.startsWith(root)) {
      return {
        problem: `its status.destinationPath ${status.destinationPath} is not in ${describeBucket(store)} of the object store it resolves to now; delete the objects by hand`,
      };
    }
    const prefix = status.destinationPath.slice(root.length).replace(/\/*$/, '/');
    if (!prefix.endsWith(`/${status.backupId}/`))
      return {
        problem: `its status.destinationPath ${status.destinationPath} does not end with its backup ID ${status.backupId}; delete the objects by hand`,
      };
    return { prefix };
  }
  return { prefix: backupPrefix({ path: store.path ?? '', cluster, backupName: backup.metadata.name!, backupId: status.backupId }) };
}
