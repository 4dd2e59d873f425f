/**
 * One list+watch of one kind (optionally one namespace, one label selector),
 * restarted with exponential backoff after any error.
 *
 * client-node 1.4's ListWatch re-watches only after a clean close or a 410; any
 * other error (a 403, a 404 while a CRD is re-created, a reset connection)
 * stops it for good. This wrapper starts a fresh ListWatch after a backoff, so
 * every restart re-lists, and keeps its own copy of the objects: the copy stays
 * readable while the informer is down, and objects missing from a re-list are
 * reported as deleted, so no delete that happened during an outage is lost.
 */
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../logging/logger.js';
import { apiVersionOfKind } from '../kube/kinds.js';
import type { KindRef, KubeObject } from '../reconciler.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { collectionPath, kubeRequest } from './kube-http.js';

export interface InformerSpec {
  readonly kind: KindRef;
  /** One namespace; absent = all namespaces (and always for cluster-scoped kinds). */
  readonly namespace?: string;
  readonly labelSelector?: string;
}

export type InformerEventType = 'add' | 'update' | 'delete';
/** `previous` is the cached copy an update replaces. */
export type InformerListener = (type: InformerEventType, object: KubeObject, previous?: KubeObject) => void;

export interface InformerOptions {
  readonly backoff?: BackoffPolicy;
  /** An informer failing for longer than this makes /healthz fail. @default 300000 */
  readonly wedgedAfterMs?: number;
  /** Failures older than this no longer grow the backoff. @default 60000 */
  readonly failureWindowMs?: number;
  /** Called at each restart after an error (metrics). */
  readonly onRestart?: () => void;
  /**
   * A watch that delivered nothing for this long is replaced by a fresh list +
   * watch: a half-open connection would otherwise stay silent until TCP
   * keepalive gives up, with the cache frozen. @default 600000
   */
  readonly idleRelistMs?: number;
}

export const informerId = (spec: InformerSpec): string =>
  `${apiVersionOfKind(spec.kind)}/${spec.kind.plural}${spec.namespace ? ` in ${spec.namespace}` : ''}${spec.labelSelector ? ` [${spec.labelSelector}]` : ''}`;

const objectKey = (o: KubeObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class RestartingInformer {
  readonly id: string;
  private readonly objects = new Map<string, KubeObject>();
  private readonly listeners: InformerListener[] = [];
  private current?: Informer<KubernetesObject>;
  private timer?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  private lastActivity = Date.now();
  private stopped = true;
  private failures = 0;
  private lastErrorAt = 0;
  private failingSince?: number;
  /** True once a list has succeeded; stays true across restarts (the copy is kept). */
  synced = false;
  /** Count of restarts after errors, for tests and logs. */
  restarts = 0;
  lastError?: string;

  constructor(
    private readonly kc: KubeConfig,
    readonly spec: InformerSpec,
    private readonly log: Logger,
    private readonly options: InformerOptions = {},
  ) {
    this.id = informerId(spec);
  }

  on(listener: InformerListener): void {
    this.listeners.push(listener);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.launch();
    const idleMs = this.options.idleRelistMs ?? 600_000;
    this.idleTimer = setInterval(
      () => {
        if (this.current && this.synced && Date.now() - this.lastActivity > idleMs) {
          this.log.info('watch idle; re-listing', { informer: this.id, idleMs });
          void this.current.stop();
          this.current = undefined;
          this.launch();
        }
      },
      Math.min(60_000, idleMs / 2),
    );
    this.idleTimer.unref?.();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.idleTimer);
    void this.current?.stop();
    this.current = undefined;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.objects.get(`${namespace ?? ''}/${name}`);
  }

  list(namespace?: string): KubeObject[] {
    const all = [...this.objects.values()];
    return namespace ? all.filter((o) => o.metadata?.namespace === namespace) : all;
  }

  /** Failing without a successful list for longer than wedgedAfterMs. */
  wedged(now = Date.now()): boolean {
    return this.failingSince !== undefined && now - this.failingSince > (this.options.wedgedAfterMs ?? 300_000);
  }

  private emit(type: InformerEventType, object: KubeObject, previous?: KubeObject): void {
    this.lastActivity = Date.now();
    for (const l of this.listeners) {
      try {
        l(type, object, previous);
      } catch (error) {
        this.log.error('informer listener threw', { informer: this.id, error: (error as Error).message });
      }
    }
  }

  private launch(): void {
    if (this.stopped) return;
    const { kind, namespace, labelSelector } = this.spec;
    const path = collectionPath(kind, namespace);
    const apiVersion = apiVersionOfKind(kind);
    const listFn = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const list = await kubeRequest<{ items?: KubeObject[]; metadata?: { resourceVersion?: string } }>(this.kc, path, {
        query: { labelSelector },
      });
      // List items carry no apiVersion/kind; watch events do. Make them alike.
      const items = (list.items ?? []).map((item) => ({ apiVersion, kind: kind.kind, ...item }));
      this.onListed(items);
      return { apiVersion: 'v1', kind: 'List', metadata: list.metadata ?? {}, items } as KubernetesListObject<KubernetesObject>;
    };
    const informer = makeInformer(this.kc, path, listFn, labelSelector);
    this.current = informer;
    const mine = (fn: (o: KubeObject) => void) => (o: KubernetesObject) => {
      if (this.current === informer) fn(o as KubeObject);
    };
    informer.on(
      'add',
      mine((o) => {
        // A re-list after a restart re-adds every object; only changes are news.
        const known = this.objects.get(objectKey(o));
        this.objects.set(objectKey(o), o);
        if (!known || known.metadata?.resourceVersion !== o.metadata?.resourceVersion) this.emit(known ? 'update' : 'add', o, known);
      }),
    );
    informer.on(
      'update',
      mine((o) => {
        const previous = this.objects.get(objectKey(o));
        this.objects.set(objectKey(o), o);
        this.emit('update', o, previous);
      }),
    );
    informer.on(
      'delete',
      mine((o) => {
        this.objects.delete(objectKey(o));
        this.emit('delete', o);
      }),
    );
    informer.on('error', (error?: unknown) => {
      if (this.current === informer) this.onError(error);
    });
    informer.start().catch((error) => {
      if (this.current === informer) this.onError(error);
    });
  }

  /** A fresh list replaces the copy: whatever it lacks was deleted meanwhile. */
  private onListed(items: KubeObject[]): void {
    const present = new Set(items.map(objectKey));
    for (const [key, old] of this.objects) {
      if (!present.has(key)) {
        this.objects.delete(key);
        this.emit('delete', old);
      }
    }
    if (this.failingSince !== undefined) this.log.info('informer recovered', { informer: this.id, restarts: this.restarts });
    this.failingSince = undefined;
    this.synced = true;
    this.lastActivity = Date.now();
  }

  private onError(error: unknown): void {
    if (this.stopped) return;
    const now = Date.now();
    void this.current?.stop();
    this.current = undefined;
    if (now - this.lastErrorAt > (this.options.failureWindowMs ?? 60_000)) this.failures = 0;
    this.lastErrorAt = now;
    this.failures += 1;
    this.failingSince ??= now;
    this.lastError = describeError(error);
    const delay = backoffDelay(this.options.backoff ?? { baseMs: 1000, maxMs: 60_000 }, this.failures);
    this.log.warn('informer failed; restarting after backoff', {
      informer: this.id,
      error: this.lastError,
      failures: this.failures,
      delayMs: delay,
    });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.restarts += 1;
      this.options.onRestart?.();
      this.launch();
    }, delay);
  }
}

function describeError(error: unknown): string {
  if (!error) return 'watch closed with an error';
  const e = error as { message?: string; statusCode?: number; code?: unknown };
  return (
    [e.statusCode ?? (typeof e.code === 'number' ? e.code : undefined), e.message].filter((x) => x !== undefined && x !== '').join(' ') ||
    String(error)
  );
}
