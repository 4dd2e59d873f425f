/**
 * The manager: informers for every watched kind (shared by kind + namespace +
 * selector), an ObjectCache over them, one Controller (queue + workers) per
 * reconciler, and a periodic resync. Informers run on every replica so a
 * standby's cache is warm; reconcilers run only between startReconciling() and
 * stopReconciling(), which leader election drives.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../logging/logger.js';
import { KubeClient } from '../kube/client.js';
import { keyOf, keyString } from '../kube/owner-keys.js';
import { statusOnlyChange } from '../kube/update-predicates.js';
import type { EventRecorder, KubeObject, OperatorSettings, Reconciler } from '../reconciler.js';
import type { BackoffPolicy } from './backoff.js';
import { Controller } from './controller.js';
import { RestartingInformer, informerId, type InformerSpec } from './informer.js';
import type { OperatorMetrics } from './metrics.js';
import { InformerCache } from './object-cache.js';
import { DEFAULT_RATE_LIMIT, type WorkQueueOptions } from './work-queue.js';
import { TokenBucket } from './rate-limiter.js';

export interface ManagerOptions {
  readonly kubeConfig: KubeConfig;
  readonly reconcilers: readonly Reconciler[];
  readonly settings: OperatorSettings;
  readonly metrics: OperatorMetrics;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** Namespaces to watch; empty = all. Cluster-scoped kinds are always watched cluster-wide. */
  readonly watchNamespaces?: readonly string[];
  /**
   * Label selector for the informers of cluster-scoped kinds (BackupStorage).
   * `watchNamespaces` cannot narrow them; this lets operators that share a
   * cluster (tests, tenants) each own a labelled set. @default - all objects
   */
  readonly clusterScopedSelector?: string;
  /** Every primary object is queued again this often. @default 300000 */
  readonly resyncMs?: number;
  readonly queue?: WorkQueueOptions;
  readonly informerBackoff?: BackoffPolicy;
  readonly informerWedgedAfterMs?: number;
  /**
   * Ignore updates of a primary object that change only its status (and
   * resourceVersion/managedFields), as controller-runtime's
   * GenerationChangedPredicate does: most are a reconciler's own status writes.
   * Secondary watches always deliver every change. @default false
   */
  readonly skipStatusOnlyUpdates?: boolean;
  readonly now?: () => Date;
}

export class Manager {
  readonly cache: InformerCache;
  readonly controllers: Controller[];
  readonly informers = new Map<string, RestartingInformer>();
  private readonly dependencies = new Map<Controller, RestartingInformer[]>();
  private resyncTimer?: NodeJS.Timeout;
  private syncTimers: NodeJS.Timeout[] = [];
  private abort?: AbortController;

  constructor(private readonly options: ManagerOptions) {
    this.cache = new InformerCache(options.log);
    // One token bucket for all controllers: the limit protects the API server, not one kind.
    const rate = options.queue?.rateLimit ?? DEFAULT_RATE_LIMIT;
    const bucket = options.queue?.bucket ?? new TokenBucket(rate.qps, rate.burst);
    this.controllers = options.reconcilers.map((r) => new Controller(r, options.metrics, options.log, { ...options.queue, bucket }));
    for (const controller of this.controllers) {
      const r = controller.reconciler;
      const deps: RestartingInformer[] = [];
      for (const informer of this.informersFor({ kind: r.kind })) {
        informer.on((type, o, previous) => {
          if (type === 'update' && previous) {
            if (this.options.skipStatusOnlyUpdates && statusOnlyChange(previous, o)) return;
            if (r.ignoresUpdate?.(previous, o)) return;
          }
          controller.queue.add(keyString(keyOf(o)));
        });
        deps.push(informer);
      }
      for (const watch of r.watches ?? []) {
        for (const informer of this.informersFor({ kind: watch.kind, labelSelector: watch.labelSelector })) {
          informer.on((_type, o) => {
            for (const key of watch.toKeys(o)) controller.queue.add(keyString(key));
          });
          deps.push(informer);
        }
      }
      this.dependencies.set(controller, deps);
    }
  }

  /** Informers of one watch: one per watched namespace for namespaced kinds. */
  private informersFor(base: Omit<InformerSpec, 'namespace'>): RestartingInformer[] {
    const namespaces = base.kind.namespaced && this.options.watchNamespaces?.length ? this.options.watchNamespaces : [undefined];
    const extra = !base.kind.namespaced ? this.options.clusterScopedSelector : undefined;
    const labelSelector = [base.labelSelector, extra].filter(Boolean).join(',') || undefined;
    return namespaces.map((namespace) => {
      const spec: InformerSpec = { ...base, ...(labelSelector ? { labelSelector } : {}), ...(namespace ? { namespace } : {}) };
      const id = informerId(spec);
      let informer = this.informers.get(id);
      if (!informer) {
        informer = new RestartingInformer(this.options.kubeConfig, spec, this.options.log.child({ component: 'informer' }), {
          backoff: this.options.informerBackoff,
          wedgedAfterMs: this.options.informerWedgedAfterMs,
          onRestart: () => this.options.metrics.informerRestarts.inc({ informer: id }),
        });
        this.informers.set(id, informer);
        this.cache.add(informer);
      }
      return informer;
    });
  }

  /** Starts every informer (on leaders and standbys alike). */
  startInformers(): void {
    for (const informer of this.informers.values()) informer.start();
  }

  /** Every informer has listed at least once. */
  synced(): boolean {
    return [...this.informers.values()].every((i) => i.synced);
  }

  /** Informers failing for too long, by id. */
  wedged(): string[] {
    return [...this.informers.values()].filter((i) => i.wedged()).map((i) => i.id);
  }

  /** Starts each controller's workers once the informers it reads have synced. */
  startReconciling(): AbortSignal {
    if (this.abort) return this.abort.signal;
    const abort = (this.abort = new AbortController());
    // One client for every reconciler; the KubeConfig itself stays with the manager (informers, Lease, Events).
    const base = {
      client: new KubeClient(this.options.kubeConfig),
      cache: this.cache,
      events: this.options.events,
      metrics: this.options.metrics,
      now: this.options.now ?? (() => new Date()),
      signal: abort.signal,
      settings: this.options.settings,
    };
    for (const controller of this.controllers) {
      const deps = this.dependencies.get(controller) ?? [];
      const tryStart = () => {
        if (abort.signal.aborted) return;
        if (deps.every((d) => d.synced)) {
          this.options.log.info('controller started', {
            controller: controller.reconciler.name,
            concurrency: this.options.queue?.concurrency ?? 4,
          });
          controller.start(base);
        } else {
          this.syncTimers.push(setTimeout(tryStart, 200));
        }
      };
      tryStart();
    }
    const resyncMs = this.options.resyncMs ?? 300_000;
    this.resyncTimer = setInterval(() => this.resync(), resyncMs);
    return abort.signal;
  }

  /** Queues every primary object of every controller again. */
  resync(): void {
    for (const controller of this.controllers) {
      for (const o of this.cache.list(controller.reconciler.kind)) controller.queue.add(keyString(keyOf(o as KubeObject)));
    }
  }

  /** Queue depth per controller, for the metrics gauge. */
  depths(): Array<{ controller: string; depth: number }> {
    return this.controllers.map((c) => ({ controller: c.reconciler.name, depth: c.queue.depth }));
  }

  /**
   * Stops handing out work and aborts the reconcile signal when `abortInFlight`
   * (leadership lost: another replica may already act). Otherwise waits up to
   * drainMs for in-flight reconciles to finish (graceful shutdown).
   */
  async stopReconciling(opts: { abortInFlight: boolean; drainMs: number }): Promise<boolean> {
    clearInterval(this.resyncTimer);
    for (const t of this.syncTimers) clearTimeout(t);
    this.syncTimers = [];
    for (const c of this.controllers) c.queue.pause();
    if (opts.abortInFlight) this.abort?.abort(new Error('leadership lost'));
    const drained = await Promise.all(this.controllers.map((c) => c.queue.drain(opts.drainMs)));
    this.abort?.abort(new Error('operator shutting down'));
    for (const c of this.controllers) c.queue.shutDown();
    return drained.every(Boolean);
  }

  stopInformers(): void {
    for (const informer of this.informers.values()) informer.stop();
  }
}
