/**
 * Records core/v1 Events (what `kubectl describe` shows). A repeat of the same
 * (object, type, reason, message) within the dedupe window patches the existing
 * Event's count and lastTimestamp instead of creating another, as client-go's
 * correlator does. Never throws: a lost Event must not fail a reconcile.
 */
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../logging/logger.js';
import type { EventRecorder, EventType, KubeObject } from '../reconciler.js';
import { isHttpCode, kubeRequest } from './kube-http.js';

interface Seen {
  namespace: string;
  name: string;
  count: number;
  firstTimestamp: string;
  lastAt: number;
}

export interface EventRecorderOptions {
  /** reportingComponent / source.component. @default "silo-operator" */
  readonly component?: string;
  /** reportingInstance / source.host: the pod name. */
  readonly instance?: string;
  /** Repeats within this window are counted on one Event. @default 10 minutes */
  readonly dedupeWindowMs?: number;
  /** Remembered distinct Events. @default 4096 */
  readonly maxRemembered?: number;
}

const MESSAGE_LIMIT = 1024;

export class KubeEventRecorder implements EventRecorder {
  private readonly seen = new Map<string, Seen>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly log: Logger,
    private readonly options: EventRecorderOptions = {},
  ) {}

  async record(regarding: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    try {
      await this.write(regarding, type, reason, message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT - 3)}...` : message);
    } catch (error) {
      this.log.warn('could not record Event', { reason, object: regarding.metadata?.name, error: (error as Error).message });
    }
  }

  private async write(regarding: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const meta = regarding.metadata ?? {};
    // Cluster-scoped objects (BackupStorage) get their Events in "default", as client-go does.
    const namespace = meta.namespace || 'default';
    const dedupeKey = [meta.uid ?? `${namespace}/${meta.name}`, type, reason, message].join('\u0000');
    const nowDate = new Date();
    const now = nowDate.toISOString().replace(/\.\d+Z$/, 'Z');
    const prior = this.seen.get(dedupeKey);
    if (prior && nowDate.getTime() - prior.lastAt < (this.options.dedupeWindowMs ?? 600_000)) {
      try {
        await kubeRequest(this.kc, `/api/v1/namespaces/${prior.namespace}/events/${prior.name}`, {
          method: 'PATCH',
          contentType: 'application/merge-patch+json',
          body: { count: prior.count + 1, lastTimestamp: now },
        });
        prior.count += 1;
        prior.lastAt = nowDate.getTime();
        this.touch(dedupeKey, prior);
        return;
      } catch (error) {
        if (!isHttpCode(error, 404)) throw error;
        // The Event expired (TTL); create a fresh one below.
      }
    }
    const name = `${meta.name ?? 'object'}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`
      .slice(-253)
      .replace(/^[^a-z0-9]+/, '');
    const component = this.options.component ?? 'silo-operator';
    await kubeRequest(this.kc, `/api/v1/namespaces/${namespace}/events`, {
      method: 'POST',
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component, ...(this.options.instance ? { host: this.options.instance } : {}) },
        reportingComponent: component,
        reportingInstance: this.options.instance ?? component,
      },
    });
    this.touch(dedupeKey, { namespace, name, count: 1, firstTimestamp: now, lastAt: nowDate.getTime() });
  }

  /** LRU: re-insert on use, evict the oldest beyond the limit. */
  private touch(key: string, value: Seen): void {
    this.seen.delete(key);
    this.seen.set(key, value);
    const limit = this.options.maxRemembered ?? 4096;
    while (this.seen.size > limit) this.seen.delete(this.seen.keys().next().value as string);
  }
}
