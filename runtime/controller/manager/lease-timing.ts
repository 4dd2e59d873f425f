/**
 * The decisions of leader election as pure functions of a Lease record and the
 * local clock, so they can be tested without an API server. The rules follow
 * client-go's leaderelection package: expiry is judged by when *this* process
 * last saw the record change (its own clock), never by comparing the record's
 * timestamps with the local clock, so clock skew between replicas is harmless.
 */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface ElectionTiming {
  /** A standby takes over this long after it last saw the record change. @default 15000 */
  readonly leaseDurationMs: number;
  /** A leader that could not renew for this long stops leading. @default 10000 */
  readonly renewDeadlineMs: number;
  /** Interval of acquire/renew attempts. @default 2000 */
  readonly retryPeriodMs: number;
}

export const DEFAULT_TIMING: ElectionTiming = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** Throws a sentence naming the bad value: the three durations must nest. */
export function validateTiming(t: ElectionTiming): void {
  if (!(t.retryPeriodMs > 0)) throw new Error(`leader election: retry period must be positive, got ${t.retryPeriodMs} ms`);
  if (!(t.renewDeadlineMs > t.retryPeriodMs * 1.2))
    throw new Error(`leader election: renew deadline (${t.renewDeadlineMs} ms) must exceed 1.2 × retry period (${t.retryPeriodMs} ms)`);
  if (!(t.leaseDurationMs > t.renewDeadlineMs))
    throw new Error(`leader election: lease duration (${t.leaseDurationMs} ms) must exceed the renew deadline (${t.renewDeadlineMs} ms)`);
}

/** Lease MicroTime: RFC 3339 with exactly six fractional digits, as the API server parses it. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Remembers when the record last changed, by the local clock. */
export class LeaseObservation {
  private fingerprint = '';
  /** Local ms of the last observed change. */
  observedAt = 0;
  record?: LeaseRecord;

  observe(record: LeaseRecord | undefined, nowMs: number): void {
    const fp = JSON.stringify([record?.holderIdentity ?? '', record?.renewTime ?? '', record?.leaseDurationSeconds ?? 0]);
    if (fp !== this.fingerprint) {
      this.fingerprint = fp;
      this.observedAt = nowMs;
    }
    this.record = record;
  }
}

/** True when the record's holder may be displaced: nobody holds it, we do, or it was not renewed for a lease duration. */
export function canAcquire(
  record: LeaseRecord | undefined,
  identity: string,
  observedAt: number,
  nowMs: number,
  timing: ElectionTiming,
): boolean {
  const holder = record?.holderIdentity ?? '';
  if (!holder || holder === identity) return true;
  const durationMs = record?.leaseDurationSeconds ? record.leaseDurationSeconds * 1000 : timing.leaseDurationMs;
  return nowMs >= observedAt + durationMs;
}

/** The record to write when acquiring or renewing; undefined when another holder's lease is still valid. */
export function nextRecord(
  record: LeaseRecord | undefined,
  identity: string,
  observedAt: number,
  now: Date,
  timing: ElectionTiming,
): LeaseRecord | undefined {
  if (!canAcquire(record, identity, observedAt, now.getTime(), timing)) return undefined;
  const renewing = record?.holderIdentity === identity;
  const stamp = microTime(now);
  return {
    holderIdentity: identity,
    leaseDurationSeconds: Math.ceil(timing.leaseDurationMs / 1000),
    acquireTime: renewing ? (record?.acquireTime ?? stamp) : stamp,
    renewTime: stamp,
    leaseTransitions: renewing ? (record?.leaseTransitions ?? 0) : (record?.leaseTransitions ?? -1) + 1,
  };
}

/** The record written on a graceful release: no holder, so a standby acquires at its next attempt. */
export function releasedRecord(record: LeaseRecord, now: Date): LeaseRecord {
  const stamp = microTime(now);
  return { ...record, holderIdentity: '', leaseDurationSeconds: 1, renewTime: stamp };
}

/** A leader whose last successful renew is older than the renew deadline has lost leadership. */
export function renewExpired(lastRenewMs: number, nowMs: number, timing: ElectionTiming): boolean {
  return nowMs - lastRenewMs >= timing.renewDeadlineMs;
}
