/**
 * The per-cluster guard and the parent lookup, both over the Backups of one
 * namespace (docs/decisions/0223-one-backup-per-cluster.md).
 *
 * A Backup starts only when no other Backup of its Cluster is running and no
 * older one is still pending. Older = earlier creationTimestamp, then name.
 * This is the order (first come, first served); the Cluster's backup lock
 * (backup-lock.ts) makes it atomic.
 */
import type { BackupResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { BACKUP_PHASE, isBackupTerminal } from '../../../../src/api/mysql.cloudnative-mysql.io/phases.js';

type Meta = { name: string; namespace?: string; uid?: string; creationTimestamp?: string; deletionTimestamp?: string };
const meta = (b: BackupResource) => b.metadata as Meta;
const created = (b: BackupResource) => new Date(meta(b).creationTimestamp ?? 0).getTime();

export function isOlder(a: BackupResource, b: BackupResource): boolean {
  return created(a) < created(b) || (created(a) === created(b) && meta(a).name < meta(b).name);
}

/** The Backup this one must wait for, or undefined when it may start. */
export function blockingBackup(self: BackupResource, all: BackupResource[]): BackupResource | undefined {
  const cluster = self.spec.cluster.name;
  const others = all.filter(
    (b) => b.spec?.cluster?.name === cluster && meta(b).uid !== meta(self).uid && !isBackupTerminal(b.status?.phase),
  );
  return (
    others.find((b) => b.status?.phase === BACKUP_PHASE.Running) ??
    others.filter((b) => isOlder(b, self)).sort((a, b) => (isOlder(a, b) ? -1 : 1))[0]
  );
}

export interface Parent {
  readonly backupId: string;
  readonly toLSN: string;
}

/**
 * The parent of a differential (latest completed full) or incremental (latest
 * completed of any type) backup: same Cluster, same bucket and path, with a
 * recorded LSN. Undefined means the backup falls back to full.
 */
export function findParent(
  self: BackupResource,
  all: BackupResource[],
  type: 'full' | 'differential' | 'incremental',
  sameStore: (b: BackupResource) => boolean,
): Parent | undefined {
  if (type === 'full') return undefined;
  const candidates = all.filter(
    (b) =>
      b.spec?.cluster?.name === self.spec.cluster.name &&
      meta(b).uid !== meta(self).uid &&
      b.status?.phase === BACKUP_PHASE.Completed &&
      b.status.toLSN &&
      b.status.backupId &&
      (type === 'incremental' || (b.status.type ?? 'full') === 'full') &&
      sameStore(b),
  );
  const latest = candidates.sort((a, b) => String(b.status!.backupId).localeCompare(String(a.status!.backupId)))[0];
  return latest ? { backupId: latest.status!.backupId!, toLSN: latest.status!.toLSN! } : undefined;
}
