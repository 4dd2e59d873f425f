/**
 * Container environment as the kubelet computes it: envFrom first, then env
 * (later entries win), with $(VAR) expansion against what is defined so far,
 * Secret/ConfigMap keys and the basic fieldRefs. Pure apart from the lookups,
 * so it is unit-tested directly.
 */
import type {
  V1ConfigMap,
  V1ConfigMapKeySelector,
  V1Container,
  V1EnvFromSource,
  V1EnvVar,
  V1Pod,
  V1Secret,
  V1SecretKeySelector,
} from '@kubernetes/client-node';

export interface ConfigLookups {
  secret(namespace: string, name: string): Promise<V1Secret | undefined>;
  configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
}

/** A missing non-optional reference: the container waits with CreateContainerConfigError. */
export class ContainerConfigError extends Error {}

/** Kubernetes' $(VAR) expansion: $$ escapes, unknown references stay as written. */
export function expandVars(input: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

const keyValueLines = (map: Record<string, string> | undefined): string =>
  Object.entries(map ?? {})
    .map(([k, v]) => `${k}="${v}"`)
    .join('\n');

/** The whole-field paths the downward API supports, and how each reads the pod. */
const FIELD_PATHS: Record<string, (pod: V1Pod) => string> = {
  'metadata.name': (pod) => pod.metadata?.name ?? '',
  'metadata.namespace': (pod) => pod.metadata?.namespace ?? '',
  'metadata.uid': (pod) => pod.metadata?.uid ?? '',
  'metadata.labels': (pod) => keyValueLines(pod.metadata?.labels),
  'metadata.annotations': (pod) => keyValueLines(pod.metadata?.annotations),
  'spec.nodeName': (pod) => pod.spec?.nodeName ?? '',
  'spec.serviceAccountName': (pod) => pod.spec?.serviceAccountName ?? '',
  'status.podIP': (pod) => pod.status?.podIP ?? '',
  'status.podIPs': (pod) => (pod.status?.podIPs ?? []).map((p) => p.ip).join(','),
  'status.hostIP': (pod) => pod.status?.hostIP ?? '',
  'status.hostIPs': (pod) => (pod.status?.hostIPs ?? []).map((p) => p.ip).join(','),
};

/** metadata.name, metadata.labels['x'], status.podIP, … as the downward API defines them. */
export function fieldPathValue(pod: V1Pod, fieldPath: string): string {
  const md = pod.metadata ?? {};
  const mapKey = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (mapKey) return (mapKey[1] === 'labels' ? md.labels : md.annotations)?.[mapKey[2]] ?? '';
  const read = Object.hasOwn(FIELD_PATHS, fieldPath) ? FIELD_PATHS[fieldPath] : undefined;
  if (!read) throw new ContainerConfigError(`unsupported fieldRef fieldPath "${fieldPath}"`);
  return read(pod);
}

function decodeSecret(secret: V1Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

function configMapValue(cm: V1ConfigMap, key: string): string | undefined {
  return cm.data?.[key] ?? (cm.binaryData?.[key] !== undefined ? Buffer.from(cm.binaryData[key], 'base64').toString('utf8') : undefined);
}

/** Adds one envFrom source's keys (with its prefix) to `vars`; a missing optional source adds nothing. */
async function addEnvFrom(vars: Record<string, string>, from: V1EnvFromSource, ns: string, lookups: ConfigLookups): Promise<void> {
  const prefix = from.prefix ?? '';
  if (from.configMapRef) {
    const cm = await lookups.configMap(ns, from.configMapRef.name!);
    if (!cm) {
      if (from.configMapRef.optional) return;
      throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
    }
    for (const [k, v] of Object.entries(cm.data ?? {})) vars[prefix + k] = v;
  }
  if (from.secretRef) {
    const secret = await lookups.secret(ns, from.secretRef.name!);
    if (!secret) {
      if (from.secretRef.optional) return;
      throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
    }
    for (const k of Object.keys(secret.data ?? {})) vars[prefix + k] = decodeSecret(secret, k)!;
  }
}

/** A Secret key's value; undefined when it is missing and optional. */
async function secretKeyValue(ref: V1SecretKeySelector, ns: string, lookups: ConfigLookups): Promise<string | undefined> {
  const secret = await lookups.secret(ns, ref.name!);
  const value = secret ? decodeSecret(secret, ref.key) : undefined;
  if (value === undefined && !ref.optional) {
    throw new ContainerConfigError(secret ? `couldn't find key ${ref.key} in Secret ${ns}/${ref.name}` : `secret "${ref.name}" not found`);
  }
  return value;
}

/** A ConfigMap key's value; undefined when it is missing and optional. */
async function configMapKeyValue(ref: V1ConfigMapKeySelector, ns: string, lookups: ConfigLookups): Promise<string | undefined> {
  const cm = await lookups.configMap(ns, ref.name!);
  const value = cm ? configMapValue(cm, ref.key) : undefined;
  if (value === undefined && !ref.optional) {
    throw new ContainerConfigError(
      cm ? `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}` : `configmap "${ref.name}" not found`,
    );
  }
  return value;
}

/** The value of an env var given by `valueFrom`; undefined leaves the variable unset. */
async function valueFromSource(e: V1EnvVar, pod: V1Pod, ns: string, lookups: ConfigLookups): Promise<string | undefined> {
  const { secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef } = e.valueFrom!;
  if (secretKeyRef) return secretKeyValue(secretKeyRef, ns, lookups);
  if (configMapKeyRef) return configMapKeyValue(configMapKeyRef, ns, lookups);
  if (fieldRef) return fieldPathValue(pod, fieldRef.fieldPath);
  if (resourceFieldRef) throw new ContainerConfigError(`env ${e.name}: resourceFieldRef is not supported by the process kubelet`);
  return undefined;
}

/** Resolves the container's env; `base` holds the variables every container gets (service env etc). */
export async function resolveEnv(
  pod: V1Pod,
  container: V1Container,
  lookups: ConfigLookups,
  base: Record<string, string> = {},
): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const vars: Record<string, string> = { ...base };
  for (const from of container.envFrom ?? []) await addEnvFrom(vars, from, ns, lookups);
  for (const e of container.env ?? []) {
    if (e.valueFrom === undefined) {
      vars[e.name] = expandVars(e.value ?? '', vars);
      continue;
    }
    const value = await valueFromSource(e, pod, ns, lookups);
    if (value !== undefined) vars[e.name] = value;
  }
  return vars;
}
