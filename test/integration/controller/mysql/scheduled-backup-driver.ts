/**
 * Stand-in for the manager until test/support/operator-process.ts lands: it
 * calls a reconciler's reconcile() with a context built from the admin
 * KubeConfig, polling every key about once a second (in place of watch events)
 * and honouring requeueAfterMs. Events are written as real core/v1 Events, so
 * the tests read them from the API server exactly as they would with the
 * operator running as a process.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../../../runtime/logging/logger.js';
import type {
  EventRecorder,
  KindRef,
  KubeObject,
  ObjectCache,
  ObjectKey,
  ReconcileContext,
  ReconcileResult,
  Reconciler,
} from '../../../../runtime/controller/reconciler.js';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KubeClient } from '../../../../runtime/controller/kube/client.js';

/** Events written the way the manager's recorder writes them (core/v1, involvedObject). */
export function coreEventRecorder(kc: KubeConfig): EventRecorder {
  const core = kc.makeApiClient(CoreV1Api);
  return {
    async record(regarding, type, reason, message) {
      const meta = regarding.metadata ?? {};
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      await core
        .createNamespacedEvent({
          namespace: meta.namespace ?? 'default',
          body: {
            metadata: { name: `${meta.name}.${randomBytes(6).toString('hex')}`, namespace: meta.namespace },
            involvedObject: {
              apiVersion: regarding.apiVersion,
              kind: regarding.kind,
              name: meta.name,
              namespace: meta.namespace,
              uid: meta.uid,
            },
            type,
            reason,
            message,
            count: 1,
            firstTimestamp: now as unknown as Date,
            lastTimestamp: now as unknown as Date,
            source: { component: 'silo-test-driver' },
          },
        })
        .catch(() => undefined);
    },
  };
}

/** A cache snapshot of the listed kinds in one namespace, refreshed before each pass. */
class SnapshotCache implements ObjectCache {
  private items = new Map<string, KubeObject[]>();
  constructor(
    private readonly api: CustomObjectsApi,
    private readonly kinds: KindRef[],
    private readonly namespace: string,
  ) {}

  async refresh(): Promise<void> {
    for (const kind of this.kinds) {
      const list = (await this.api.listNamespacedCustomObject({
        group: kind.group,
        version: kind.version,
        plural: kind.plural,
        namespace: this.namespace,
      })) as { items: KubeObject[] };
      this.items.set(kind.plural, list.items);
    }
  }

  get(kind: KindRef, key: ObjectKey): KubeObject | undefined {
    return this.items.get(kind.plural)?.find((o) => o.metadata?.name === key.name && o.metadata?.namespace === key.namespace);
  }

  list(kind: KindRef): KubeObject[] {
    return this.items.get(kind.plural) ?? [];
  }
}

export interface DriverOptions {
  kubeConfig: KubeConfig;
  reconciler: Reconciler;
  namespace: string;
  /** Kinds the snapshot cache holds (custom kinds only). */
  cacheKinds?: KindRef[];
  workerImage?: string;
  /** Shifts the reconciler's clock (missed-slot tests). */
  now?: () => Date;
}

export class ReconcileDriver {
  private stopped = true;
  private loop?: Promise<void>;
  private readonly cache: SnapshotCache;
  readonly errors: string[] = [];
  now: () => Date;

  constructor(private readonly options: DriverOptions) {
    this.cache = new SnapshotCache(options.kubeConfig.makeApiClient(CustomObjectsApi), options.cacheKinds ?? [], options.namespace);
    this.now = options.now ?? (() => new Date());
  }

  context(signal: AbortSignal = new AbortController().signal): ReconcileContext {
    return {
      client: new KubeClient(this.options.kubeConfig),
      cache: this.cache,
      events: coreEventRecorder(this.options.kubeConfig),
      metrics: { observeBackup: () => undefined },
      log: createLogger(
        { component: 'test-driver', reconciler: this.options.reconciler.name },
        { level: 'warn', write: (line) => process.stderr.write(line + '\n') },
      ),
      now: () => this.now(),
      signal,
      settings: { workerImage: this.options.workerImage ?? 'ghcr.io/silo-operator/silo:0.1.0', operatorNamespace: 'silo-system' },
    };
  }

  /** One reconcile of one key, with a fresh cache snapshot. */
  async once(name: string): Promise<ReconcileResult | void> {
    await this.cache.refresh();
    return this.options.reconciler.reconcile({ namespace: this.options.namespace, name }, this.context());
  }

  /** Reconciles every object of the reconciler's kind in the namespace about once a second, until stop(). */
  start(): void {
    this.stopped = false;
    const api = new CustomObjects(this.options.kubeConfig);
    const due = new Map<string, number>();
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          const objects = await api.list(this.options.reconciler.kind, this.options.namespace);
          await this.cache.refresh();
          for (const object of objects) {
            const name = object.metadata!.name!;
            const result = await this.options.reconciler.reconcile({ namespace: this.options.namespace, name }, this.context());
            due.set(name, Date.now() + (result?.requeueAfterMs ?? 1000));
          }
        } catch (error) {
          this.errors.push((error as Error).message);
        }
        // The poll stands in for watch events; a requeue shorter than a second is honoured.
        const nextDue = Math.min(1000, ...[...due.values()].map((at) => Math.max(50, at - Date.now())));
        await new Promise((resolve) => setTimeout(resolve, nextDue));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
