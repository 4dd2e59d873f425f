/**
 * `silo prune`: deletes whole backups — every object under each listed
 * backup prefix — for retention and for the opt-in remote-deletion finalizer.
 * It runs in a short-lived Job that holds the store credentials (principle 5, docs/decisions/README.md).
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
import { decodePruneEnv, parsePrefixes, type Env } from '../contracts/worker-env.js';
import type { ExitReason, PruneResult } from '../contracts/worker-result.js';
import { classifyFailure } from './exit-codes.js';

export type { PruneResult };
export { parsePrefixes };

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
  const config = decodePruneEnv(env, { store: !storeOverride });
  const prefixes = config.prefixes;
  const store = storeOverride ?? (await createObjectStore(config.store!));
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
