/**
 * The folders under one cluster prefix (`<path>/<cluster>/<backup-name>/<backup-id>/`) and
 * which of them are restorable: metadata.json present, valid (the precompiled validator,
 * decision 0019), naming its own backup ID, and its data object listed with the size
 * metadata.json records. Each backup is examined at most once, and only when asked for, so
 * resolving the newest backup costs a metadata read and a size lookup per link looked at.
 * Used by recovery-resolve.ts (resolveFromObjectStore).
 */
import type { BackupMetadata } from '../../../../src/api/metadata/types.js';
import { validateBackupMetadata } from '../../../../src/validation/backup-metadata-validation.js';
import { engineForMethod, MYSQL_ENGINE } from '../../../contracts/engines.js';
import { METADATA_OBJECT } from '../../../objectstore/object-layout.js';
import { ObjectStoreError, type ObjectStore } from '../../../objectstore/object-store.js';
import type { RecoveryLink } from './recovery-resolve.js';

/** One `<backup-name>/<backup-id>/` folder under the cluster prefix and the files listed in it. */
export interface Folder {
  readonly backupName: string;
  readonly backupId: string;
  readonly prefix: string;
  readonly files: Set<string>;
}

export function foldersOf(keys: readonly string[], prefix: string): Folder[] {
  const folders = new Map<string, Folder>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const [backupName, backupId, file, ...rest] = key.slice(prefix.length).split('/');
    if (rest.length || !backupName || !backupId || !file) continue;
    const id = `${backupName}/${backupId}`;
    if (!folders.has(id)) folders.set(id, { backupName, backupId, prefix: `${prefix}${id}/`, files: new Set() });
    folders.get(id)!.files.add(file);
  }
  return [...folders.values()];
}

function linkFromMetadata(md: BackupMetadata, folder: Folder, dataObject: string): RecoveryLink {
  return {
    backupId: md.backupId,
    type: md.type,
    ...(md.type !== 'full' && md.parentBackupId ? { parentBackupId: md.parentBackupId } : {}),
    metadataKey: folder.prefix + METADATA_OBJECT,
    dataKey: folder.prefix + dataObject,
    sha256: md.sha256,
    sizeBytes: md.sizes.storedBytes,
    compression: md.codec.compression,
    encrypted: md.codec.encryption === 'age',
    ...(md.gtid?.end ? { endGTID: md.gtid.end } : {}),
    ...(md.binlog?.end ? { endBinlog: md.binlog.end } : {}),
    stoppedAt: md.stoppedAt,
  };
}

/** A complete chain, or where it breaks: `parentLink` when the backup at brokenAt is fine but its link to a parent is not. */
export type Chain = { readonly links: RecoveryLink[] } | { readonly brokenAt: string; readonly why: string; readonly parentLink?: boolean };

/** The folders under one cluster prefix; each backup examined at most once. */
export class PrefixScan {
  private readonly examined = new Map<string, Promise<RecoveryLink | string>>();

  constructor(
    private readonly client: ObjectStore,
    readonly folders: readonly Folder[],
  ) {}

  /** Backup IDs, oldest first; `complete`: only those whose folder lists a metadata.json. */
  ids(complete = false): string[] {
    const ids = this.folders.filter((f) => !complete || f.files.has(METADATA_OBJECT)).map((f) => f.backupId);
    return [...new Set(ids)].sort();
  }

  nameOf(id: string): string {
    return this.folders.find((f) => f.backupId === id)?.backupName ?? '';
  }

  /** The backup's link, or why it is not restorable. */
  examine(id: string): Promise<RecoveryLink | string> {
    if (!this.examined.has(id)) this.examined.set(id, this.examineOnce(id));
    return this.examined.get(id)!;
  }

  private async examineOnce(id: string): Promise<RecoveryLink | string> {
    const folders = this.folders.filter((f) => f.backupId === id);
    if (!folders.length) return 'it is not under the prefix';
    const withMetadata = folders.filter((f) => f.files.has(METADATA_OBJECT));
    if (!withMetadata.length) return 'it has no metadata.json: it never finished, or is being deleted';
    if (withMetadata.length > 1) return `its ID is in ${withMetadata.length} folders (${withMetadata.map((f) => f.backupName).join(', ')})`;
    return this.examineFolder(withMetadata[0]);
  }

  private async examineFolder(folder: Folder): Promise<RecoveryLink | string> {
    const md = await this.readMetadata(folder.prefix + METADATA_OBJECT);
    if (typeof md === 'string') return md;
    if (md.backupId !== folder.backupId) return `its metadata.json names backup ID ${md.backupId}`;
    const engine = md.kind === 'physical' ? (engineForMethod(md.method) ?? (md.method ? undefined : MYSQL_ENGINE)) : undefined;
    if (!engine) return `it is not a physical backup Silo restores (kind ${md.kind}, method ${md.method ?? 'none'})`;
    if (!folder.files.has(engine.dataObject)) return `its data object ${engine.dataObject} is missing`;
    const size = await this.sizeOf(folder.prefix + engine.dataObject);
    if (size === undefined) return `its data object ${engine.dataObject} is missing`;
    if (size !== md.sizes.storedBytes) return `its data object is ${size} bytes, metadata.json says ${md.sizes.storedBytes}`;
    return linkFromMetadata(md, folder, engine.dataObject);
  }

  private async readMetadata(key: string): Promise<BackupMetadata | string> {
    let body: Buffer;
    try {
      body = await this.client.getSmall(key);
    } catch (error) {
      if (error instanceof ObjectStoreError && error.failure === 'not-found') return 'its metadata.json disappeared while resolving';
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      return 'its metadata.json is not JSON';
    }
    const { issues } = validateBackupMetadata(parsed);
    if (issues.length)
      return `its metadata.json is invalid (${issues
        .slice(0, 3)
        .map((i) => `${i.path || '/'}: ${i.message}`)
        .join('; ')})`;
    return parsed as BackupMetadata;
  }

  private async sizeOf(key: string): Promise<number | undefined> {
    try {
      return await this.client.size(key);
    } catch (error) {
      if (error instanceof ObjectStoreError && error.failure === 'not-found') return undefined;
      throw error;
    }
  }

  /** The chain ending at `id`, oldest first, or where and why it breaks. */
  async chain(id: string): Promise<Chain> {
    const links: RecoveryLink[] = [];
    for (let current: string | undefined = id; current;) {
      if (links.some((l) => l.backupId === current)) return { brokenAt: current, why: 'its parent links loop', parentLink: true };
      const link = await this.examine(current);
      if (typeof link === 'string') return { brokenAt: current, why: link };
      links.unshift(link);
      if (link.type === 'full') return { links };
      if (!link.parentBackupId)
        return { brokenAt: current, why: `it is ${link.type} but its metadata.json names no parentBackupId`, parentLink: true };
      current = link.parentBackupId;
    }
    return { links };
  }
}

/** Why a chain ending at `id` breaks, as a clause: "it has no metadata.json", "its parent X's data object is missing". */
export function whyChain(id: string, chain: Extract<Chain, { why: string }>): string {
  if (chain.brokenAt === id) return chain.why;
  const parent = `its parent ${chain.brokenAt}`;
  if (chain.why.startsWith('its ')) return `${parent}'s ${chain.why.slice(4)}`;
  return chain.why.startsWith('it ') ? `${parent} ${chain.why.slice(3)}` : `${parent}: ${chain.why}`;
}
