import { expect } from 'chai';
import { parseMysqlStatus, parseReplicaStatus } from '../../../../../runtime/instance-manager/engines/mysql/replication.js';
import { parseReplicationSourceRequest } from '../../../../../runtime/instance-manager/replication-route.js';

describe('instance manager replication status (source of the replication-lag annotation)', () => {
  it('a running replica reports its lag, GTID position and primary', () => {
    const text = `*************************** 1. row ***************************
                Slave_IO_State: Waiting for master to send event
                   Master_Host: 127.1.0.1
              Slave_IO_Running: Yes
             Slave_SQL_Running: Yes
                Last_SQL_Errno: 0
                Last_SQL_Error: 
         Seconds_Behind_Master: 3
                   Gtid_IO_Pos: 0-1-42
`;
    expect(parseReplicaStatus(text)).to.deep.equal({
      ioRunning: true,
      sqlRunning: true,
      secondsBehindMaster: 3,
      gtidIoPos: '0-1-42',
      masterHost: '127.1.0.1',
    });
  });

  it('a stopped SQL thread has no lag and carries the error and its number', () => {
    const text =
      "Slave_IO_Running: Yes\nSlave_SQL_Running: No\nLast_SQL_Errno: 1396\nLast_SQL_Error: Error 'Operation CREATE USER failed'\nSeconds_Behind_Master: NULL\n";
    expect(parseReplicaStatus(text)).to.deep.equal({
      ioRunning: true,
      sqlRunning: false,
      secondsBehindMaster: null,
      lastError: "Error 'Operation CREATE USER failed'",
      lastSqlErrno: 1396,
    });
  });

  it('a primary (no replica row) is null', () => {
    expect(parseReplicaStatus('')).to.equal(null);
  });

  it("/status's mysql fields: server id, read-only, the three GTID positions and the replica threads", () => {
    const replica = `*************************** 1. row ***************************
      silo_server_id: 2
      silo_read_only: 1
silo_gtid_binlog_pos: 
silo_gtid_current_pos: 0-1-7
 silo_gtid_slave_pos: 0-1-7
*************************** 1. row ***************************
                Slave_IO_State: Waiting for master to send event
                   Master_Host: 127.1.0.1
              Slave_IO_Running: Yes
             Slave_SQL_Running: Yes
         Seconds_Behind_Master: 0
                   Gtid_IO_Pos: 0-1-7
`;
    expect(parseMysqlStatus(replica)).to.deep.equal({
      serverId: 2,
      readOnly: true,
      gtidBinlogPos: '',
      gtidCurrentPos: '0-1-7',
      gtidSlavePos: '0-1-7',
      replication: { ioRunning: true, sqlRunning: true, secondsBehindMaster: 0, gtidIoPos: '0-1-7', masterHost: '127.1.0.1' },
    });
    const primary =
      'silo_server_id: 1\nsilo_read_only: 0\nsilo_gtid_binlog_pos: 0-1-7\nsilo_gtid_current_pos: 0-1-7\nsilo_gtid_slave_pos: \n';
    expect(parseMysqlStatus(primary)).to.deep.include({ serverId: 1, readOnly: false, gtidBinlogPos: '0-1-7', replication: null });
  });
});

describe('instance manager POST /cluster/replication body', () => {
  it('takes a host and an optional port', () => {
    expect(parseReplicationSourceRequest('{"host":"127.1.0.4"}')).to.deep.equal({ host: '127.1.0.4' });
    expect(parseReplicationSourceRequest('{"host":"db-1.db.svc","port":3307}')).to.deep.equal({ host: 'db-1.db.svc', port: 3307 });
  });

  it('refuses what is not a host or a port, saying which', () => {
    for (const [body, message] of [
      ['not json', /must be JSON/],
      ['{}', /^host must be/],
      ['{"host":"x\'; DROP TABLE t; --"}', /^host must be/],
      ['{"host":"a","port":0}', /^port must be a TCP port/],
      ['{"host":"a","port":"3306"}', /^port must be a TCP port/],
    ] as const) {
      const parsed = parseReplicationSourceRequest(body);
      expect(parsed, body).to.have.property('error').that.matches(message);
    }
  });
});
