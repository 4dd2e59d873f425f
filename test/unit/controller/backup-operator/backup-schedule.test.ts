import { expect } from 'chai';
import { InvalidScheduleError, planSlots } from '../../../../runtime/controller/schedule/cron.js';
import {
  manualRunName,
  runFor,
  runsBeyondHistory,
  scheduledRunName,
} from '../../../../runtime/controller/backup-operator/backup-schedule/backup-schedule-runs.js';

const run = (name: string, phase: string | undefined, completedAt?: string) =>
  ({ metadata: { name, creationTimestamp: completedAt }, status: phase ? { phase, completedAt } : undefined }) as any;

describe('BackupSchedule slots, names and history', () => {
  it('a slot that passed since the last handled one is due; the next slot is after now', () => {
    const plan = planSlots('0 0 * * *', undefined, new Date('2026-11-21T12:00:00Z'), new Date('2026-11-22T00:00:30Z'));
    expect(plan.due?.toISOString()).to.equal('2026-11-22T00:00:00.000Z');
    expect(plan.next.toISOString()).to.equal('2026-11-23T00:00:00.000Z');
  });

  it('a slot at exactly now is due; nothing is due twice', () => {
    const now = new Date('2026-11-22T00:00:00Z');
    expect(planSlots('0 0 * * *', 'UTC', new Date('2026-11-21T01:00:00Z'), now).due?.toISOString()).to.equal(now.toISOString());
    expect(planSlots('0 0 * * *', 'UTC', now, new Date('2026-11-22T00:00:59Z')).due).to.equal(undefined);
  });

  it('missed slots produce one catch-up: the latest', () => {
    const plan = planSlots('*/5 * * * *', 'UTC', new Date('2026-11-22T00:00:00Z'), new Date('2026-11-22T01:03:00Z'));
    expect(plan.due?.toISOString()).to.equal('2026-11-22T01:00:00.000Z');
  });

  it('timeZone shifts the slots (midnight in Paris is 23:00 UTC in November)', () => {
    const plan = planSlots('0 0 * * *', 'Europe/Paris', new Date('2026-11-22T00:00:00Z'), new Date('2026-11-22T12:00:00Z'));
    expect(plan.next.toISOString()).to.equal('2026-11-22T23:00:00.000Z');
  });

  it('bad expressions and zones fail with a sentence naming the field', () => {
    expect(() => planSlots('0 0 * *', 'UTC', new Date(), new Date())).to.throw(InvalidScheduleError, /spec.schedule "0 0 \* \*"/);
    expect(() => planSlots('*/20 * * * * *', 'UTC', new Date(), new Date())).to.throw(InvalidScheduleError, /5-field/);
    expect(() => planSlots('0 0 * * *', 'Mars/Olympus', new Date(), new Date())).to.throw(
      InvalidScheduleError,
      /spec.timeZone "Mars\/Olympus"/,
    );
  });

  it('run names are deterministic and at most 63 characters', () => {
    const slot = new Date('2026-11-22T00:00:00Z');
    expect(scheduledRunName('mysql-daily', slot)).to.equal(`mysql-daily-${slot.getTime() / 60_000}`);
    const long = 'x'.repeat(120);
    expect(scheduledRunName(long, slot).length).to.be.at.most(63);
    expect(scheduledRunName(long, slot)).to.equal(scheduledRunName(long, slot));
    expect(manualRunName('s', 'uid', 'a')).to.not.equal(manualRunName('s', 'uid', 'b'));
    expect(manualRunName(long, 'uid', 'a').length).to.be.at.most(63);
  });

  it('runs carry the schedule label, owner and template metadata', () => {
    const schedule = {
      metadata: { name: 'mysql-daily', namespace: 'apps', uid: 'u1' },
      spec: { schedule: '0 0 * * *', template: { metadata: { labels: { team: 'db' } }, spec: { storage: { name: 's', path: 'p' } } } },
    } as any;
    const r = runFor(schedule, 'mysql-daily-1', new Date('2026-11-22T00:00:00Z'));
    expect(r.metadata!.labels).to.include({
      team: 'db',
      'backup-operator.io/schedule': 'mysql-daily',
      'app.kubernetes.io/managed-by': 'silo',
    });
    expect(r.metadata!.annotations!['backup-operator.io/scheduled-at']).to.equal('2026-11-22T00:00:00.000Z');
    expect(r.metadata!.ownerReferences![0]).to.include({ kind: 'BackupSchedule', uid: 'u1', controller: true });
  });

  it('history keeps the newest N completed and M failed; running and restoring runs are never trimmed', () => {
    const runs = [
      run('c1', 'Completed', '2026-11-20T00:00:00Z'),
      run('c2', 'Restored', '2026-11-21T00:00:00Z'),
      run('c3', 'Completed', '2026-11-22T00:00:00Z'),
      run('f1', 'Failed', '2026-11-20T00:00:00Z'),
      run('f2', 'Failed', '2026-11-21T00:00:00Z'),
      run('r1', 'Running'),
      run('p1', undefined),
      run('x1', 'Restoring', '2026-11-19T00:00:00Z'),
    ];
    expect(runsBeyondHistory(runs, 2, 1).map((r) => r.metadata!.name)).to.deep.equal(['c1', 'f1']);
    expect(runsBeyondHistory(runs, 0, 0).map((r) => r.metadata!.name)).to.deep.equal(['c3', 'c2', 'c1', 'f2', 'f1']);
  });
});
