/**
 * What a backup Job's outcome is, from the Job's conditions and its Pod's
 * terminated-state message (the worker's JSON line). The controller never
 * reads metadata.json from the store: the worker prints the same document.
 */
import type { BackupMetadata } from '../../../../src/api/metadata/types.js';
import { failureFromWorker, oneLine, REASON, type Failure } from './backup-reasons.js';
import type { ResultLine } from '../../../contracts/worker-result.js';
import type { ContainerStatus, Job, Pod } from '../../kube/client.js';
import { readJobOutcome, timeOf, workerFinished, type WorkerJobOutcome } from '../../kube/job-outcome.js';

export type JobOutcome =
  | { readonly state: 'running'; readonly waiting?: Failure }
  | { readonly state: 'completed'; readonly metadata: BackupMetadata }
  | { readonly state: 'failed'; readonly failure: Failure };

/** Container waiting reasons that do not heal by waiting (or only when a human acts). */
const STUCK = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
  'ErrImageNeverPull',
]);
/** How long a stuck Pod may wait (e.g. for a Secret being created) before the Backup fails. */
export const STUCK_GRACE_MS = 60_000;

export function checkMetadata(metadata: BackupMetadata | undefined, expected: { backupId: string; dataKey: string }): Failure | undefined {
  const bad = (what: string): Failure => ({
    reason: REASON.MetadataInvalid,
    message: `the worker reported success but its metadata ${what}; the backup cannot be trusted, take a new one`,
  });
  if (!metadata || typeof metadata !== 'object') return bad('is missing from the termination message');
  if (typeof metadata.sha256 !== 'string' || !/^[a-f0-9]{64}$/.test(metadata.sha256)) return bad('has no valid sha256');
  if (metadata.backupId !== expected.backupId)
    return bad(`names backup ID ${JSON.stringify(metadata.backupId)} instead of ${expected.backupId}`);
  if (metadata.objectKey !== expected.dataKey)
    return bad(`names object ${JSON.stringify(metadata.objectKey)} instead of ${expected.dataKey}`);
  if (!metadata.sizes || typeof metadata.sizes.storedBytes !== 'number') return bad('has no stored size');
  return undefined;
}

/** A complete Job: its worker's metadata, checked against the plan, decides completed or failed. */
function completeOutcome(job: Job, line: ResultLine | undefined, expected: { backupId: string; dataKey: string }): JobOutcome {
  if (!line)
    return {
      state: 'failed',
      failure: {
        reason: REASON.MetadataInvalid,
        message: `Job ${job.metadata?.name} succeeded but its Pod left no worker result line in the termination message; the backup cannot be trusted, take a new one`,
      },
    };
  const bad = checkMetadata(line.metadata, expected);
  return bad ? { state: 'failed', failure: bad } : { state: 'completed', metadata: line.metadata! };
}

/** A failed Job: the worker's own reason when it gave one, else the Job's deadline or its condition. */
function failedOutcome(job: Job, outcome: WorkerJobOutcome): JobOutcome {
  const { terminated, result: line } = outcome;
  const jobReason = outcome.condition?.reason;
  if (line?.outcome === 'failed')
    return { state: 'failed', failure: failureFromWorker({ reason: line.reason ?? 'other', error: line.error ?? 'no error text' }) };
  if (jobReason === 'DeadlineExceeded') {
    return {
      state: 'failed',
      failure: {
        reason: REASON.DeadlineExceeded,
        message: `the backup Job ran longer than activeDeadlineSeconds (${job.spec?.activeDeadlineSeconds} s) and was stopped; raise spec.deadlineSeconds or find out why the stream is slow`,
      },
    };
  }
  const exit = terminated ? ` (container ${terminated.reason ?? 'terminated'} with exit code ${terminated.exitCode})` : '';
  return {
    state: 'failed',
    failure: {
      reason: REASON.JobFailed,
      message: `Job ${job.metadata?.name} failed${exit}: ${oneLine(outcome.condition?.message ?? jobReason ?? 'no reason given', 500)}; see the Job's Events and Pod log`,
    },
  };
}

/** Still running; a Pod that cannot start fails the Backup after a grace period. */
function runningOutcome(job: Job, container: ContainerStatus | undefined, now: Date, graceMs: number): JobOutcome {
  const waiting = container?.state?.waiting;
  if (waiting?.reason && STUCK.has(waiting.reason)) {
    const failure: Failure = {
      reason: REASON.JobCannotStart,
      message: `the backup Pod cannot start (${waiting.reason}: ${oneLine(waiting.message ?? '', 400)}); fix the image or the referenced Secrets and create a new Backup`,
    };
    const since = timeOf(job.metadata?.creationTimestamp) || now.getTime();
    return now.getTime() - since >= graceMs ? { state: 'failed', failure } : { state: 'running', waiting: failure };
  }
  return { state: 'running' };
}

export function jobOutcome(
  job: Job,
  pods: Pod[],
  expected: { backupId: string; dataKey: string },
  now: Date,
  graceMs = STUCK_GRACE_MS,
): JobOutcome {
  const outcome = readJobOutcome(job, pods, 'backup');
  // The worker exited 0 with its result line: done now, not when the Job controller gets to it (decision 0289). The
  // same checks of its metadata decide, as for a Complete Job; without the line, the Job's condition still does.
  if (outcome.state === 'complete' || workerFinished(outcome, 'completed')) return completeOutcome(job, outcome.result, expected);
  if (outcome.state === 'failed') return failedOutcome(job, outcome);
  return runningOutcome(job, outcome.container, now, graceMs);
}
