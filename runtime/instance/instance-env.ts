/**
 * The environment of `silo instance init|db` (INSTANCE_VAR in runtime/contracts/instance-pod.ts),
 * decoded once at the start; every problem is a ConfigError naming the variable and the fix.
 */
import { ConfigError } from '../contracts/config-error.js';
import { INSTANCE_VAR, type InstanceRole } from '../contracts/instance-pod.js';
import { VAR, type Env } from '../contracts/worker-env.js';

export interface InstanceConfig {
  readonly cluster: string;
  readonly instanceName: string;
  readonly role: InstanceRole;
  /** Required by `db`; `init` does not need it. */
  readonly serverId?: number;
  /** A replica's primary. */
  readonly primary?: { readonly host?: string; readonly instanceManager?: string; readonly instanceName?: string };
  readonly tlsServerName?: string;
  readonly appDatabase?: string;
  readonly extraArgs: string[];
  readonly bootstrap: 'initdb' | 'recovery';
  /** The address mariadbd listens on: the pod IP when the Pod says it, else every address. */
  readonly bindAddress: string;
}

/** The process kubelet's own pod IP variable (test/stack/kubelet/README.md); a real Pod sets POD_IP from status.podIP. */
const KUBELET_POD_IP = 'KUBELET_POD_IP';

function extraArgs(env: Env): string[] {
  const raw = env[INSTANCE_VAR.extraArgs];
  if (!raw) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${INSTANCE_VAR.extraArgs} must be a JSON array of mariadbd options such as ["--innodb-buffer-pool-size=64M"]`);
  }
  if (!Array.isArray(parsed) || parsed.some((a) => typeof a !== 'string' || !a.startsWith('--'))) {
    throw new ConfigError(`${INSTANCE_VAR.extraArgs} must be a JSON array of strings, each a mariadbd option starting with --`);
  }
  return parsed as string[];
}

function serverId(env: Env): number | undefined {
  const raw = env[INSTANCE_VAR.serverId];
  if (!raw) return undefined;
  const id = Number(raw);
  if (!/^\d+$/.test(raw) || id < 1 || id > 4294967295)
    throw new ConfigError(`${INSTANCE_VAR.serverId} must be an integer from 1 to 4294967295 (got ${JSON.stringify(raw.slice(0, 20))})`);
  return id;
}

export function decodeInstanceEnv(env: Env): InstanceConfig {
  const role = env[INSTANCE_VAR.role] || 'primary';
  if (role !== 'primary' && role !== 'replica')
    throw new ConfigError(`${INSTANCE_VAR.role} must be primary or replica (got ${JSON.stringify(role.slice(0, 20))})`);
  const bootstrap = env[INSTANCE_VAR.bootstrap] || 'initdb';
  if (bootstrap !== 'initdb' && bootstrap !== 'recovery')
    throw new ConfigError(`${INSTANCE_VAR.bootstrap} must be initdb or recovery (got ${JSON.stringify(bootstrap.slice(0, 20))})`);
  const primary = {
    host: env[INSTANCE_VAR.primaryHost] || undefined,
    instanceManager: env[INSTANCE_VAR.primaryInstanceManager] || undefined,
    instanceName: env[INSTANCE_VAR.primaryInstanceName] || undefined,
  };
  return {
    cluster: env[INSTANCE_VAR.cluster] || 'cluster',
    instanceName: env[INSTANCE_VAR.instanceName] || env[VAR.podName] || 'instance',
    role,
    serverId: serverId(env),
    ...(primary.host || primary.instanceManager ? { primary } : {}),
    tlsServerName: env[INSTANCE_VAR.tlsServerName] || undefined,
    appDatabase: env[INSTANCE_VAR.appDatabase] || undefined,
    extraArgs: extraArgs(env),
    bootstrap,
    bindAddress: env[KUBELET_POD_IP] || env[VAR.podIp] || '0.0.0.0',
  };
}
