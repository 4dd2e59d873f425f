import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';

/** One alerting rule of Silo's PrometheusRule. */
export interface SiloAlert {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { severity: 'warning' | 'critical' };
  readonly annotations: { summary: string; description: string };
}

const BACKUP = 'kind, namespace, cluster, schedule';
// Timestamps are gauges in the leader's memory; max_over_time keeps the last
// value across an operator restart or leader change, max by drops pod labels.
const lastSuccess = (range: string) => `max by (${BACKUP}) (max_over_time(silo_backup_last_success_timestamp_seconds[${range}]))`;
const lastFailure = (range: string) => `max by (${BACKUP}) (max_over_time(silo_backup_last_failure_timestamp_seconds[${range}]))`;

/** The alerts, as data, so tests can check each one against the metrics the operator exports. */
export const SILO_ALERTS: SiloAlert[] = [
  {
    alert: 'SiloBackupFailed',
    // Failure newer than the last success (or no success at all).
    expr: `${lastFailure('27h')} > on (${BACKUP}) (${lastSuccess('27h')} or ${lastFailure('27h')} * 0)`,
    for: '0m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'The last {{ $labels.kind }} of {{ $labels.namespace }}/{{ $labels.cluster }} failed',
      description:
        'The latest {{ $labels.kind }} of {{ $labels.namespace }}/{{ $labels.cluster }} (schedule "{{ $labels.schedule }}") failed after the last success. `kubectl describe` the newest failed {{ $labels.kind }}: its status.error says what to fix.',
    },
  },
  {
    alert: 'SiloNoRecentBackup',
    expr: `time() - max by (${BACKUP}) (max_over_time(silo_backup_last_success_timestamp_seconds{schedule!=""}[27h])) > 26 * 3600`,
    for: '15m',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'No successful backup of {{ $labels.namespace }}/{{ $labels.cluster }} in 26 hours',
      description:
        'Schedule "{{ $labels.schedule }}" of {{ $labels.namespace }}/{{ $labels.cluster }} has not completed a backup for more than 26 hours. Check that the schedule is not suspended and why its recent runs failed or did not start.',
    },
  },
  // PostgreSQL (decision 0287). The values come from each PGCluster pass (status and `pgbackrest info`), so they are
  // back within one pass (30 s) after an operator restart: no max_over_time is needed.
  {
    alert: 'SiloPGWALArchivingLag',
    // A working cluster's WAL reaches its repositories at least every 10 minutes: `pgbackrest check` switches WAL
    // that often, and archive_timeout (60 s) switches it sooner whenever there are writes.
    expr: 'time() - max by (namespace, cluster, repo) (silo_pg_wal_last_archived_timestamp_seconds) > 20 * 60',
    for: '5m',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'No WAL of {{ $labels.namespace }}/{{ $labels.cluster }} reached {{ $labels.repo }} for 20 minutes',
      description:
        'The newest WAL segment in {{ $labels.repo }} of PGCluster {{ $labels.namespace }}/{{ $labels.cluster }} is more than 20 minutes old, so a point-in-time recovery would lose everything since. `kubectl describe pgcluster {{ $labels.cluster }}`: the ContinuousArchiving condition and status.repos say why (repo host down, storage credentials, a full volume).',
    },
  },
  {
    alert: 'SiloPGWALArchivingFailed',
    expr: 'max by (namespace, cluster) (silo_pg_wal_archiving) == 0 or max by (namespace, cluster) (increase(silo_pg_wal_archive_check_failures_total[30m])) > 0',
    for: '10m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'WAL archiving of {{ $labels.namespace }}/{{ $labels.cluster }} fails',
      description:
        "`pgbackrest check` of PGCluster {{ $labels.namespace }}/{{ $labels.cluster }} failed: WAL does not reach every repository in time. Its ContinuousArchiving condition's reason and message say which repository and what to fix.",
    },
  },
  {
    alert: 'SiloPGNoRecentFullBackup',
    expr: 'time() - max by (namespace, cluster, repo) (silo_pg_backup_last_success_timestamp_seconds{type="full"}) > 8 * 86400',
    for: '30m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'No full backup of {{ $labels.namespace }}/{{ $labels.cluster }} in {{ $labels.repo }} for 8 days',
      description:
        "The newest full backup set in {{ $labels.repo }} of PGCluster {{ $labels.namespace }}/{{ $labels.cluster }} is more than 8 days old: every restore replays the whole chain of differential and incremental sets and WAL since. Check the repository's full schedule in spec.backups.pgbackrest.repos[] and why recent full PGBackups failed or did not run.",
    },
  },
  {
    alert: 'SiloReconcileErrors',
    expr: 'sum by (controller) (rate(silo_reconcile_total{result="error"}[15m])) / sum by (controller) (rate(silo_reconcile_total[15m])) > 0.1',
    for: '15m',
    labels: { severity: 'warning' },
    annotations: {
      summary: 'More than 10% of {{ $labels.controller }} reconciles fail',
      description:
        'The {{ $labels.controller }} controller has failed more than 10% of its reconciles for 15 minutes. The operator logs (JSON, level "error", msg "reconcile failed") name the object and the error.',
    },
  },
  {
    alert: 'SiloNoLeader',
    expr: '(max(silo_leader) or vector(0)) < 1',
    for: '5m',
    labels: { severity: 'critical' },
    annotations: {
      summary: 'No Silo operator replica is leading',
      description:
        'No replica has held the leader-election Lease for 5 minutes (or none is scraped), so no backup is scheduled or tracked. Check the silo-operator pods, their logs, and their access to Leases in the operator namespace.',
    },
  },
];

/** Props of the monitoring objects. */
export interface SiloMonitoringProps {
  /**
   * Namespace of the operator (and of these objects).
   * @default "silo-system"
   */
  readonly namespace?: string;
  /**
   * Extra labels that the Prometheus `ruleSelector` / `serviceMonitorSelector` require, e.g. `{ release: 'prometheus' }`.
   * @default - none
   */
  readonly selectorLabels?: Record<string, string>;
}

/**
 * A PrometheusRule with Silo's alerts and a ServiceMonitor for the operator's
 * metrics Service, for clusters that run the Prometheus Operator. Kept out of
 * the core bundle so the bundle applies on clusters without its CRDs
 * (docs/decisions/0201-prometheus-rule-in-its-own-file.md).
 */
export class SiloMonitoring extends Construct {
  constructor(scope: Construct, id: string, props: SiloMonitoringProps = {}) {
    super(scope, id);
    const namespace = props.namespace ?? 'silo-system';
    const labels = { 'app.kubernetes.io/name': 'silo', 'app.kubernetes.io/component': 'operator', 'app.kubernetes.io/part-of': 'silo' };
    new ApiObject(this, 'prometheus-rule', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'silo-operator', namespace, labels: { ...labels, ...props.selectorLabels } },
      spec: { groups: [{ name: 'silo.rules', rules: SILO_ALERTS }] },
    } as never);
    new ApiObject(this, 'service-monitor', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      metadata: { name: 'silo-operator', namespace, labels: { ...labels, ...props.selectorLabels } },
      spec: {
        selector: { matchLabels: labels },
        namespaceSelector: { matchNames: [namespace] },
        endpoints: [{ port: 'metrics', path: '/metrics', interval: '30s' }],
      },
    } as never);
  }
}
