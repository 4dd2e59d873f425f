/**
 * The restore of a cluster made from spec.dataSource, resolved from the source repository's
 * `pgbackrest info` before anything runs (decision 0292): the recovery window (from the oldest
 * backup's end to the time the last archived WAL segment reached the repository), the target checked
 * against it, and the backup set to restore. Pure.
 */
import type { PGBackRestRepo, PGDataSource, PGRestoreStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { defaultRepoPath } from '../shared/pg-objects.js';
import type { InfoBackup, InfoStanza } from '../shared/pgbackrest-info.js';

export type RestoreRefusal = 'NoBackupBeforeTarget' | 'TargetOutsideRecoveryWindow';

export interface SourceRepository {
  readonly stanza: InfoStanza | undefined;
  /** The repository's index (repoN). */
  readonly key: number;
  /** When the last archived WAL segment reached the repository (epoch seconds), if it could be read. */
  readonly lastWalTime?: number;
}

export type RestorePlanResult =
  | { readonly ok: true; readonly resolved: Omit<PGRestoreStatus, 'source' | 'phase' | 'resolvedAt'> }
  | { readonly ok: false; readonly reason: RestoreRefusal; readonly detail: string; readonly window?: PGRestoreStatus['window'] };

const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z');

/** An LSN `X/Y` as one number. */
export const lsnValue = (lsn: string): bigint => {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
};

const WAL_SEGMENT_BYTES = 16n * 1024n * 1024n;
/** The LSN just past the end of a 24-hex-digit WAL segment (16 MiB segments, PostgreSQL's default). */
export function segmentEndLsn(segment: string): bigint {
  const log = BigInt(`0x${segment.slice(8, 16)}`);
  const seg = BigInt(`0x${segment.slice(16, 24)}`);
  return (log << 32n) + (seg + 1n) * WAL_SEGMENT_BYTES;
}

/**
 * An RFC 3339 time (the schema insists on a zone) in UTC as pgBackRest and PostgreSQL read it,
 * `YYYY-MM-DD HH:MM:SS[.fraction]+00`, its fraction kept to the digit; and its epoch milliseconds.
 */
export function utcTarget(time: string): { text: string; ms: number } {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:\d{2})$/.exec(time);
  if (!m) throw new Error(`target time ${JSON.stringify(time)} is not RFC 3339 with a zone`);
  const whole = Date.parse(`${m[1]}T${m[2]}${m[4].toUpperCase()}`);
  const utc = new Date(whole).toISOString();
  const fraction = m[3] ?? '';
  return {
    text: `${utc.slice(0, 10)} ${utc.slice(11, 19)}${fraction ? `.${fraction}` : ''}+00`,
    ms: whole + (fraction ? Number(`0.${fraction}`) * 1000 : 0),
  };
}

function usableBackups(source: SourceRepository): InfoBackup[] {
  return (source.stanza?.backup ?? [])
    .filter((b) => b.database?.['repo-key'] === source.key && !b.error && b.timestamp && b.lsn)
    .sort((a, b) => a.timestamp!.stop - b.timestamp!.stop);
}

function windowOf(source: SourceRepository, backups: InfoBackup[]): NonNullable<PGRestoreStatus['window']> {
  const archives = (source.stanza?.archive ?? []).filter((a) => a.database['repo-key'] === source.key && a.max);
  const archiveMax = archives[archives.length - 1]?.max ?? undefined;
  const oldest = backups[0];
  return {
    ...(oldest ? { from: iso(oldest.timestamp!.stop), fromLsn: oldest.lsn!.stop } : {}),
    ...(source.lastWalTime ? { to: iso(source.lastWalTime) } : {}),
    ...(archiveMax ? { archiveMax } : {}),
  };
}

const bounds = (w: NonNullable<PGRestoreStatus['window']>): string =>
  `the repository can recover from ${w.from} (the end of its oldest backup) to ${w.to ?? 'an unknown time'} (its last archived WAL${
    w.archiveMax ? ` ${w.archiveMax}` : ''
  })`;

/** The newest backup that ended before the target, by `before(backup)`. */
const newestBefore = (backups: InfoBackup[], before: (b: InfoBackup) => boolean): InfoBackup | undefined =>
  [...backups].reverse().find(before);

type TargetCheck = { ok: true; backup: InfoBackup; type: string; value?: string } | { ok: false; reason: RestoreRefusal; detail: string };

function checkTime(time: string, backups: InfoBackup[], w: NonNullable<PGRestoreStatus['window']>): TargetCheck {
  const target = utcTarget(time);
  const backup = newestBefore(backups, (b) => b.timestamp!.stop * 1000 < target.ms);
  if (!backup) return { ok: false, reason: 'NoBackupBeforeTarget', detail: `no backup ended before the target ${time}; ${bounds(w)}` };
  if (w.to && target.ms > Date.parse(w.to))
    return { ok: false, reason: 'TargetOutsideRecoveryWindow', detail: `the target ${time} is after the last archived WAL; ${bounds(w)}` };
  return { ok: true, backup, type: 'time', value: target.text };
}

function checkLsn(lsn: string, backups: InfoBackup[], w: NonNullable<PGRestoreStatus['window']>): TargetCheck {
  const target = lsnValue(lsn);
  const backup = newestBefore(backups, (b) => lsnValue(b.lsn!.stop) <= target);
  const upper = w.archiveMax ? segmentEndLsn(w.archiveMax) : undefined;
  const lsnBounds = `the repository can recover from LSN ${w.fromLsn} (the end of its oldest backup) to the end of WAL segment ${w.archiveMax}`;
  if (!backup) return { ok: false, reason: 'NoBackupBeforeTarget', detail: `no backup ended before LSN ${lsn}; ${lsnBounds}` };
  if (upper !== undefined && target > upper)
    return { ok: false, reason: 'TargetOutsideRecoveryWindow', detail: `LSN ${lsn} is past the last archived WAL; ${lsnBounds}` };
  return { ok: true, backup, type: 'lsn', value: lsn.toUpperCase() };
}

/** The repository restored from, for messages: the source cluster's repoName or the one given directly. */
const sourceRepoName = (ds: PGDataSource): string | undefined => ds.postgresCluster?.repoName ?? ds.pgbackrest?.repo.name;

/** The set's size as pgBackRest restores it (its database size): the copy's total for its progress (decision 0278). */
const setSize = (backup: InfoBackup): { backupSizeBytes?: number } => (backup.info ? { backupSizeBytes: backup.info.size } : {});

/** The set and pgBackRest type a target needs; xid and name cannot be placed in time before replay: the newest set, and replay tells (TargetNotReached). */
function checkTarget(t: PGDataSource['target'], backups: InfoBackup[], window: NonNullable<PGRestoreStatus['window']>): TargetCheck {
  const newest = backups[backups.length - 1];
  if (t?.time) return checkTime(t.time, backups, window);
  if (t?.lsn) return checkLsn(t.lsn, backups, window);
  if (t?.xid) return { ok: true, backup: newest, type: 'xid', value: t.xid };
  if (t?.name) return { ok: true, backup: newest, type: 'name', value: t.name };
  return { ok: true, backup: newest, type: t?.immediate ? 'immediate' : 'default' };
}

/** Which backup and which pgBackRest target a dataSource's target needs, or why it cannot be restored. */
export function planRestore(dataSource: PGDataSource, source: SourceRepository): RestorePlanResult {
  const backups = usableBackups(source);
  const window = windowOf(source, backups);
  const repo = sourceRepoName(dataSource);
  if (!backups.length) return { ok: false, reason: 'NoBackupBeforeTarget', detail: `${repo} holds no completed backup`, window };
  const t = dataSource.target;
  const check = checkTarget(t, backups, window);
  if (!check.ok) return { ok: false, reason: check.reason, detail: check.detail, window };
  const exclusive = !!t?.exclusive && ['time', 'lsn', 'xid'].includes(check.type);
  return {
    ok: true,
    resolved: {
      stanza: source.stanza?.name,
      ...(source.stanza?.db?.length ? { systemIdentifier: String(source.stanza.db[source.stanza.db.length - 1]['system-id']) } : {}),
      backupLabel: check.backup.label,
      backupStopTime: iso(check.backup.timestamp!.stop),
      backupStopLsn: check.backup.lsn!.stop,
      ...setSize(check.backup),
      window,
      target: {
        type: check.type,
        ...(check.value !== undefined ? { value: check.value } : {}),
        exclusive,
        ...(t?.timeline ? { timeline: t.timeline } : {}),
      },
    },
  };
}

/** Where a repository's stanza lives: its store and path (a volume repository is its own cluster's PVC, never shared). */
function storeLocation(repo: PGBackRestRepo, namespace: string, cluster: string): string | undefined {
  const path = repo.path ?? defaultRepoPath(namespace, cluster);
  if (repo.s3) return `s3 ${repo.s3.endpoint.replace(/^https:\/\//, '')} ${repo.s3.bucket} ${path}`;
  if (repo.gcs) return `gcs ${repo.gcs.endpoint ?? ''} ${repo.gcs.bucket} ${path}`;
  if (repo.azure) return `azure ${repo.azure.endpoint ?? ''} ${repo.azure.container} ${path}`;
  return undefined;
}

/**
 * The restored cluster's repository that is one of the source's, if any. A restored copy has the source's system
 * id, so pgBackRest's stanza-create would accept the source's stanza as its own and the copy would archive into
 * it: refused before anything runs (decision 0291).
 */
export function sharedRepository(
  own: { namespace: string; cluster: string; repos: readonly PGBackRestRepo[] },
  source: { namespace: string; cluster: string; repos: readonly PGBackRestRepo[] },
): { own: string; source: string } | undefined {
  for (const repo of own.repos) {
    const location = storeLocation(repo, own.namespace, own.cluster);
    const theirs = location && source.repos.find((r) => storeLocation(r, source.namespace, source.cluster) === location);
    if (theirs) return { own: repo.name, source: theirs.name };
  }
  return undefined;
}
