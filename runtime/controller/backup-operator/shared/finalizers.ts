/** Finalizer edits as JSON merge patches guarded by resourceVersion, so a concurrent edit fails with 409 and is retried, never lost. */
import { isConflict, type CustomObjects } from '../../kube/custom-objects.js';
import type { KindRef, KubeObject } from '../../reconciler.js';
import { keyOf } from '../../reconciler.js';

/** The finalizer list with `finalizer` added or removed, or undefined when nothing changes. */
export function withFinalizer(finalizers: readonly string[] | undefined, finalizer: string, present: boolean): string[] | undefined {
  const list = finalizers ?? [];
  if (list.includes(finalizer) === present) return undefined;
  return present ? [...list, finalizer] : list.filter((f) => f !== finalizer);
}

/** Adds or removes `finalizer`; returns the updated object (or the same one when nothing changed). */
export async function setFinalizer<T extends KubeObject>(objects: CustomObjects, kind: KindRef, object: T, finalizer: string, present: boolean): Promise<T> {
  let current: T | undefined = object;
  for (let attempt = 0; ; attempt++) {
    const next = withFinalizer(current.metadata?.finalizers, finalizer, present);
    if (!next) return current;
    try {
      return await objects.patch<T>(kind, keyOf(current), { metadata: { finalizers: next, resourceVersion: current.metadata?.resourceVersion } });
    } catch (error) {
      if (!isConflict(error) || attempt >= 3) throw error;
      // Someone else wrote the object since we read it: read it again and redo the edit.
      current = await objects.get<T>(kind, keyOf(current));
      if (!current) return object;
    }
  }
}
