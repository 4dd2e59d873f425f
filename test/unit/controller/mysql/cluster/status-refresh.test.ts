import { expect } from 'chai';
import { progressDueInMs, statusUnchangedRecently } from '../../../../../runtime/controller/mysql/cluster/status-refresh.js';

const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 12, 0, s)).toISOString();
const row = (name: string, observedAt: string) => ({ name, role: 'replica' as const, ready: true, serving: true, observedAt });
const current = {
  phase: 'Healthy',
  phaseReason: '2 instances ready, replicating',
  observedGeneration: 3,
  instances: 2,
  readyInstances: 2,
  instanceNames: ['db-1', 'db-2'],
  instancesStatus: [row('db-1', at(0)), row('db-2', at(0))],
};
const now = new Date(at(5));

describe('when a Cluster pass leaves the status as it is', () => {
  it('the same status with only newer observation times, observed less than the interval ago: no write', () => {
    const next = { ...current, instancesStatus: [row('db-1', at(5)), row('db-2', at(5))] };
    expect(statusUnchangedRecently(current, next, now, 9_000)).to.equal(true);
  });

  it('compares content, not the order of keys (the API server returns them in its own order)', () => {
    const reordered = current.instancesStatus.map(({ observedAt, serving, ready, role, name }) => ({
      serving,
      observedAt,
      ready,
      name,
      role,
    }));
    const next = { ...current, instancesStatus: [row('db-1', at(5)), row('db-2', at(5))] };
    expect(statusUnchangedRecently({ ...current, instancesStatus: reordered }, next, now, 9_000)).to.equal(true);
  });

  it('writes when the observation is as old as the interval, or anything else changed', () => {
    const next = { ...current, instancesStatus: [row('db-1', at(9)), row('db-2', at(9))] };
    expect(statusUnchangedRecently(current, next, new Date(at(9)), 9_000), 'old').to.equal(false);
    expect(statusUnchangedRecently(current, { ...next, readyInstances: 1 }, now, 9_000), 'a count').to.equal(false);
    expect(statusUnchangedRecently(current, { ...next, phaseReason: 'x' }, now, 9_000), 'the sentence').to.equal(false);
    expect(statusUnchangedRecently(current, { ...next, observedGeneration: 4 }, now, 9_000), 'a new generation').to.equal(false);
    const lagging = { ...next, instancesStatus: [row('db-1', at(5)), { ...row('db-2', at(5)), replicationLagSeconds: 3 }] };
    expect(statusUnchangedRecently(current, lagging, now, 9_000), 'a row').to.equal(false);
    expect(statusUnchangedRecently({ phase: 'Healthy' }, next, now, 9_000), 'never observed').to.equal(false);
  });

  it('recovery progress is due again an interval after it was written (within a second counts as due)', () => {
    expect(progressDueInMs(undefined, now, 5_000)).to.equal(0);
    expect(progressDueInMs({ progressAt: at(4) }, now, 5_000)).to.equal(4_000);
    expect(progressDueInMs({ progressAt: at(1) }, now, 5_000)).to.equal(0);
    expect(progressDueInMs({ progressAt: at(0) }, now, 5_000)).to.equal(0);
  });
});
