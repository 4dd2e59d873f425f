import { expect } from 'chai';
import type { Job, Pod } from '../../../../../runtime/controller/kube/client.js';
import { jobOutcome, STUCK_GRACE_MS } from '../../../../../runtime/controller/mysql/backup/backup-outcome.js';

const expected = { backupId: '20261122T050000Z', dataKey: 'prod/db/b/20261122T050000Z/backup.xbstream' };
const created = new Date('2026-11-22T05:00:00Z');
const metadata = {
  formatVersion: 1,
  kind: 'physical',
  backupId: expected.backupId,
  type: 'full',
  method: 'xtrabackup',
  objectKey: expected.dataKey,
  codec: { compression: 'zstd', encryption: 'none', recipientFingerprints: [] },
  sizes: { storedBytes: 1000, sourceBytes: 5000 },
  sha256: 'a'.repeat(64),
  startedAt: '2026-11-22T05:00:01Z',
  stoppedAt: '2026-11-22T05:00:03Z',
};

const job = (condition?: { type: string; reason?: string; message?: string }): Job => ({
  metadata: { name: 'b-20261122t050000z', creationTimestamp: created.toISOString() },
  spec: { activeDeadlineSeconds: 600, template: {} },
  status: condition ? { conditions: [{ status: 'True', ...condition }] } : {},
});
const pod = (state: NonNullable<Pod['status']>['containerStatuses']): Pod[] => [
  { metadata: { name: 'p', creationTimestamp: created.toISOString() }, status: { containerStatuses: state } },
];
const terminated = (message: string | undefined, exitCode = 0) =>
  pod([{ name: 'backup', image: 'x', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, message } } }]);

describe('Backup Job outcome', () => {
  it("Complete with the worker's metadata line → completed", () => {
    const outcome = jobOutcome(
      job({ type: 'Complete' }),
      terminated(JSON.stringify({ outcome: 'completed', metadata })),
      expected,
      created,
    );
    expect(outcome).to.deep.equal({ state: 'completed', metadata });
  });

  it('the worker exited 0 with its metadata line → completed before the Job controller marks the Job Complete', () => {
    const line = JSON.stringify({ outcome: 'completed', metadata });
    expect(jobOutcome(job(), terminated(line), expected, created)).to.deep.equal({ state: 'completed', metadata });
    // The same checks as for a Complete Job: metadata for another backup is refused, not taken.
    const other = JSON.stringify({ outcome: 'completed', metadata: { ...metadata, backupId: 'other' } });
    expect(jobOutcome(job(), terminated(other), expected, created)).to.have.nested.property('failure.reason', 'MetadataInvalid');
  });

  it("until then the Job's condition decides: exit 0 without a result line, or a failure line, is still running", () => {
    expect(jobOutcome(job(), terminated(undefined), expected, created)).to.deep.equal({ state: 'running' });
    const failed = JSON.stringify({ outcome: 'failed', reason: 'auth', error: 'denied' });
    expect(jobOutcome(job(), terminated(failed, 3), expected, created)).to.deep.equal({ state: 'running' });
  });

  it('the JSON line is found at the end of a FallbackToLogsOnError log tail', () => {
    const tail = `{"level":"info","msg":"progress"}\n${JSON.stringify({ outcome: 'failed', reason: 'auth', error: 'The Access Key Id you provided does not exist' })}\n`;
    const outcome = jobOutcome(job({ type: 'Failed', reason: 'BackoffLimitExceeded' }), terminated(tail, 3), expected, created);
    expect(outcome).to.have.nested.property('failure.reason', 'ObjectStoreAuthFailed');
  });

  it('Complete without a result line, or with metadata for another backup, is MetadataInvalid (never completed)', () => {
    expect(jobOutcome(job({ type: 'Complete' }), terminated(undefined), expected, created)).to.have.nested.property(
      'failure.reason',
      'MetadataInvalid',
    );
    const other = JSON.stringify({ outcome: 'completed', metadata: { ...metadata, backupId: 'other' } });
    expect(jobOutcome(job({ type: 'Complete' }), terminated(other), expected, created)).to.have.nested.property(
      'failure.reason',
      'MetadataInvalid',
    );
    const noSum = JSON.stringify({ outcome: 'completed', metadata: { ...metadata, sha256: 'etag-like' } });
    expect(jobOutcome(job({ type: 'Complete' }), terminated(noSum), expected, created)).to.have.nested.property(
      'failure.reason',
      'MetadataInvalid',
    );
  });

  it('worker exit 6 (checksum mismatch) → ChecksumMismatch', () => {
    const line = JSON.stringify({ outcome: 'failed', reason: 'checksumMismatch', error: 'stored bytes hash to x, metadata says y' });
    expect(jobOutcome(job({ type: 'Failed' }), terminated(line, 6), expected, created)).to.have.nested.property(
      'failure.reason',
      'ChecksumMismatch',
    );
  });

  it('Job DeadlineExceeded with the Pod gone → DeadlineExceeded naming the field', () => {
    const outcome = jobOutcome(
      job({ type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' }),
      [],
      expected,
      created,
    );
    expect(outcome).to.have.nested.property('failure.reason', 'DeadlineExceeded');
    expect(outcome)
      .to.have.nested.property('failure.message')
      .that.matches(/activeDeadlineSeconds \(600 s\).*spec\.deadlineSeconds/);
  });

  it("a failed Job without a result line → JobFailed with the container's exit", () => {
    const outcome = jobOutcome(
      job({ type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }),
      pod([
        {
          name: 'backup',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
        },
      ]),
      expected,
      created,
    );
    expect(outcome).to.have.nested.property('failure.reason', 'JobFailed');
    expect(outcome).to.have.nested.property('failure.message').that.contains('OOMKilled with exit code 137');
  });

  it('a Pod stuck on a missing Secret waits out the grace period, then → JobCannotStart', () => {
    const stuck = pod([
      {
        name: 'backup',
        image: 'x',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "minio" not found' } },
      },
    ]);
    const early = jobOutcome(job(), stuck, expected, new Date(created.getTime() + 5_000));
    expect(early.state).to.equal('running');
    const late = jobOutcome(job(), stuck, expected, new Date(created.getTime() + STUCK_GRACE_MS));
    expect(late).to.have.nested.property('failure.reason', 'JobCannotStart');
    expect(late).to.have.nested.property('failure.message').that.contains('secret "minio" not found');
  });

  it("the grace period is the operator's setting when given", () => {
    const stuck = pod([
      {
        name: 'backup',
        image: 'x',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'ErrImagePull', message: 'no such image' } },
      },
    ]);
    expect(jobOutcome(job(), stuck, expected, new Date(created.getTime() + 10_000), 15_000).state).to.equal('running');
    expect(jobOutcome(job(), stuck, expected, new Date(created.getTime() + 15_000), 15_000)).to.have.nested.property(
      'failure.reason',
      'JobCannotStart',
    );
  });

  it('a running Pod is running', () => {
    expect(
      jobOutcome(
        job(),
        pod([{ name: 'backup', image: 'x', imageID: '', ready: true, restartCount: 0, state: { running: {} } }]),
        expected,
        created,
      ),
    ).to.deep.equal({ state: 'running' });
  });
});
