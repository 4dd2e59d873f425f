/**
 * metadata.json of a PostgreSQL backup set (decision 0296): written by the repo host agent beside
 * pgBackRest's own directories, at `<repo path>/silo/backups/<stanza>/<label>/metadata.json`, so a
 * restore can be planned from the bucket (or volume) alone. pgBackRest never reads or removes it.
 * The writer (runtime/pg/backup-metadata.ts) and every reader import this shape. Never a secret:
 * the cipher type only, never the passphrase.
 */

/** Bumped when a field changes meaning or goes away; readers refuse a version they do not know. */
export const PG_BACKUP_METADATA_VERSION = 1;

/** Relative to the repository's path, outside pgBackRest's `archive/` and `backup/`. */
export const pgBackupMetadataKey = (stanza: string, label: string): string => `silo/backups/${stanza}/${label}/metadata.json`;

export interface PgBackupMetadata {
  readonly version: typeof PG_BACKUP_METADATA_VERSION;
  readonly engine: 'postgresql';
  readonly tool: 'pgbackrest';
  /** pgBackRest's backup label, e.g. 20261204-213000F. */
  readonly label: string;
  readonly type: 'full' | 'differential' | 'incremental';
  /** The label this set is based on (differential and incremental). */
  readonly prior?: string;
  /** Every label this set needs besides itself (pgBackRest's `reference`). */
  readonly references: readonly string[];
  /** `repo1`…`repo4`. */
  readonly repo: string;
  readonly stanza: string;
  /** The value of the silo-backup annotation: `<namespace>/<PGBackup name>/<uid>`. */
  readonly annotation?: string;
  readonly postgres: {
    readonly version: string;
    /** A string: a 64-bit integer loses its last digits as a JSON number. */
    readonly systemId: string;
  };
  readonly sizes: {
    readonly databaseBytes?: number;
    readonly copiedBytes?: number;
    readonly repoBytes?: number;
    readonly repoDeltaBytes?: number;
  };
  readonly startedAt?: string;
  readonly stoppedAt?: string;
  readonly lsn?: { readonly start: string; readonly stop: string };
  readonly wal?: { readonly start: string; readonly stop: string };
  /** pgBackRest found page checksum errors. */
  readonly backupError: boolean;
  /** `none` or `aes-256-cbc`. */
  readonly cipherType: string;
  /** SHA256 (hex) of `backup/<stanza>/<label>/backup.manifest` as stored (encrypted bytes in an encrypted repository). */
  readonly manifestSha256: string;
  readonly manifestKey: string;
  readonly writtenAt: string;
  /** pgBackRest's version that took the backup. */
  readonly pgbackrestVersion?: string;
}

/** POST /metadata on the repo host agent: write the set's metadata.json. */
export const AGENT_METADATA_PATH = '/metadata';

export interface MetadataRequest {
  readonly repo: number;
  readonly label: string;
}

export interface MetadataAnswer {
  readonly ok: boolean;
  /** Where it was written: the key relative to the repository's path. */
  readonly path?: string;
  /** The same as a URL (s3://bucket/key, file:///…), for people. */
  readonly url?: string;
  readonly manifestSha256?: string;
  /** Why it was not written; never a secret. */
  readonly error?: string;
  /** metadata.json keys removed because pgBackRest's expire removed their sets. */
  readonly pruned?: readonly string[];
  /** Why those could not be removed (the new document is written all the same). */
  readonly pruneError?: string;
}
