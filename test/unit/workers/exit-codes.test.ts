import { expect } from 'chai';
import { ConfigError } from '../../../runtime/contracts/config-error.js';
import {
  InstanceManagerBusyError,
  InstanceManagerConnectionError,
  InstanceManagerUnreachableError,
  SourceInterruptedError,
} from '../../../runtime/datapath/sources/instance-manager-source.js';
import { SourceFailedError } from '../../../runtime/datapath/sources/process-source.js';
import { ObjectStoreError } from '../../../runtime/objectstore/object-store.js';
import { classifyFailure, DeadlineExceededError, RecoveryInterruptedError } from '../../../runtime/workers/exit-codes.js';
import { AgeDataDamagedError, AgeIdentityMismatchError, AgeKeyError } from '../../../runtime/datapath/age/age-keys.js';
import { CopyBackFailedError, PrepareFailedError, VolumeFullError } from '../../../runtime/datapath/physical-restore.js';
import { MetadataMismatchError } from '../../../runtime/datapath/recovery/chain.js';
import { ChecksumMismatchError, StoredDataDamagedError } from '../../../runtime/datapath/restore-pipeline.js';
import { RestoreCommandError } from '../../../runtime/datapath/sinks/process-sink.js';

describe('workers/exit-codes: which class an error is', () => {
  it("tells the instance manager's failures apart by error class, not by sentence", () => {
    expect(classifyFailure(new InstanceManagerBusyError('the instance manager is busy: x'))).to.equal('busy');
    expect(classifyFailure(new SourceInterruptedError('the backup stream was cut'))).to.equal('interrupted');
    expect(classifyFailure(new InstanceManagerUnreachableError('cannot reach the instance manager at x (ECONNREFUSED)'))).to.equal(
      'unreachable',
    );
    expect(classifyFailure(new InstanceManagerConnectionError('mTLS handshake with the instance manager at x failed'))).to.equal('tls');
    expect(classifyFailure(new SourceFailedError('mariabackup exited with status 1 on the instance', 1, null))).to.equal('sourceFailed');
  });

  it('keeps the refined errors instances of what they refine', () => {
    expect(new InstanceManagerBusyError('x')).to.be.instanceOf(SourceFailedError);
    expect(new SourceInterruptedError('x')).to.be.instanceOf(SourceFailedError);
    expect(new InstanceManagerUnreachableError('x')).to.be.instanceOf(InstanceManagerConnectionError);
  });

  it('classifies the rest as before', () => {
    expect(classifyFailure(new ConfigError('x'))).to.equal('config');
    expect(classifyFailure(new DeadlineExceededError(5))).to.equal('deadline');
    expect(classifyFailure(new ObjectStoreError('storage-full', 'x'))).to.equal('storageFull');
    expect(classifyFailure(new ObjectStoreError('auth', 'x'))).to.equal('auth');
    expect(classifyFailure(new ObjectStoreError('network', 'x'))).to.equal('network');
    expect(classifyFailure(new RestoreCommandError('x', 1))).to.equal('restoreFailed');
    expect(classifyFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).to.equal('network');
    expect(classifyFailure(new Error('x'))).to.equal('other');
  });

  it("gives each of the recovery step's failure surfaces its own class", () => {
    // Stored data damaged: the SHA256, an age chunk, or a metadata.json swapped after the Backup completed.
    expect(classifyFailure(new ChecksumMismatchError('k', 'a'.repeat(64), 'b'.repeat(64)))).to.equal('checksumMismatch');
    expect(classifyFailure(new StoredDataDamagedError('k', 'x'))).to.equal('checksumMismatch');
    expect(classifyFailure(new AgeDataDamagedError('age payload failed authentication'))).to.equal('checksumMismatch');
    expect(classifyFailure(new MetadataMismatchError('k', 'a'.repeat(64), 'b'.repeat(64)))).to.equal('checksumMismatch');
    // Decryption: the header does not open with the identity, or there is none.
    expect(classifyFailure(new AgeIdentityMismatchError())).to.equal('decryption');
    expect(classifyFailure(new AgeKeyError('no identity'))).to.equal('decryption');
    expect(classifyFailure(new PrepareFailedError('x'))).to.equal('prepareFailed');
    expect(classifyFailure(new CopyBackFailedError('x'))).to.equal('copyBackFailed');
    expect(classifyFailure(new VolumeFullError('x'))).to.equal('volumeFull');
    expect(classifyFailure(Object.assign(new Error('x'), { code: 'ENOSPC' }))).to.equal('volumeFull');
    expect(classifyFailure(Object.assign(new Error('x'), { code: 'EDQUOT' }))).to.equal('volumeFull');
    expect(classifyFailure(new RecoveryInterruptedError('SIGTERM'))).to.equal('interrupted');
  });
});
