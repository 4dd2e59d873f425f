import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { OperatorInstall, type OperatorInstallProps } from '../src/index.js';

/** The install bundle. No chart namespace: it holds cluster-scoped CRDs and RBAC. */
export class OperatorInstallChart extends Chart {
  constructor(scope: Construct, id = 'silo-install', props: OperatorInstallProps = {}) {
    super(scope, id, { disableResourceNameHashes: true });
    new OperatorInstall(this, 'silo', props);
  }
}
