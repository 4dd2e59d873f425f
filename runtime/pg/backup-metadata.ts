/**
 * Builds a backup set's metadata.json (runtime/contracts/pg-backup-metadata.ts) from what
 * `pgbackrest info --set=<label> --repo=<n> --output=json` printed and the SHA256 of the stored
 * backup.manifest. Pure: the repo host agent (repo-agent.ts) runs the commands and writes the result.
 */
import { BACKUP_ANNOTATION_KEY, PG_STANZA } from '../contracts/pg-pods.js';
import { PG_BACKUP_METADATA_VERSION, type PgBackupMetadata } from '../contracts/pg-backup-metadata.js';

/** The parts of pgBackRest 2.45's info JSON this reads (the agent quotes system-id, see RepoAgent.status). */
interface InfoSet {
  label: string;
  type: 'full' | 'diff' | 'incr';
  prior?: string | null;
  reference?: string[] | null;
  annotation?: Record<string, string>;
  error?: boolean;
  backrest?: { version?: string };
  timestamp?: { start: number; stop: number };
  lsn?: { start: string; stop: string };
  archive?: { start: string; stop: string };
  info?: { size: number; delta: number; repository?: { size: number; delta: number } };
  database?: { id: number; 'repo-key': number };
}

interface InfoStanza {
  name: string;
  db?: Array<{ id: number; 'system-id': string | number; version: string; 'repo-key': number }>;
  backup?: InfoSet[];
  repo?: Array<{ key: number; cipher: string; status?: { code: number } }>;
}

const TYPE = { full: 'full', diff: 'differential', incr: 'incremental' } as const;

const iso = (epochSeconds: number | undefined): string | undefined =>
  epochSeconds ? new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z') : undefined;

export const manifestKey = (label: string): string => `backup/${PG_STANZA}/${label}/backup.manifest`;

/**
 * pgBackRest's info JSON with each system id as a string (a 64-bit integer as a JSON number loses its last digits),
 * and raw control characters (a repository's error text) as spaces, which outside strings are only whitespace.
 */
export const parseInfoJson = (text: string): unknown =>
  // eslint-disable-next-line no-control-regex -- exactly the characters JSON forbids inside strings
  JSON.parse(text.replace(/"system-id"\s*:\s*(\d+)/g, '"system-id":"$1"').replace(/[\u0000-\u001f]+/g, ' '));

export interface MetadataInput {
  /** `pgbackrest info --output=json`'s array, read by parseInfoJson. */
  readonly info: unknown;
  readonly repo: number;
  readonly label: string;
  readonly manifestSha256: string;
  readonly now: Date;
}

/** The set's optional fields, each present when pgBackRest printed it. */
function whatInfoTold(set: InfoSet): Partial<PgBackupMetadata> {
  return {
    ...(set.prior ? { prior: set.prior } : {}),
    ...(set.annotation?.[BACKUP_ANNOTATION_KEY] ? { annotation: set.annotation[BACKUP_ANNOTATION_KEY] } : {}),
    startedAt: iso(set.timestamp?.start),
    stoppedAt: iso(set.timestamp?.stop),
    ...(set.lsn ? { lsn: { start: set.lsn.start, stop: set.lsn.stop } } : {}),
    ...(set.archive ? { wal: { start: set.archive.start, stop: set.archive.stop } } : {}),
    ...(set.backrest?.version ? { pgbackrestVersion: set.backrest.version } : {}),
  };
}

const sizesOf = (set: InfoSet): PgBackupMetadata['sizes'] => ({
  databaseBytes: set.info?.size,
  copiedBytes: set.info?.delta,
  repoBytes: set.info?.repository?.size,
  repoDeltaBytes: set.info?.repository?.delta,
});

/** The document, or an Error naming what `info` lacked (the set, or the database it was taken of). */
export function buildPgBackupMetadata(input: MetadataInput): PgBackupMetadata {
  const stanza = (Array.isArray(input.info) ? (input.info as InfoStanza[]) : []).find((s) => s.name === PG_STANZA);
  const set = stanza?.backup?.find((b) => b.label === input.label && (b.database?.['repo-key'] ?? input.repo) === input.repo);
  if (!set) throw new Error(`pgbackrest info shows no backup set ${input.label} in repo${input.repo}`);
  const db = stanza?.db?.find((d) => d.id === set.database?.id && d['repo-key'] === input.repo);
  if (!db) throw new Error(`pgbackrest info shows no database entry for backup set ${input.label} in repo${input.repo}`);
  return {
    version: PG_BACKUP_METADATA_VERSION,
    engine: 'postgresql',
    tool: 'pgbackrest',
    label: set.label,
    type: TYPE[set.type],
    references: set.reference ?? [],
    repo: `repo${input.repo}`,
    stanza: PG_STANZA,
    postgres: { version: db.version, systemId: String(db['system-id']) },
    sizes: sizesOf(set),
    backupError: !!set.error,
    cipherType: stanza?.repo?.find((r) => r.key === input.repo)?.cipher ?? 'none',
    manifestSha256: input.manifestSha256,
    manifestKey: manifestKey(set.label),
    writtenAt: input.now.toISOString(),
    ...whatInfoTold(set),
  };
}

/**
 * The metadata.json keys (relative to the repository's path) whose sets pgBackRest's expire removed: info lists the
 * repository as readable (status 0 ok, or 2 no valid backups) and no longer holds the label. An unreadable repository
 * lists no sets at all, so then nothing is taken for expired.
 */
export function expiredMetadataKeys(info: unknown, repo: number, keys: readonly string[]): string[] {
  const stanza = (Array.isArray(info) ? (info as InfoStanza[]) : []).find((s) => s.name === PG_STANZA);
  const code = stanza?.repo?.find((r) => r.key === repo)?.status?.code;
  if (code !== 0 && code !== 2) return [];
  const held = new Set((stanza?.backup ?? []).filter((b) => (b.database?.['repo-key'] ?? repo) === repo).map((b) => b.label));
  const pattern = /^silo\/backups\/[^/]+\/([^/]+)\/metadata\.json$/;
  return keys.filter((key) => {
    const label = pattern.exec(key)?.[1];
    return label !== undefined && !held.has(label);
  });
}
