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
import { classifyFailure, DeadlineExceededError } from '../../../runtime/workers/exit-codes.js';

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
    expect(classifyFailure(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).to.equal('network');
    expect(classifyFailure(new Error('x'))).to.equal('other');
  });
});
