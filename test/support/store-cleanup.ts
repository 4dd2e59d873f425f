// Tests that write to the stack's shared buckets remove what they wrote: the stack's data lives on this
// machine between runs, and a few hundred MB left behind per run filled the disk within a day of CI runs
// (two ENOSPC failures). Through the same store code the workers use, so it works on every store.
import { storeConfigFromEnv } from '../../runtime/contracts/worker-env.js';
import { createObjectStore } from '../../runtime/objectstore/store-factory.js';

/**
 * Deletes every object under `prefix` (a test's own, e.g. `rt/minio/1796...`) in the store the env names.
 * Best effort: a store that is down or refuses is reported and skipped, so one failure neither hides the
 * test's own result nor keeps the other prefixes from being removed.
 */
export async function removeStorePrefix(storeEnv: Record<string, string>, prefix: string): Promise<number> {
  if (prefix.replace(/\/+$/, '').split('/').filter(Boolean).length < 2)
    throw new Error(`refusing to remove ${JSON.stringify(prefix)}: give a test's own prefix (at least two path segments)`);
  try {
    return await removeOrThrow(storeEnv, prefix);
  } catch (error) {
    console.warn(`      (could not remove ${prefix} after the test: ${(error as Error).message.split('\n')[0]})`);
    return 0;
  }
}

async function removeOrThrow(storeEnv: Record<string, string>, prefix: string): Promise<number> {
  const store = await createObjectStore(storeConfigFromEnv(storeEnv));
  const keys = await store.list(prefix.endsWith('/') ? prefix : `${prefix}/`);
  if (keys.length > 0) await store.delete(keys);
  return keys.length;
}
