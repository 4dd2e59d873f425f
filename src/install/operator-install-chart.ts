import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { OperatorInstall, type OperatorInstallProps } from './operator-install.js';
import { SiloMonitoring, type SiloMonitoringProps } from './prometheus-rule.js';

/**
 * The install bundle as a chart of its own (dist/silo-install.k8s.yaml): no chart namespace, because it
 * holds cluster-scoped CRDs and RBAC (decision 0005); names are never hashed.
 */
export class OperatorInstallChart extends Chart {
  constructor(scope: Construct, id = 'silo-install', props: OperatorInstallProps = {}) {
    super(scope, id, { disableResourceNameHashes: true });
    new OperatorInstall(this, 'silo', props);
  }
}

/**
 * The PrometheusRule and ServiceMonitor, in a file of their own
 * (dist/silo-monitoring.k8s.yaml): apply it where the Prometheus Operator runs.
 */
export class OperatorMonitoringChart extends Chart {
  constructor(scope: Construct, id = 'silo-monitoring', props: SiloMonitoringProps = {}) {
    super(scope, id, { disableResourceNameHashes: true });
    new SiloMonitoring(this, 'silo', props);
  }
}
