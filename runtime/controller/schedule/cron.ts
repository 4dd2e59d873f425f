/**
 * Cron slots for every schedule kind, over cron-parser. Two dialects share
 * the slot arithmetic:
 *
 * - five fields (minute first) in an IANA time zone: backup-operator.io
 *   BackupSchedule (`planSlots`, errors as InvalidScheduleError);
 * - six fields (seconds first) or a macro, in UTC: mysql ScheduledBackup
 *   (`validateSchedule`, `dueSlot`, `nextSlot`, errors as ScheduleError with
 *   the condition reason).
 *
 * Either way the controller acts on the latest slot that passed since the last
 * one it handled: missed slots produce one catch-up, never a burst.
 */
import { CronExpressionParser } from 'cron-parser';
import { SCHEDULE_REASONS as R, type ScheduleReason } from './schedule-reasons.js';

const parse = (expression: string, currentDate: Date, tz: string) => CronExpressionParser.parse(expression, { currentDate, tz });

/** The first slot strictly after `after`. Throws cron-parser's error. */
const firstAfter = (expression: string, after: Date, tz: string): Date => parse(expression, after, tz).next().toDate();

/** The latest slot at or before `at`. Throws cron-parser's error. */
// prev() is strictly before currentDate; one millisecond later makes `at` itself count.
const latestAtOrBefore = (expression: string, at: Date, tz: string): Date =>
  parse(expression, new Date(at.getTime() + 1), tz)
    .prev()
    .toDate();

// Five fields in a time zone (BackupSchedule).

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
  try {
    if (expression.trim().split(/\s+/).length > 5) throw new Error('6 fields');
    parse(expression, now, tz);
  } catch (error) {
    throw new InvalidScheduleError(
      `spec.schedule "${expression}" is not a 5-field cron expression (${(error as Error).message}); use minute hour day-of-month month day-of-week, e.g. "0 0 * * *".`,
    );
  }
  const next = firstAfter(expression, now, tz);
  const latest = latestAtOrBefore(expression, now, tz);
  return { ...(latest.getTime() > after.getTime() ? { due: latest } : {}), next };
}

// Six fields, seconds first, in UTC (ScheduledBackup).

/** A schedule the reconciler cannot use, with the condition reason it maps to. */
export class ScheduleError extends Error {
  constructor(
    readonly reason: ScheduleReason,
    message: string,
  ) {
    super(message);
    this.name = 'ScheduleError';
  }
}

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/**
 * Checks that the expression has six fields (seconds first) or is a macro, and
 * that it fires at least once. The CRD's CEL rule checks the shape too; this
 * repeats it because a five-field expression would silently mean "minutes first"
 * to cron-parser, and the CRD may be older than the controller.
 */
export function validateSchedule(expression: string, now: Date): void {
  const trimmed = expression.trim();
  const fields = trimmed.split(/\s+/);
  if (!MACROS.has(trimmed) && fields.length !== 6) {
    throw new ScheduleError(
      R.InvalidSchedule,
      `spec.schedule ${JSON.stringify(expression)} has ${fields.length} fields; use 6 fields with seconds first (second minute hour day-of-month month day-of-week), e.g. "0 0 0 * * *", or a macro such as @daily`,
    );
  }
  try {
    parse(trimmed, now, 'UTC');
  } catch (error) {
    const detail = (error as Error).message;
    // cron-parser rejects impossible dates (31 February) at parse time.
    const never = /day of month|out of the time span/i.test(detail);
    throw new ScheduleError(
      never ? R.ScheduleNeverFires : R.InvalidSchedule,
      never
        ? `spec.schedule ${JSON.stringify(expression)} never fires (${detail}); pick a day that exists in the chosen months`
        : `spec.schedule ${JSON.stringify(expression)} is not a valid cron expression (${detail}); use 6 fields with seconds first, e.g. "0 0 0 * * *"`,
    );
  }
  nextSlot(trimmed, now);
}

/** The first slot strictly after `after`. */
export function nextSlot(expression: string, after: Date): Date {
  try {
    return firstAfter(expression.trim(), after, 'UTC');
  } catch (error) {
    throw new ScheduleError(
      R.ScheduleNeverFires,
      `spec.schedule ${JSON.stringify(expression)} has no slot after ${after.toISOString()} (${(error as Error).message}); pick a schedule that fires`,
    );
  }
}

/** The latest slot at or before `at`, or undefined when there is none. */
export function latestSlotAtOrBefore(expression: string, at: Date): Date | undefined {
  try {
    return latestAtOrBefore(expression.trim(), at, 'UTC');
  } catch {
    return undefined;
  }
}

/**
 * The slot to fire now, given the last slot already handled (or the creation
 * time when none was). However many slots were missed while the operator was
 * down, this is at most one: the latest of them — one catch-up backup.
 */
export function dueSlot(expression: string, handledUpTo: Date, now: Date): Date | undefined {
  const latest = latestSlotAtOrBefore(expression, now);
  return latest && latest.getTime() > handledUpTo.getTime() ? latest : undefined;
}

/** Longest requeue; Node's timers overflow past 2^31-1 ms (about 24.8 days) and fire at once. */
export const MAX_REQUEUE_MS = 6 * 60 * 60 * 1000;

/**
 * Milliseconds from now until just after the slot (100 ms late, so the wake-up
 * never lands a hair before it), capped at MAX_REQUEUE_MS; the cap only means
 * an extra, harmless reconcile.
 */
export function requeueUntil(slot: Date, now: Date): number {
  return Math.min(MAX_REQUEUE_MS, Math.max(100, slot.getTime() - now.getTime() + 100));
}
