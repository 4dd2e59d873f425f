/** Finalizer edits as JSON merge patches guarded by resourceVersion, so a concurrent edit fails with 409 and is retried, never lost. */
import type { KindRef, KubeObject } from '../reconciler.js';
import type { KubeClient } from './client.js';
import { isConflict } from './custom-objects.js';
import { keyOf } from './owner-keys.js';

/** The finalizer list with `finalizer` added or removed, or undefined when nothing changes. */
export function withFinalizer(finalizers: readonly string[] | undefined, finalizer: string, present: boolean): string[] | undefined {
  const list = finalizers ?? [];
  if (list.includes(finalizer) === present) return undefined;
  return present ? [...list, finalizer] : list.filter((f) => f !== finalizer);
}

/** Adds or removes `finalizer`; returns the updated object (or the same one when nothing changed). */
export async function setFinalizer<T extends KubeObject>(
  client: Pick<KubeClient, 'get' | 'patch'>,
  kind: KindRef,
  object: T,
  finalizer: string,
  present: boolean,
): Promise<T> {
  let current: T | undefined = object;
  for (let attempt = 0; ; attempt++) {
    const next = withFinalizer(current.metadata?.finalizers, finalizer, present);
    if (!next) return current;
    try {
      return await client.patch<T>(kind, keyOf(current), {
        metadata: { finalizers: next, resourceVersion: current.metadata?.resourceVersion },
      });
    } catch (error) {
      if (!isConflict(error) || attempt >= 3) throw error;
      // Someone else wrote the object since we read it: read it again and redo the edit.
      current = await client.get<T>(kind, keyOf(current));
      if (!current) return object;
    }
  }
}
