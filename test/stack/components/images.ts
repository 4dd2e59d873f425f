import { join, resolve } from 'node:path';
import type { Component } from '../component.js';
import { run } from '../lib/run.js';
import { siloImagesFromEnv } from '../../../src/install/images.js';

/**
 * Silo's own images (`npm run images`, decision 0150), for the tests that run them with podman
 * (test/integration/images/). Not a server: install builds them (buildah's layer cache makes a run
 * with nothing changed take seconds, and a source change rebuilds only the bundle), and `status` is
 * up only once this process has built them, so a test run always gets images of the checkout it tests.
 */
const repo = resolve(import.meta.dirname, '../../..');
let builtHere = false;

const exists = async (image: string) => (await run('podman', ['image', 'exists', image], { allowFailure: true })).code === 0;

export const images: Component = {
  name: 'images',
  async install(ctx) {
    const r = await run('bash', [join(repo, 'scripts/images/build.sh')], {
      cwd: repo,
      env: { ...process.env, SILO_CACHE_DIR: ctx.cacheDir },
    });
    for (const line of r.stderr.split('\n').filter((l) => /^images: (silo|mysql-instance|postgres-instance|base|done)/.test(l)))
      ctx.log(line);
    builtHere = true;
  },
  async up() {
    const { silo, mysqlInstance, pgInstance } = siloImagesFromEnv(process.env);
    for (const image of [silo, mysqlInstance, pgInstance])
      if (!(await exists(image))) throw new Error(`image ${image} is missing after the build: run \`npm run images\` and read its output`);
  },
  async down() {},
  async status() {
    if (!builtHere) return false;
    const { silo, mysqlInstance, pgInstance } = siloImagesFromEnv(process.env);
    return (await exists(silo)) && (await exists(mysqlInstance)) && (await exists(pgInstance));
  },
  env() {
    const { silo, mysqlInstance, pgInstance } = siloImagesFromEnv(process.env);
    return { SILO_IMAGE: silo, SILO_MYSQL_INSTANCE_IMAGE: mysqlInstance, SILO_PG_INSTANCE_IMAGE: pgInstance };
  },
};
