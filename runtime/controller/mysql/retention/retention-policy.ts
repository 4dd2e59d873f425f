/**
 * Cluster.spec.backup.retentionPolicy: a recovery window of days, weeks or
 * calendar months ("30d", "4w", "6m"), and the window's start for a given now.
 */

export interface RetentionPolicy {
  readonly count: number;
  readonly unit: 'd' | 'w' | 'm';
}

export class RetentionPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetentionPolicyError';
  }
}

/** Same pattern as the schema, repeated because the CRD may be older than the controller. */
export function parseRetentionPolicy(value: string): RetentionPolicy {
  const match = /^([1-9][0-9]{0,3})([dwm])$/.exec(value.trim());
  if (!match)
    throw new RetentionPolicyError(
      `spec.backup.retentionPolicy ${JSON.stringify(value)} is not a recovery window; use a number followed by d, w or m, e.g. 30d`,
    );
  return { count: Number(match[1]), unit: match[2] as RetentionPolicy['unit'] };
}

/**
 * The oldest point the window promises to recover to. Days and weeks are
 * exact multiples of 24 h; months are calendar months in UTC, clamped to the
 * month's last day (31 March minus one month is 28/29 February, not 3 March).
 */
export function windowStart(now: Date, policy: RetentionPolicy): Date {
  if (policy.unit === 'd' || policy.unit === 'w') {
    const days = policy.unit === 'd' ? policy.count : policy.count * 7;
    return new Date(now.getTime() - days * 86_400_000);
  }
  const monthIndex = now.getUTCFullYear() * 12 + now.getUTCMonth() - policy.count;
  const year = Math.floor(monthIndex / 12);
  const month = monthIndex - year * 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return new Date(
    Date.UTC(
      year,
      month,
      Math.min(now.getUTCDate(), lastDay),
      now.getUTCHours(),
      now.getUTCMinutes(),
      now.getUTCSeconds(),
      now.getUTCMilliseconds(),
    ),
  );
}

export const describePolicy = (policy: RetentionPolicy): string =>
  `${policy.count} ${{ d: 'day', w: 'week', m: 'month' }[policy.unit]}${policy.count === 1 ? '' : 's'}`;
