import { expect } from 'chai';
import { failureFromWorker, REASON } from '../../../../../runtime/controller/mysql/backup/backup-reasons.js';
import { EXIT } from '../../../../../runtime/contracts/worker-result.js';

describe("Backup reasons from the worker's result line", () => {
  const cases: Array<[string, string, string]> = [
    ['config', 'SILO_S3_BUCKET is not set; set it to the bucket name', REASON.InvalidWorkerConfiguration],
    ['auth', 'The Access Key Id you provided does not exist', REASON.ObjectStoreAuthFailed],
    ['network', 'connect ECONNREFUSED 127.0.0.1:19000', REASON.ObjectStoreUnreachable],
    ['notFound', 'bucket nope does not exist', REASON.ObjectStoreBucketNotFound],
    ['storageFull', 'quota exceeded', REASON.ObjectStoreFull],
    ['checksumMismatch', 'sha256 differs', REASON.ChecksumMismatch],
    ['deadline', 'the deadline of 45 s passed before the stream finished', REASON.DeadlineExceeded],
    ['decryption', 'bad recipient', REASON.EncryptionFailed],
    ['tls', 'mTLS handshake with the instance manager at https://127.1.0.3:8443 failed (ECONNRESET)', REASON.InstanceManagerTLSFailure],
    ['unreachable', 'cannot reach the instance manager at https://127.1.0.3:8443 (ECONNREFUSED)', REASON.InstanceManagerUnreachable],
    ['sourceFailed', 'mariabackup exited with status 1 on the instance; nothing was stored', REASON.XtraBackupFailed],
    [
      'interrupted',
      'the backup stream from https://127.1.0.3:8443 was cut (ECONNRESET); nothing was stored',
      REASON.SourceStreamInterrupted,
    ],
    ['interrupted', 'the backup stream ended without an exit status; it was cut, nothing was stored', REASON.SourceStreamInterrupted],
    ['busy', 'the instance manager is busy: a backup of db-1 is already running since x', REASON.InstanceManagerBusy],
    ['other', 'something odd', REASON.WorkerFailed],
    ['restoreFailed', 'n/a for backups', REASON.WorkerFailed],
  ];
  for (const [exit, error, reason] of cases) {
    it(`${exit}: "${error.slice(0, 40)}…" → ${reason}`, () => {
      const failure = failureFromWorker({ reason: exit, error });
      expect(failure.reason).to.equal(reason);
      expect(failure.message).to.contain(error);
      expect(failure.message.split('\n')).to.have.length(1);
    });
  }

  it('every worker exit reason is mapped (none falls through by accident)', () => {
    // Restore-only classes never come from a backup worker: they fall through to WorkerFailed on purpose.
    const restoreOnly = ['restoreFailed', 'prepareFailed', 'copyBackFailed', 'volumeFull'];
    for (const exit of Object.keys(EXIT).filter((k) => k !== 'ok')) {
      const { reason } = failureFromWorker({ reason: exit, error: 'x' });
      if (exit === 'other' || restoreOnly.includes(exit)) expect(reason).to.equal(REASON.WorkerFailed);
      else expect(reason, exit).to.not.equal(REASON.WorkerFailed);
    }
  });

  it('reason strings are valid condition reasons and distinct', () => {
    const values = Object.values(REASON);
    expect(new Set(values).size).to.equal(values.length);
    for (const value of values) expect(value).to.match(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/);
  });
});
