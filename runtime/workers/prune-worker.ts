/**
 * `silo prune`: deletes whole backups — every object under each listed
 * backup prefix — for retention and for the opt-in remote-deletion finalizer.
 * It runs in a short-lived Job that holds the store credentials (principle 5).
 *
 * metadata.json goes first: a backup without it is incomplete by definition
 * (object-layout.ts), so a prune that stops half-way leaves a backup that
 * nothing will restore from or list as complete, never one that looks whole
 * but lacks its data. A prefix that is already empty counts as deleted.
 *
 * Input: SILO_PRUNE_PREFIXES, a JSON array of prefixes, each
 * `<path>/<cluster>/<backup-name>/<backup-id>/`. Output (one JSON line, also
 * the termination message): which prefixes (by index) were deleted and which
 * failed — indices, not keys, so 4 KiB holds any batch the controller sends.
 */
import type { Logger } from '../logging/logger.js';
import { METADATA_OBJECT } from '../objectstore/object-layout.js';
import type { ObjectStore } from '../objectstore/object-store.js';
import { createObjectStore } from '../objectstore/store-factory.js';
import { classifyFailure, ConfigError, type ExitReason } from './exit-codes.js';
import { required, storeConfigFromEnv, type Env } from './worker-env.js';

export interface PruneResult {
  readonly outcome: 'completed' | 'failed';
  /** Exit reason of the first failure (runtime/workers/exit-codes.ts). */
  readonly reason?: ExitReason;
  /** Indices into SILO_PRUNE_PREFIXES whose objects are all gone. */
  readonly deleted: number[];
  readonly failed: Array<{ index: number; error: string }>;
  /** Objects deleted in all. */
  readonly objects: number;
}

/** At least `<cluster>/<backup-name>/<backup-id>/`: a prune never deletes a whole cluster or path by mistake. */
const PREFIX = /^([^/]+\/)*[^/]+\/[^/]+\/[^/]+\/$/;

export function parsePrefixes(raw: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('SILO_PRUNE_PREFIXES is not JSON; set it to a JSON array of backup prefixes such as ["path/cluster/backup/20260101T000000Z/"]');
  }
  if (!Array.isArray(parsed) || !parsed.length) throw new ConfigError('SILO_PRUNE_PREFIXES must be a non-empty JSON array of backup prefixes');
  for (const [index, prefix] of parsed.entries()) {
    if (typeof prefix !== 'string' || !PREFIX.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..')) {
      throw new ConfigError(`SILO_PRUNE_PREFIXES[${index}] ${JSON.stringify(prefix)} is not a backup prefix; each must be <cluster>/<backup-name>/<backup-id>/ under the store path, ending with "/"`);
    }
  }
  return parsed as string[];
}

/** Deletes one backup: metadata.json first, then the rest. Returns the number of objects deleted. */
export async function pruneBackup(store: ObjectStore, prefix: string): Promise<number> {
  const keys = await store.list(prefix);
  const metadata = keys.filter((key) => key.endsWith('/' + METADATA_OBJECT));
  const rest = keys.filter((key) => !key.endsWith('/' + METADATA_OBJECT));
  if (metadata.length) await store.delete(metadata);
  if (rest.length) await store.delete(rest);
  return keys.length;
}

/** `store` is for tests; the CLI builds it from env. */
export async function runPrune(env: Env, logger: Logger, storeOverride?: ObjectStore): Promise<PruneResult> {
  const prefixes = parsePrefixes(required(env, 'SILO_PRUNE_PREFIXES', 'set it to a JSON array of backup prefixes'));
  const store = storeOverride ?? await createObjectStore(storeConfigFromEnv(env));
  const deleted: number[] = [];
  const failed: Array<{ index: number; error: string }> = [];
  let objects = 0;
  let reason: ExitReason | undefined;
  for (const [index, prefix] of prefixes.entries()) {
    try {
      const count = await pruneBackup(store, prefix);
      objects += count;
      deleted.push(index);
      logger.info('backup deleted', { prefix: store.url(prefix), objects: count });
    } catch (error) {
      reason ??= classifyFailure(error);
      const message = (error as Error).message.replace(/\s+/g, ' ').slice(0, 160);
      failed.push({ index, error: message });
      logger.error('backup not deleted', { prefix: store.url(prefix), error: message });
    }
  }
  return failed.length ? { outcome: 'failed', reason, deleted, failed, objects } : { outcome: 'completed', deleted, failed, objects };
}
