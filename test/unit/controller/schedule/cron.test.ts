import { expect } from 'chai';
import {
  dueSlot,
  latestSlotAtOrBefore,
  MAX_REQUEUE_MS,
  nextSlot,
  requeueUntil,
  ScheduleError,
  validateSchedule,
} from '../../../../runtime/controller/schedule/cron.js';

const at = (iso: string) => new Date(iso);

describe('ScheduledBackup schedule slots', () => {
  it('reads six fields with seconds first', () => {
    expect(nextSlot('*/20 * * * * *', at('2026-11-22T05:30:07Z')).toISOString()).to.equal('2026-11-22T05:30:20.000Z');
    expect(nextSlot('0 30 2 * * *', at('2026-11-22T05:30:07Z')).toISOString()).to.equal('2026-11-23T02:30:00.000Z');
  });

  it('counts a slot exactly at "now" as due', () => {
    expect(latestSlotAtOrBefore('*/20 * * * * *', at('2026-11-22T05:30:20Z'))?.toISOString()).to.equal('2026-11-22T05:30:20.000Z');
    expect(dueSlot('*/20 * * * * *', at('2026-11-22T05:30:00Z'), at('2026-11-22T05:30:20Z'))?.toISOString()).to.equal(
      '2026-11-22T05:30:20.000Z',
    );
  });

  it('does not fire a slot already handled', () => {
    expect(dueSlot('*/20 * * * * *', at('2026-11-22T05:30:20Z'), at('2026-11-22T05:30:39.999Z'))).to.equal(undefined);
  });

  it('collapses many missed slots into one catch-up slot, the latest', () => {
    // The operator was down for three hours: 540 slots passed, one backup is due.
    const due = dueSlot('*/20 * * * * *', at('2026-11-22T02:00:00Z'), at('2026-11-22T05:00:05Z'));
    expect(due?.toISOString()).to.equal('2026-11-22T05:00:00.000Z');
    expect(dueSlot('0 0 0 * * *', at('2026-11-01T00:00:00Z'), at('2026-11-22T05:00:05Z'))?.toISOString()).to.equal(
      '2026-11-22T00:00:00.000Z',
    );
  });

  it('rejects five-field expressions instead of reading them as minutes-first', () => {
    expect(() => validateSchedule('0 0 * * *', at('2026-11-22T00:00:00Z'))).to.throw(
      ScheduleError,
      /has 5 fields; use 6 fields with seconds first/,
    );
  });

  it('names bad expressions as InvalidSchedule with the fix', () => {
    try {
      validateSchedule('61 * * * * *', at('2026-11-22T00:00:00Z'));
      expect.fail('no error');
    } catch (error) {
      expect(error).to.be.instanceOf(ScheduleError);
      expect((error as ScheduleError).reason).to.equal('InvalidSchedule');
      expect((error as Error).message).to.match(/spec\.schedule "61 \* \* \* \* \*" is not a valid cron expression .*use 6 fields/);
    }
  });

  it('names schedules without any slot as ScheduleNeverFires', () => {
    try {
      validateSchedule('0 0 0 31 2 *', at('2026-11-22T00:00:00Z'));
      expect.fail('no error');
    } catch (error) {
      expect((error as ScheduleError).reason).to.equal('ScheduleNeverFires');
      expect((error as Error).message).to.match(/never fires/);
    }
  });

  it('accepts macros', () => {
    validateSchedule('@daily', at('2026-11-22T00:00:00Z'));
    expect(nextSlot('@hourly', at('2026-11-22T05:30:07Z')).toISOString()).to.equal('2026-11-22T06:00:00.000Z');
  });

  it('requeues just after the next slot, capped below the timer overflow', () => {
    expect(requeueUntil(at('2026-11-22T05:30:20Z'), at('2026-11-22T05:30:07Z'))).to.equal(13_100);
    expect(requeueUntil(at('2027-11-22T05:30:20Z'), at('2026-11-22T05:30:07Z'))).to.equal(MAX_REQUEUE_MS);
    expect(MAX_REQUEUE_MS).to.be.below(2 ** 31 - 1);
  });
});
