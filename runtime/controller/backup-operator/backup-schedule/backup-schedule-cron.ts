/**
 * 5-field cron slots in a time zone (cron-parser). The controller acts on the
 * latest slot that passed since the last one it handled: missed slots produce
 * one catch-up run, never a burst.
 */
import { CronExpressionParser } from 'cron-parser';

export interface SlotPlan {
  /** The latest slot in (after, now], if any. */
  readonly due?: Date;
  /** The first slot after now. */
  readonly next: Date;
}

export class InvalidScheduleError extends Error {}

/** Throws InvalidScheduleError with one sentence naming the field when the expression or zone is unusable. */
export function planSlots(expression: string, timeZone: string | undefined, after: Date, now: Date): SlotPlan {
  const tz = timeZone || 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new InvalidScheduleError(`spec.timeZone "${tz}" is not a known IANA time zone; use a name such as Europe/Paris or UTC.`);
  }
  let parse: (currentDate: Date) => ReturnType<typeof CronExpressionParser.parse>;
  try {
    if (expression.trim().split(/\s+/).length > 5) throw new Error('6 fields');
    parse = (currentDate) => CronExpressionParser.parse(expression, { currentDate, tz });
    parse(now);
  } catch (error) {
    throw new InvalidScheduleError(`spec.schedule "${expression}" is not a 5-field cron expression (${(error as Error).message}); use minute hour day-of-month month day-of-week, e.g. "0 0 * * *".`);
  }
  const next = parse(now).next().toDate();
  // prev() is strictly before currentDate; +1 ms makes a slot at exactly `now` count as passed.
  const latest = parse(new Date(now.getTime() + 1)).prev().toDate();
  return { ...(latest.getTime() > after.getTime() ? { due: latest } : {}), next };
}
