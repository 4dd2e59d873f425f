/**
 * A new Cluster's backup destination must not already hold backups (CloudNativePG's "Expected
 * empty archive"), unless spec.backup.continueLineage says this Cluster continues them; and a
 * recovered Cluster never writes under its recovery source's prefix. Checked once, when the Cluster
 * is new; status.destinationChecked records it, so a later backup of its own never blocks it.
 */
import type { ReconcileResult } from '../../reconciler.js';
import type { ClusterScope } from './cluster-scope.js';
import { openObjectStore } from './cluster-store-client.js';
import { failure as clusterFailure } from './cluster-reasons.js';
import { checkDestination, storeFailure } from './recovery-resolve.js';

export async function checkClusterDestination(scope: ClusterScope): Promise<ReconcileResult | undefined> {
  if (scope.status.destinationChecked) return undefined;
  const backup = scope.cluster.spec.backup;
  if (!backup?.objectStore) {
    await scope.patchStatus({ destinationChecked: 'no backup destination configured' });
    return undefined;
  }
  let failure: { reason: string; message: string } | undefined;
  try {
    const store = await openObjectStore(scope.ctx.client, scope.namespace, backup.objectStore);
    const recovery = scope.status.recovery;
    failure = await checkDestination(
      store,
      { clusterName: scope.name, objectStore: backup.objectStore, continueLineage: !!backup.continueLineage },
      recovery?.objectStore && recovery.sourcePrefix
        ? { objectStore: recovery.objectStore, sourcePrefix: recovery.sourcePrefix }
        : undefined,
    );
  } catch (error) {
    failure =
      storeFailure(error, 'checking the backup destination') ??
      clusterFailure('ObjectStoreFailed', `checking the backup destination failed: ${(error as Error).message.slice(0, 300)}`);
  }
  if (failure) {
    await scope.setPhase('Failed', failure.reason, failure.message);
    return { requeueAfterMs: 60_000 };
  }
  await scope.patchStatus({ destinationChecked: scope.ctx.now().toISOString() });
  return undefined;
}
