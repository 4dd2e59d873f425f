import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectionArgs, defaultsFileContents, type DatabaseConnection } from './mariabackup.js';

const execFileAsync = promisify(execFile);

/**
 * What /status reports about replication, so whoever maintains the Pod's
 * `mysql.cloudnative-mysql.io/replication-lag-seconds` annotation (decision 0220)
 * reads it from the instance itself. `null` on a primary (no replica threads).
 */
export interface ReplicationStatus {
  readonly ioRunning: boolean;
  readonly sqlRunning: boolean;
  /** Seconds_Behind_Master; null while the SQL thread is stopped. */
  readonly secondsBehindMaster: number | null;
  readonly gtidIoPos?: string;
  readonly lastError?: string;
}

/** Parses `SHOW SLAVE STATUS\G`; null when the output has no replica row. */
export function parseReplicaStatus(text: string): ReplicationStatus | null {
  const field = (name: string) => new RegExp(`^[ \\t]*${name}:[ \\t]*(.*)$`, 'm').exec(text)?.[1]?.trim();
  if (field('Slave_IO_Running') === undefined) return null;
  const behind = field('Seconds_Behind_Master');
  const error = field('Last_SQL_Error') || field('Last_IO_Error');
  const gtid = field('Gtid_IO_Pos');
  return {
    ioRunning: field('Slave_IO_Running') === 'Yes',
    sqlRunning: field('Slave_SQL_Running') === 'Yes',
    secondsBehindMaster: behind && /^\d+$/.test(behind) ? Number(behind) : null,
    ...(gtid ? { gtidIoPos: gtid } : {}),
    ...(error ? { lastError: error.slice(0, 500) } : {}),
  };
}

export async function replicationStatus(connection: DatabaseConnection): Promise<ReplicationStatus | null> {
  const work = mkdtempSync(join(tmpdir(), 'silo-status-'));
  try {
    const defaultsFile = join(work, 'client.cnf');
    writeFileSync(defaultsFile, defaultsFileContents(connection), { mode: 0o600 });
    const { stdout } = await execFileAsync('mariadb', [...connectionArgs(connection, defaultsFile), '-e', 'SHOW SLAVE STATUS\\G'], {
      timeout: 10_000,
    });
    return parseReplicaStatus(stdout);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
