/**
 * The work queue of one controller, in the manner of client-go's workqueue:
 * a key is queued at most once; a key being processed is not handed to a second
 * worker but marked dirty and queued again when the first finishes; failures
 * requeue after the longer of the key's exponential backoff and the global
 * bucket's next token (client-go's MaxOf(ItemExponential, Bucket)), so a storm
 * of failures cannot hammer the API server while fresh events and
 * requeueAfter are never throttled; at most `concurrency` keys run at once.
 */
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { TokenBucket } from './rate-limiter.js';

/** The longest delay Node's timers honour. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface WorkQueueOptions {
  /** Workers. @default 4 */
  readonly concurrency?: number;
  /** Per-key backoff after failures. @default 1 s doubling to 5 min */
  readonly backoff?: BackoffPolicy;
  /** Failure requeues per second over all keys. @default qps 10, burst 100 (client-go's) */
  readonly rateLimit?: { readonly qps: number; readonly burst: number };
  /** A bucket shared with other queues (the manager's one global limit); overrides rateLimit. */
  readonly bucket?: TokenBucket;
  /** Called for every failure-driven requeue (metrics). */
  readonly onRetry?: (key: string, delayMs: number) => void;
  readonly now?: () => number;
}

export interface WorkResult {
  readonly requeueAfterMs?: number;
}

/** Processes one key; throwing is a failure and requeues the key with backoff. */
export type WorkHandler = (key: string) => Promise<WorkResult | void>;

export const DEFAULT_RATE_LIMIT = { qps: 10, burst: 100 } as const;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly bucket: TokenBucket;
  private readonly concurrency: number;
  private readonly backoff: BackoffPolicy;
  private readonly now: () => number;
  private handler?: WorkHandler;
  private running = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly options: WorkQueueOptions = {}) {
    this.concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new Error(`work queue concurrency must be a positive integer, got ${this.concurrency}`);
    this.backoff = options.backoff ?? { baseMs: 1000, maxMs: 300_000 };
    this.now = options.now ?? Date.now;
    const rate = options.rateLimit ?? DEFAULT_RATE_LIMIT;
    this.bucket = options.bucket ?? new TokenBucket(rate.qps, rate.burst, this.now);
  }

  /** Keys waiting for a worker (not counting delayed or in-flight ones). */
  get depth(): number {
    return this.queue.length;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  /** Consecutive failures of a key. */
  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  add(key: string): void {
    if (this.closed) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Queues the key after ms; an earlier pending time for the key wins. */
  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) return this.add(key);
    // setTimeout fires at once for delays past 2^31-1 ms (about 24.8 days): a yearly
    // schedule would become a hot loop. Waking early is harmless; reconcilers re-read.
    ms = Math.min(ms, MAX_TIMER_MS);
    const at = this.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, ms);
    timer.unref?.();
    this.delayed.set(key, { at, timer });
  }

  /** Requeues after the key's next backoff step or the bucket's next token, whichever is later; returns the delay. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = Math.max(backoffDelay(this.backoff, n), this.bucket.reserve());
    this.options.onRetry?.(key, delay);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the key's backoff after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Starts (or resumes) handing keys to the handler. */
  start(handler: WorkHandler): void {
    this.handler = handler;
    this.running = true;
    this.pump();
  }

  /** Stops handing out keys; in-flight work continues. Keys stay queued. */
  pause(): void {
    this.running = false;
  }

  /** Stops for good: nothing new is accepted or dispatched. */
  shutDown(): void {
    this.pause();
    this.closed = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
  }

  /** Resolves when no key is in flight, or after timeoutMs; true when idle. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.processing.size === 0) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private pump(): void {
    while (this.running && this.handler && this.processing.size < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      void this.process(key, this.handler);
    }
  }

  private async process(key: string, handler: WorkHandler): Promise<void> {
    try {
      const result = await handler(key);
      this.forget(key);
      if (result?.requeueAfterMs !== undefined && result.requeueAfterMs >= 0) this.addAfter(key, result.requeueAfterMs);
    } catch {
      if (!this.closed) this.addRateLimited(key);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      if (this.processing.size === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
      this.pump();
    }
  }
}
