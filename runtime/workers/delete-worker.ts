import type { Logger } from '../logging/logger.js';
import { createObjectStore } from '../objectstore/store-factory.js';
import { decodeDeleteEnv, type Env } from '../contracts/worker-env.js';

/**
 * `silo delete object`: removes a BackupRun's data object and its metadata.json
 * (retainPolicy: Delete). Runs in a short-lived Pod that holds the credentials,
 * so the controller never does. Deleting keys that are already gone succeeds.
 */
export async function runDelete(env: Env, logger: Logger): Promise<{ deleted: string[] }> {
  const config = decodeDeleteEnv(env);
  const store = await createObjectStore(config.store);
  const keys = [...config.keys];
  await store.delete(keys);
  logger.info('objects deleted', { keys: keys.map((k) => store.url(k)) });
  return { deleted: keys };
}
