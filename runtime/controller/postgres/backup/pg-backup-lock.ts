/**
 * One backup per PGCluster at a time (pgBackRest 2.45 allows one backup per stanza, even to different
 * repositories, and fails a second with exit 50): an annotation on the PGCluster names the PGBackup
 * that may run, taken with an optimistic-concurrency merge patch, as mysql Backups do (decisions 0223, 0273).
 * A lock naming a finished or deleted PGBackup is stale and is taken over.
 */
import { isConflict } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import type { KubeClient } from '../../kube/client.js';
import type { PGBackupObject, PGClusterObject } from '../shared/pg-objects.js';
import { restoreHolding } from '../restore/pg-restore-hold.js';

export const PG_BACKUP_LOCK = 'postgres.silo.io/backup-lock';

const value = (backup: PGBackupObject): string => `${backup.metadata.name}/${backup.metadata.uid}`;
const terminal = (phase: string | undefined): boolean => phase === 'completed' || phase === 'failed';

export async function acquirePgBackupLock(
  client: KubeClient,
  cluster: PGClusterObject,
  backup: PGBackupObject,
): Promise<{ held: true } | { held: false; holder?: string }> {
  const current = cluster.metadata.annotations?.[PG_BACKUP_LOCK];
  if (current === value(backup)) return { held: true };
  // An in-place restore holds the cluster (decision 0294): backups wait until its primary accepts writes again.
  const restore = await restoreHolding(client, cluster);
  if (restore) return { held: false, holder: `${restore.metadata.name} (a PGRestore)` };
  if (current) {
    const [name, uid] = current.split('/');
    const holder = await client.get<PGBackupObject>(KINDS.PGBackup, { namespace: cluster.metadata.namespace, name });
    if (holder && holder.metadata.uid === uid && !terminal(holder.status?.phase)) return { held: false, holder: name };
  }
  try {
    await client.patch(
      KINDS.PGCluster,
      { namespace: cluster.metadata.namespace, name: cluster.metadata.name },
      { metadata: { resourceVersion: cluster.metadata.resourceVersion, annotations: { [PG_BACKUP_LOCK]: value(backup) } } },
    );
    return { held: true };
  } catch (error) {
    if (isConflict(error)) return { held: false };
    throw error;
  }
}

/**
 * Releases the lock if this backup holds it. A conflict only says the PGCluster changed (its status is written
 * every few seconds), not that the lock did: read it again and retry while this backup still holds it.
 */
export async function releasePgBackupLock(client: KubeClient, cluster: PGClusterObject | undefined, backup: PGBackupObject): Promise<void> {
  for (let attempt = 1; cluster && cluster.metadata.annotations?.[PG_BACKUP_LOCK] === value(backup); attempt++) {
    try {
      await client.patch(
        KINDS.PGCluster,
        { namespace: cluster.metadata.namespace, name: cluster.metadata.name },
        { metadata: { resourceVersion: cluster.metadata.resourceVersion, annotations: { [PG_BACKUP_LOCK]: null } } },
      );
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= 5) throw error;
      cluster = await client.get<PGClusterObject>(KINDS.PGCluster, { namespace: cluster.metadata.namespace, name: cluster.metadata.name });
    }
  }
}
