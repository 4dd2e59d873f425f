import type { Logger } from '../logging/logger.js';
import { createObjectStore } from '../objectstore/store-factory.js';
import { required, storeConfigFromEnv, type Env } from './worker-env.js';

/**
 * `silo delete object`: removes a BackupRun's data object and its metadata.json
 * (retainPolicy: Delete). Runs in a short-lived Pod that holds the credentials,
 * so the controller never does. Deleting keys that are already gone succeeds.
 */
export async function runDelete(env: Env, logger: Logger): Promise<{ deleted: string[] }> {
  const store = await createObjectStore(storeConfigFromEnv(env));
  const key = required(env, 'SILO_DATA_KEY', 'set it to the object key of the backup data');
  const keys = [key, env.SILO_METADATA_KEY || `${key}.metadata.json`];
  await store.delete(keys);
  logger.info('objects deleted', { keys: keys.map((k) => store.url(k)) });
  return { deleted: keys };
}
