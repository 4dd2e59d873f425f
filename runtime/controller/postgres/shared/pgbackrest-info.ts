/**
 * `pgbackrest info --output=json` as pgBackRest 2.45 prints it, read into status fields: per
 * repository (PGCluster.status.repos) and per backup, found by the annotation Silo stored with it
 * (PGBackup.status). Pure.
 */
import type { PGBackupStatus, PGRepoStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { BACKUP_ANNOTATION_KEY, PG_STANZA } from '../../../contracts/pg-pods.js';

export interface InfoBackup {
  label: string;
  type: 'full' | 'diff' | 'incr';
  prior?: string | null;
  reference?: string[] | null;
  annotation?: Record<string, string>;
  error?: boolean;
  timestamp?: { start: number; stop: number };
  lsn?: { start: string; stop: string };
  archive?: { start: string; stop: string };
  info?: { size: number; delta: number; repository?: { size: number; delta: number } };
  database?: { id: number; 'repo-key': number };
}

export interface InfoStanza {
  name: string;
  status?: { code: number; message: string };
  cipher?: string;
  /** A string: the repo host agent quotes it, a JSON number would lose digits. */
  db?: Array<{ id: number; 'system-id': string | number; version: string; 'repo-key': number }>;
  archive?: Array<{ id: string; min?: string | null; max?: string | null; database: { id: number; 'repo-key': number } }>;
  backup?: InfoBackup[];
  repo?: Array<{ key: number; cipher: string; status: { code: number; message: string } }>;
}

export const stanzaOf = (info: unknown): InfoStanza | undefined =>
  Array.isArray(info) ? (info as InfoStanza[]).find((s) => s.name === PG_STANZA) : undefined;

const isoOf = (epochSeconds: number | undefined): string | undefined =>
  epochSeconds ? new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z') : undefined;

/** One repository's row. pgBackRest's status code 1 (`missing stanza path`) means no stanza yet. */
export function repoStatusRow(stanza: InfoStanza | undefined, key: number): Omit<PGRepoStatus, 'name' | 'type' | 'path'> {
  const repo = stanza?.repo?.find((r) => r.key === key);
  const archives = (stanza?.archive ?? []).filter((a) => a.database['repo-key'] === key);
  const backups = (stanza?.backup ?? []).filter((b) => b.database?.['repo-key'] === key);
  const firstFull = backups.find((b) => b.type === 'full');
  return {
    stanzaCreated: !!repo && repo.status.code !== 1 && (stanza?.db ?? []).some((d) => d['repo-key'] === key),
    ...(repo ? { cipher: repo.cipher, statusCode: repo.status.code, statusMessage: repo.status.message } : {}),
    ...(archives.length ? { archiveMin: archives[0].min ?? undefined, archiveMax: archives[archives.length - 1].max ?? undefined } : {}),
    ...(firstFull?.timestamp ? { firstRecoverabilityPoint: isoOf(firstFull.timestamp.stop) } : {}),
    backups: backups.length,
    ...(backups.length ? { lastBackup: backups[backups.length - 1].label } : {}),
  };
}

/** The system id pgBackRest recorded for the stanza (the newest database entry). */
export const systemIdOf = (stanza: InfoStanza | undefined): string | undefined => {
  const db = stanza?.db?.[stanza.db.length - 1];
  return db ? String(db['system-id']) : undefined;
};

const TYPE = { full: 'full', diff: 'differential', incr: 'incremental' } as const;

/** The backup stored with `annotation` in repository `key`. */
export function findBackup(stanza: InfoStanza | undefined, key: number, annotation: string): InfoBackup | undefined {
  return (stanza?.backup ?? []).find((b) => b.database?.['repo-key'] === key && b.annotation?.[BACKUP_ANNOTATION_KEY] === annotation);
}

/** PGBackup.status fields from the backup's info entry. */
export function backupStatusFields(backup: InfoBackup): PGBackupStatus {
  return {
    label: backup.label,
    type: TYPE[backup.type],
    ...(backup.prior ? { prior: backup.prior } : {}),
    ...(backup.reference?.length ? { references: backup.reference } : {}),
    ...(backup.info
      ? {
          databaseSizeBytes: backup.info.size,
          copiedBytes: backup.info.delta,
          ...(backup.info.repository ? { repoSizeBytes: backup.info.repository.size, repoDeltaBytes: backup.info.repository.delta } : {}),
        }
      : {}),
    ...(backup.timestamp ? { backupStartedAt: isoOf(backup.timestamp.start), backupStoppedAt: isoOf(backup.timestamp.stop) } : {}),
    ...(backup.lsn ? { lsnStart: backup.lsn.start, lsnStop: backup.lsn.stop } : {}),
    ...(backup.archive ? { walStart: backup.archive.start, walStop: backup.archive.stop } : {}),
    backupError: !!backup.error,
  };
}
