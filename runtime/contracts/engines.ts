/**
 * What neutral code needs to know about a database engine's physical backups, without importing
 * the engine: the data object's name under a backup's prefix, the `method` metadata.json records,
 * and the commands a physical restore runs. The instance manager's engine modules
 * (runtime/instance-manager/engines/<name>/) produce what these describe. Only `mysql` exists
 * (MySQL and MariaDB through XtraBackup/mariabackup); a PostgreSQL engine adds its own entry.
 */

export interface Command {
  readonly command: string;
  readonly args: readonly string[];
}

export interface EngineDescriptor {
  /** Names the engine in SILO_IM_ENGINE and SILO_ENGINE. */
  readonly name: string;
  /** The data object's name in `<path>/<cluster>/<backup-name>/<backup-id>/` (runtime/objectstore/object-layout.ts). */
  readonly dataObject: string;
  /** metadata.json's `method` for a physical backup of this engine; also how a restore finds the engine. */
  readonly physicalMethod: string;
  /** How a physical restore turns verified archives into a data directory. */
  readonly restore: {
    /** Reads one plain archive on stdin and unpacks it into `dir`. */
    extract(dir: string): Command;
    /** The tool that prepares and copies back. */
    readonly tool: string;
    /** Prepares the base backup, then (with `increment`) applies one incremental on top of it. */
    prepareArgs(base: string, increment?: string): string[];
    /** Copies the prepared base into an empty data directory. */
    copyBackArgs(base: string, dataDir: string): string[];
    /** Moves (renames) the prepared base's files into an empty data directory on the same filesystem. */
    moveBackArgs(base: string, dataDir: string): string[];
    /** Files of a prepared base that record the position it holds, the preferred name first. */
    readonly positionFiles: readonly string[];
    /** The GTID position in one of `positionFiles`; undefined when it records none. */
    gtidOf(positionFile: string): string | undefined;
    /**
     * Top-level names in a restored data directory that would start the copy as a replica of its
     * source's primary (replication connection and relay log state); removed before the volume is
     * marked complete, so a recovered copy starts as a fresh primary.
     */
    readonly replicaState: readonly RegExp[];
  };
}

/** MySQL and MariaDB: XtraBackup/mariabackup xbstream archives, extracted by mbstream. */
export const MYSQL_ENGINE: EngineDescriptor = {
  name: 'mysql',
  dataObject: 'backup.xbstream',
  physicalMethod: 'xtrabackup',
  restore: {
    extract: (dir) => ({ command: 'mbstream', args: ['-x', '-C', dir] }),
    tool: 'mariabackup',
    prepareArgs: (base, increment) => ['--prepare', `--target-dir=${base}`, ...(increment ? [`--incremental-dir=${increment}`] : [])],
    copyBackArgs: (base, dataDir) => ['--copy-back', `--target-dir=${base}`, `--datadir=${dataDir}`],
    moveBackArgs: (base, dataDir) => ['--move-back', `--target-dir=${base}`, `--datadir=${dataDir}`],
    // MariaDB 11 renamed xtrabackup_* to mariadb_backup_*; 10.x and XtraBackup write xtrabackup_binlog_info.
    positionFiles: ['mariadb_backup_binlog_info', 'xtrabackup_binlog_info'],
    // "<binlog file>\t<position>\t<GTID>": MariaDB's domain-server-seq list, or MySQL's GTID set (may wrap lines).
    gtidOf: (text) => text.split('\t').slice(2).join('\t').replace(/\s+/g, '') || undefined,
    // mariabackup 10.11 carries none of these from a replica (only mysql.gtid_slave_pos and, with --slave-info,
    // xtrabackup_slave_info beside the base); other tools or datadir copies may. docs/decisions/0040.
    replicaState: [
      /^master(-.+)?\.info$/,
      /^multi-master\.info$/,
      /^relay-log(-.+)?\.info$/,
      /^.+-relay-bin(-.+)?\.(\d+|index)$/,
      /^relay-log(-.+)?\.(\d+|index)$/,
      /^(xtrabackup|mariadb_backup)_slave_info$/,
    ],
  },
};

export const ENGINES: Readonly<Record<string, EngineDescriptor>> = { [MYSQL_ENGINE.name]: MYSQL_ENGINE };

export const DEFAULT_ENGINE = MYSQL_ENGINE.name;

export const ENGINE_NAMES = Object.keys(ENGINES);

/** The engine named `name`, or undefined. */
export const engineNamed = (name: string): EngineDescriptor | undefined =>
  Object.prototype.hasOwnProperty.call(ENGINES, name) ? ENGINES[name] : undefined;

/** The engine whose physical backups metadata.json records with `method`, or undefined. */
export const engineForMethod = (method: string | undefined): EngineDescriptor | undefined =>
  Object.values(ENGINES).find((e) => e.physicalMethod === method);
