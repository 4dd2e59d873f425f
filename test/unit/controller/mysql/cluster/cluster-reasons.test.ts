import { expect } from 'chai';
import {
  CLUSTER_REASON_TABLE,
  CLUSTER_REASONS,
  failure,
  failureFromRestoreWorker,
  isFailure,
} from '../../../../../runtime/controller/mysql/cluster/cluster-reasons.js';
import { EXIT } from '../../../../../runtime/contracts/worker-result.js';

describe('Cluster reasons', () => {
  it('covers every recovery surface and cluster state issue 13 names', () => {
    const named = [
      'RecoverySourceNotFound',
      'RecoverySourceHasNoObjectStore',
      'NoCompleteBackups',
      'BackupIDNotFound',
      'BackupNotFound',
      'BackupNotCompleted',
      'BackupFailed',
      'BackupExpired',
      'BackupChainIncomplete',
      'StoredDataDamaged',
      'DecryptionFailed',
      'PrepareFailed',
      'CopyBackFailed',
      'DestinationNotEmpty',
      'DestinationIsRecoverySource',
      'ObjectStoreUnreachable',
      'ObjectStoreAccessDenied',
      'RecoveryTargetUnsupported',
      'RecoveryInterrupted',
      'Initializing',
      'Recovering',
      'Cloning',
      'Healthy',
      'Degraded',
      'ReplicationStopped',
      'ErrantTransactions',
      'PkiInvalid',
      'ScalingDown',
    ];
    expect(Object.keys(CLUSTER_REASONS)).to.include.members(named);
  });

  it('are valid condition reasons, each with one sentence, and a fix for every problem', () => {
    const progress = new Set([
      'Initializing',
      'Recovering',
      'Cloning',
      'Healthy',
      'ScalingDown',
      'RecoveryResolved',
      'RecoveryRestored',
      'RecoveryCompleted',
      'ReplicaCloning',
      'InstanceDeleted',
      'InstanceVolumeDeleted',
    ]);
    for (const [reason, entry] of Object.entries(CLUSTER_REASON_TABLE)) {
      expect(reason).to.match(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/);
      expect(CLUSTER_REASONS[reason as keyof typeof CLUSTER_REASONS]).to.equal(reason);
      expect(entry.sentence, reason).to.match(/^[a-zA-Z"'`].*[^.]$/);
      const fix = (entry as { fix?: string }).fix;
      if (progress.has(reason)) expect(fix, reason).to.equal(undefined);
      else expect(fix, reason).to.be.a('string').and.not.equal('');
    }
  });

  it("failure() says what happened, then the table's fix or a more precise one, on one line", () => {
    const f = failure('BackupFailed', 'Backup nightly failed (XtraBackupFailed:\n exit 1)');
    expect(f).to.deep.equal({
      reason: 'BackupFailed',
      message: 'Backup nightly failed (XtraBackupFailed: exit 1); name a completed Backup',
    });
    expect(failure('BackupFailed', 'x', 'do y').message).to.equal('x; do y');
    expect(failure('Healthy', 'all 3 instances ready').message).to.equal('all 3 instances ready');
    expect(isFailure(f)).to.equal(true);
    expect(isFailure({ chain: [] })).to.equal(false);
  });

  it("maps the restore worker's failure classes", () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['checksumMismatch', 'SHA256 of production/db/n/x/backup.xbstream is ab…, metadata.json says cd…', 'StoredDataDamaged'],
      ['decryption', 'no age identity matches this file: it was encrypted to other recipients', 'DecryptionFailed'],
      ['restoreFailed', 'mariabackup --prepare of 20260101T000000Z failed: InnoDB: corrupt page', 'PrepareFailed'],
      ['restoreFailed', 'mariabackup --copy-back into /var/lib/mysql failed: No space left', 'CopyBackFailed'],
      ['auth', 'AccessDenied', 'ObjectStoreAccessDenied'],
      ['network', 'ECONNRESET', 'ObjectStoreUnreachable'],
      ['notFound', 'NoSuchKey production/db/n/x/backup.xbstream', 'BackupIncomplete'],
      ['interrupted', 'the stream was cut', 'RecoveryInterrupted'],
      ['deadline', 'the deadline of 600 s passed', 'RecoveryInterrupted'],
      ['config', 'SILO_S3_BUCKET is not set', undefined],
      ['other', 'odd', undefined],
    ];
    for (const [klass, error, reason] of cases) {
      const f = failureFromRestoreWorker({ reason: klass, error });
      expect(f?.reason, klass).to.equal(reason);
      if (f) expect(f.message).to.contain(error.split(':')[0]);
    }
    for (const klass of Object.keys(EXIT)) expect(() => failureFromRestoreWorker({ reason: klass, error: 'x' })).to.not.throw();
  });
});
