// The cdk8s app that `cdk8s synth` renders into dist/.
import { App } from 'cdk8s';
import { FleetSchedulesChart, SAMPLE_FLEET } from './charts/fleet-schedules-chart.js';
import { OperatorInstallChart, OperatorMonitoringChart } from './charts/operator-install-chart.js';
import { PostgresExamplesChart } from './charts/postgres-examples-chart.js';
import { SeedExamplesChart } from './charts/seed-examples-chart.js';

export function buildApp(outdir = 'dist'): App {
  const app = new App({ outdir });
  new OperatorInstallChart(app);
  new OperatorMonitoringChart(app);
  new SeedExamplesChart(app);
  new PostgresExamplesChart(app);
  new FleetSchedulesChart(app, 'fleet-schedules', SAMPLE_FLEET);
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().synth();
}
