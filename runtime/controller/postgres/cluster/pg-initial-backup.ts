/**
 * The initial backup (spec.backups.pgbackrest.initialBackup, default true): once the stanza exists, a
 * full PGBackup `<cluster>-initial` into the first repository, owned by the cluster, so a recovery
 * works from the start. Created once: its name is recorded in status.initialBackup.
 */
import { KINDS } from '../../kube/kinds.js';
import { isAlreadyExists } from '../../kube/custom-objects.js';
import type { PGClusterScope } from './pg-cluster-scope.js';

export async function ensureInitialBackup(scope: PGClusterScope): Promise<string | undefined> {
  const pgbackrest = scope.cluster.spec.backups.pgbackrest;
  if (scope.status.initialBackup) return scope.status.initialBackup;
  if (pgbackrest.initialBackup === false) return undefined;
  const name = `${scope.name}-initial`;
  try {
    await scope.ctx.client.create(KINDS.PGBackup, {
      metadata: { name, namespace: scope.namespace, ownerReferences: [scope.owner] },
      spec: { cluster: { name: scope.name }, repoName: pgbackrest.repos[0].name, type: 'full' },
    });
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
  }
  await scope.ctx.events.record(
    scope.cluster,
    'Normal',
    'InitialBackup',
    `created PGBackup ${name}: a full backup into ${pgbackrest.repos[0].name}`,
  );
  return name;
}
