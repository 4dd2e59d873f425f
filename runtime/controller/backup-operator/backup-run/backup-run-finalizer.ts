/**
 * retainPolicy: Delete. The run's finalizer stays until a short-lived cleanup
 * Pod — holding the storage credentials, never the controller — has deleted the
 * data object and its metadata.json. Runs that stored nothing release at once.
 */
import { BACKUP_RUN_PHASE } from '../../../../src/api/backup-operator.io/phases.js';
import { setFinalizer } from '../../kube/finalizers.js';
import { KINDS } from '../../kube/kinds.js';
import type { ReconcileResult } from '../../reconciler.js';
import { FINALIZER_DELETE_REMOTE } from '../shared/names.js';
import { deleteCredentialsCopy } from './backup-run-credentials.js';
import { workerOutcome } from './backup-run-outcome.js';
import { buildCleanupPod, objectKeyFromPath, podNameFor } from './backup-run-pod.js';
import type { RunPass } from './backup-run-reconciler.js';
import { BACKUP_RUN_REASONS as R } from './backup-run-reasons.js';
import { resolveStorage } from './backup-run-storage.js';

const RETRY_MS = 30_000;

/** A run being deleted: the finalizer's step of the run's pass. */
export async function finalizeRun(pass: RunPass): Promise<ReconcileResult | void> {
  const { run, client, ctx, namespace, name } = pass;
  if (!run.metadata?.finalizers?.includes(FINALIZER_DELETE_REMOTE)) return;
  const release = async () => {
    await deleteCredentialsCopy(client, namespace, name);
    await setFinalizer(client, KINDS.BackupRun, run, FINALIZER_DELETE_REMOTE, false);
  };
  const path = run.status?.path;
  // Nothing was written unless the worker got as far as starting; a Pending run with a path but no Pod wrote nothing either.
  if (!path || run.status?.phase === BACKUP_RUN_PHASE.Failed || run.status?.phase === BACKUP_RUN_PHASE.Pending) return release();
  for (const role of ['backup', 'restore'] as const) await client.deletePod(namespace, podNameFor(name, role), 5);

  const podName = podNameFor(name, 'cleanup');
  const existing = await client.readPod(namespace, podName);
  const where = `${run.spec.storage.name}:${objectKeyFromPath(path)}`;
  if (!existing) {
    const resolved = await resolveStorage(run, client);
    if (!resolved.ok) {
      await ctx.events.record(
        run,
        'Warning',
        R.CleanupBlocked,
        `retainPolicy Delete cannot remove ${where}: ${resolved.message} To keep the data instead, remove the finalizer ${FINALIZER_DELETE_REMOTE}.`,
      );
      return { requeueAfterMs: RETRY_MS };
    }
    await client.createPod(
      buildCleanupPod({
        runName: name,
        namespace,
        runUid: run.metadata.uid!,
        scheduleName: '',
        spec: run.spec,
        workerImage: ctx.settings.workerImage,
        storeEnv: resolved.storeEnv,
        dataKey: objectKeyFromPath(path),
        backupId: '',
      }),
    );
    await ctx.events.record(run, 'Normal', R.CleanupStarted, `retainPolicy Delete: removing ${where} in Pod ${podName}.`);
    return { requeueAfterMs: RETRY_MS };
  }
  const outcome = workerOutcome(existing);
  if (outcome.state === 'deleted') {
    await ctx.events.record(run, 'Normal', R.CleanupCompleted, `retainPolicy Delete: removed ${where} and its metadata.json.`);
    // The finalizer goes first: the Pod is owned by the run and garbage-collected with it.
    return release();
  }
  if (outcome.state === 'failed' || existing.status?.phase === 'Failed') {
    const error = outcome.state === 'failed' ? outcome.error : `the cleanup Pod failed (${existing.status?.reason ?? 'unknown'})`;
    await ctx.events.record(
      run,
      'Warning',
      R.CleanupFailed,
      `retainPolicy Delete could not remove ${where}: ${error}; retrying in ${RETRY_MS / 1000} s.`,
    );
    await client.deletePod(namespace, podName, 0);
    return { requeueAfterMs: RETRY_MS };
  }
  return { requeueAfterMs: 10_000 };
}
