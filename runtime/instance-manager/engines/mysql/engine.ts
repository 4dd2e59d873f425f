/**
 * The MySQL/MariaDB engine of the instance manager: mariabackup (or xtrabackup) streams an
 * xbstream, compressed beside the database (backup-stream.ts); positions (LSN, GTID, binlog)
 * travel as trailers; /status adds the replica threads' state (replication.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MYSQL_ENGINE } from '../../../contracts/engines.js';
import { QUERY, TRAILERS } from '../../../contracts/instance-manager-protocol.js';
import type { Engine, EngineOptions } from '../../engine.js';
import { startBackupStream } from './backup-stream.js';
import {
  backupArgs,
  backupTool,
  connectionArgs,
  currentPositions,
  datadirBytes,
  defaultsFileContents,
  readPositions,
} from './mariabackup.js';
import { replicationStatus } from './replication.js';

export function createMysqlEngine(options: EngineOptions): Engine {
  const { connection } = options;
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
        writeFileSync(defaultsFile, defaultsFileContents(connection), { mode: 0o600 });
        const tool = backupTool();
        const [begin, expectedBytes] = await Promise.all([
          currentPositions(connection, defaultsFile),
          datadirBytes(connection, defaultsFile),
        ]);
        // --defaults-extra-file must come first on a MariaDB/MySQL command line.
        const args = [
          ...connectionArgs(connection, defaultsFile),
          ...backupArgs({ targetDir: join(work, 'target'), lsnDir: join(work, 'lsn'), incrementalLsn: fields.incrementalLsn }),
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
      replicationStatus(connection).then(
        (r) => ({ replication: r }),
        (e: Error) => ({ replicationError: e.message.split('\n')[0].slice(0, 300) }),
      ),
  };
}
