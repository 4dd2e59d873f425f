/**
 * The init-file `silo instance db` gives mariadbd at every start (`--init-file`): it runs before the
 * server accepts connections, as a bootstrap session with every privilege.
 *
 * It starts with `SET sql_log_bin=0`: nothing in it reaches the binary log, so a replica never
 * writes a GTID of its own (an errant transaction a new primary would lack) and a primary's users
 * are not replayed over a replica's. It creates the system users when missing and sets their
 * passwords from the mounted Secret every time: a recovered datadir thereby takes the new
 * Cluster's passwords, and a rotated Secret takes effect at the next start.
 */
import { changeMasterSql, SQL_MODE_RESET, sqlIdentifier, sqlString } from '../contracts/mysql-sql.js';
import { SYSTEM_USERS, type SystemUserKey } from '../contracts/instance-pod.js';

/**
 * What each system user may do (MariaDB 10.5.9 or later names these privileges).
 * - manager: /status (REPLICA MONITOR, BINLOG MONITOR), pointing a replica at a primary
 *   (REPLICATION SLAVE ADMIN; SUPER for gtid_slave_pos), read_only on promotion (READ_ONLY ADMIN),
 *   and a backup when no backup user is named (RELOAD, PROCESS, LOCK TABLES).
 * - backup: what mariabackup needs (BACKUP STAGE needs RELOAD; SHOW ENGINE INNODB STATUS, PROCESS;
 *   SHOW MASTER STATUS and the binlog position, BINLOG MONITOR).
 * - replication: a replica's connection to its primary.
 */
export const SYSTEM_USER_GRANTS: Readonly<Record<SystemUserKey, { host: string; privileges: string }>> = {
  manager: {
    host: 'localhost',
    privileges:
      'RELOAD, PROCESS, LOCK TABLES, SUPER, BINLOG MONITOR, REPLICA MONITOR, REPLICATION SLAVE ADMIN, READ_ONLY ADMIN, CONNECTION ADMIN',
  },
  backup: { host: 'localhost', privileges: 'RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, REPLICA MONITOR' },
  replication: { host: '%', privileges: 'REPLICATION SLAVE' },
};

export interface InitSqlInput {
  /** Each system user's password, from MOUNTS.systemUsers. */
  readonly passwords: Readonly<Record<SystemUserKey, string>>;
  /** The application's database and user (a primary's first start; kept if they exist). */
  readonly app?: { readonly database: string; readonly user?: string; readonly password?: string };
  /** A replica without replication yet: where its datadir stands and whom to replicate from. */
  readonly replication?: { readonly gtid?: string; readonly host: string; readonly port: number };
}

const account = (user: string, host: string) => `${sqlString(user)}@${sqlString(host)}`;

export function buildInitSql(input: InitSqlInput): string {
  const lines = ['SET sql_log_bin=0;', SQL_MODE_RESET];
  for (const key of Object.keys(SYSTEM_USER_GRANTS) as SystemUserKey[]) {
    const { host, privileges } = SYSTEM_USER_GRANTS[key];
    const who = account(SYSTEM_USERS[key], host);
    const password = sqlString(input.passwords[key]);
    lines.push(
      `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ${password};`,
      `ALTER USER ${who} IDENTIFIED BY ${password};`,
      `GRANT ${privileges} ON *.* TO ${who};`,
    );
  }
  if (input.app) {
    const database = sqlIdentifier(input.app.database);
    lines.push(`CREATE DATABASE IF NOT EXISTS ${database};`);
    if (input.app.user) {
      const who = account(input.app.user, '%');
      lines.push(
        `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ${sqlString(input.app.password ?? '')};`,
        `GRANT ALL PRIVILEGES ON ${database}.* TO ${who};`,
      );
    }
  }
  if (input.replication) {
    const { gtid, host, port } = input.replication;
    lines.push(
      ...(gtid !== undefined ? [`SET GLOBAL gtid_slave_pos=${sqlString(gtid)};`] : []),
      changeMasterSql({ host, port, user: SYSTEM_USERS.replication, password: input.passwords.replication }),
      'START SLAVE;',
    );
  }
  return lines.join('\n') + '\n';
}
