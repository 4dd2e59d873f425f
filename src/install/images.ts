/**
 * Silo's image names: one registry and one version name all three images (decisions 0151, 0286). The install
 * bundle, the controller's defaults (runtime/controller/manager/flags.ts) and `npm run images`
 * (scripts/images/names.ts) all derive them here, so pointing Silo at another registry is one setting.
 */

/** The version of this package, and the tag of the images built from it (test/unit/install/images.test.ts checks package.json). */
export const SILO_VERSION = '0.1.0';
/** Where released images are published. */
export const DEFAULT_IMAGE_REGISTRY = 'ghcr.io/silo-operator';

/** The repository names under the registry (images/Containerfile's targets `silo`, `mysql-instance` and `postgres-instance`). */
export const IMAGE_REPOSITORIES = { silo: 'silo', mysqlInstance: 'silo-mysql-instance', pgInstance: 'silo-postgres-instance' } as const;

/** Where the images come from. */
export interface ImageSource {
  /**
   * Registry and path the images live under, without a trailing slash, e.g. `registry.example.com/platform`.
   * @default "ghcr.io/silo-operator"
   */
  readonly registry?: string;
  /**
   * The images' tag. To pin digests, pass full image names (OperatorInstallProps.image, instanceImage) instead.
   * @default SILO_VERSION
   */
  readonly version?: string;
}

/** The images a Silo install runs. */
export interface SiloImages {
  /** The operator, and (unless overridden) the worker Jobs: `<registry>/silo:<version>`. */
  readonly silo: string;
  /** A MySQL/MariaDB Cluster's instances when spec.imageName is empty: `<registry>/silo-mysql-instance:<version>`. */
  readonly mysqlInstance: string;
  /** A PGCluster's instances, repo host and backup Jobs when spec.image is empty: `<registry>/silo-postgres-instance:<version>`. */
  readonly pgInstance: string;
}

const REGISTRY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** The image names for a registry and version; throws naming the setting and the fix when either is malformed. */
export function siloImages(source: ImageSource = {}, settingNames = { registry: 'registry', version: 'version' }): SiloImages {
  const registry = (source.registry ?? DEFAULT_IMAGE_REGISTRY).replace(/\/+$/, '');
  const version = source.version ?? SILO_VERSION;
  if (!REGISTRY.test(registry)) {
    throw new Error(
      `${settingNames.registry} "${registry}" is not an image registry path: give a host[:port] and optional path in lower case, e.g. registry.example.com/platform`,
    );
  }
  if (!TAG.test(version)) {
    throw new Error(
      `${settingNames.version} "${version}" is not an image tag: use letters, digits, ".", "_" and "-", at most 128, e.g. 0.1.0`,
    );
  }
  return {
    silo: `${registry}/${IMAGE_REPOSITORIES.silo}:${version}`,
    mysqlInstance: `${registry}/${IMAGE_REPOSITORIES.mysqlInstance}:${version}`,
    pgInstance: `${registry}/${IMAGE_REPOSITORIES.pgInstance}:${version}`,
  };
}

/** The images named by the synth-time environment: SILO_IMAGE_REGISTRY and SILO_VERSION (main.ts, `npm run images`). */
export function siloImagesFromEnv(env: Record<string, string | undefined>): SiloImages {
  return siloImages(
    { registry: env.SILO_IMAGE_REGISTRY || undefined, version: env.SILO_VERSION || undefined },
    { registry: 'SILO_IMAGE_REGISTRY', version: 'SILO_VERSION' },
  );
}
