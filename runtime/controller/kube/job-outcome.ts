/**
 * Reading a worker Job's outcome, once for every kind that runs workers: whether the Job is
 * complete, failed or still running (its conditions), its newest Pod, the worker container's
 * terminated state and the worker's result line from the termination message, parsed by the
 * contract (runtime/contracts/worker-result.ts). What the outcome means is the caller's.
 */
import type { ContainerStatus, ContainerTerminated, Job, JobCondition, Pod } from './client.js';
import { parseResultLine, type ResultLine } from '../../contracts/worker-result.js';

export interface WorkerJobOutcome {
  /** complete: Complete or SuccessCriteriaMet; failed: Failed or FailureTarget; else running. */
  readonly state: 'running' | 'complete' | 'failed';
  /** The condition that decided `state` (undefined while running). */
  readonly condition?: JobCondition;
  /** The newest of the Job's Pods. */
  readonly pod?: Pod;
  /** The worker container's status in that Pod (by name, else the first container). */
  readonly container?: ContainerStatus;
  /** Its terminated state, current or last. */
  readonly terminated?: ContainerTerminated;
  /** The worker's result line, when the termination message holds one. */
  readonly result?: ResultLine;
}

/** Milliseconds since the epoch of an RFC 3339 timestamp; 0 when there is none. */
export const timeOf = (value: string | undefined): number => (value ? new Date(value).getTime() : 0);

/** A Job's condition of `type` whose status is True. */
export const jobCondition = (job: Job, type: string): JobCondition | undefined =>
  job.status?.conditions?.find((c) => c.type === type && c.status === 'True');

/** The condition types that end a Job: Complete or SuccessCriteriaMet, Failed or FailureTarget. */
export const JOB_FINISHED_TYPES: readonly string[] = ['Failed', 'FailureTarget', 'Complete', 'SuccessCriteriaMet'];

/**
 * The first True condition that ends the Job, in the Job's own order (the order the Job controller
 * set them), so its lastTransitionTime is when the Job finished; undefined while it runs.
 */
export const finishedCondition = (job: Job): JobCondition | undefined =>
  job.status?.conditions?.find((c) => JOB_FINISHED_TYPES.includes(c.type) && c.status === 'True');

/** The most recently created Pod. */
export const newestPod = (pods: readonly Pod[]): Pod | undefined =>
  [...pods].sort((a, b) => timeOf(b.metadata?.creationTimestamp) - timeOf(a.metadata?.creationTimestamp))[0];

export function readJobOutcome(job: Job, pods: readonly Pod[], containerName: string): WorkerJobOutcome {
  const complete = jobCondition(job, 'Complete') ?? jobCondition(job, 'SuccessCriteriaMet');
  const failed = jobCondition(job, 'Failed') ?? jobCondition(job, 'FailureTarget');
  const pod = newestPod(pods);
  const container = pod?.status?.containerStatuses?.find((c) => c.name === containerName) ?? pod?.status?.containerStatuses?.[0];
  const terminated = container?.state?.terminated ?? container?.lastState?.terminated;
  return {
    state: complete ? 'complete' : failed ? 'failed' : 'running',
    condition: complete ?? failed,
    pod,
    container,
    terminated,
    result: parseResultLine(terminated?.message),
  };
}

/**
 * The worker container exited 0 and its result line says `outcome`: the work is done and reported, although the Job
 * controller marks the Job Complete only about a second later (it batches Pod updates). A reconciler that watches its
 * workers' Pods finishes on this instead of waiting for that condition (decision 0289).
 */
export const workerFinished = (outcome: WorkerJobOutcome, expected: string): boolean =>
  outcome.terminated?.exitCode === 0 && outcome.result?.outcome === expected;
