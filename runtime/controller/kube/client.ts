/**
 * The one client a reconciler gets (`ReconcileContext.client`): Silo's custom
 * objects (get, list, create, JSON merge patch of the object and of its status
 * subresource, delete) plus the core and batch calls the reconcilers make.
 * The manager builds it once from the KubeConfig; reconcilers never see the
 * KubeConfig.
 *
 * Timestamps: the informer cache and the custom-object calls hand out the API
 * server's JSON, where a timestamp is an RFC 3339 string. client-node's typed
 * core and batch clients turn the same fields into Date objects; this client
 * turns them back (`Wire<T>`), so an object has one shape whichever path read it.
 */
import {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Job,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import type { KindRef, KubeObject, ObjectKey } from '../reconciler.js';
import { CustomObjects, isAlreadyExists, isNotFound } from './custom-objects.js';
import { serviceDrifted } from './service-drift.js';

/** `T` as the API server's JSON carries it: every Date an RFC 3339 string. */
export type Wire<T> = T extends Date
  ? string
  : T extends ReadonlyArray<infer U>
    ? Array<Wire<U>>
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

export type Pod = Wire<V1Pod>;
export type Job = Wire<V1Job>;
export type Secret = Wire<V1Secret>;
export type PersistentVolumeClaim = Wire<V1PersistentVolumeClaim>;
export type Service = Wire<V1Service>;
export type JobCondition = NonNullable<NonNullable<Job['status']>['conditions']>[number];
export type ContainerStatus = NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number];
export type ContainerTerminated = NonNullable<NonNullable<ContainerStatus['state']>['terminated']>;

/** Deep copy with every Date as the API server writes it (`2026-12-04T10:00:00Z`). */
export function toWire<T>(value: T): Wire<T> {
  if (value instanceof Date) return value.toISOString().replace(/\.000Z$/, 'Z') as Wire<T>;
  if (Array.isArray(value)) return value.map((v) => toWire(v)) as Wire<T>;
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toWire(v)]),
    ) as Wire<T>;
  }
  return value as Wire<T>;
}

/** What `read` returns, or undefined when the API server says the object does not exist (404). */
async function orUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export class KubeClient {
  private readonly objects: CustomObjects;
  private readonly core: CoreV1Api;
  private readonly batch: BatchV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.objects = new CustomObjects(kubeConfig);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
  }

  // Custom objects (the API server's JSON as is).

  /** The object, or undefined when it does not exist. */
  get<T extends KubeObject = KubeObject>(kind: KindRef, key: ObjectKey): Promise<T | undefined> {
    return this.objects.get<T>(kind, key);
  }

  list<T extends KubeObject = KubeObject>(kind: KindRef, namespace?: string, labelSelector?: string): Promise<T[]> {
    return this.objects.list<T>(kind, namespace, labelSelector);
  }

  create<T extends KubeObject = KubeObject>(kind: KindRef, object: KubeObject): Promise<T> {
    return this.objects.create<T>(kind, object);
  }

  /** JSON merge patch of the main resource (metadata, spec). */
  patch<T extends KubeObject = KubeObject>(kind: KindRef, key: ObjectKey, patch: object): Promise<T> {
    return this.objects.patch<T>(kind, key, patch);
  }

  /** JSON merge patch of the status subresource: `{ phase: 'running', ... }`. */
  patchStatus<T extends KubeObject = KubeObject>(kind: KindRef, key: ObjectKey, status: object, resourceVersion?: string): Promise<T> {
    return this.objects.patchStatus<T>(kind, key, status, resourceVersion);
  }

  /** Deletes the object; true when it existed. */
  delete(kind: KindRef, key: ObjectKey, propagationPolicy: 'Background' | 'Foreground' | 'Orphan' = 'Background'): Promise<boolean> {
    return this.objects.delete(kind, key, propagationPolicy);
  }

  // Pods.

  async listPods(namespace: string, labelSelector: string): Promise<Pod[]> {
    return toWire((await this.core.listNamespacedPod({ namespace, labelSelector })).items);
  }

  /** The Pod, or undefined when it does not exist. */
  async readPod(namespace: string, name: string): Promise<Pod | undefined> {
    return orUndefined(async () => toWire(await this.core.readNamespacedPod({ namespace, name })));
  }

  /** Creates the Pod; an existing Pod of that name (an earlier attempt) counts as created. */
  async createPod(pod: V1Pod): Promise<void> {
    try {
      await this.core.createNamespacedPod({ namespace: pod.metadata!.namespace!, body: pod });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }

  /** Deletes the Pod; an absent Pod counts as deleted. */
  async deletePod(namespace: string, name: string, gracePeriodSeconds?: number): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({ namespace, name, ...(gracePeriodSeconds !== undefined ? { gracePeriodSeconds } : {}) });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  // Secrets (errors as the API server gave them: callers word each case).

  async readSecret(namespace: string, name: string): Promise<Secret> {
    return toWire(await this.core.readNamespacedSecret({ namespace, name }));
  }

  async createSecret(namespace: string, secret: V1Secret): Promise<void> {
    await this.core.createNamespacedSecret({ namespace, body: secret });
  }

  /** Replaces the Secret (PUT): `metadata.resourceVersion` makes a concurrent change a 409 instead of a lost write. */
  async replaceSecret(namespace: string, secret: V1Secret): Promise<void> {
    await this.core.replaceNamespacedSecret({ namespace, name: secret.metadata!.name!, body: secret });
  }

  async deleteSecret(namespace: string, name: string): Promise<void> {
    await this.core.deleteNamespacedSecret({ namespace, name });
  }

  // Jobs.

  /** The Job, or undefined when it does not exist. */
  async readJob(namespace: string, name: string): Promise<Job | undefined> {
    return orUndefined(async () => toWire(await this.batch.readNamespacedJob({ namespace, name })));
  }

  async listJobs(namespace: string, labelSelector: string): Promise<Job[]> {
    return toWire((await this.batch.listNamespacedJob({ namespace, labelSelector })).items);
  }

  /** Creates the Job; errors (409 included) as the API server gave them. */
  async createJob(job: V1Job): Promise<void> {
    await this.batch.createNamespacedJob({ namespace: job.metadata!.namespace!, body: job });
  }

  /** Deletes the Job and, in the background, its Pods; an absent Job counts as deleted. */
  async deleteJob(namespace: string, name: string): Promise<void> {
    try {
      await this.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  // Pods: metadata patches and logs (the Cluster reconciler's labels and annotations; a recovery Job's progress line).

  /** JSON merge patch of a Pod's metadata (labels, annotations); an absent Pod is ignored. */
  async patchPodMetadata(
    namespace: string,
    name: string,
    metadata: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> },
  ): Promise<void> {
    try {
      await this.core.patchNamespacedPod(
        { namespace, name, body: { metadata } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** The last `tailLines` lines of a container's log, or undefined when the Pod or its log is not there (yet). */
  async readPodLogTail(namespace: string, name: string, container: string, tailLines: number): Promise<string | undefined> {
    try {
      return await this.core.readNamespacedPodLog({ namespace, name, container, tailLines });
    } catch (error) {
      if (isNotFound(error) || (error as { code?: number }).code === 400) return undefined;
      throw error;
    }
  }

  // PersistentVolumeClaims.

  async listPvcs(namespace: string, labelSelector: string): Promise<PersistentVolumeClaim[]> {
    return toWire((await this.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector })).items);
  }

  /** The PVC, or undefined when it does not exist. */
  async readPvc(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined> {
    return orUndefined(async () => toWire(await this.core.readNamespacedPersistentVolumeClaim({ namespace, name })));
  }

  /**
   * Creates the PVC; an existing one of that name counts as created. Read first: every pass ensures its claims,
   * and a GET costs the API server less than a create it refuses with 409 (decision 0252).
   */
  async createPvc(pvc: V1PersistentVolumeClaim): Promise<void> {
    if (await this.readPvc(pvc.metadata!.namespace!, pvc.metadata!.name!)) return;
    try {
      await this.core.createNamespacedPersistentVolumeClaim({ namespace: pvc.metadata!.namespace!, body: pvc });
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
    }
  }

  /** Deletes the PVC; an absent one counts as deleted. */
  async deletePvc(namespace: string, name: string): Promise<void> {
    try {
      await this.core.deleteNamespacedPersistentVolumeClaim({ namespace, name });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  // Services.

  async readService(namespace: string, name: string): Promise<Service | undefined> {
    return orUndefined(async () => toWire(await this.core.readNamespacedService({ namespace, name })));
  }

  /**
   * Creates the Service, or merge-patches its selector, ports and labels into the existing one when they differ
   * (`serviceDrifted`): a read, and a write only when something changed.
   */
  async applyService(service: V1Service): Promise<void> {
    const namespace = service.metadata!.namespace!;
    const name = service.metadata!.name!;
    const existing = await this.readService(namespace, name);
    if (existing && !serviceDrifted(existing, service)) return;
    if (!existing) {
      try {
        await this.core.createNamespacedService({ namespace, body: service });
        return;
      } catch (error) {
        // Made since the read (another pass, or a user): patch it as if the read had found it.
        if (!isAlreadyExists(error)) throw error;
      }
    }
    const body = {
      metadata: { labels: service.metadata?.labels },
      spec: { selector: service.spec?.selector, ports: service.spec?.ports },
    };
    await this.core.patchNamespacedService({ namespace, name, body }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
  }
}
