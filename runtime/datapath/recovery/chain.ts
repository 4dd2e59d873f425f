/**
 * The chain a recovery restores, read from the store before anything on the volume changes: each
 * link's metadata.json (checked against the sha256 the controller resolved, when it gave one), the
 * parent order, the engine, and two cheap checks per link that fail fast where a full download
 * would fail late: the stored object's size, and (encrypted links) that its age header opens with
 * the identity.
 */
import { ConfigError } from '../../contracts/config-error.js';
import { engineForMethod, engineNamed, type EngineDescriptor } from '../../contracts/engines.js';
import { ObjectStoreError, type ObjectStore } from '../../objectstore/object-store.js';
import { AgeKeyError, parseIdentities } from '../age/age-keys.js';
import { parseHeaderFor } from '../age/age-header.js';
import { readBackupMetadata } from '../backup-metadata.js';
import { StoredDataDamagedError } from '../restore-pipeline.js';
import type { CompressionAlgorithm } from '../stages/compression.js';

/** One link of a backup chain, oldest (the full backup) first. */
export interface ChainLink {
  readonly key: string;
  readonly sha256: string;
  readonly compression: CompressionAlgorithm;
  readonly backupId: string;
  /** metadata.json's sizes.storedBytes (progress, and the size check). */
  readonly storedBytes?: number;
  /** age-encrypted: the identity opens it. Undefined: encrypted when an identity is given (callers before issue 13). */
  readonly encrypted?: boolean;
  /** metadata.json's codec.recipientFingerprints. */
  readonly recipientFingerprints?: readonly string[];
}

/** metadata.json says one thing, the Backup's status (SILO_CHAIN_SHA256S) another: it was replaced after the backup. */
export class MetadataMismatchError extends StoredDataDamagedError {
  constructor(key: string, expected: string, recorded: string) {
    super(
      key,
      `metadata.json at ${key} records sha256 ${recorded.slice(0, 12)}…, but the Backup recorded ${expected.slice(0, 12)}… when it completed; metadata.json was replaced after the backup, so nothing was restored`,
    );
    this.name = 'MetadataMismatchError';
  }
}

/** Reads the chain's metadata.json documents (oldest first) and checks them against each other and the controller's checksums. */
export async function resolveChain(
  store: ObjectStore,
  metadataKeys: readonly string[],
  options: { expectedSha256s?: readonly string[]; engine?: string },
): Promise<{ chain: ChainLink[]; engine: EngineDescriptor }> {
  const chain: ChainLink[] = [];
  let engine: EngineDescriptor | undefined;
  for (const [index, key] of metadataKeys.entries()) {
    const metadata = await readBackupMetadata(store, key);
    const previous = chain[chain.length - 1];
    if (previous && metadata.parentBackupId && metadata.parentBackupId !== previous.backupId) {
      throw new ConfigError(
        `backup ${metadata.backupId} is based on ${metadata.parentBackupId}, not on ${previous.backupId}; list the chain oldest first`,
      );
    }
    const expected = options.expectedSha256s?.[index];
    if (expected && expected !== metadata.sha256) throw new MetadataMismatchError(key, expected, metadata.sha256);
    // The engine that wrote the backup restores it: metadata.json's method names it, else SILO_ENGINE (mysql).
    engine ??= engineForMethod(metadata.method) ?? engineNamed(options.engine ?? 'mysql');
    chain.push({
      key: metadata.objectKey,
      sha256: metadata.sha256,
      compression: metadata.codec.compression,
      backupId: metadata.backupId,
      storedBytes: metadata.sizes.storedBytes,
      encrypted: metadata.codec.encryption === 'age',
      recipientFingerprints: metadata.codec.recipientFingerprints,
    });
  }
  if (!engine) throw new ConfigError(`no engine restores this chain; set SILO_ENGINE`);
  return { chain, engine };
}

/** The header of an age file is far below this; reading it costs one small ranged GET. */
const HEADER_PROBE_BYTES = 64 * 1024;

async function readPrefix(store: ObjectStore, key: string, bytes: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of await store.createReadStream(key, { start: 0, end: bytes })) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/**
 * Before any download: every link's object exists with the size metadata.json records, and each
 * encrypted link's age header opens with the identity (or the identity is missing: decryption).
 */
export async function preflightChain(store: ObjectStore, chain: readonly ChainLink[], identity: string | undefined): Promise<void> {
  const identities = identity === undefined ? undefined : parseIdentities(identity);
  for (const link of chain) {
    const size = await store.size(link.key);
    if (size === undefined)
      throw new ObjectStoreError('not-found', `backup ${link.backupId}'s data object ${store.url(link.key)} does not exist`);
    if (link.storedBytes !== undefined && size !== link.storedBytes)
      throw new StoredDataDamagedError(
        link.key,
        `the stored object ${store.url(link.key)} is ${size} bytes, metadata.json records ${link.storedBytes}; it was truncated or replaced, so nothing was restored`,
      );
    if (!isEncrypted(link, identity)) continue;
    if (!identities)
      throw new AgeKeyError(
        `backup ${link.backupId} is age-encrypted but no identity was given; mount the age identity Secret (SILO_AGE_IDENTITY or SILO_AGE_IDENTITY_FILE)`,
      );
    const prefix = await readPrefix(store, link.key, Math.min(size, HEADER_PROBE_BYTES));
    try {
      parseHeaderFor(prefix, identities, link.recipientFingerprints, { ended: size <= HEADER_PROBE_BYTES });
    } catch (error) {
      if (error instanceof Error) error.message = `backup ${link.backupId}: ${error.message}`;
      throw error;
    }
  }
}

/** Whether a link is opened with the identity. */
export const isEncrypted = (link: ChainLink, identity: string | undefined): boolean => link.encrypted ?? identity !== undefined;
