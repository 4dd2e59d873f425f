/**
 * Container environment as the kubelet computes it: envFrom first, then env
 * (later entries win), with $(VAR) expansion against what is defined so far,
 * Secret/ConfigMap keys and the basic fieldRefs. Pure apart from the lookups,
 * so it is unit-tested directly.
 */
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';

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

/** metadata.name, metadata.labels['x'], status.podIP, … as the downward API defines them. */
export function fieldPathValue(pod: V1Pod, fieldPath: string): string {
  const md = pod.metadata ?? {};
  const mapKey = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (mapKey) return (mapKey[1] === 'labels' ? md.labels : md.annotations)?.[mapKey[2]] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'metadata.labels':
      return Object.entries(md.labels ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .join('\n');
    case 'metadata.annotations':
      return Object.entries(md.annotations ?? {})
        .map(([k, v]) => `${k}="${v}"`)
        .join('\n');
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((p) => p.ip).join(',');
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((p) => p.ip).join(',');
    default:
      throw new ContainerConfigError(`unsupported fieldRef fieldPath "${fieldPath}"`);
  }
}

function decodeSecret(secret: V1Secret, key: string): string | undefined {
  const b64 = secret.data?.[key];
  if (b64 !== undefined) return Buffer.from(b64, 'base64').toString('utf8');
  return secret.stringData?.[key];
}

function configMapValue(cm: V1ConfigMap, key: string): string | undefined {
  return cm.data?.[key] ?? (cm.binaryData?.[key] !== undefined ? Buffer.from(cm.binaryData[key], 'base64').toString('utf8') : undefined);
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

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = await lookups.configMap(ns, from.configMapRef.name!);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) vars[prefix + k] = v;
    }
    if (from.secretRef) {
      const secret = await lookups.secret(ns, from.secretRef.name!);
      if (!secret) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const k of Object.keys(secret.data ?? {})) vars[prefix + k] = decodeSecret(secret, k)!;
    }
  }

  for (const e of container.env ?? []) {
    if (e.valueFrom === undefined) {
      vars[e.name] = expandVars(e.value ?? '', vars);
      continue;
    }
    const { secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef } = e.valueFrom;
    if (secretKeyRef) {
      const secret = await lookups.secret(ns, secretKeyRef.name!);
      const value = secret ? decodeSecret(secret, secretKeyRef.key) : undefined;
      if (value === undefined) {
        if (secretKeyRef.optional) continue;
        throw new ContainerConfigError(
          secret ? `couldn't find key ${secretKeyRef.key} in Secret ${ns}/${secretKeyRef.name}` : `secret "${secretKeyRef.name}" not found`,
        );
      }
      vars[e.name] = value;
    } else if (configMapKeyRef) {
      const cm = await lookups.configMap(ns, configMapKeyRef.name!);
      const value = cm ? configMapValue(cm, configMapKeyRef.key) : undefined;
      if (value === undefined) {
        if (configMapKeyRef.optional) continue;
        throw new ContainerConfigError(
          cm
            ? `couldn't find key ${configMapKeyRef.key} in ConfigMap ${ns}/${configMapKeyRef.name}`
            : `configmap "${configMapKeyRef.name}" not found`,
        );
      }
      vars[e.name] = value;
    } else if (fieldRef) {
      vars[e.name] = fieldPathValue(pod, fieldRef.fieldPath);
    } else if (resourceFieldRef) {
      throw new ContainerConfigError(`env ${e.name}: resourceFieldRef is not supported by the process kubelet`);
    }
  }
  return vars;
}
