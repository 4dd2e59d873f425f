import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { OperatorInstall, SiloMonitoring, type OperatorInstallProps, type SiloMonitoringProps } from '../src/index.js';

/** The install bundle. No chart namespace: it holds cluster-scoped CRDs and RBAC. */
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
