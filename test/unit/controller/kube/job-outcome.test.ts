import { expect } from 'chai';
import type { Job, Pod } from '../../../../runtime/controller/kube/client.js';
import { finishedCondition, readJobOutcome } from '../../../../runtime/controller/kube/job-outcome.js';

const pod = (created: string, message: string, name = 'backup'): Pod => ({
  metadata: { creationTimestamp: created },
  status: {
    containerStatuses: [{ name, image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, message } } }],
  },
});

describe('kube/job-outcome: a worker Job read once', () => {
  it('running until a Complete/SuccessCriteriaMet or Failed/FailureTarget condition is True', () => {
    expect(readJobOutcome({ status: {} }, [], 'backup').state).to.equal('running');
    expect(readJobOutcome({ status: { conditions: [{ type: 'Failed', status: 'False' }] } }, [], 'backup').state).to.equal('running');
    expect(readJobOutcome({ status: { conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }] } }, [], 'backup').state).to.equal(
      'complete',
    );
    const failed = readJobOutcome(
      { status: { conditions: [{ type: 'FailureTarget', status: 'True', reason: 'DeadlineExceeded' }] } },
      [],
      'backup',
    );
    expect(failed).to.deep.include({ state: 'failed' });
    expect(failed.condition?.reason).to.equal('DeadlineExceeded');
  });

  it("reads the newest Pod's worker container and parses its result line", () => {
    const job: Job = { status: { conditions: [{ type: 'Failed', status: 'True' }] } };
    const outcome = readJobOutcome(
      job,
      [
        pod('2026-11-22T05:00:00Z', '{"outcome":"failed","reason":"busy","error":"old"}'),
        pod('2026-11-22T06:00:00Z', 'log line\n{"outcome":"failed","reason":"interrupted","error":"new"}'),
      ],
      'backup',
    );
    expect(outcome.result).to.deep.equal({ outcome: 'failed', reason: 'interrupted', error: 'new' });
    expect(outcome.terminated?.exitCode).to.equal(1);
  });

  it('the finishing condition is the first True one that ends the Job, in the order the Job lists them', () => {
    expect(finishedCondition({ status: { conditions: [{ type: 'Suspended', status: 'True' }] } })).to.equal(undefined);
    const job: Job = {
      status: {
        conditions: [
          { type: 'Failed', status: 'False' },
          { type: 'FailureTarget', status: 'True', lastTransitionTime: '2026-11-22T05:00:00Z' },
          { type: 'Failed', status: 'True', lastTransitionTime: '2026-11-22T05:00:05Z' },
        ],
      },
    };
    expect(finishedCondition(job)?.lastTransitionTime).to.equal('2026-11-22T05:00:00Z');
  });
});
