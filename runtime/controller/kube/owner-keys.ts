/** Object keys: of an object, as a work-queue string, and of a child's owners (a SecondaryWatch's toKeys). */
import type { KindRef, KubeObject, ObjectKey } from '../reconciler.js';
import { apiVersionOfKind } from './kinds.js';

export const keyString = (key: ObjectKey): string => (key.namespace ? `${key.namespace}/${key.name}` : key.name);

/** A SecondaryWatch's toKeys for children: the owners of kind `owner` in the object's ownerReferences. */
export const ownerKeysOf =
  (owner: KindRef) =>
  (object: KubeObject): ObjectKey[] =>
    (object.metadata?.ownerReferences ?? [])
      .filter((o) => o.kind === owner.kind && o.apiVersion === apiVersionOfKind(owner))
      .map((o) => ({ namespace: object.metadata?.namespace, name: o.name }));

/** A SecondaryWatch's toKeys for objects that name their parent in one of their own metadata fields. */
const keysNamedBy =
  (nameIn: (metadata: NonNullable<KubeObject['metadata']>) => string | undefined) =>
  (object: KubeObject): ObjectKey[] => {
    const name = object.metadata && nameIn(object.metadata);
    return name ? [{ namespace: object.metadata?.namespace, name }] : [];
  };

/**
 * A worker Job's Pods: the object its template's `annotation` names, in the Pod's namespace. An annotation, not a
 * label: a label value cannot hold every object name (63 characters at most).
 */
export const annotatedKeys = (annotation: string) => keysNamedBy((m) => m.annotations?.[annotation]);

/** Objects that name their owner in a label (a Cluster's name fits one). */
export const labelledKeys = (label: string) => keysNamedBy((m) => m.labels?.[label]);

export const keyOf = (object: KubeObject): ObjectKey => ({
  ...(object.metadata?.namespace ? { namespace: object.metadata.namespace } : {}),
  name: object.metadata?.name ?? '',
});
