/**
 * Typed-enough access to Silo's custom objects through client-node's
 * CustomObjectsApi. Status goes through the status subresource as a JSON merge
 * patch, so a reconciler writes only the fields it owns and never races the
 * user's spec edits.
 */
import { ApiException, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { KindRef, KubeObject, ObjectKey } from '../reconciler.js';
import { apiVersionOfKind } from './kinds.js';

export const isNotFound = (error: unknown): boolean => error instanceof ApiException && error.code === 404;
export const isConflict = (error: unknown): boolean => error instanceof ApiException && error.code === 409;
export const isAlreadyExists = isConflict;

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class CustomObjects {
  private readonly api: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.api = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** The object, or undefined when it does not exist. */
  async get<T extends KubeObject = KubeObject>(kind: KindRef, key: ObjectKey): Promise<T | undefined> {
    try {
      const coords = { group: kind.group, version: kind.version, plural: kind.plural, name: key.name };
      return (
        kind.namespaced
          ? await this.api.getNamespacedCustomObject({ ...coords, namespace: key.namespace ?? '' })
          : await this.api.getClusterCustomObject(coords)
      ) as T;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list<T extends KubeObject = KubeObject>(kind: KindRef, namespace?: string, labelSelector?: string): Promise<T[]> {
    const coords = { group: kind.group, version: kind.version, plural: kind.plural, labelSelector };
    const list = (
      namespace && kind.namespaced
        ? await this.api.listNamespacedCustomObject({ ...coords, namespace })
        : await this.api.listClusterCustomObject(coords)
    ) as { items: T[] };
    return list.items;
  }

  async create<T extends KubeObject = KubeObject>(kind: KindRef, object: KubeObject): Promise<T> {
    const body = { apiVersion: apiVersionOfKind(kind), kind: kind.kind, ...object };
    const coords = { group: kind.group, version: kind.version, plural: kind.plural, body };
    return (
      kind.namespaced
        ? await this.api.createNamespacedCustomObject({ ...coords, namespace: object.metadata?.namespace ?? '' })
        : await this.api.createClusterCustomObject(coords)
    ) as T;
  }

  /** JSON merge patch of the main resource (metadata, spec). */
  async patch<T extends KubeObject = KubeObject>(kind: KindRef, key: ObjectKey, patch: object): Promise<T> {
    const coords = { group: kind.group, version: kind.version, plural: kind.plural, name: key.name, body: patch };
    return (
      kind.namespaced
        ? await this.api.patchNamespacedCustomObject({ ...coords, namespace: key.namespace ?? '' }, mergePatch)
        : await this.api.patchClusterCustomObject(coords, mergePatch)
    ) as T;
  }

  /** JSON merge patch of the status subresource: `{ phase: 'running', ... }`. */
  /**
   * `resourceVersion`: a precondition; the API server refuses (409) the patch when the object changed
   * since, or was deleted and re-created under the same name. (A uid in a status patch is not checked.)
   */
  async patchStatus<T extends KubeObject = KubeObject>(
    kind: KindRef,
    key: ObjectKey,
    status: object,
    resourceVersion?: string,
  ): Promise<T> {
    const body = resourceVersion ? { metadata: { resourceVersion }, status } : { status };
    const coords = { group: kind.group, version: kind.version, plural: kind.plural, name: key.name, body };
    return (
      kind.namespaced
        ? await this.api.patchNamespacedCustomObjectStatus({ ...coords, namespace: key.namespace ?? '' }, mergePatch)
        : await this.api.patchClusterCustomObjectStatus(coords, mergePatch)
    ) as T;
  }

  /** Deletes the object; true when it existed. */
  async delete(kind: KindRef, key: ObjectKey, propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<boolean> {
    try {
      const coords = { group: kind.group, version: kind.version, plural: kind.plural, name: key.name, propagationPolicy };
      if (kind.namespaced) await this.api.deleteNamespacedCustomObject({ ...coords, namespace: key.namespace ?? '' });
      else await this.api.deleteClusterCustomObject(coords);
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}
