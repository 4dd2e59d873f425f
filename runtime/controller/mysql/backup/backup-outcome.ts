/**
 * What a backup Job's outcome is, from the Job's conditions and its Pod's
 * terminated-state message (the worker's JSON line). The controller never
 * reads metadata.json from the store: the worker prints the same document.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { BackupMetadata } from '../../../../src/generated/api-types.js';
import { failureFromWorker, oneLine, REASON, type Failure } from './backup-reasons.js';

export type JobOutcome =
  | { readonly state: 'running'; readonly waiting?: Failure }
  | { readonly state: 'completed'; readonly metadata: BackupMetadata }
  | { readonly state: 'failed'; readonly failure: Failure };

/** Container waiting reasons that do not heal by waiting (or only when a human acts). */
const STUCK = new Set(['CreateContainerConfigError', 'CreateContainerError', 'ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
/** How long a stuck Pod may wait (e.g. for a Secret being created) before the Backup fails. */
export const STUCK_GRACE_MS = 60_000;

interface WorkerLine { outcome?: string; reason?: string; error?: string; metadata?: BackupMetadata }

function parseLine(message: string | undefined): WorkerLine | undefined {
  if (!message) return undefined;
  // The message is the JSON line; with FallbackToLogsOnError it may be a log tail that ends with it.
  for (const line of message.trim().split('\n').reverse()) {
    try {
      const parsed = JSON.parse(line) as WorkerLine;
      if (parsed && typeof parsed === 'object' && typeof parsed.outcome === 'string') return parsed;
    } catch { /* not the JSON line */ }
  }
  return undefined;
}

/** client-node gives Dates, raw JSON gives strings. */
const time = (value: Date | string | undefined): number => (value ? new Date(value).getTime() : 0);

function workerContainer(pod: V1Pod) {
  return pod.status?.containerStatuses?.find((c) => c.name === 'backup') ?? pod.status?.containerStatuses?.[0];
}

export function checkMetadata(metadata: BackupMetadata | undefined, expected: { backupId: string; dataKey: string }): Failure | undefined {
  const bad = (what: string): Failure => ({ reason: REASON.MetadataInvalid, message: `the worker reported success but its metadata ${what}; the backup cannot be trusted, take a new one` });
  if (!metadata || typeof metadata !== 'object') return bad('is missing from the termination message');
  if (typeof metadata.sha256 !== 'string' || !/^[a-f0-9]{64}$/.test(metadata.sha256)) return bad('has no valid sha256');
  if (metadata.backupId !== expected.backupId) return bad(`names backup ID ${JSON.stringify(metadata.backupId)} instead of ${expected.backupId}`);
  if (metadata.objectKey !== expected.dataKey) return bad(`names object ${JSON.stringify(metadata.objectKey)} instead of ${expected.dataKey}`);
  if (!metadata.sizes || typeof metadata.sizes.storedBytes !== 'number') return bad('has no stored size');
  return undefined;
}

export function jobOutcome(job: V1Job, pods: V1Pod[], expected: { backupId: string; dataKey: string }, now: Date, graceMs = STUCK_GRACE_MS): JobOutcome {
  const condition = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
  const pod = [...pods].sort((a, b) => time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp))[0];
  const container = pod && workerContainer(pod);
  const terminated = container?.state?.terminated ?? container?.lastState?.terminated;
  const line = parseLine(terminated?.message);
  const failed = condition('Failed');
  if (condition('Complete') || condition('SuccessCriteriaMet')) {
    if (!line) return { state: 'failed', failure: { reason: REASON.MetadataInvalid, message: `Job ${job.metadata?.name} succeeded but its Pod left no worker result line in the termination message; the backup cannot be trusted, take a new one` } };
    const bad = checkMetadata(line.metadata, expected);
    return bad ? { state: 'failed', failure: bad } : { state: 'completed', metadata: line.metadata! };
  }
  if (failed || condition('FailureTarget')) {
    const jobReason = (failed ?? condition('FailureTarget'))?.reason;
    if (line?.outcome === 'failed') return { state: 'failed', failure: failureFromWorker({ reason: line.reason ?? 'other', error: line.error ?? 'no error text' }) };
    if (jobReason === 'DeadlineExceeded') {
      return { state: 'failed', failure: { reason: REASON.DeadlineExceeded, message: `the backup Job ran longer than activeDeadlineSeconds (${job.spec?.activeDeadlineSeconds} s) and was stopped; raise spec.deadlineSeconds or find out why the stream is slow` } };
    }
    const exit = terminated ? ` (container ${terminated.reason ?? 'terminated'} with exit code ${terminated.exitCode})` : '';
    return { state: 'failed', failure: { reason: REASON.JobFailed, message: `Job ${job.metadata?.name} failed${exit}: ${oneLine((failed ?? condition('FailureTarget'))?.message ?? jobReason ?? 'no reason given', 500)}; see the Job's Events and Pod log` } };
  }
  // Still running; a Pod that cannot start fails the Backup after a grace period.
  const waiting = container?.state?.waiting;
  if (waiting?.reason && STUCK.has(waiting.reason)) {
    const failure: Failure = { reason: REASON.JobCannotStart, message: `the backup Pod cannot start (${waiting.reason}: ${oneLine(waiting.message ?? '', 400)}); fix the image or the referenced Secrets and create a new Backup` };
    const since = time(job.metadata?.creationTimestamp) || now.getTime();
    return now.getTime() - since >= graceMs ? { state: 'failed', failure } : { state: 'running', waiting: failure };
  }
  return { state: 'running' };
}
