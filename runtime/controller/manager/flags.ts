/**
 * `silo controller` flags and environment, parsed into options with one clear
 * sentence per bad value.
 */
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { LogLevel } from '../../logging/logger.js';
import type { OperatorSettings } from '../reconciler.js';
import { ConfigError } from '../../contracts/config-error.js';
import { siloImages } from '../../../src/install/images.js';

/** The workers' image when SILO_WORKER_IMAGE is empty (the install bundle always sets it; src/install/images.ts). */
export const DEFAULT_WORKER_IMAGE = siloImages().silo;
/** A Cluster's instances run this image when spec.imageName is empty: MariaDB, mariabackup and Silo's instance manager. */
export const DEFAULT_INSTANCE_IMAGE = siloImages().mysqlInstance;

/** A PGCluster's Pods and backup Jobs run this image when spec.image is empty: PostgreSQL 15, pgBackRest and Silo's CLI. */
export const DEFAULT_PG_INSTANCE_IMAGE = siloImages().pgInstance;

/** SILO_WORKER_IMAGE, SILO_INSTANCE_IMAGE and SILO_PG_INSTANCE_IMAGE, else the defaults. */
const imagesFrom = (env: NodeJS.ProcessEnv) => ({
  workerImage: env.SILO_WORKER_IMAGE || DEFAULT_WORKER_IMAGE,
  instanceImage: env.SILO_INSTANCE_IMAGE || DEFAULT_INSTANCE_IMAGE,
  pgInstanceImage: env.SILO_PG_INSTANCE_IMAGE || DEFAULT_PG_INSTANCE_IMAGE,
});

export interface ControllerFlags {
  readonly leaderElect: boolean;
  readonly leaderElectionId: string;
  readonly leaderElectionNamespace: string;
  /** Empty: every namespace. */
  readonly watchNamespaces: string[];
  readonly metricsPort: number;
  readonly healthPort: number;
  readonly bindAddress: string;
  readonly identity: string;
  readonly logLevel: LogLevel;
  readonly concurrency: number;
  readonly resyncMs: number;
  readonly shutdownGraceMs: number;
  /** --cluster-scoped-selector: label selector for cluster-scoped kinds (see ManagerOptions.clusterScopedSelector). */
  readonly clusterScopedSelector?: string;
  /** Ignore status-only updates of primary objects (see ManagerOptions.skipStatusOnlyUpdates). */
  readonly skipStatusOnlyUpdates: boolean;
  readonly settings: OperatorSettings;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`--${flag} must be a port number 0-65535, got "${value}"`);
  return n;
}

function positive(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`--${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** Parses argv (after `controller`) and env; throws an Error naming the flag and the fix. */
export function parseControllerFlags(argv: string[], env: NodeJS.ProcessEnv): ControllerFlags {
  let parsed;
  try {
    parsed = parseControllerArgs(argv);
  } catch (error) {
    throw new ConfigError(
      `silo controller: ${(error as Error).message}; flags: --leader-elect, --leader-election-id, --leader-election-namespace, --watch-namespace, --metrics-port, --health-port, --bind-address, --identity, --log-level, --concurrency, --resync-seconds, --shutdown-grace-seconds, --skip-status-only-updates, --cluster-scoped-selector`,
    );
  }
  const { values } = parsed;
  return fromValues(values, env);
}

const parseControllerArgs = (argv: string[]) =>
  parseArgs({
    args: argv,
    strict: true,
    options: {
      'leader-elect': { type: 'boolean', default: false },
      'leader-election-id': { type: 'string', default: 'silo-operator' },
      'leader-election-namespace': { type: 'string' },
      'watch-namespace': { type: 'string', default: '' },
      'metrics-port': { type: 'string', default: '8080' },
      'health-port': { type: 'string', default: '8081' },
      'bind-address': { type: 'string' },
      identity: { type: 'string' },
      'log-level': { type: 'string' },
      concurrency: { type: 'string', default: '4' },
      'resync-seconds': { type: 'string', default: '300' },
      'shutdown-grace-seconds': { type: 'string', default: '20' },
      'skip-status-only-updates': { type: 'boolean', default: false },
      'cluster-scoped-selector': { type: 'string' },
    },
  });

function fromValues(values: ReturnType<typeof parseControllerArgs>['values'], env: NodeJS.ProcessEnv): ControllerFlags {
  const leaderElectionId = values['leader-election-id']!;
  if (!DNS_SUBDOMAIN.test(leaderElectionId))
    throw new ConfigError(
      `--leader-election-id must be a DNS subdomain name (lower-case letters, digits, "-" and "."), got "${leaderElectionId}"`,
    );
  const operatorNamespace = env.POD_NAMESPACE || env.OPERATOR_NAMESPACE || 'silo-system';
  const leaderElectionNamespace = values['leader-election-namespace'] ?? operatorNamespace;
  if (!DNS_LABEL.test(leaderElectionNamespace))
    throw new ConfigError(`--leader-election-namespace must be a namespace name, got "${leaderElectionNamespace}"`);
  const watchNamespaces = values['watch-namespace']!.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const ns of watchNamespaces)
    if (!DNS_LABEL.test(ns)) throw new ConfigError(`--watch-namespace takes a comma-separated list of namespace names; "${ns}" is not one`);
  const logLevel = (values['log-level'] ?? env.SILO_LOG_LEVEL ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel))
    throw new ConfigError(`--log-level must be debug, info, warn or error, got "${logLevel}"`);
  const { workerImage, instanceImage, pgInstanceImage } = imagesFrom(env);
  const podStartGraceSeconds = Number(env.SILO_POD_START_GRACE_SECONDS || 60);
  if (!Number.isInteger(podStartGraceSeconds) || podStartGraceSeconds < 1) {
    throw new ConfigError(
      `SILO_POD_START_GRACE_SECONDS must be a whole number of seconds, at least 1, got "${env.SILO_POD_START_GRACE_SECONDS}"`,
    );
  }
  return {
    leaderElect: values['leader-elect']!,
    leaderElectionId,
    leaderElectionNamespace,
    watchNamespaces,
    metricsPort: port('metrics-port', values['metrics-port']!),
    healthPort: port('health-port', values['health-port']!),
    // In a pod the servers listen on the pod IP: the process kubelet shares one host network.
    bindAddress: values['bind-address'] ?? (env.POD_IP || '127.0.0.1'),
    identity: values.identity ?? (env.POD_NAME || `${hostname()}-${process.pid}`),
    logLevel,
    concurrency: positive('concurrency', values.concurrency!),
    resyncMs: positive('resync-seconds', values['resync-seconds']!) * 1000,
    shutdownGraceMs: positive('shutdown-grace-seconds', values['shutdown-grace-seconds']!) * 1000,
    skipStatusOnlyUpdates: values['skip-status-only-updates']!,
    ...(values['cluster-scoped-selector'] ? { clusterScopedSelector: values['cluster-scoped-selector'] } : {}),
    settings: { workerImage, instanceImage, pgInstanceImage, operatorNamespace, podStartGraceSeconds },
  };
}
