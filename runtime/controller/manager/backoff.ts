/** Exponential backoff with a cap, shared by the informers and the work queue. */
export interface BackoffPolicy {
  /** First delay. */
  readonly baseMs: number;
  /** Upper bound of any delay. */
  readonly maxMs: number;
  /** Multiplier per consecutive failure. @default 2 */
  readonly factor?: number;
}

/** Delay before attempt number `failures` (1 = first retry): base·factor^(failures-1), capped. */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  if (failures <= 0) return 0;
  const raw = policy.baseMs * Math.pow(policy.factor ?? 2, Math.min(failures - 1, 60));
  return Math.min(policy.maxMs, raw);
}
