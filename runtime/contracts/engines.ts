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
