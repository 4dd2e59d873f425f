/**
 * Prints the image names `npm run images` builds, as shell assignments for scripts/images/build.sh:
 * the same names the install bundle uses (src/install/images.ts), from SILO_IMAGE_REGISTRY and SILO_VERSION.
 */
import { SILO_VERSION, siloImagesFromEnv } from '../../src/install/images.js';

try {
  const images = siloImagesFromEnv(process.env);
  const quote = (value: string) => `'${value.replaceAll("'", "'\\''")}'`;
  process.stdout.write(
    [
      `SILO_IMAGE=${quote(images.silo)}`,
      `SILO_MYSQL_INSTANCE_IMAGE=${quote(images.mysqlInstance)}`,
      `SILO_PG_INSTANCE_IMAGE=${quote(images.pgInstance)}`,
      `SILO_VERSION=${quote(process.env.SILO_VERSION || SILO_VERSION)}`,
      '',
    ].join('\n'),
  );
} catch (error) {
  process.stderr.write(`images: ${(error as Error).message}\n`);
  process.exit(1);
}
