/**
 * One reconciler's loop: its work queue, and the wrapper that calls
 * `reconcile` with logging, metrics and backoff on failure.
 */
import type { Logger } from '../../logging/logger.js';
import type { ObjectKey, ReconcileContext, Reconciler } from '../reconciler.js';
import type { OperatorMetrics } from './metrics.js';
import { WorkQueue, type WorkQueueOptions } from './work-queue.js';

/** "ns/name" or "name" back to an ObjectKey. */
export function parseKey(key: string): ObjectKey {
  const slash = key.indexOf('/');
  return slash === -1 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly log: Logger;

  constructor(
    readonly reconciler: Reconciler,
    private readonly metrics: OperatorMetrics,
    log: Logger,
    queueOptions: WorkQueueOptions,
  ) {
    this.log = log.child({ controller: reconciler.name });
    this.queue = new WorkQueue({
      ...queueOptions,
      onRetry: () => metrics.queueRetries.inc({ controller: reconciler.name }),
    });
  }

  /** Starts the workers with a context whose signal is aborted when leadership ends. */
  start(context: Omit<ReconcileContext, 'log'>): void {
    this.queue.start((key) => this.reconcileOne(key, context));
  }

  private async reconcileOne(key: string, context: Omit<ReconcileContext, 'log'>) {
    const name = this.reconciler.name;
    const log = this.log.child({ key });
    const end = this.metrics.reconcileDuration.startTimer({ controller: name });
    try {
      const result = await this.reconciler.reconcile(parseKey(key), { ...context, log });
      this.metrics.reconcileTotal.inc({ controller: name, result: result?.requeueAfterMs !== undefined ? 'requeue' : 'success' });
      log.debug('reconciled', { requeueAfterMs: result?.requeueAfterMs });
      return result ?? undefined;
    } catch (error) {
      this.metrics.reconcileTotal.inc({ controller: name, result: 'error' });
      if (!context.signal.aborted)
        log.error('reconcile failed; requeued with backoff', { error: (error as Error).message, retries: this.queue.retries(key) + 1 });
      throw error;
    } finally {
      end();
    }
  }
}
