/**
 * What a recovering Cluster restores, decided before any data moves (seed 003,
 * "Restore from a backup" and "Restore from raw object store"). The Cluster
 * reconciler calls these once, writes the result into status.recovery, and
 * never resolves again: the restore worker gets exactly this chain.
 *
 *  - validateRecoverySpec: the checks that need no I/O;
 *  - resolveFromBackup: a completed Backup object and its parents, from their status;
 *  - resolveFromObjectStore: the newest complete backup (or a pinned one) under
 *    `<path>/<source>/`, from the objects alone (metadata.json, validated);
 *  - checkDestination: the new Cluster's own backups must not land on another lineage's
 *    backups, nor ever under its recovery source's prefix;
 *  - checkDecryptionKey: an encrypted chain needs an age identity to mount.
 *
 * Reading metadata.json and listing keys is not payload (principle 1). A store error is
 * never taken as "this backup is incomplete": it fails the resolution with its own reason,
 * so a flaky network cannot make recovery pick an older backup.
 */
import type { ObjectStore as ObjectStoreSpec, SecretKeySelector } from '../../../../src/api/common/types.js';
import type { BackupResource, ClusterSpec, ExternalCluster } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { BACKUP_PHASE } from '../../../../src/api/mysql.cloudnative-mysql.io/phases.js';
import { engineForMethod, MYSQL_ENGINE } from '../../../contracts/engines.js';
import { backupPrefix, completedBackups, METADATA_OBJECT } from '../../../objectstore/object-layout.js';
import { ObjectStoreError, type ObjectStore } from '../../../objectstore/object-store.js';
import { destinationUrl } from '../backup/backup-store.js';
import { describeBucket, storeRoot } from '../backup/store-provider.js';
import { ANNOTATION_DELETE_REMOTE, ANNOTATION_EXPIRED, recordedStore, type BackupObject } from '../retention/remote-deletion.js';
import { failure, isFailure, type Failure } from './cluster-reasons.js';
import { foldersOf, PrefixScan, whyChain } from './recovery-prefix-scan.js';

export type BackupType = 'full' | 'differential' | 'incremental';

/** One backup to restore; a chain is a full backup and the increments on top of it, oldest first. */
export interface RecoveryLink {
  readonly backupId: string;
  readonly type: BackupType;
  readonly parentBackupId?: string;
  /** Keys relative to the bucket. */
  readonly metadataKey: string;
  readonly dataKey: string;
  /** SHA256 of the stored bytes: the restore fails on any other (principle 3). */
  readonly sha256: string;
  readonly sizeBytes?: number;
  readonly compression: 'none' | 'gzip' | 'zstd';
  readonly encrypted: boolean;
  readonly endGTID?: string;
  readonly endBinlog?: string;
  readonly stoppedAt?: string;
}

export type RecoverySource =
  { readonly kind: 'backup'; readonly backupName: string } | { readonly kind: 'objectStore'; readonly externalCluster: string };

/** A backup newer than the one chosen that recovery passed over, and why (for an Event and status.recovery.skipped). */
export interface SkippedBackup {
  readonly backupId: string;
  readonly backupName: string;
  readonly why: string;
}

export interface ResolvedRecovery {
  readonly source: RecoverySource;
  /** The store to read from (Secret references, never values). */
  readonly objectStore: ObjectStoreSpec;
  /** Which field objectStore came from, for messages. */
  readonly objectStoreFrom: string;
  /** Oldest (the full backup) first; the last link is the backup recovered to. */
  readonly chain: readonly RecoveryLink[];
  readonly backupID: string;
  /** The Cluster the backups were taken of (the prefix's cluster segment). */
  readonly sourceCluster: string;
  /** `<path>/<cluster>/` in objectStore's bucket or container: a recovered Cluster never writes under it. */
  readonly sourcePrefix: string;
  /**
   * `metadata`: every link was read from its metadata.json and its data object's size checked.
   * `backupStatus`: taken from the Backups' status; the codec from their object store's spec.
   * Either way the restore worker reads each metadata.json and refuses another SHA256.
   */
  readonly linksFrom: 'metadata' | 'backupStatus';
  readonly skipped: readonly SkippedBackup[];
  readonly resolvedAt: string;
}

const trimPath = (path: string | undefined): string => (path ?? '').replace(/^\/+|\/+$/g, '');

/** `<path>/<cluster>/`, always with the trailing slash: cluster `prod` never matches `prod-2/` or `production/`. */
export const clusterPrefix = (path: string | undefined, cluster: string): string =>
  [trimPath(path), cluster].filter(Boolean).join('/') + '/';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------------------------
// The spec alone

const FIELD = 'spec.bootstrap.recovery';

/** The externalClusters entry recovery reads from, or why there is none usable. */
export function recoverySourceEntry(spec: ClusterSpec, source: string): ExternalCluster | Failure {
  const entries = spec.externalClusters ?? [];
  const entry = entries.find((e) => e.name === source);
  if (!entry) {
    const names = entries.map((e) => e.name);
    return failure(
      'RecoverySourceNotFound',
      `${FIELD}.source is ${source}, but spec.externalClusters ${names.length ? `has only ${names.join(', ')}` : 'is empty'}`,
    );
  }
  if (!entry.objectStore)
    return failure('RecoverySourceHasNoObjectStore', `spec.externalClusters entry ${source} (${FIELD}.source) has no objectStore`);
  return entry;
}

function describeTarget(target: NonNullable<NonNullable<ClusterSpec['bootstrap']>['recovery']>['recoveryTarget']): string {
  if (target?.targetGTID) return `targetGTID ${target.targetGTID}`;
  if (target?.targetTime) return `targetTime ${target.targetTime}`;
  if (target?.targetBinlog) return `targetBinlog ${target.targetBinlog.file}:${target.targetBinlog.position}`;
  return 'empty';
}

/** The recovery checks that need no I/O; undefined when the spec asks for nothing Silo refuses. */
export function validateRecoverySpec(spec: ClusterSpec): Failure | undefined {
  const recovery = spec.bootstrap?.recovery;
  if (!recovery) return undefined;
  if (!!recovery.backup === !!recovery.source)
    return failure('RecoverySpecInvalid', `${FIELD} sets ${recovery.backup ? 'both backup and source' : 'neither backup nor source'}`);
  if (recovery.backupID && !recovery.source)
    return failure('RecoverySpecInvalid', `${FIELD}.backupID is set without ${FIELD}.source`, 'set source or remove backupID');
  if (recovery.source) {
    const entry = recoverySourceEntry(spec, recovery.source);
    if (isFailure(entry)) return entry;
  }
  if (recovery.recoveryTarget)
    return failure(
      'RecoveryTargetUnsupported',
      `${FIELD}.recoveryTarget (${describeTarget(recovery.recoveryTarget)}) asks for point-in-time recovery, which replays binlogs archived after the base backup; Silo does not archive binlogs yet`,
    );
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// From a Backup object

type Meta = { name?: string; annotations?: Record<string, string>; deletionTimestamp?: string };
const metaOf = (b: BackupResource): Meta => b.metadata as Meta;
const nameOf = (b: BackupResource): string => metaOf(b).name ?? '';

/** Why a Backup cannot be restored from (or serve as a parent), or undefined when it is completed and kept. */
function unusable(backup: BackupResource): Failure | undefined {
  const name = nameOf(backup);
  const meta = metaOf(backup);
  const status = backup.status ?? {};
  const expiredAt = meta.annotations?.[ANNOTATION_EXPIRED];
  if (expiredAt)
    return failure(
      'BackupExpired',
      `Backup ${name} was expired by retention at ${expiredAt} (${ANNOTATION_EXPIRED}); its objects are being deleted`,
    );
  if (meta.deletionTimestamp) {
    if (meta.annotations?.[ANNOTATION_DELETE_REMOTE] === 'true')
      return failure('BackupExpired', `Backup ${name} is being deleted together with its objects (${ANNOTATION_DELETE_REMOTE}: "true")`);
    return failure(
      'BackupExpired',
      `Backup ${name} is being deleted; its objects stay in the store`,
      'recover from them with bootstrap.recovery.source and an externalClusters entry, or name a Backup that is kept',
    );
  }
  if (status.phase === BACKUP_PHASE.Failed)
    return failure('BackupFailed', `Backup ${name} failed (${status.reason ?? 'no reason'}: ${status.error ?? 'no error recorded'})`);
  if (status.phase !== BACKUP_PHASE.Completed)
    return failure('BackupNotCompleted', `Backup ${name} is ${status.phase ?? BACKUP_PHASE.Pending}, not completed`);
  return undefined;
}

interface Located {
  readonly store: ObjectStoreSpec;
  readonly from: string;
  readonly prefix: string;
}

/** The store a Backup was written to: the first candidate whose layout gives its status.destinationPath; or why none does. */
function locate(backup: BackupResource, stores: ReadonlyArray<{ store: ObjectStoreSpec; from: string }>): Located | string {
  const { backupId, destinationPath, sha256 } = backup.status ?? {};
  if (!backupId || !destinationPath || !sha256)
    return `its status has no ${!backupId ? 'backupId' : !sha256 ? 'sha256' : 'destinationPath'}`;
  const recorded = destinationPath.replace(/\/*$/, '/');
  for (const { store, from } of stores) {
    const prefix = backupPrefix({ path: store.path ?? '', cluster: backup.spec.cluster.name, backupName: nameOf(backup), backupId });
    if (destinationUrl(store, prefix) === recorded) return { store, from, prefix };
  }
  const tried = stores.map(({ store, from }) => `${from} (${describeBucket(store)}, path "${store.path ?? ''}")`);
  return tried.length
    ? `its data is at ${destinationPath}, where none of ${tried.join(', ')} points`
    : `its data is at ${destinationPath}, but it has no spec.objectStore and its Cluster ${backup.spec.cluster.name} is gone or has no spec.backup.objectStore`;
}

function linkFromStatus(backup: BackupResource, located: Located): RecoveryLink {
  const s = backup.status!;
  const engine = engineForMethod(s.method) ?? MYSQL_ENGINE;
  return {
    backupId: s.backupId!,
    type: s.type ?? 'full',
    ...(s.parentBackupId ? { parentBackupId: s.parentBackupId } : {}),
    metadataKey: located.prefix + METADATA_OBJECT,
    dataKey: located.prefix + engine.dataObject,
    sha256: s.sha256!,
    ...(s.sizeBytes !== undefined ? { sizeBytes: s.sizeBytes } : {}),
    compression: located.store.compression?.algorithm ?? 'zstd',
    encrypted: !!located.store.encryption,
    ...(s.endGTID ? { endGTID: s.endGTID } : {}),
    ...(s.endBinlog ? { endBinlog: s.endBinlog } : {}),
    ...(s.stoppedAt ? { stoppedAt: s.stoppedAt } : {}),
  };
}

/** Follows status.parentBackupId back to the full backup: every link a completed, kept Backup of the same Cluster in the same store. */
function chainFromStatus(backup: BackupResource, all: readonly BackupResource[], located: Located): RecoveryLink[] | Failure {
  const chain = [linkFromStatus(backup, located)];
  const store = [{ store: located.store, from: located.from }];
  const broken = (what: string) => failure('BackupChainIncomplete', `Backup ${nameOf(backup)} (${chain.at(-1)!.backupId}) ${what}`);
  for (let link = chain[0]; link.type !== 'full'; link = chain[0]) {
    const parentId = link.parentBackupId;
    if (!parentId) return broken(`needs the parent of ${link.type} backup ${link.backupId}, which its status does not record`);
    if (chain.some((l) => l.backupId === parentId)) return broken(`has parent links that loop at ${parentId}`);
    const parent = all.find((b) => b.status?.backupId === parentId && b.spec?.cluster?.name === backup.spec.cluster.name);
    if (!parent)
      return broken(`needs parent backup ${parentId}, and no Backup of Cluster ${backup.spec.cluster.name} in the namespace has that ID`);
    const refused = unusable(parent);
    if (refused) return broken(`needs parent backup ${parentId}: ${refused.message.split(';')[0]}`);
    const where = locate(parent, store);
    if (typeof where === 'string') return broken(`needs parent backup ${parentId} (Backup ${nameOf(parent)}), but ${where}`);
    chain.unshift(linkFromStatus(parent, where));
  }
  return chain;
}

export interface BackupRecoveryContext {
  /** spec.bootstrap.recovery.backup.name. */
  readonly backupName: string;
  /** spec.backup.objectStore of the Backup's Cluster, when that Cluster still exists. */
  readonly clusterStore?: ObjectStoreSpec;
  readonly now?: Date;
}

/**
 * Recovery from a Backup object (`backup`: read fresh from the API server; undefined when it does
 * not exist). `all`: every Backup in the namespace, for the parents of an incremental or differential.
 */
export function resolveFromBackup(
  backup: BackupResource | undefined,
  all: readonly BackupResource[],
  context: BackupRecoveryContext,
): ResolvedRecovery | Failure {
  if (!backup) return failure('BackupNotFound', `Backup ${context.backupName} (${FIELD}.backup.name) does not exist in the namespace`);
  const refused = unusable(backup);
  if (refused) return refused;
  const clusterName = backup.spec.cluster.name;
  const recorded = recordedStore(backup as BackupObject);
  const candidates = [
    ...(backup.spec.objectStore ? [{ store: backup.spec.objectStore, from: `Backup ${nameOf(backup)}'s spec.objectStore` }] : []),
    ...(recorded ? [{ store: recorded, from: `Backup ${nameOf(backup)}'s recorded object store` }] : []),
    ...(context.clusterStore ? [{ store: context.clusterStore, from: `Cluster ${clusterName}'s spec.backup.objectStore` }] : []),
  ];
  const located = locate(backup, candidates);
  if (typeof located === 'string') return failure('BackupLocationUnknown', `Backup ${nameOf(backup)} cannot be located: ${located}`);
  const chain = chainFromStatus(backup, all, located);
  if (isFailure(chain)) return chain;
  return {
    source: { kind: 'backup', backupName: nameOf(backup) },
    objectStore: located.store,
    objectStoreFrom: located.from,
    chain,
    backupID: chain.at(-1)!.backupId,
    sourceCluster: clusterName,
    sourcePrefix: clusterPrefix(located.store.path, clusterName),
    linksFrom: 'backupStatus',
    skipped: [],
    resolvedAt: (context.now ?? new Date()).toISOString(),
  };
}

// ---------------------------------------------------------------------------------------------
// From the object store alone

/** A store error as a Failure; undefined for anything that is not one (a bug: let it throw). */
export function storeFailure(error: unknown, where: string): Failure | undefined {
  if (!(error instanceof ObjectStoreError)) return undefined;
  const what = `reading ${where} failed: ${error.message}`;
  if (error.failure === 'auth') return failure('ObjectStoreAccessDenied', what);
  if (error.failure === 'network') return failure('ObjectStoreUnreachable', what);
  if (error.failure === 'not-found') return failure('ObjectStoreBucketNotFound', what);
  return failure('ObjectStoreFailed', what);
}

/** Up to `n` IDs on each side of `id` among the sorted `ids`. */
export function nearestIds(ids: readonly string[], id: string, n = 3): { before: string[]; after: string[] } {
  return { before: ids.filter((i) => i < id).slice(-n), after: ids.filter((i) => i > id).slice(0, n) };
}

/** One line for an Event or status.recovery.skipped: how many newer backups were passed over, and why. */
export function describeSkipped(skipped: readonly SkippedBackup[], max = 5): string {
  if (!skipped.length) return '';
  const listed = skipped.slice(0, max).map((s) => `${s.backupId} (${s.why})`);
  const more = skipped.length > max ? `, and ${skipped.length - max} more` : '';
  return `skipped ${plural(skipped.length, 'newer backup')}: ${listed.join(', ')}${more}`;
}

/**
 * Recovery from the objects under `<path>/<entry.name>/` alone: the newest backup whose chain
 * is complete, or exactly `backupID` when pinned (empty: the newest). A backup is complete when its metadata.json
 * is present and valid, names its own ID, and its data object is listed with the size
 * metadata.json records.
 */
export async function resolveFromObjectStore(
  client: ObjectStore,
  entry: ExternalCluster,
  backupID?: string,
  now = new Date(),
): Promise<ResolvedRecovery | Failure> {
  const spec = entry.objectStore;
  if (!spec) return failure('RecoverySourceHasNoObjectStore', `spec.externalClusters entry ${entry.name} has no objectStore`);
  const prefix = clusterPrefix(spec.path, entry.name);
  const url = destinationUrl(spec, prefix);
  try {
    const scan = new PrefixScan(client, foldersOf(await client.list(prefix), prefix));
    const picked = backupID ? await pinned(scan, backupID, url) : await newest(scan, url);
    if (isFailure(picked)) return picked;
    return {
      source: { kind: 'objectStore', externalCluster: entry.name },
      objectStore: spec,
      objectStoreFrom: `spec.externalClusters entry ${entry.name}'s objectStore`,
      chain: picked.links,
      backupID: picked.links.at(-1)!.backupId,
      sourceCluster: entry.name,
      sourcePrefix: prefix,
      linksFrom: 'metadata',
      skipped: picked.skipped,
      resolvedAt: now.toISOString(),
    };
  } catch (error) {
    const failed = storeFailure(error, url);
    if (failed) return failed;
    throw error;
  }
}

type Picked = { readonly links: RecoveryLink[]; readonly skipped: SkippedBackup[] };

async function newest(scan: PrefixScan, url: string): Promise<Picked | Failure> {
  const skipped: SkippedBackup[] = [];
  for (const id of scan.ids().reverse()) {
    const chain = await scan.chain(id);
    if ('links' in chain) return { links: chain.links, skipped };
    skipped.push({ backupId: id, backupName: scan.nameOf(id), why: whyChain(id, chain) });
  }
  if (!skipped.length) return failure('NoCompleteBackups', `no backups are under ${url}: the prefix is empty`);
  return failure('NoCompleteBackups', `no complete backup is under ${url}: ${describeSkipped(skipped).replace(/newer /, '')}`);
}

async function pinned(scan: PrefixScan, id: string, url: string): Promise<Picked | Failure> {
  if (!scan.ids().includes(id)) {
    const ids = scan.ids(true);
    const { before, after } = nearestIds(ids, id);
    const near = [...(before.length ? [`before it ${before.join(', ')}`] : []), ...(after.length ? [`after it ${after.join(', ')}`] : [])];
    const present = ids.length ? `; the nearest IDs present are ${near.join('; ')}` : '; no backup with a metadata.json is there';
    return failure('BackupIDNotFound', `backup ID ${id} (${FIELD}.backupID) is not under ${url}${present}`);
  }
  const chain = await scan.chain(id);
  if ('links' in chain) return { links: chain.links, skipped: [] };
  const reason = chain.brokenAt === id && !chain.parentLink ? 'BackupIncomplete' : 'BackupChainIncomplete';
  return failure(reason, `backup ${id} under ${url} cannot be restored: ${whyChain(id, chain)}`);
}

// ---------------------------------------------------------------------------------------------
// The new Cluster's own destination, and the age identity

export interface Destination {
  /** The new Cluster's name: its backups go to `<path>/<name>/`. */
  readonly clusterName: string;
  /** Its spec.backup.objectStore; without one there is nothing to check. */
  readonly objectStore?: ObjectStoreSpec;
  /** spec.backup.continueLineage: this Cluster continues the backups already there. */
  readonly continueLineage?: boolean;
}

/** DestinationIsRecoverySource when the destination and the source's prefix overlap in one bucket (whatever continueLineage says). */
export function destinationOverlapsSource(
  destination: Destination,
  recovery: Pick<ResolvedRecovery, 'objectStore' | 'sourcePrefix'> | undefined,
): Failure | undefined {
  const store = destination.objectStore;
  // The provider and bucket alone decide, not the endpoint: two spellings of one endpoint must not slip through.
  if (!store || !recovery || storeRoot(store) !== storeRoot(recovery.objectStore)) return undefined;
  const mine = clusterPrefix(store.path, destination.clusterName);
  const source = recovery.sourcePrefix;
  if (!mine.startsWith(source) && !source.startsWith(mine)) return undefined;
  const relation = mine === source ? 'is' : mine.startsWith(source) ? 'lies under' : 'contains';
  return failure(
    'DestinationIsRecoverySource',
    `spec.backup.objectStore puts this Cluster's backups under ${destinationUrl(store, mine)}, which ${relation} its recovery source's prefix ${destinationUrl(recovery.objectStore, source)}; continueLineage does not lift this`,
  );
}

/**
 * The new Cluster's destination: never overlapping its recovery source, and (unless it continues
 * that lineage) holding no complete backup yet. `client` reads the destination's store.
 */
export async function checkDestination(
  client: ObjectStore,
  destination: Destination,
  recovery?: Pick<ResolvedRecovery, 'objectStore' | 'sourcePrefix'>,
): Promise<Failure | undefined> {
  const overlap = destinationOverlapsSource(destination, recovery);
  if (overlap) return overlap;
  const store = destination.objectStore;
  if (!store || destination.continueLineage) return undefined;
  const prefix = clusterPrefix(store.path, destination.clusterName);
  const url = destinationUrl(store, prefix);
  let keys: string[];
  try {
    keys = await client.list(prefix);
  } catch (error) {
    const failed = storeFailure(error, url);
    if (failed) return failed;
    throw error;
  }
  const complete = completedBackups(keys, trimPath(store.path), destination.clusterName);
  if (!complete.length) return undefined;
  return failure(
    'DestinationNotEmpty',
    `${url} (spec.backup.objectStore) already holds ${plural(complete.length, 'complete backup')} (newest ${complete.at(-1)!.backupId}) of an earlier Cluster named ${destination.clusterName}`,
  );
}

/**
 * DecryptionFailed, before any data moves, when the chain is age-encrypted and no identity will be
 * mounted. `identity`: the Secret key the restore Job gets; by default the recovery store's.
 */
export function checkDecryptionKey(
  recovery: Pick<ResolvedRecovery, 'chain' | 'objectStore' | 'objectStoreFrom'>,
  identity: SecretKeySelector | undefined = recovery.objectStore.encryption?.age.identitySecretRef,
): Failure | undefined {
  const encrypted = recovery.chain.filter((l) => l.encrypted).map((l) => l.backupId);
  if (!encrypted.length || identity) return undefined;
  return failure(
    'DecryptionFailed',
    `backup ${encrypted.join(', ')} ${encrypted.length === 1 ? 'is' : 'are'} age-encrypted and ${recovery.objectStoreFrom} has no encryption.age.identitySecretRef`,
    'reference the age identity (AGE-SECRET-KEY-1…) of one of the recipients in encryption.age.identitySecretRef',
  );
}
