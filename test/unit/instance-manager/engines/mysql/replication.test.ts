import { expect } from 'chai';
import { parseReplicaStatus } from '../../../../../runtime/instance-manager/engines/mysql/replication.js';

describe('instance manager replication status (source of the replication-lag annotation)', () => {
  it('a running replica reports its lag and GTID position', () => {
    const text = `*************************** 1. row ***************************
                Slave_IO_State: Waiting for master to send event
                   Master_Host: 127.1.0.1
              Slave_IO_Running: Yes
             Slave_SQL_Running: Yes
                Last_SQL_Error: 
         Seconds_Behind_Master: 3
                   Gtid_IO_Pos: 0-1-42
`;
    expect(parseReplicaStatus(text)).to.deep.equal({ ioRunning: true, sqlRunning: true, secondsBehindMaster: 3, gtidIoPos: '0-1-42' });
  });

  it('a stopped SQL thread has no lag and carries the error', () => {
    const text =
      "Slave_IO_Running: Yes\nSlave_SQL_Running: No\nLast_SQL_Error: Error 'Operation CREATE USER failed'\nSeconds_Behind_Master: NULL\n";
    expect(parseReplicaStatus(text)).to.deep.equal({
      ioRunning: true,
      sqlRunning: false,
      secondsBehindMaster: null,
      lastError: "Error 'Operation CREATE USER failed'",
    });
  });

  it('a primary (no replica row) is null', () => {
    expect(parseReplicaStatus('')).to.equal(null);
  });
});
