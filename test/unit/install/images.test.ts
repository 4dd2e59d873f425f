import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { Testing } from 'cdk8s';
import { buildApp } from '../../../main.js';
import { DEFAULT_INSTANCE_IMAGE, DEFAULT_PG_INSTANCE_IMAGE, DEFAULT_WORKER_IMAGE } from '../../../runtime/controller/manager/flags.js';
import { OperatorInstallChart, SILO_VERSION, siloImages, siloImagesFromEnv } from '../../../src/index.js';
import { REPO_ROOT } from '../../support/seed-examples.js';

const operatorEnv = (objects: any[]) => {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  return {
    image: container.image,
    env: Object.fromEntries(container.env.filter((e: any) => 'value' in e).map((e: any) => [e.name, e.value])),
  };
};

describe('image names: one registry and one version (src/install/images.ts)', () => {
  it("tags the images with package.json's version", () => {
    expect(SILO_VERSION).to.equal(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version);
    expect(siloImages()).to.deep.equal({
      silo: `ghcr.io/silo-operator/silo:${SILO_VERSION}`,
      mysqlInstance: `ghcr.io/silo-operator/silo-mysql-instance:${SILO_VERSION}`,
      pgInstance: `ghcr.io/silo-operator/silo-postgres-instance:${SILO_VERSION}`,
    });
  });

  it("are the controller's defaults too", () => {
    expect(DEFAULT_WORKER_IMAGE).to.equal(siloImages().silo);
    expect(DEFAULT_INSTANCE_IMAGE).to.equal(siloImages().mysqlInstance);
    expect(DEFAULT_PG_INSTANCE_IMAGE).to.equal(siloImages().pgInstance);
  });

  it('names the images from a registry (a trailing slash is dropped) and a version', () => {
    expect(siloImages({ registry: 'registry.example.com:5000/platform/', version: '1.2.3-rc.1' })).to.deep.equal({
      silo: 'registry.example.com:5000/platform/silo:1.2.3-rc.1',
      mysqlInstance: 'registry.example.com:5000/platform/silo-mysql-instance:1.2.3-rc.1',
      pgInstance: 'registry.example.com:5000/platform/silo-postgres-instance:1.2.3-rc.1',
    });
  });

  it('refuses a malformed registry or tag, naming the setting and the fix', () => {
    expect(() => siloImagesFromEnv({ SILO_IMAGE_REGISTRY: 'Registry.Example.com' })).to.throw(
      /^SILO_IMAGE_REGISTRY "Registry.Example.com" is not an image registry path: give a host\[:port\] and optional path in lower case/,
    );
    expect(() => siloImages({ version: 'v1 beta' })).to.throw(/^version "v1 beta" is not an image tag: use letters, digits/);
  });

  it('the install bundle takes them from the registry and version props: operator, workers and instances', () => {
    const bundle = Testing.synth(
      new OperatorInstallChart(Testing.app(), 'silo-install', { registry: 'registry.example.com/db', version: '2.0.0' }),
    );
    expect(operatorEnv(bundle)).to.deep.equal({
      image: 'registry.example.com/db/silo:2.0.0',
      env: {
        SILO_WORKER_IMAGE: 'registry.example.com/db/silo:2.0.0',
        SILO_INSTANCE_IMAGE: 'registry.example.com/db/silo-mysql-instance:2.0.0',
        SILO_PG_INSTANCE_IMAGE: 'registry.example.com/db/silo-postgres-instance:2.0.0',
      },
    });
  });

  it('a full image name still overrides one image', () => {
    const bundle = Testing.synth(
      new OperatorInstallChart(Testing.app(), 'silo-install', { registry: 'registry.example.com/db', instanceImage: 'mariadb-custom:11' }),
    );
    expect(operatorEnv(bundle).env.SILO_INSTANCE_IMAGE).to.equal('mariadb-custom:11');
    expect(operatorEnv(bundle).image).to.equal(`registry.example.com/db/silo:${SILO_VERSION}`);
  });

  it('main.ts reads SILO_IMAGE_REGISTRY and SILO_VERSION at synth time', () => {
    const app = buildApp('unused', { SILO_IMAGE_REGISTRY: 'registry.example.com/db', SILO_VERSION: '2.0.0' });
    const install = app.charts.find((chart) => chart.node.id === 'silo-install')!;
    expect(operatorEnv(install.toJson()).env).to.deep.include({
      SILO_INSTANCE_IMAGE: 'registry.example.com/db/silo-mysql-instance:2.0.0',
      SILO_PG_INSTANCE_IMAGE: 'registry.example.com/db/silo-postgres-instance:2.0.0',
    });
  });
});
