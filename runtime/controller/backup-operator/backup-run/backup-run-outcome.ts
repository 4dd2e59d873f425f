/**
 * What a run's worker container reported: the JSON result line it writes to
 * its termination log (runtime/cli.ts), read from the Pod's container status.
 * The controller never reads the stored payload.
 */
import type { ContainerTerminated, Pod } from '../../kube/client.js';
import { WORKER_CONTAINER } from './backup-run-pod.js';
import { BACKUP_RUN_REASONS as R } from './backup-run-reasons.js';
import { parseResultLine, type ResultLine } from '../../../contracts/worker-result.js';

export { parseResultLine };

export type WorkerOutcome =
  | { readonly state: 'running' }
  | {
      readonly state: 'completed';
      readonly storedBytes?: number;
      readonly sourceBytes?: number;
      readonly sha256?: string;
      readonly compression?: string;
      readonly encryption?: string;
      readonly recipients?: number;
    }
  | { readonly state: 'restored' }
  | { readonly state: 'deleted' }
  | { readonly state: 'failed'; readonly workerReason: string; readonly error: string; readonly exitCode?: number };

/** Worker failure class (runtime/contracts/worker-result.ts) → BackupRun reason, for backups. */
export const BACKUP_FAILURE_REASONS: Record<string, string> = {
  sourceFailed: R.CommandFailed,
  auth: R.AccessDenied,
  network: R.EndpointUnreachable,
  notFound: R.BucketNotFound,
  storageFull: R.StorageFull,
  deadline: R.DeadlineExceeded,
  config: R.WorkerConfigInvalid,
  tls: R.UploadFailed,
  // Physical-backup classes: a BackupRun streams from a pipe, so these reach it only from a misconfigured worker.
  unreachable: R.UploadFailed,
  busy: R.CommandFailed,
  interrupted: R.CommandFailed,
  other: R.UploadFailed,
};

/** Worker failure class → BackupRun reason, for restores. */
export const RESTORE_FAILURE_REASONS: Record<string, string> = {
  restoreFailed: R.RestoreCommandFailed,
  checksumMismatch: R.ChecksumMismatch,
  decryption: R.DecryptionFailed,
  notFound: R.BackupObjectNotFound,
  auth: R.AccessDenied,
  network: R.EndpointUnreachable,
  deadline: R.DeadlineExceeded,
  config: R.WorkerConfigInvalid,
  // Physical-restore classes: a BackupRun restores through a command, so these reach it only from a misconfigured worker.
  prepareFailed: R.RestoreFailed,
  copyBackFailed: R.RestoreFailed,
  volumeFull: R.RestoreFailed,
  other: R.RestoreFailed,
};

/** The facts of a completed backup, from the metadata in its result line. */
function completedFacts(result: ResultLine): WorkerOutcome {
  const m: Partial<NonNullable<ResultLine['metadata']>> = result.metadata ?? {};
  return {
    state: 'completed',
    storedBytes: m.sizes?.storedBytes,
    sourceBytes: m.sizes?.sourceBytes,
    sha256: m.sha256,
    compression: m.codec?.compression,
    encryption: m.codec?.encryption,
    recipients: m.codec?.recipientFingerprints?.length,
  };
}

/** A worker that exited 0 and said what it did: completed, restored or deleted. */
function successOf(result: ResultLine): WorkerOutcome | undefined {
  if (result.outcome === 'completed') return completedFacts(result);
  if (result.outcome === 'restored') return { state: 'restored' };
  if (result.outcome === 'deleted') return { state: 'deleted' };
  return undefined;
}

export function outcomeFromTerminated(terminated: ContainerTerminated): WorkerOutcome {
  const result = parseResultLine(terminated.message);
  const success = terminated.exitCode === 0 && result ? successOf(result) : undefined;
  if (success) return success;
  if (result?.outcome === 'failed') {
    return {
      state: 'failed',
      workerReason: String(result.reason ?? 'other'),
      error: String(result.error ?? 'the worker failed without a message'),
      exitCode: terminated.exitCode,
    };
  }
  // Killed (OOM, signal) or a result line cut off: say what we know.
  const why = terminated.reason ? ` (${terminated.reason})` : '';
  return {
    state: 'failed',
    workerReason: 'other',
    error: `the worker container exited with code ${terminated.exitCode}${why} without a result line`,
    exitCode: terminated.exitCode,
  };
}

/** The worker container's outcome in `pod`, or running while it has not terminated. */
export function workerOutcome(pod: Pod): WorkerOutcome {
  const status = pod.status?.containerStatuses?.find((c) => c.name === WORKER_CONTAINER);
  const terminated =
    status?.state?.terminated ??
    (pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded' ? status?.lastState?.terminated : undefined);
  return terminated ? outcomeFromTerminated(terminated) : { state: 'running' };
}
