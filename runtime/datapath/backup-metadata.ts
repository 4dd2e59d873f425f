import type { BackupMetadata } from '../../src/api/metadata/types.js';
import { validateBackupMetadata } from '../../src/validation/backup-metadata-validation.js';
import type { ObjectStore } from '../objectstore/object-store.js';

export { recipientFingerprint } from './age/age-keys.js';

export class InvalidMetadataError extends Error {
  constructor(key: string, problems: string[]) {
    super(`metadata.json at ${key} is invalid: ${problems.join('; ')}`);
    this.name = 'InvalidMetadataError';
  }
}

/** Validates against schemas/metadata and writes metadata.json. Call it last: its presence marks a complete backup. */
export async function writeBackupMetadata(store: ObjectStore, key: string, metadata: BackupMetadata): Promise<void> {
  const { issues } = validateBackupMetadata(metadata);
  if (issues.length)
    throw new InvalidMetadataError(
      key,
      issues.map((i) => i.message),
    );
  await store.putSmall(key, Buffer.from(JSON.stringify(metadata, null, 2) + '\n'), 'application/json');
}

export async function readBackupMetadata(store: ObjectStore, key: string): Promise<BackupMetadata> {
  const body = await store.getSmall(key);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new InvalidMetadataError(key, [`not JSON (${(error as Error).message})`]);
  }
  const { issues } = validateBackupMetadata(parsed);
  if (issues.length)
    throw new InvalidMetadataError(
      key,
      issues.map((i) => i.message),
    );
  return parsed as BackupMetadata;
}
