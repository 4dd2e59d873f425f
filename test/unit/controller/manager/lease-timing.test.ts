/** Leader-election decisions as pure functions of a Lease record and the local clock. */
import { expect } from 'chai';
import {
  DEFAULT_TIMING,
  LeaseObservation,
  canAcquire,
  microTime,
  nextRecord,
  releasedRecord,
  renewExpired,
  validateTiming,
  type LeaseRecord,
} from '../../../../runtime/controller/manager/lease-timing.js';

const T = DEFAULT_TIMING;
const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);

describe('leader election timing', () => {
  it('defaults to lease 15 s, renew deadline 10 s, retry 2 s, and rejects durations that do not nest', () => {
    expect(T).to.deep.equal({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
    expect(() => validateTiming(T)).not.to.throw();
    expect(() => validateTiming({ ...T, renewDeadlineMs: 20_000 })).to.throw(/lease duration \(15000 ms\) must exceed the renew deadline/);
    expect(() => validateTiming({ ...T, retryPeriodMs: 9_000 })).to.throw(/renew deadline .* 1.2 × retry period/);
  });

  it('writes MicroTime with six fractional digits', () => {
    expect(microTime(new Date('2026-11-22T05:21:22.123Z'))).to.equal('2026-11-22T05:21:22.123000Z');
  });

  it('acquires a Lease nobody holds, or its own, at once', () => {
    expect(canAcquire(undefined, 'a', 0, 0, T)).to.equal(true);
    expect(canAcquire({ holderIdentity: '' }, 'a', 0, 0, T)).to.equal(true);
    expect(canAcquire({ holderIdentity: 'a', leaseDurationSeconds: 15 }, 'a', 0, 1, T)).to.equal(true);
  });

  it("takes another holder's Lease only a full lease duration after it last saw the record change, by its own clock", () => {
    const record: LeaseRecord = { holderIdentity: 'b', leaseDurationSeconds: 15, renewTime: microTime(at(0)) };
    const observedAt = 1_000_000; // local clock, unrelated to the record's timestamps
    expect(canAcquire(record, 'a', observedAt, observedAt + 14_999, T)).to.equal(false);
    expect(canAcquire(record, 'a', observedAt, observedAt + 15_000, T)).to.equal(true);
    expect(canAcquire({ ...record, leaseDurationSeconds: 1 }, 'a', observedAt, observedAt + 1_000, T)).to.equal(true);
  });

  it('counts a transition when the holder changes, keeps acquireTime while renewing', () => {
    const first = nextRecord(undefined, 'a', 0, at(0), T)!;
    expect(first).to.deep.equal({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: microTime(at(0)),
      renewTime: microTime(at(0)),
      leaseTransitions: 0,
    });
    const renewed = nextRecord(first, 'a', 0, at(2000), T)!;
    expect(renewed).to.include({ acquireTime: microTime(at(0)), renewTime: microTime(at(2000)), leaseTransitions: 0 });
    expect(nextRecord(renewed, 'b', at(5_000).getTime(), at(10_000), T)).to.equal(undefined);
    const taken = nextRecord(renewed, 'b', at(5_000).getTime(), at(20_000), T)!;
    expect(taken).to.include({ holderIdentity: 'b', acquireTime: microTime(at(20_000)), leaseTransitions: 1 });
  });

  it('a released Lease (no holder) is taken by a standby at its next attempt', () => {
    const held = nextRecord(undefined, 'a', 0, at(0), T)!;
    const released = releasedRecord(held, at(5000));
    expect(released).to.include({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(nextRecord(released, 'b', at(5000).getTime(), at(5001), T)).to.include({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('notes the local time of each change of the record, not of each read', () => {
    const o = new LeaseObservation();
    const r = { holderIdentity: 'a', renewTime: microTime(at(0)), leaseDurationSeconds: 15 };
    o.observe(r, 100);
    o.observe({ ...r }, 500);
    expect(o.observedAt).to.equal(100);
    o.observe({ ...r, renewTime: microTime(at(2000)) }, 2100);
    expect(o.observedAt).to.equal(2100);
  });

  it('a leader that cannot renew for the renew deadline stops leading', () => {
    expect(renewExpired(0, 9_999, T)).to.equal(false);
    expect(renewExpired(0, 10_000, T)).to.equal(true);
  });

  it('a standby polling every 2 s takes over 15 to 19.8 s after the leader last renewed (lease + one jittered poll to see the last renewal + one to act)', () => {
    // Leader renews at 0, 2, …, 20 s and dies after the renewal at 20 s. The standby
    // polls at an offset with up to 20 % jitter; it sees each renewal at its next poll.
    for (const offset of [1, 500, 1999]) {
      let record: LeaseRecord = nextRecord(undefined, 'leader', 0, at(0), T)!;
      const standby = new LeaseObservation();
      let took: number | undefined;
      let pollAt = offset;
      for (let t = 0; t <= 60_000 && took === undefined; t += 1) {
        if (t <= 20_000 && t % T.retryPeriodMs === 0) record = nextRecord(record, 'leader', 0, at(t), T)!;
        if (t === pollAt) {
          standby.observe(record, at(t).getTime());
          if (nextRecord(record, 'standby', standby.observedAt, at(t), T)) took = t;
          pollAt += T.retryPeriodMs * 1.2; // worst-case jitter
        }
      }
      expect(took! - 20_000, `offset ${offset}`).to.be.within(15_000, 15_000 + 2 * T.retryPeriodMs * 1.2);
    }
  });
});
