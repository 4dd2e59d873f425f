import type { MysqlStatusFields, ReplicationSourceRequest } from '../../../contracts/instance-manager-protocol.js';
import { changeMasterSql } from '../../../contracts/mysql-sql.js';
import { MYSQL_PORT } from '../../../contracts/instance-pod.js';
import type { DatabaseConnection } from './mariabackup.js';
import { runSql, verticalFields } from './sql.js';

/**
 * What /status reports about replication, so whoever maintains the Pod's
 * `mysql.cloudnative-mysql.io/replication-lag-seconds` annotation (decision 0220)
 * reads it from the instance itself. `null` on a primary (no replica threads).
 */
export type ReplicationStatus = NonNullable<MysqlStatusFields['replication']>;

/** Parses `SHOW SLAVE STATUS\G`; null when the output has no replica row. */
export function parseReplicaStatus(text: string): ReplicationStatus | null {
  const fields = verticalFields(text);
  const field = (name: string) => fields.get(name);
  if (field('Slave_IO_Running') === undefined) return null;
  const behind = field('Seconds_Behind_Master');
  const error = field('Last_SQL_Error') || field('Last_IO_Error');
  const gtid = field('Gtid_IO_Pos');
  const host = field('Master_Host');
  const sqlErrno = Number(field('Last_SQL_Errno'));
  return {
    ioRunning: field('Slave_IO_Running') === 'Yes',
    sqlRunning: field('Slave_SQL_Running') === 'Yes',
    secondsBehindMaster: behind && /^\d+$/.test(behind) ? Number(behind) : null,
    ...(gtid ? { gtidIoPos: gtid } : {}),
    ...(host ? { masterHost: host } : {}),
    ...(error ? { lastError: error.slice(0, 500) } : {}),
    ...(sqlErrno ? { lastSqlErrno: sqlErrno } : {}),
  };
}

/** The server's own fields, aliased so no name collides with a SHOW SLAVE STATUS column. */
const STATUS_SQL =
  'SELECT @@server_id AS silo_server_id, @@read_only AS silo_read_only, @@gtid_binlog_pos AS silo_gtid_binlog_pos, ' +
  '@@gtid_current_pos AS silo_gtid_current_pos, @@gtid_slave_pos AS silo_gtid_slave_pos; SHOW SLAVE STATUS;';

/** Parses the `--vertical` output of STATUS_SQL. */
export function parseMysqlStatus(text: string): MysqlStatusFields {
  const fields = verticalFields(text);
  const serverId = Number(fields.get('silo_server_id'));
  const readOnly = fields.get('silo_read_only');
  return {
    ...(Number.isInteger(serverId) && fields.has('silo_server_id') ? { serverId } : {}),
    ...(readOnly !== undefined ? { readOnly: readOnly === '1' || readOnly === 'ON' } : {}),
    gtidBinlogPos: fields.get('silo_gtid_binlog_pos'),
    gtidCurrentPos: fields.get('silo_gtid_current_pos'),
    gtidSlavePos: fields.get('silo_gtid_slave_pos'),
    replication: parseReplicaStatus(text),
  };
}

export async function mysqlStatus(connection: DatabaseConnection): Promise<MysqlStatusFields> {
  return parseMysqlStatus(await runSql(connection, STATUS_SQL, { vertical: true, timeoutMs: 10_000 }));
}

/** Why a replication source cannot be set, with the HTTP status the route answers. */
export class ReplicationRefusedError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ReplicationRefusedError';
  }
}

/**
 * Points this replica at `request.host`, keeping @@gtid_slave_pos (MASTER_USE_GTID=slave_pos): relay
 * logs from the old primary that were not applied yet are fetched again from the new one. Refused
 * on a writable server: a primary that replicated from another would mix two histories.
 */
export async function setReplicationSource(
  connection: DatabaseConnection,
  replicationUser: { user: string; password?: string } | undefined,
  request: ReplicationSourceRequest,
): Promise<void> {
  const status = await mysqlStatus(connection);
  if (status.readOnly === false) {
    throw new ReplicationRefusedError(
      'this instance is writable (read_only is OFF): it is a primary; make it read-only before pointing it at another primary',
      409,
    );
  }
  const sql = [
    'STOP SLAVE;',
    changeMasterSql({
      host: request.host,
      port: request.port ?? MYSQL_PORT,
      user: replicationUser?.user,
      password: replicationUser?.password,
    }),
    'START SLAVE;',
  ].join('\n');
  await runSql(connection, sql, { redact: replicationUser?.password ? [replicationUser.password] : [] });
}
