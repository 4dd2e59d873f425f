/**
 * What a recovery Job's worker said: its newest progress line (from the Pod's log, the contract in
 * runtime/contracts/recovery-progress.ts) and, when it ended, its result line mapped to a Cluster
 * reason (cluster-reasons.ts), with whether another attempt may resume it on the volume.
 */
import type { ResultLine } from '../../../contracts/worker-result.js';
import { failure, failureFromRestoreWorker } from './cluster-reasons.js';

export { parseRecoveryProgress as latestRecoveryProgress } from '../../../contracts/recovery-progress.js';

export interface RecoveryFailure {
  readonly reason: string;
  readonly message: string;
  /** Killed, cut off or unreachable: a new attempt resumes on the volume. */
  readonly retry: boolean;
}

const RETRIED = new Set(['RecoveryInterrupted', 'ObjectStoreUnreachable']);

export function recoveryFailureFromWorker(result: ResultLine | undefined, terminationMessage: string | undefined): RecoveryFailure {
  if (result?.outcome !== 'failed') {
    // No result line: the worker was killed (OOM, SIGKILL, node loss) before it could say anything.
    const said = terminationMessage ? `: ${terminationMessage.replace(/\s+/g, ' ').slice(0, 200)}` : '';
    return { ...failure('RecoveryInterrupted', `the recovery worker ended without a result${said}`), retry: true };
  }
  const mapped =
    failureFromRestoreWorker({ reason: result.reason ?? 'other', error: result.error ?? '' }) ??
    failure('RecoveryInterrupted', `the recovery worker failed (${result.reason}): ${String(result.error ?? '').slice(0, 300)}`);
  return { ...mapped, retry: RETRIED.has(mapped.reason) };
}
