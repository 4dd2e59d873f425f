// The cdk8s app that `cdk8s synth` renders into dist/.
import { App } from 'cdk8s';
import { FleetSchedulesChart, SAMPLE_FLEET } from './charts/fleet-schedules-chart.js';
import { OperatorInstallChart, OperatorMonitoringChart } from './charts/operator-install-chart.js';
import { PostgresExamplesChart } from './charts/postgres-examples-chart.js';
import { SeedExamplesChart } from './charts/seed-examples-chart.js';
import { siloImagesFromEnv } from './src/index.js';

/**
 * SILO_IMAGE_REGISTRY and SILO_VERSION name the install bundle's images (docs/install.md); unset, the
 * released ones (src/install/images.ts). The committed dist/ is synthesized without them.
 */
export function buildApp(outdir = 'dist', env: Record<string, string | undefined> = process.env): App {
  const app = new App({ outdir });
  const images = siloImagesFromEnv(env);
  new OperatorInstallChart(app, 'silo-install', {
    image: images.silo,
    instanceImage: images.mysqlInstance,
    pgInstanceImage: images.pgInstance,
  });
  new OperatorMonitoringChart(app);
  new SeedExamplesChart(app);
  new PostgresExamplesChart(app);
  new FleetSchedulesChart(app, 'fleet-schedules', SAMPLE_FLEET);
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  buildApp().synth();
}
