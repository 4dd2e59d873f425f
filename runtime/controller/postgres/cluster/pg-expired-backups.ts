/**
 * Retention is pgBackRest's own (`expire` after every backup, from repos[].retention); nothing else
 * deletes from a repository. A completed PGBackup whose backup set is no longer in `pgbackrest info`
 * was expired: its status says so (expiredAt, condition Expired) and its Ready condition turns False,
 * so nobody plans a restore from it. The PGBackup object itself stays until the user deletes it.
 */
import type { Condition } from '../../../../src/api/common/types.js';
import { setCondition } from '../../kube/conditions.js';
import { KINDS } from '../../kube/kinds.js';
import { repoIndex, type PGBackupObject } from '../shared/pg-objects.js';
import type { InfoStanza } from '../shared/pgbackrest-info.js';
import type { PGClusterScope } from './pg-cluster-scope.js';

/** Labels per repository key that `info` still holds. */
function labelsByRepo(stanza: InfoStanza): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  for (const b of stanza.backup ?? []) {
    const key = b.database?.['repo-key'] ?? 0;
    out.set(key, (out.get(key) ?? new Set()).add(b.label));
  }
  return out;
}

/**
 * `readInfo` is called after the completed PGBackups are listed: a backup that completed during this pass is then
 * in the info it reads, never taken for expired.
 */
export async function markExpiredBackups(scope: PGClusterScope, readInfo: () => Promise<InfoStanza | undefined>): Promise<number> {
  const backups = (await scope.ctx.client.list<PGBackupObject>(KINDS.PGBackup, scope.namespace)).filter(
    (b) => b.spec.cluster.name === scope.name && b.status?.phase === 'completed' && b.status.label && !b.status.expiredAt,
  );
  if (!backups.length) return 0;
  const stanza = await readInfo();
  if (!stanza) return 0;
  const held = labelsByRepo(stanza);
  let marked = 0;
  // Only a repository pgBackRest could read (status 0 ok, or 2 no valid backups) says a set is gone; one it could
  // not read (an object store down, a wrong key) lists no backups at all.
  const readable = new Set((stanza.repo ?? []).filter((r) => r.status.code === 0 || r.status.code === 2).map((r) => r.key));
  for (const backup of backups) {
    const key = repoIndex({ name: backup.spec.repoName });
    if (!readable.has(key) || held.get(key)?.has(backup.status!.label!)) continue;
    const now = scope.ctx.now();
    const message = `pgBackRest's retention expired backup ${backup.status!.label} from ${backup.spec.repoName}`;
    let conditions: Condition[] = setCondition(
      backup.status!.conditions,
      { type: 'Expired', status: 'True', reason: 'Expired', message },
      now,
    );
    conditions = setCondition(conditions, { type: 'Ready', status: 'False', reason: 'Expired', message }, now);
    await scope.ctx.client.patchStatus(
      KINDS.PGBackup,
      { namespace: scope.namespace, name: backup.metadata.name },
      {
        expiredAt: now.toISOString(),
        reason: 'Expired',
        message,
        conditions,
      },
    );
    await scope.ctx.events.record(backup, 'Normal', 'Expired', message);
    marked += 1;
  }
  return marked;
}
