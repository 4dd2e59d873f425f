/**
 * One in-place restore per PGCluster at a time (decision 0294): an annotation on the PGCluster names the
 * PGRestore that holds it, taken with an optimistic-concurrency merge patch like the backup lock. While a
 * restore holds the cluster, the PGCluster reconciler keeps only the repo host and the volumes (no schedules,
 * no initial backup, no replicas, the primary only as the restore builds it) and PGBackups wait.
 *
 * The hold is read from the PGRestore it names, never from the annotation alone, so nothing needs removing by
 * hand: a deleted PGRestore, another object of that name, a Succeeded or Refused one, or one that is rebuilding
 * replicas (its primary is back) holds nothing. A Failed one keeps the cluster stopped (its primary's volume may
 * be half-restored) until it is deleted or another PGRestore takes over.
 */
import { isConflict } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import type { KubeClient } from '../../kube/client.js';
import type { PGClusterObject, PGRestoreObject } from '../shared/pg-objects.js';

export const PG_RESTORE_HOLD = 'postgres.silo.io/restore';

const value = (restore: PGRestoreObject): string => `${restore.metadata.name}/${restore.metadata.uid}`;
/** Phases in which a PGRestore no longer keeps its cluster stopped. */
const RELEASED = new Set(['Succeeded', 'Refused', 'Rebuilding']);

/** The PGRestore the cluster's annotation names, if it still holds the cluster (Failed included). */
export async function restoreHolding(client: KubeClient, cluster: PGClusterObject): Promise<PGRestoreObject | undefined> {
  const current = cluster.metadata.annotations?.[PG_RESTORE_HOLD];
  if (!current) return undefined;
  const [name, uid] = current.split('/');
  const holder = await client.get<PGRestoreObject>(KINDS.PGRestore, { namespace: cluster.metadata.namespace, name });
  if (!holder || holder.metadata.uid !== uid || holder.metadata.deletionTimestamp || RELEASED.has(holder.status?.phase ?? ''))
    return undefined;
  return holder;
}

/** Another PGRestore that holds the cluster and is still working (a Failed one is taken over). */
export async function otherRestore(client: KubeClient, cluster: PGClusterObject, restore: PGRestoreObject): Promise<string | undefined> {
  const holder = await restoreHolding(client, cluster);
  if (!holder || holder.metadata.uid === restore.metadata.uid || holder.status?.phase === 'Failed') return undefined;
  return holder.metadata.name;
}

export async function takeRestoreHold(client: KubeClient, cluster: PGClusterObject, restore: PGRestoreObject): Promise<boolean> {
  if (cluster.metadata.annotations?.[PG_RESTORE_HOLD] === value(restore)) return true;
  try {
    await client.patch(
      KINDS.PGCluster,
      { namespace: cluster.metadata.namespace, name: cluster.metadata.name },
      { metadata: { resourceVersion: cluster.metadata.resourceVersion, annotations: { [PG_RESTORE_HOLD]: value(restore) } } },
    );
    return true;
  } catch (error) {
    if (isConflict(error)) return false;
    throw error;
  }
}

/** Removes the hold if this restore has it; a conflict only says the cluster's status changed: read it again and retry. */
export async function releaseRestoreHold(
  client: KubeClient,
  cluster: PGClusterObject | undefined,
  restore: PGRestoreObject,
): Promise<void> {
  for (let attempt = 1; cluster && cluster.metadata.annotations?.[PG_RESTORE_HOLD] === value(restore); attempt++) {
    try {
      await client.patch(
        KINDS.PGCluster,
        { namespace: cluster.metadata.namespace, name: cluster.metadata.name },
        { metadata: { resourceVersion: cluster.metadata.resourceVersion, annotations: { [PG_RESTORE_HOLD]: null } } },
      );
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= 5) throw error;
      cluster = await client.get<PGClusterObject>(KINDS.PGCluster, { namespace: cluster.metadata.namespace, name: cluster.metadata.name });
    }
  }
}
