/**
 * Object keys, as seed 003 fixes them (test/fixtures/seed-documents/003-cloudnative-mysql-physical-backup.txt):
 * `<path>/<cluster>/<backup-name>/<backup-id>/<data object>` and `.../metadata.json`. The data
 * object's name is the engine's (`backup.xbstream` for mysql: runtime/contracts/engines.ts).
 */
export const METADATA_OBJECT = 'metadata.json';

export interface BackupLocation {
  readonly path: string;
  readonly cluster: string;
  readonly backupName: string;
  readonly backupId: string;
}

const join = (...parts: string[]) => parts.filter(Boolean).join('/');

export function backupPrefix(location: BackupLocation): string {
  return join(location.path.replace(/^\/+|\/+$/g, ''), location.cluster, location.backupName, location.backupId) + '/';
}

/** `dataObject`: the engine's data object name (EngineDescriptor.dataObject). */
export function dataKey(location: BackupLocation, dataObject: string): string {
  return backupPrefix(location) + dataObject;
}

export function metadataKey(location: BackupLocation): string {
  return backupPrefix(location) + METADATA_OBJECT;
}

/** Time-ordered backup IDs: lexical order is chronological order. */
export function newBackupId(now = new Date()): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Parses keys listed under `<path>/<cluster>/` into complete backups (those with
 * metadata.json; a backup without it is incomplete by definition).
 */
export function completedBackups(keys: string[], path: string, cluster: string): Array<BackupLocation & { metadataKey: string }> {
  const prefix = join(path.replace(/^\/+|\/+$/g, ''), cluster) + '/';
  const found: Array<BackupLocation & { metadataKey: string }> = [];
  for (const key of keys) {
    if (!key.startsWith(prefix) || !key.endsWith('/' + METADATA_OBJECT)) continue;
    const [backupName, backupId, file, ...rest] = key.slice(prefix.length).split('/');
    if (rest.length || file !== METADATA_OBJECT || !backupName || !backupId) continue;
    found.push({ path, cluster, backupName, backupId, metadataKey: key });
  }
  return found.sort((a, b) => a.backupId.localeCompare(b.backupId));
}
