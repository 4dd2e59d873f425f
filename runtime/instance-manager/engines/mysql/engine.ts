/**
 * The MySQL/MariaDB engine of the instance manager: mariabackup (or xtrabackup) streams an
 * xbstream, compressed beside the database (backup-stream.ts), connected as the backup user when
 * the Pod names one; positions (LSN, GTID, binlog) travel as trailers; /status adds the server's
 * id, read-only flag, GTID positions and the replica threads' state, and `setReplicationSource`
 * re-points a replica (replication.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MYSQL_ENGINE } from '../../../contracts/engines.js';
import { QUERY, TRAILERS } from '../../../contracts/instance-manager-protocol.js';
import type { DatabaseConnection, DatabaseUser, Engine, EngineOptions } from '../../engine.js';
import { startBackupStream } from './backup-stream.js';
import {
  backupArgs,
  backupTool,
  connectionArgs,
  currentPositions,
  datadirBytes,
  defaultsFileContents,
  readPositions,
  serverDatadir,
} from './mariabackup.js';
import { mysqlStatus, setReplicationSource } from './replication.js';

/** `connection` as another user of the same server (same socket or host). */
const asUser = (connection: DatabaseConnection, user: DatabaseUser | undefined): DatabaseConnection =>
  user ? { ...connection, user: user.user, passwordFile: user.passwordFile } : connection;

/** The password in a user's file, read when it is needed so a rotated Secret is picked up. */
const passwordOf = (user: DatabaseUser): string => (user.passwordFile ? readFileSync(user.passwordFile, 'utf8').trim() : '');

export function createMysqlEngine(options: EngineOptions): Engine {
  const { connection } = options;
  const backupConnection = asUser(connection, options.backupUser);
  return {
    name: MYSQL_ENGINE.name,

    backupRequest(params) {
      const incrementalLsn = params.get(QUERY.incrementalLsn) ?? undefined;
      if (incrementalLsn !== undefined && !/^\d+$/.test(incrementalLsn)) {
        return { error: `incremental-lsn must be a decimal LSN (got "${incrementalLsn.slice(0, 40)}")` };
      }
      return { fields: { incrementalLsn } };
    },

    async startBackup(fields, { compression, zstdCli, log }) {
      const work = mkdtempSync(join(tmpdir(), 'silo-backup-'));
      const dispose = () => rmSync(work, { recursive: true, force: true });
      try {
        const defaultsFile = join(work, 'client.cnf');
        writeFileSync(defaultsFile, defaultsFileContents(backupConnection), { mode: 0o600 });
        const tool = backupTool();
        const [begin, datadir] = await Promise.all([
          currentPositions(backupConnection, defaultsFile),
          serverDatadir(backupConnection, defaultsFile),
        ]);
        const expectedBytes = datadirBytes(datadir);
        // --defaults-extra-file must come first on a MariaDB/MySQL command line.
        const args = [
          ...connectionArgs(backupConnection, defaultsFile),
          ...backupArgs({ targetDir: join(work, 'target'), lsnDir: join(work, 'lsn'), incrementalLsn: fields.incrementalLsn, datadir }),
        ];
        const stream = startBackupStream({ tool, args, compression, zstdCli, log });
        return {
          tool: tool.name,
          expectedBytes,
          stream,
          dispose,
          finish: () => {
            const positions = readPositions(join(work, 'lsn'));
            const trailers: Record<string, string> = {};
            for (const [key, value] of Object.entries({ ...begin, ...positions })) {
              if (value) trailers[TRAILERS[key as keyof typeof TRAILERS]] = value;
            }
            return { trailers, last: { toLsn: positions.toLsn } };
          },
        };
      } catch (error) {
        dispose();
        throw error;
      }
    },

    status: () =>
      mysqlStatus(connection).then(
        (fields) => ({ ...fields }),
        (e: Error) => ({ replicationError: e.message.split('\n')[0].slice(0, 300) }),
      ),

    setReplicationSource: (request) => {
      const user = options.replicationUser;
      return setReplicationSource(connection, user && { user: user.user, password: passwordOf(user) }, request);
    },
  };
}
