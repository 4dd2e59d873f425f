import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DatabaseConnection } from '../../engine.js';

const execFileAsync = promisify(execFile);

export type { DatabaseConnection };

/** mariabackup on MariaDB, xtrabackup on MySQL: whichever binary this image has. */
export function backupTool(): { name: 'mariabackup' | 'xtrabackup'; path: string } {
  for (const dir of (process.env.PATH ?? '/usr/bin').split(':')) {
    if (existsSync(join(dir, 'mariabackup'))) return { name: 'mariabackup', path: join(dir, 'mariabackup') };
    if (existsSync(join(dir, 'xtrabackup'))) return { name: 'xtrabackup', path: join(dir, 'xtrabackup') };
  }
  throw new Error('neither mariabackup nor xtrabackup is installed in this image');
}

/**
 * Client options shared by mariabackup and the mariadb CLI. The password goes
 * through a --defaults-extra-file written by the caller, so `ps` never shows it.
 */
export function connectionArgs(connection: DatabaseConnection, defaultsFile?: string): string[] {
  return [
    ...(defaultsFile ? [`--defaults-extra-file=${defaultsFile}`] : []),
    ...(connection.socket ? [`--socket=${connection.socket}`] : []),
    ...(connection.host ? [`--host=${connection.host}`] : []),
    ...(connection.port ? [`--port=${connection.port}`] : []),
    `--user=${connection.user}`,
  ];
}

export function defaultsFileContents(connection: DatabaseConnection): string {
  const password = connection.passwordFile ? readFileSync(connection.passwordFile, 'utf8').trim() : '';
  return `[client]\npassword=${JSON.stringify(password)}\n`;
}

export function backupArgs(options: {
  targetDir: string;
  lsnDir: string;
  incrementalLsn?: string;
  parallel?: number;
  /** The server's @@datadir: mariabackup would otherwise take the option files' (Debian's /var/lib/mysql). */
  datadir?: string;
}): string[] {
  return [
    '--backup',
    '--stream=xbstream',
    ...(options.datadir ? [`--datadir=${options.datadir}`] : []),
    `--target-dir=${options.targetDir}`,
    `--extra-lsndir=${options.lsnDir}`,
    `--parallel=${options.parallel ?? 2}`,
    ...(options.incrementalLsn ? [`--incremental-lsn=${options.incrementalLsn}`] : []),
  ];
}

/** Positions a backup records in metadata.json. */
export interface BackupPositions {
  fromLsn?: string;
  toLsn?: string;
  endGTID?: string;
  endBinlog?: string;
}

/** Reads xtrabackup_checkpoints and xtrabackup_info from --extra-lsndir after the backup finished. */
export function readPositions(lsnDir: string): BackupPositions {
  const positions: BackupPositions = {};
  const checkpoints = join(lsnDir, 'xtrabackup_checkpoints');
  if (existsSync(checkpoints)) {
    const text = readFileSync(checkpoints, 'utf8');
    positions.fromLsn = /^from_lsn\s*=\s*(\d+)/m.exec(text)?.[1];
    positions.toLsn = /^to_lsn\s*=\s*(\d+)/m.exec(text)?.[1];
  }
  const info = join(lsnDir, 'xtrabackup_info');
  if (existsSync(info)) {
    // MariaDB: binlog_pos = filename 'mysql-bin.000003', position '385', GTID of the last change '0-1-2'
    const line = /^binlog_pos\s*=\s*(.*)$/m.exec(readFileSync(info, 'utf8'))?.[1] ?? '';
    const file = /filename '([^']+)'/.exec(line)?.[1];
    const position = /position '(\d+)'/.exec(line)?.[1];
    if (file && position) positions.endBinlog = `${file}:${position}`;
    const gtid = /GTID of the last change '([^']*)'/.exec(line)?.[1];
    if (gtid) positions.endGTID = gtid;
  }
  return positions;
}

/** The binlog file:position and GTID position before the backup starts; empty when binlogs are off. */
export async function currentPositions(
  connection: DatabaseConnection,
  defaultsFile: string,
): Promise<{ beginGTID?: string; beginBinlog?: string }> {
  const { stdout } = await execFileAsync(
    'mariadb',
    [...connectionArgs(connection, defaultsFile), '-N', '-B', '-e', 'SELECT @@global.gtid_current_pos; SHOW MASTER STATUS;'],
    { timeout: 15_000 },
  ).catch(() => ({ stdout: '' }));
  const lines = stdout.split('\n').filter(Boolean);
  const [file, position] = (lines[1] ?? '').split('\t');
  return {
    ...(lines[0] !== undefined ? { beginGTID: lines[0].trim() } : {}),
    ...(file && position ? { beginBinlog: `${file}:${position}` } : {}),
  };
}

/** The server's @@datadir, or undefined when it does not answer. */
export async function serverDatadir(connection: DatabaseConnection, defaultsFile: string): Promise<string | undefined> {
  const { stdout } = await execFileAsync('mariadb', [...connectionArgs(connection, defaultsFile), '-N', '-B', '-e', 'SELECT @@datadir'], {
    timeout: 15_000,
  }).catch(() => ({ stdout: '' }));
  return stdout.trim() || undefined;
}

/**
 * Bytes under the server's datadir: an upper bound for the xbstream, sent to the worker as a part-size
 * hint so a large backup keeps small, flat-memory parts (decision 0008). Undefined when unknown.
 */
export function datadirBytes(datadir: string | undefined): number | undefined {
  if (!datadir || !existsSync(datadir)) return undefined;
  let total = 0;
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      try {
        if (entry.isDirectory()) walk(path);
        else if (entry.isFile()) total += lstatSync(path).size;
      } catch {
        /* a table dropped during the walk */
      }
    }
  };
  try {
    walk(datadir);
  } catch {
    return undefined;
  }
  return total;
}
