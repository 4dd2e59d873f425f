/**
 * Leader election on a coordination.k8s.io/v1 Lease with optimistic
 * concurrency: every write carries the resourceVersion that was read, so two
 * candidates can never both win the same round (the loser gets a 409).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../logging/logger.js';
import { isHttpCode, kubeRequest } from './kube-http.js';
import {
  DEFAULT_TIMING,
  LeaseObservation,
  nextRecord,
  releasedRecord,
  renewExpired,
  validateTiming,
  type ElectionTiming,
  type LeaseRecord,
} from './lease-timing.js';

interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
  spec?: LeaseRecord;
}

export interface LeaderElectorOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly timing?: ElectionTiming;
  readonly log: Logger;
  readonly onStartedLeading: () => void;
  /** Leadership was lost (not released): stop acting at once. */
  readonly onStoppedLeading: (why: string) => void;
}

export class LeaderElector {
  private readonly timing: ElectionTiming;
  private readonly observation = new LeaseObservation();
  private readonly path: string;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private lastRenewMs = 0;
  /** The attempt under way, if any: a release waits for it, or its renewal would land after the release. */
  private attempt?: Promise<void>;
  leading = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly options: LeaderElectorOptions,
  ) {
    this.timing = options.timing ?? DEFAULT_TIMING;
    validateTiming(this.timing);
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${options.namespace}/leases`;
  }

  /** Starts campaigning; returns at once. */
  start(): void {
    this.stopped = false;
    this.run();
  }

  /** Stops campaigning or renewing without touching the Lease. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Gives the Lease up (graceful shutdown) so a standby takes over at its next attempt. A renewal still under way is
   * waited for first, and a write that lost to one (409) is tried again on what it wrote: otherwise the release fails,
   * and a standby waits out the whole lease duration.
   */
  async release(): Promise<void> {
    this.stop();
    await this.attempt?.catch(() => undefined);
    if (!this.leading) return;
    this.leading = false;
    for (let tries = 1; ; tries++) {
      try {
        const lease = await this.read();
        if (!lease?.spec || lease.spec.holderIdentity !== this.options.identity) return;
        await kubeRequest(this.kc, `${this.path}/${this.options.name}`, {
          method: 'PUT',
          body: { ...lease, spec: releasedRecord(lease.spec, new Date()) },
          timeoutMs: this.timing.renewDeadlineMs,
        });
        this.options.log.info('released the leader-election Lease', { lease: this.options.name });
        return;
      } catch (error) {
        if (isHttpCode(error, 409) && tries < 3) continue;
        this.options.log.warn('could not release the Lease; a standby takes over when it expires', { error: (error as Error).message });
        return;
      }
    }
  }

  private run(): void {
    const attempt = this.tick();
    this.attempt = attempt;
    void attempt.finally(() => {
      if (this.attempt === attempt) this.attempt = undefined;
    });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.run(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (error) {
      this.options.log.warn(this.leading ? 'could not renew the Lease' : 'could not read or acquire the Lease', {
        error: (error as Error).message,
      });
    }
    if (this.stopped) return;
    const now = Date.now();
    if (ok) {
      this.lastRenewMs = now;
      if (!this.leading) {
        this.leading = true;
        this.options.log.info('became leader', { lease: `${this.options.namespace}/${this.options.name}`, holder: this.options.identity });
        this.options.onStartedLeading();
      }
    } else if (this.leading) {
      const holder = this.observation.record?.holderIdentity;
      const takenOver = !!holder && holder !== this.options.identity;
      if (takenOver || renewExpired(this.lastRenewMs, now, this.timing)) {
        this.leading = false;
        this.stop();
        const why = takenOver
          ? `the Lease is now held by ${holder}`
          : `the Lease could not be renewed for ${this.timing.renewDeadlineMs} ms`;
        this.options.log.error('lost leadership', { why });
        this.options.onStoppedLeading(why);
        return;
      }
    }
    // Candidates jitter their attempts so they do not collide every round.
    const period = this.leading ? this.timing.retryPeriodMs : this.timing.retryPeriodMs * (1 + Math.random() * 0.2);
    this.schedule(period);
  }

  private async read(): Promise<LeaseObject | undefined> {
    try {
      return await kubeRequest<LeaseObject>(this.kc, `${this.path}/${this.options.name}`, { timeoutMs: this.timing.renewDeadlineMs / 2 });
    } catch (error) {
      if (isHttpCode(error, 404)) return undefined;
      throw error;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const lease = await this.read();
    this.observation.observe(lease?.spec, Date.now());
    const record = nextRecord(lease?.spec, this.options.identity, this.observation.observedAt, now, this.timing);
    if (!record) return false;
    try {
      const timeoutMs = this.timing.renewDeadlineMs / 2;
      const written = lease
        ? await kubeRequest<LeaseObject>(this.kc, `${this.path}/${this.options.name}`, {
            method: 'PUT',
            body: { ...lease, spec: record },
            timeoutMs,
          })
        : await kubeRequest<LeaseObject>(this.kc, this.path, {
            method: 'POST',
            timeoutMs,
            body: {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              metadata: { name: this.options.name, namespace: this.options.namespace, labels: { 'app.kubernetes.io/managed-by': 'silo' } },
              spec: record,
            },
          });
      this.observation.observe(written.spec, Date.now());
      return true;
    } catch (error) {
      // 409: someone else wrote first (or created it); we lost this round, not an error.
      if (isHttpCode(error, 409)) return false;
      throw error;
    }
  }
}
