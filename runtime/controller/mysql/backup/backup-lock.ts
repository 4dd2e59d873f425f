/**
 * The per-cluster backup lock: an annotation on the Cluster naming the Backup
 * that may run, taken with an optimistic-concurrency merge patch (the patch
 * carries metadata.resourceVersion, so of two concurrent takers exactly one
 * wins and the other gets 409). A lock naming a finished or deleted Backup is
 * stale and may be taken over, so a lost release never blocks a Cluster.
 * (docs/decisions/0223-one-backup-per-cluster.md)
 */
import type { BackupResource, ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { isBackupTerminal } from '../../../../src/api/mysql.cloudnative-mysql.io/phases.js';
import type { KubeClient } from '../../kube/client.js';
import { isConflict } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import type { KubeObject } from '../../reconciler.js';

export const LOCK_ANNOTATION = 'mysql.cloudnative-mysql.io/backup-lock';

type Meta = { name: string; namespace: string; uid: string; resourceVersion?: string; annotations?: Record<string, string> };

export const lockValue = (backup: BackupResource): string => `${(backup.metadata as Meta).name}/${(backup.metadata as Meta).uid}`;

export type LockResult = { readonly held: true } | { readonly held: false; readonly holder?: string; readonly conflict?: boolean };

/** Takes the Cluster's backup lock for `backup`, or says who holds it. */
export async function acquireBackupLock(
  client: KubeClient,
  cluster: ClusterResource & KubeObject,
  backup: BackupResource,
): Promise<LockResult> {
  const meta = cluster.metadata as Meta;
  const mine = lockValue(backup);
  const current = meta.annotations?.[LOCK_ANNOTATION];
  if (current === mine) return { held: true };
  if (current) {
    const [name, uid] = current.split('/');
    const holder = await client.get<BackupResource & KubeObject>(KINDS.Backup, { namespace: meta.namespace, name });
    if (holder && (holder.metadata as Meta).uid === uid && !isBackupTerminal(holder.status?.phase)) return { held: false, holder: name };
  }
  try {
    await client.patch(
      KINDS.Cluster,
      { namespace: meta.namespace, name: meta.name },
      { metadata: { resourceVersion: meta.resourceVersion, annotations: { [LOCK_ANNOTATION]: mine } } },
    );
    return { held: true };
  } catch (error) {
    if (isConflict(error)) return { held: false, conflict: true };
    throw error;
  }
}

/** Best effort: a lock left behind names a terminal Backup and is taken over by the next one. */
export async function releaseBackupLock(client: KubeClient, namespace: string, clusterName: string, backup: BackupResource): Promise<void> {
  const cluster = await client.get<ClusterResource & KubeObject>(KINDS.Cluster, { namespace, name: clusterName }).catch(() => undefined);
  const meta = cluster?.metadata as Meta | undefined;
  if (!meta || meta.annotations?.[LOCK_ANNOTATION] !== lockValue(backup)) return;
  await client
    .patch(
      KINDS.Cluster,
      { namespace, name: clusterName },
      { metadata: { resourceVersion: meta.resourceVersion, annotations: { [LOCK_ANNOTATION]: null } } },
    )
    .catch(() => undefined);
}
