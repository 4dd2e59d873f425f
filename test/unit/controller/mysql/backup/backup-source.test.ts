import { expect } from 'chai';
import { instanceSelector, isFailure, selectSource } from '../../../../../runtime/controller/mysql/backup/backup-source.js';
import { pod } from './fixtures.js';

describe('Backup source selection', () => {
  it('prefer-standby takes the healthy replica with the least lag', () => {
    const chosen = selectSource(
      [pod('db-1', 'primary'), pod('db-2', 'replica', { lag: '12' }), pod('db-3', 'replica', { lag: '0.5' })],
      'prefer-standby',
      'db',
    );
    expect(chosen).to.include({ podName: 'db-3', role: 'replica', lagSeconds: 0.5 });
  });

  it('a replica with unknown lag ranks after replicas with a known lag, but before the primary', () => {
    expect(
      selectSource([pod('db-1', 'primary'), pod('db-2', 'replica'), pod('db-3', 'replica', { lag: '300' })], 'prefer-standby', 'db'),
    ).to.include({ podName: 'db-3' });
    expect(selectSource([pod('db-1', 'primary'), pod('db-2', 'replica')], 'prefer-standby', 'db')).to.include({ podName: 'db-2' });
  });

  it('skips replicas that are not Ready, not Running, being deleted, or report broken replication', () => {
    const chosen = selectSource(
      [
        pod('db-1', 'primary'),
        pod('db-2', 'replica', { ready: false, lag: '0' }),
        pod('db-3', 'replica', { phase: 'Pending', lag: '0' }),
        pod('db-4', 'replica', { deleting: true, lag: '0' }),
        pod('db-5', 'replica', { lag: 'stopped' }),
      ],
      'prefer-standby',
      'db',
    );
    expect(chosen).to.include({ podName: 'db-1', role: 'primary' });
  });

  it('primary ignores healthy replicas', () => {
    expect(selectSource([pod('db-1', 'primary'), pod('db-2', 'replica', { lag: '0' })], 'primary', 'db')).to.include({ podName: 'db-1' });
  });

  it('primary without a healthy primary is NoHealthySource, naming every instance and why', () => {
    const failure = selectSource([pod('db-1', 'primary', { ready: false }), pod('db-2', 'replica', { lag: '0' })], 'primary', 'db');
    expect(isFailure(failure)).to.equal(true);
    expect(failure).to.have.property('reason', 'NoHealthySource');
    expect((failure as { message: string }).message).to.match(
      /target: primary needs a Running, Ready primary.*db-1 \(primary\) is not Ready; db-2 \(replica\) is healthy/,
    );
  });

  it('no Pods at all is NoHealthySource naming the selector', () => {
    const failure = selectSource([], 'prefer-standby', 'db') as { reason: string; message: string };
    expect(failure.reason).to.equal('NoHealthySource');
    expect(failure.message).to.contain(instanceSelector('db'));
  });

  it('the instance manager URL is the pod IP and the named port, 8443 by default', () => {
    expect(selectSource([pod('db-1', 'primary', { ip: '127.1.2.3' })], 'primary', 'db')).to.include({
      instanceManagerUrl: 'https://127.1.2.3:8443',
    });
    expect(selectSource([pod('db-1', 'primary', { ip: '127.1.2.3', port: 9443 })], 'primary', 'db')).to.include({
      instanceManagerUrl: 'https://127.1.2.3:9443',
    });
  });

  it("with two primaries labelled, the Cluster's currentPrimary wins", () => {
    expect(selectSource([pod('db-1', 'primary'), pod('db-2', 'primary')], 'primary', 'db', 'db-2')).to.include({ podName: 'db-2' });
  });
});
