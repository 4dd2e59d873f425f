/** Finalizer edits as JSON merge patches guarded by resourceVersion, so a concurrent edit fails with 409 and is retried, never lost. */
import type { CustomObjects } from '../../kube/custom-objects.js';
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
  const next = withFinalizer(object.metadata?.finalizers, finalizer, present);
  if (!next) return object;
  return objects.patch<T>(kind, keyOf(object), { metadata: { finalizers: next, resourceVersion: object.metadata?.resourceVersion } });
}
