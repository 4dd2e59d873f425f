/**
 * SQL that two processes write for the same MariaDB instance: `silo instance db` (its init-file,
 * runtime/instance/) and the instance manager (`POST /cluster/replication`,
 * runtime/instance-manager/engines/mysql/). One quoting function and one way to point a replica at
 * its primary, so a password with a quote or a backslash means the same on both sides.
 */

/** What MariaDB's own escaping (mysql_real_escape_string) rewrites. */
const ESCAPES: Readonly<Record<string, string>> = {
  '\0': '\\0',
  '\n': '\\n',
  '\r': '\\r',
  '\x1a': '\\Z',
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
};

/**
 * A MariaDB string literal. Backslash escapes are MariaDB's default; the init-file and the instance
 * manager's sessions clear sql_mode first (SQL_MODE_RESET), so NO_BACKSLASH_ESCAPES never changes
 * what a literal means.
 */
export function sqlString(value: string): string {
  let escaped = '';
  for (const c of value) escaped += ESCAPES[c] ?? c;
  return `'${escaped}'`;
}

/** A quoted identifier (database or table name): backticks, a backtick doubled. */
export const sqlIdentifier = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

/** Clears NO_BACKSLASH_ESCAPES (and every other mode) for the session, so sqlString literals read as written. */
export const SQL_MODE_RESET = "SET SESSION sql_mode='';";

export interface ReplicationSource {
  readonly host: string;
  readonly port: number;
  /** Written only with the user: without them CHANGE MASTER keeps the ones configured before. */
  readonly user?: string;
  readonly password?: string;
}

/**
 * `CHANGE MASTER TO …, MASTER_USE_GTID=slave_pos`: the replica asks its (new) primary for what comes
 * after @@gtid_slave_pos, whatever binlog files either side has. The caller stops and starts the
 * replica threads around it.
 */
export function changeMasterSql(source: ReplicationSource): string {
  const credentials =
    source.user !== undefined ? `, MASTER_USER=${sqlString(source.user)}, MASTER_PASSWORD=${sqlString(source.password ?? '')}` : '';
  return (
    `CHANGE MASTER TO MASTER_HOST=${sqlString(source.host)}, MASTER_PORT=${Math.trunc(source.port)}${credentials}, ` +
    'MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=5;'
  );
}
