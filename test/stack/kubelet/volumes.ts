/**
 * Materialises a Pod's volumes as host directories. The container runner
 * bind-mounts them at the mount paths inside the container's private mount
 * namespace (ADR 0102). PVCs are a directory per claim under the stack root,
 * so data survives pod deletion like a real PersistentVolume.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { V1DownwardAPIVolumeFile, V1KeyToPath, V1Pod, V1Volume, V1VolumeProjection } from '@kubernetes/client-node';
import { type ConfigLookups, ContainerConfigError, fieldPathValue } from './env.js';

export interface VolumeDeps extends ConfigLookups {
  /** A TokenRequest bound to the pod, for projected serviceAccountToken sources. */
  serviceAccountToken(pod: V1Pod, audience: string | undefined, expirationSeconds: number): Promise<string>;
  /**
   * The host directory behind a claim: the hostPath of the PV it is bound to,
   * or a new PV provisioned under pvcRoot and pre-bound to it.
   */
  claimDirectory(namespace: string, claimName: string, pvcRoot: string): Promise<string>;
}

export interface VolumeDirs {
  /** Per-pod scratch: emptyDir, secret, configMap, projected volumes live below it. */
  podDir: string;
  /** Root of provisioned volumes: <pvcRoot>/<namespace>/<claimName>-<claim uid>. */
  pvcRoot: string;
}

/** Keyed by the claim's uid: a new claim with an old name gets a new, empty volume, as with dynamic provisioning. */
export function provisionedPath(pvcRoot: string, namespace: string, claimName: string, claimUid: string): string {
  return join(pvcRoot, namespace, `${claimName}-${claimUid}`);
}

function writeFiles(dir: string, files: Record<string, Buffer>, items: V1KeyToPath[] | undefined, mode: number): void {
  const chosen =
    items && items.length > 0
      ? items.map((it) => {
          if (!(it.key in files)) throw new ContainerConfigError(`key "${it.key}" not found`);
          return { path: it.path, data: files[it.key], mode: it.mode ?? mode };
        })
      : Object.entries(files).map(([k, data]) => ({ path: k, data, mode }));
  for (const f of chosen) {
    const target = join(dir, f.path);
    if (existsSync(target) && readFileSync(target).equals(f.data)) continue;
    mkdirSync(dirname(target), { recursive: true });
    // Whole or not at all, as the kubelet's atomic writer: a reader sees the old file or the new one.
    const tmp = join(dirname(target), `..${basename(target)}.tmp`);
    writeFileSync(tmp, f.data);
    chmodSync(tmp, f.mode);
    renameSync(tmp, target);
  }
}

async function secretFiles(
  deps: VolumeDeps,
  ns: string,
  name: string,
  optional: boolean | undefined,
): Promise<Record<string, Buffer> | undefined> {
  const s = await deps.secret(ns, name);
  if (!s) {
    if (optional) return undefined;
    throw new ContainerConfigError(`MountVolume.SetUp failed: secret "${name}" not found`);
  }
  return Object.fromEntries([...Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')] as const)]);
}

async function configMapFiles(
  deps: VolumeDeps,
  ns: string,
  name: string,
  optional: boolean | undefined,
): Promise<Record<string, Buffer> | undefined> {
  const cm = await deps.configMap(ns, name);
  if (!cm) {
    if (optional) return undefined;
    throw new ContainerConfigError(`MountVolume.SetUp failed: configmap "${name}" not found`);
  }
  return {
    ...Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')])),
    ...Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  };
}

/** One downward API item, which has a fieldRef, as a file. */
function writeFieldFile(dir: string, pod: V1Pod, item: V1DownwardAPIVolumeFile, defaultMode: number): void {
  writeFiles(
    dir,
    { v: Buffer.from(fieldPathValue(pod, item.fieldRef!.fieldPath)) },
    [{ key: 'v', path: item.path, mode: item.mode }],
    defaultMode,
  );
}

/** One source of a projected volume: a service account token, a Secret, a ConfigMap or downward API items. */
async function writeProjectedSource(pod: V1Pod, src: V1VolumeProjection, dir: string, mode: number, deps: VolumeDeps): Promise<void> {
  const ns = pod.metadata!.namespace!;
  if (src.serviceAccountToken) {
    const token = await deps.serviceAccountToken(pod, src.serviceAccountToken.audience, src.serviceAccountToken.expirationSeconds ?? 3607);
    writeFiles(dir, { t: Buffer.from(token) }, [{ key: 't', path: src.serviceAccountToken.path }], mode);
  } else if (src.secret) {
    const files = await secretFiles(deps, ns, src.secret.name!, src.secret.optional);
    if (files) writeFiles(dir, files, src.secret.items, mode);
  } else if (src.configMap) {
    const files = await configMapFiles(deps, ns, src.configMap.name!, src.configMap.optional);
    if (files) writeFiles(dir, files, src.configMap.items, mode);
  } else if (src.downwardAPI) {
    for (const item of src.downwardAPI.items ?? []) {
      if (item.fieldRef) writeFieldFile(dir, pod, item, mode);
    }
  }
}

/** Volumes that are files Silo's kubelet writes into the pod's directory: Secret, ConfigMap, downward API, projected. */
async function writeFileVolume(pod: V1Pod, vol: V1Volume, dir: string, deps: VolumeDeps): Promise<void> {
  const ns = pod.metadata!.namespace!;
  if (vol.secret) {
    const files = await secretFiles(deps, ns, vol.secret.secretName!, vol.secret.optional);
    if (files) writeFiles(dir, files, vol.secret.items, vol.secret.defaultMode ?? 0o644);
  } else if (vol.configMap) {
    const files = await configMapFiles(deps, ns, vol.configMap.name!, vol.configMap.optional);
    if (files) writeFiles(dir, files, vol.configMap.items, vol.configMap.defaultMode ?? 0o644);
  } else if (vol.downwardAPI) {
    for (const item of vol.downwardAPI.items ?? []) {
      if (!item.fieldRef) throw new ContainerConfigError(`downwardAPI volume ${vol.name}: only fieldRef items are supported`);
      writeFieldFile(dir, pod, item, vol.downwardAPI.defaultMode ?? 0o644);
    }
  } else if (vol.projected) {
    const mode = vol.projected.defaultMode ?? 0o644;
    for (const src of vol.projected.sources ?? []) await writeProjectedSource(pod, src, dir, mode, deps);
  } else {
    throw new ContainerConfigError(`volume ${vol.name}: this volume type is not supported by the process kubelet`);
  }
}

async function materialize(pod: V1Pod, vol: V1Volume, dirs: VolumeDirs, deps: VolumeDeps): Promise<string> {
  const ns = pod.metadata!.namespace!;
  const dir = join(dirs.podDir, 'volumes', vol.name);
  if (vol.persistentVolumeClaim) {
    const p = await deps.claimDirectory(ns, vol.persistentVolumeClaim.claimName, dirs.pvcRoot);
    mkdirSync(p, { recursive: true });
    return p;
  }
  if (vol.hostPath) {
    if (vol.hostPath.type === 'DirectoryOrCreate') mkdirSync(vol.hostPath.path, { recursive: true });
    return vol.hostPath.path;
  }
  mkdirSync(dir, { recursive: true });
  if (!vol.emptyDir) await writeFileVolume(pod, vol, dir, deps);
  return dir;
}

/** Materialises every volume; returns volume name → host path. */
export async function materializeVolumes(pod: V1Pod, dirs: VolumeDirs, deps: VolumeDeps): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const vol of pod.spec?.volumes ?? []) out.set(vol.name, await materialize(pod, vol, dirs, deps));
  return out;
}

/** How often a running Pod's Secret and ConfigMap volumes are brought up to date (the kubelet's sync: about a minute there). */
export const FILE_VOLUME_REFRESH_MS = 10_000;

/**
 * Rewrites the files of the Pod's Secret and ConfigMap volumes whose content changed in the API, as
 * the kubelet does for volumes not mounted with subPath (a renewed certificate reaches a running
 * container this way). A Secret that is gone or unreadable now leaves the files as they are.
 */
export async function refreshFileVolumes(pod: V1Pod, dirs: VolumeDirs, deps: VolumeDeps): Promise<void> {
  for (const vol of pod.spec?.volumes ?? []) {
    if (!vol.secret && !vol.configMap) continue;
    try {
      await writeFileVolume(pod, vol, join(dirs.podDir, 'volumes', vol.name), deps);
    } catch {
      /* kept as they are, as the kubelet keeps a volume whose source is gone */
    }
  }
}
