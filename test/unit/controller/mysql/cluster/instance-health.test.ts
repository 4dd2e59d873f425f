import { expect } from 'chai';
import { assessInstance, errantGtids, parseGtidList } from '../../../../../runtime/controller/mysql/cluster/instance-health.js';

const primary = { serverId: 1, gtidBinlogPos: '0-1-500', gtidCurrentPos: '0-1-500', replication: null };
const running = { ioRunning: true, sqlRunning: true, secondsBehindMaster: 0, masterHost: '127.1.0.1' };

describe('cluster instance health', () => {
  it('parses MariaDB GTID lists', () => {
    expect(parseGtidList('0-1-100, 1-2-5')).to.deep.equal([
      { domain: 0, serverId: 1, seq: 100 },
      { domain: 1, serverId: 2, seq: 5 },
    ]);
    expect(parseGtidList('')).to.deep.equal([]);
  });

  it('a replicating replica serves, with its lag and position', () => {
    const h = assessInstance(
      {
        name: 'db-2',
        role: 'replica',
        podReady: true,
        status: { serverId: 2, gtidCurrentPos: '0-1-500', replication: { ...running, secondsBehindMaster: 3 } },
      },
      primary,
    );
    expect(h).to.include({ serving: true, replicationLagSeconds: 3, gtidPosition: '0-1-500', serverId: 2 });
    expect(h.reason).to.equal(undefined);
  });

  it('a stopped SQL thread, with or without an error, takes the replica out of service', () => {
    const withError = assessInstance(
      {
        name: 'db-2',
        role: 'replica',
        podReady: true,
        status: { serverId: 2, replication: { ...running, sqlRunning: false, lastError: "Duplicate entry '1'" } },
      },
      primary,
    );
    expect(withError).to.include({ serving: false, reason: 'ReplicationStopped' });
    expect(withError.message).to.match(/SQL thread is stopped: Duplicate entry/);
    const without = assessInstance(
      { name: 'db-2', role: 'replica', podReady: true, status: { serverId: 2, replication: { ...running, sqlRunning: false } } },
      primary,
    );
    expect(without.message).to.match(/stopped without an error/);
  });

  it('GTIDs the primary never wrote are errant', () => {
    expect(errantGtids({ serverId: 2, gtidBinlogPos: '0-2-501', gtidCurrentPos: '0-2-501' }, primary)).to.equal('0-2-501');
    expect(errantGtids({ serverId: 2, gtidBinlogPos: '0-1-500', gtidCurrentPos: '0-1-500' }, primary)).to.equal(undefined);
    const h = assessInstance(
      { name: 'db-3', role: 'replica', podReady: true, status: { serverId: 3, gtidBinlogPos: '0-3-7', replication: running } },
      primary,
    );
    expect(h).to.include({ serving: false, reason: 'ErrantTransactions' });
  });

  it('a Pod that is not Ready, or an instance manager that does not answer, does not serve', () => {
    expect(assessInstance({ name: 'db-2', role: 'replica', podReady: false }, primary)).to.include({
      serving: false,
      reason: 'InstanceNotReady',
    });
    expect(assessInstance({ name: 'db-1', role: 'primary', podReady: true, statusError: 'ECONNREFUSED' }, undefined)).to.include({
      serving: false,
      reason: 'StatusUnavailable',
    });
  });
});
