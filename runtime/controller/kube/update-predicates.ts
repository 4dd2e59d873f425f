/**
 * Update predicates: which changes of a reconciler's own kind need a pass (Reconciler.ignoresUpdate,
 * ManagerOptions.skipStatusOnlyUpdates; decision 0254).
 */
import type { KubeObject } from '../reconciler.js';

/**
 * True when two versions of an object differ only in status, resourceVersion, managedFields and the annotations
 * named in `ignoredAnnotations` (an empty annotations map counts as none).
 */
export function statusOnlyChange(before: KubeObject, after: KubeObject, ignoredAnnotations: readonly string[] = []): boolean {
  const strip = (o: KubeObject) => {
    const annotations = o.metadata?.annotations
      ? Object.fromEntries(Object.entries(o.metadata.annotations).filter(([name]) => !ignoredAnnotations.includes(name)))
      : undefined;
    const kept = annotations && Object.keys(annotations).length ? annotations : undefined;
    return JSON.stringify({
      ...o,
      status: undefined,
      metadata: { ...o.metadata, resourceVersion: undefined, managedFields: undefined, annotations: kept },
    });
  };
  return strip(before) === strip(after);
}
