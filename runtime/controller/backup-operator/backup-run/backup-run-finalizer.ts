/**
 * retainPolicy: Delete. The run's finalizer stays until a short-lived cleanup
 * Pod — holding the storage credentials, never the controller — has deleted the
 * data object and its metadata.json. Runs that stored nothing release at once.
 */
import type { CustomObjects } from '../../kube/custom-objects.js';
import { KINDS } from '../../kube/kinds.js';
import type { ReconcileContext, ReconcileResult } from '../../reconciler.js';
import { setFinalizer } from '../shared/finalizers.js';
import { FINALIZER_DELETE_REMOTE } from '../shared/names.js';
import { createPod, deletePod, readPod } from '../shared/pods.js';
import { deleteCredentialsCopy } from './backup-run-credentials.js';
import { workerOutcome } from './backup-run-outcome.js';
import { buildCleanupPod, objectKeyFromPath, podNameFor } from './backup-run-pod.js';
import type { Run } from './backup-run-reconciler.js';
import { resolveStorage } from './backup-run-storage.js';

const RETRY_MS = 30_000;

export async function finalizeRun(run: Run, objects: CustomObjects, context: ReconcileContext): Promise<ReconcileResult | void> {
  if (!run.metadata?.finalizers?.includes(FINALIZER_DELETE_REMOTE)) return;
  const namespace = run.metadata.namespace!;
  const name = run.metadata.name!;
  const release = async () => {
    await deleteCredentialsCopy(context.kubeConfig, namespace, name);
    await setFinalizer(objects, KINDS.BackupRun, run, FINALIZER_DELETE_REMOTE, false);
  };
  const path = run.status?.path;
  // Nothing was written unless the worker got as far as starting; a Pending run with a path but no Pod wrote nothing either.
  if (!path || run.status?.phase === 'Failed' || run.status?.phase === 'Pending') return release();
  for (const role of ['backup', 'restore'] as const) await deletePod(context.kubeConfig, namespace, podNameFor(name, role), 5);

  const podName = podNameFor(name, 'cleanup');
  const existing = await readPod(context.kubeConfig, namespace, podName);
  const where = `${run.spec.storage.name}:${objectKeyFromPath(path)}`;
  if (!existing) {
    const resolved = await resolveStorage(run, objects, context);
    if (!resolved.ok) {
      await context.events.record(run, 'Warning', 'CleanupBlocked', `retainPolicy Delete cannot remove ${where}: ${resolved.message} To keep the data instead, remove the finalizer ${FINALIZER_DELETE_REMOTE}.`);
      return { requeueAfterMs: RETRY_MS };
    }
    await createPod(context.kubeConfig, buildCleanupPod({
      runName: name, namespace, runUid: run.metadata.uid!, scheduleName: '', spec: run.spec, workerImage: context.settings.workerImage,
      storeEnv: resolved.storeEnv, dataKey: objectKeyFromPath(path), backupId: '',
    }));
    await context.events.record(run, 'Normal', 'CleanupStarted', `retainPolicy Delete: removing ${where} in Pod ${podName}.`);
    return { requeueAfterMs: RETRY_MS };
  }
  const outcome = workerOutcome(existing);
  if (outcome.state === 'deleted') {
    await context.events.record(run, 'Normal', 'CleanupCompleted', `retainPolicy Delete: removed ${where} and its metadata.json.`);
    // The finalizer goes first: the Pod is owned by the run and garbage-collected with it.
    return release();
  }
  if (outcome.state === 'failed' || existing.status?.phase === 'Failed') {
    const error = outcome.state === 'failed' ? outcome.error : `the cleanup Pod failed (${existing.status?.reason ?? 'unknown'})`;
    await context.events.record(run, 'Warning', 'CleanupFailed', `retainPolicy Delete could not remove ${where}: ${error}; retrying in ${RETRY_MS / 1000} s.`);
    await deletePod(context.kubeConfig, namespace, podName, 0);
    return { requeueAfterMs: RETRY_MS };
  }
  return { requeueAfterMs: 10_000 };
}
