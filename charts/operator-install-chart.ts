// The install bundle's charts ship with the construct library (src/install/operator-install-chart.ts), so a
// cdk8s app that installs the package synthesizes the same bundle as dist/; main.ts renders them from here.
export { OperatorInstallChart, OperatorMonitoringChart } from '../src/index.js';
