import { expect } from 'chai';
import { backupOfPod, workerBackedUp, workerLost } from '../../../../runtime/controller/postgres/backup/pg-backup-reconciler.js';
import { readJobOutcome } from '../../../../runtime/controller/kube/job-outcome.js';
import type { Job, Pod } from '../../../../runtime/controller/kube/client.js';

const job: Job = { metadata: { name: 'b-backup', namespace: 'ns' }, status: {} };
const podThat = (exitCode: number, message: string): Pod => ({
  metadata: {
    name: 'b-backup-x',
    namespace: 'ns',
    annotations: { 'postgres.silo.io/pgbackup': 'nightly' },
    creationTimestamp: '2026-12-05T00:00:00Z',
  },
  status: { containerStatuses: [{ name: 'backup', state: { terminated: { exitCode, message } } }] } as Pod['status'],
});

describe('PGBackup completion on the worker Pod', () => {
  it('a backup Pod maps to the PGBackup its annotation names; a Pod without it to none', () => {
    expect(backupOfPod(podThat(0, '') as never)).to.deep.equal([{ namespace: 'ns', name: 'nightly' }]);
    expect(backupOfPod({ metadata: { name: 'other', namespace: 'ns' } })).to.deep.equal([]);
    // A MySQL backup Pod carries its own annotation, not this one.
    expect(
      backupOfPod({ metadata: { name: 'm', namespace: 'ns', annotations: { 'mysql.cloudnative-mysql.io/backup-name': 'b' } } }),
    ).to.deep.equal([]);
  });

  it('is done before the Job is Complete only when the worker exited 0 and said it backed up', () => {
    const done = readJobOutcome(job, [podThat(0, '{"outcome":"backed-up"}')], 'backup');
    expect(done.state).to.equal('running');
    expect(workerBackedUp(done)).to.equal(true);
    expect(workerBackedUp(readJobOutcome(job, [podThat(1, '{"outcome":"failed","reason":"LockBusy","error":"x"}')], 'backup'))).to.equal(
      false,
    );
    expect(workerBackedUp(readJobOutcome(job, [podThat(0, 'no result line')], 'backup'))).to.equal(false);
  });

  it("a failed Job whose Pod went away without the worker's result is a lost worker; a worker that ended or a deadline is not", () => {
    const failed = (reason: string): Job => ({
      ...job,
      status: { conditions: [{ type: 'Failed', status: 'True', reason }] },
    });
    const deleting = { ...podThat(143, ''), metadata: { ...podThat(143, '').metadata, deletionTimestamp: '2026-12-05T00:01:00Z' } };
    const running: Pod = {
      ...podThat(0, ''),
      status: { containerStatuses: [{ name: 'backup', state: { running: {} } }] } as Pod['status'],
    };
    expect(workerLost(readJobOutcome(failed('BackoffLimitExceeded'), [], 'backup')), 'no Pod left').to.equal(true);
    expect(workerLost(readJobOutcome(failed('BackoffLimitExceeded'), [deleting], 'backup')), 'a Pod being deleted').to.equal(true);
    expect(workerLost(readJobOutcome(failed('BackoffLimitExceeded'), [running], 'backup')), 'no container end').to.equal(true);
    const said = podThat(1, '{"outcome":"failed","reason":"LockBusy","error":"x"}');
    expect(workerLost(readJobOutcome(failed('BackoffLimitExceeded'), [said], 'backup')), 'the worker said why').to.equal(false);
    expect(workerLost(readJobOutcome(failed('BackoffLimitExceeded'), [podThat(137, 'OOMKilled')], 'backup')), 'it ended').to.equal(false);
    expect(workerLost(readJobOutcome(failed('DeadlineExceeded'), [], 'backup')), 'the deadline').to.equal(false);
    expect(workerLost(readJobOutcome(job, [], 'backup')), 'still running').to.equal(false);
  });
});
