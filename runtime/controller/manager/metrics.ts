/**
 * The operator's Prometheus metrics (prom-client), on a registry of its own so
 * two managers in one test process never share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BackupOutcome, ControllerMetrics, PgClusterSample } from '../reconciler.js';
import { PgMetrics } from './pg-metrics.js';

export class OperatorMetrics implements ControllerMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly queueDepth: Gauge<'controller'>;
  readonly queueRetries: Counter<'controller'>;
  readonly leader: Gauge;
  readonly informerRestarts: Counter<'informer'>;
  readonly backupDuration: Histogram<'kind' | 'namespace' | 'cluster' | 'schedule'>;
  readonly backupSize: Gauge<'kind' | 'namespace' | 'cluster' | 'schedule'>;
  readonly lastSuccess: Gauge<'kind' | 'namespace' | 'cluster' | 'schedule'>;
  readonly lastFailure: Gauge<'kind' | 'namespace' | 'cluster' | 'schedule'>;
  readonly backupsTotal: Counter<'kind' | 'outcome' | 'reason'>;
  readonly pg: PgMetrics;

  constructor(options: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.reconcileTotal = new Counter({
      name: 'silo_reconcile_total',
      help: 'Reconciles by controller and result (success, requeue, error).',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'silo_reconcile_duration_seconds',
      help: 'Time one reconcile took.',
      labelNames: ['controller'],
      registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    });
    this.queueDepth = new Gauge({
      name: 'silo_workqueue_depth',
      help: 'Keys waiting for a worker.',
      labelNames: ['controller'],
      registers,
    });
    this.queueRetries = new Counter({
      name: 'silo_workqueue_retries_total',
      help: 'Keys requeued with backoff after a failed reconcile.',
      labelNames: ['controller'],
      registers,
    });
    this.leader = new Gauge({
      name: 'silo_leader',
      help: '1 while this process holds the leader-election Lease (or runs without leader election).',
      registers,
    });
    this.informerRestarts = new Counter({
      name: 'silo_informer_restarts_total',
      help: 'Informers restarted after a list or watch error.',
      labelNames: ['informer'],
      registers,
    });
    const backupLabels = ['kind', 'namespace', 'cluster', 'schedule'] as const;
    this.backupDuration = new Histogram({
      name: 'silo_backup_duration_seconds',
      help: 'Duration of backups that reached a terminal phase.',
      labelNames: backupLabels,
      registers,
      buckets: [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400],
    });
    this.backupSize = new Gauge({
      name: 'silo_backup_size_bytes',
      help: 'Stored size of the last completed backup.',
      labelNames: backupLabels,
      registers,
    });
    this.lastSuccess = new Gauge({
      name: 'silo_backup_last_success_timestamp_seconds',
      help: 'Unix time of the last completed backup.',
      labelNames: backupLabels,
      registers,
    });
    this.lastFailure = new Gauge({
      name: 'silo_backup_last_failure_timestamp_seconds',
      help: 'Unix time of the last failed backup.',
      labelNames: backupLabels,
      registers,
    });
    this.backupsTotal = new Counter({
      name: 'silo_backups_total',
      help: 'Backups that reached a terminal phase, by outcome and failure reason.',
      labelNames: ['kind', 'outcome', 'reason'],
      registers,
    });
    this.pg = new PgMetrics(this.registry);
  }

  /** ControllerMetrics: after each PGCluster pass that read its repositories. */
  observePgCluster(sample: PgClusterSample): void {
    this.pg.observe(sample);
  }

  /** ControllerMetrics: one call per backup reaching completed or failed. */
  observeBackup(o: BackupOutcome): void {
    const labels = { kind: o.kind, namespace: o.namespace, cluster: o.cluster, schedule: o.schedule };
    const at = o.finishedAt.getTime() / 1000;
    this.backupsTotal.inc({ kind: o.kind, outcome: o.outcome, reason: o.outcome === 'failed' ? (o.reason ?? 'Unknown') : '' });
    if (o.durationSeconds !== undefined && o.durationSeconds >= 0) this.backupDuration.observe(labels, o.durationSeconds);
    if (o.outcome === 'completed') {
      this.lastSuccess.set(labels, at);
      if (o.sizeBytes !== undefined && o.sizeBytes >= 0) this.backupSize.set(labels, o.sizeBytes);
    } else {
      this.lastFailure.set(labels, at);
    }
  }
}
