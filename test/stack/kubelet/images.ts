/**
 * The one table that maps a container image to a local command. There is no
 * container runtime here, so an "image" is a recipe: which program to run,
 * from where, and which anonymous volumes the image declares (Dockerfile
 * VOLUME), which the kubelet gives each container privately.
 *
 * Kubernetes semantics are kept: `command` replaces the image's ENTRYPOINT,
 * `args` replaces its CMD.
 */
import { join } from 'node:path';
import { repoRoot } from '../kube/layout.js';

/** Silo's own images (operator, worker, instance manager) all start with this. */
export const SILO_IMAGE_PREFIX = 'ghcr.io/silo-operator/silo';

const entrypoints = join(repoRoot, 'test', 'stack', 'kubelet', 'entrypoints');

export interface LocalCommand {
  /** argv, argv[0] looked up in the container's PATH. */
  argv: string[];
  /** Working directory when the pod does not set one (or for Silo's image, always: the checkout). */
  cwd: string;
  /** Paths the image declares as volumes; each container gets a private empty dir there unless a volumeMount covers it. */
  anonymousVolumes: string[];
  /** Extra environment the image would bake in. */
  env: Record<string, string>;
  /**
   * Directories the image's own filesystem holds (Silo's image: the checkout with its
   * node_modules). The container runner binds each onto itself after the pod's mounts,
   * so a volume over a parent directory (an emptyDir at /tmp, with the checkout under
   * /tmp) cannot hide them: in a real image they live in the root filesystem, beside
   * the volumes, not under them (decision 0130).
   */
  imagePaths: string[];
}

export type ImageResolution = { ok: true; run: LocalCommand } | { ok: false; reason: 'ErrImagePull'; message: string };

interface ImageRecipe {
  describe: string;
  matches(repository: string, image: string): boolean;
  entrypoint: string[];
  cmd: string[];
  cwd?: string;
  anonymousVolumes?: string[];
  env?: Record<string, string>;
  imagePaths?: string[];
  /** Rewrites the final argv (`silo` → the launcher of Silo's bundle built from this checkout). */
  rewrite?(argv: string[], siloLauncher: string): string[];
}

/**
 * Silo's CLI as its image ships it: the esbuild bundle behind the `silo` launcher, built from this
 * checkout (silo-bundle.ts, decision 0105). Silo's image and the instance image run it.
 */
const siloCli: Pick<ImageRecipe, 'entrypoint' | 'cmd' | 'cwd' | 'imagePaths' | 'rewrite'> = {
  entrypoint: ['silo'],
  cmd: [],
  cwd: repoRoot,
  // The checkout is baked into the image, wherever it was cloned (decision 0130): the bundle's
  // external native module (zstd-napi) is found in its node_modules.
  imagePaths: [repoRoot],
  rewrite(argv, siloLauncher) {
    const [first, ...rest] = argv;
    return first === 'silo' ? [siloLauncher, ...rest] : argv;
  },
};

const recipes: ImageRecipe[] = [
  {
    describe: `${SILO_IMAGE_PREFIX}*: Silo's bundle built from this checkout`,
    matches: (_repo, image) => image.startsWith(SILO_IMAGE_PREFIX),
    ...siloCli,
  },
  {
    // The Cluster's instance image (seed 003: ghcr.io/cloudnative-mysql/cloudnative-mysql-instance:<version>)
    // ships the database, mariabackup and Silo's CLI; backup Jobs run `silo backup physical` in it so the
    // tools match the server (docs/decisions/0222). Here the database tools are this machine's Debian
    // MariaDB, so the image is the same local command as Silo's own.
    describe: "*/cloudnative-mysql-instance*: Silo's CLI on this checkout, as Silo's image",
    matches: (repo) => /(^|\/)cloudnative-mysql-instance[^/]*$/.test(repo),
    ...siloCli,
  },
  {
    describe: 'mariadb:*, mysql:*: Debian MariaDB with a docker-entrypoint-like wrapper',
    matches: (repo) => repo === 'mariadb' || repo === 'mysql' || repo.endsWith('/mariadb') || repo.endsWith('/mysql'),
    entrypoint: [join(entrypoints, 'mariadb.sh')],
    cmd: ['mariadbd'],
    anonymousVolumes: ['/var/lib/mysql', '/run/mysqld'],
  },
  {
    describe: 'postgres:*: Debian PostgreSQL 15 with a docker-entrypoint-like wrapper',
    matches: (repo) => repo === 'postgres' || repo.endsWith('/postgres') || repo.endsWith('/postgresql'),
    entrypoint: [join(entrypoints, 'postgres.sh')],
    cmd: ['postgres'],
    anonymousVolumes: ['/var/lib/postgresql/data', '/var/run/postgresql'],
    env: { PGDATA: '/var/lib/postgresql/data' },
  },
  {
    describe: "busybox, debian, ubuntu, alpine: the command via this machine's shell tools",
    matches: (repo) => ['busybox', 'debian', 'ubuntu', 'alpine', 'bash'].includes(repo.split('/').pop() ?? ''),
    entrypoint: [],
    cmd: ['sh'],
  },
];

/** "docker.io/library/mariadb:10.11@sha256:…" → "mariadb"; "ghcr.io/a/b:1" → "ghcr.io/a/b". */
export function imageRepository(image: string): string {
  let ref = image.split('@')[0];
  const lastSlash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > lastSlash) ref = ref.slice(0, colon);
  return ref.replace(/^(docker\.io\/)?(library\/)?/, '');
}

/** `siloLauncher`: what `silo` runs in Silo's images (siloLauncher() in silo-bundle.ts). */
export function resolveImage(
  image: string,
  command: string[] | undefined,
  args: string[] | undefined,
  siloLauncher: string,
): ImageResolution {
  const repository = imageRepository(image);
  const recipe = recipes.find((r) => r.matches(repository, image));
  if (!recipe) {
    return {
      ok: false,
      reason: 'ErrImagePull',
      message: `process kubelet: no local command for image "${image}"; known: ${recipes.map((r) => r.describe).join('; ')} (test/stack/kubelet/images.ts)`,
    };
  }
  // Kubernetes: command replaces ENTRYPOINT (and drops CMD); args replace CMD.
  let argv =
    command && command.length > 0
      ? [...command, ...(args ?? [])]
      : [...recipe.entrypoint, ...(args && args.length > 0 ? args : recipe.cmd)];
  if (recipe.rewrite) argv = recipe.rewrite(argv, siloLauncher);
  if (argv.length === 0) {
    return { ok: false, reason: 'ErrImagePull', message: `image "${image}" has no entrypoint and the container sets no command` };
  }
  return {
    ok: true,
    run: {
      argv,
      cwd: recipe.cwd ?? '/',
      anonymousVolumes: recipe.anonymousVolumes ?? [],
      env: recipe.env ?? {},
      imagePaths: recipe.imagePaths ?? [],
    },
  };
}

/** Whether the image's `silo` is Silo's CLI (Silo's images and the instance image): it needs siloLauncher(). */
export function imageRunsSilo(image: string): boolean {
  const repository = imageRepository(image);
  return recipes.some((r) => r.rewrite && r.matches(repository, image));
}

/** Silo's image runs in the checkout whatever workingDir says; other images honour workingDir. */
export function isSiloImage(image: string): boolean {
  return image.startsWith(SILO_IMAGE_PREFIX);
}
