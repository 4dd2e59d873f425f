// Running Silo's built images (`npm run images`) with podman, for the image tests: the settings this machine
// needs (scripts/images/engine.sh: runc, explicit ulimits), a check that fails when an image was not built,
// and a Pod of the Cluster reconciler's own making run as podman containers on the host network.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { toProcessEnv } from '../../runtime/contracts/worker-env.js';
import { siloImagesFromEnv } from '../../src/install/images.js';

/** The images `npm run images` builds (SILO_IMAGE_REGISTRY and SILO_VERSION as it read them). */
export const builtImages = () => siloImagesFromEnv(process.env);

const hardLimit = (flag: string, cap: number) => {
  const raw = execFileSync('bash', ['-c', `ulimit -H${flag}`])
    .toString()
    .trim();
  return raw === 'unlimited' ? cap : Math.min(cap, Number(raw));
};

/** runc (crun refuses hybrid cgroups) and ulimits within this process's hard limits (podman's default is too high). */
export function engineArgs(): string[] {
  const nofile = hardLimit('n', 1_048_576);
  const nproc = hardLimit('u', 32_768);
  return ['--runtime', 'runc', '--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${nproc}:${nproc}`];
}

export interface PodmanResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs podman; resolves with its exit code and output (never rejects on a non-zero exit). */
export function podman(args: string[], options: { input?: string } = {}): Promise<PodmanResult> {
  return new Promise((resolve) => {
    const child = execFile('podman', args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

/** Fails, naming the fix, when `npm run images` has not built `image`: the image tests never skip. */
export async function requireImage(image: string): Promise<void> {
  const r = await podman(['image', 'exists', image]);
  if (r.code !== 0)
    throw new Error(`image ${image} is not in podman's storage: build it with \`npm run images\` (scripts/images/build.sh)`);
}

/** A directory a container running as `uid` may write (what fsGroup does for a volume in Kubernetes). */
export function ownedDir(path: string, uid: number): string {
  mkdirSync(path, { recursive: true });
  chownSync(path, uid, uid);
  return path;
}

export interface PodOnHost {
  /** The IP the Pod's status.podIP would give: a loopback address, so nothing else's ports collide. */
  readonly ip: string;
  /** Host directory of each PersistentVolumeClaim, by claim name. */
  readonly claims: Record<string, string>;
  /** Each Secret's keys and values, by Secret name. */
  readonly secrets: Record<string, Record<string, string>>;
  /** Scratch directory for emptyDirs and Secret files. */
  readonly dir: string;
  /** The uid an emptyDir belongs to (the Pod's fsGroup). */
  readonly uid: number;
}

/** The podman volume flags of one container: PVCs, emptyDirs and Secrets as host directories. */
function volumeFlags(pod: V1Pod, container: V1Container, host: PodOnHost): string[] {
  const flags: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec!.volumes!.find((v) => v.name === mount.name)!;
    let source: string;
    if (volume.persistentVolumeClaim) source = host.claims[volume.persistentVolumeClaim.claimName];
    else if (volume.emptyDir) source = ownedDir(join(host.dir, pod.metadata!.name!, 'empty', volume.name), host.uid);
    else if (volume.secret) {
      const data = host.secrets[volume.secret.secretName!];
      if (!data) throw new Error(`Secret ${volume.secret.secretName} is not given`);
      source = join(host.dir, pod.metadata!.name!, 'secrets', volume.name);
      mkdirSync(source, { recursive: true });
      for (const item of volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
        writeFileSync(join(source, item.path), data[item.key]);
        chmodSync(join(source, item.path), 0o644);
      }
    } else throw new Error(`volume ${volume.name}: only PVCs, emptyDirs and Secrets are supported here`);
    if (!source) throw new Error(`volume ${volume.name}: no host directory`);
    flags.push('-v', `${source}:${mount.mountPath}${mount.readOnly ? ':ro' : ''}`);
  }
  return flags;
}

/** `podman run` arguments for one of the Pod's containers, its env resolved as the kubelet would. */
export function containerRunArgs(pod: V1Pod, container: V1Container, host: PodOnHost): string[] {
  const env = toProcessEnv(container.env ?? [], {
    field: (path) => {
      if (path === 'status.podIP') return host.ip;
      if (path === 'metadata.name') return pod.metadata!.name!;
      throw new Error(`field ${path} is not supported here`);
    },
  });
  const [entrypoint, ...rest] = container.command ?? [];
  return [
    ...engineArgs(),
    '--network',
    'host',
    '--name',
    `${pod.metadata!.name}-${container.name}`,
    ...Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]),
    ...volumeFlags(pod, container, host),
    ...(entrypoint ? ['--entrypoint', entrypoint] : []),
    container.image!,
    ...rest,
    ...(container.args ?? []),
  ];
}

/** Runs the Pod: each init container to completion (failing with its log), then the containers, detached. */
export async function runPod(pod: V1Pod, host: PodOnHost): Promise<string[]> {
  for (const init of pod.spec!.initContainers ?? []) {
    const r = await podman(['run', '--rm', ...containerRunArgs(pod, init, host)]);
    if (r.code !== 0) throw new Error(`init container ${init.name} exited ${r.code}: ${(r.stdout + r.stderr).slice(-3000)}`);
  }
  const names: string[] = [];
  for (const container of pod.spec!.containers) {
    const r = await podman(['run', '-d', ...containerRunArgs(pod, container, host)]);
    if (r.code !== 0) throw new Error(`container ${container.name} did not start: ${r.stderr.slice(-3000)}`);
    names.push(`${pod.metadata!.name}-${container.name}`);
  }
  return names;
}

/** Removes containers (running or not), ignoring those already gone. */
export async function removeContainers(names: string[]): Promise<void> {
  if (names.length) await podman(['rm', '-f', '-t', '0', ...names]);
}
