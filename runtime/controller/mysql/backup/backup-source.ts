/**
 * Which instance a Backup streams from. The instance Pod contract (until the
 * Cluster reconciler creates the Pods itself; docs/decisions/0220-instance-pod-contract.md):
 *
 * - labels `mysql.cloudnative-mysql.io/cluster: <cluster>` and
 *   `mysql.cloudnative-mysql.io/instance-role: primary|replica`;
 * - a container running `silo instance-manager` listening with mTLS on the pod IP,
 *   on the container port named `instance-mgr` (default 8443);
 * - the Pod's Ready condition says whether the instance serves;
 * - replicas carry `mysql.cloudnative-mysql.io/replication-lag-seconds`, kept
 *   current by whoever runs the instance (a number; anything else means
 *   replication is broken and the replica is not a healthy source).
 */
import type { Pod } from '../../kube/client.js';
import type { Failure } from './backup-reasons.js';
import { REASON } from './backup-reasons.js';
import { INSTANCE_MANAGER_PORT, INSTANCE_MANAGER_PORT_NAME, instanceManagerUrl } from '../../../contracts/instance-manager-protocol.js';

export const CLUSTER_LABEL = 'mysql.cloudnative-mysql.io/cluster';
export const INSTANCE_ROLE_LABEL = 'mysql.cloudnative-mysql.io/instance-role';
export const REPLICATION_LAG_ANNOTATION = 'mysql.cloudnative-mysql.io/replication-lag-seconds';
/** The instance manager's port and port name: runtime/contracts/instance-manager-protocol.ts. */
export { INSTANCE_MANAGER_PORT, INSTANCE_MANAGER_PORT_NAME };

/** Label selector of a Cluster's instance Pods. Backup Jobs never carry the role label, so they never match it. */
export const instanceSelector = (cluster: string): string => `${CLUSTER_LABEL}=${cluster},${INSTANCE_ROLE_LABEL} in (primary,replica)`;

export type BackupTarget = 'primary' | 'prefer-standby';

export interface SelectedSource {
  readonly podName: string;
  readonly role: 'primary' | 'replica';
  /** https://<pod-ip>:<port> */
  readonly instanceManagerUrl: string;
  /** Replication lag in seconds when known (replicas only). */
  readonly lagSeconds?: number;
}

interface Candidate extends SelectedSource {
  readonly healthy: boolean;
  readonly why: string;
}

/** The instance manager's port: the container port named `instance-mgr`, else the default. */
const instanceManagerPort = (pod: Pod): number =>
  pod.spec?.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === INSTANCE_MANAGER_PORT_NAME)?.containerPort ??
  INSTANCE_MANAGER_PORT;

/** The replica's lag annotation: undefined when absent, NaN when it is not a number of seconds. */
function replicationLag(pod: Pod): { lag: number | undefined; lagText: string | undefined } {
  const lagText = pod.metadata?.annotations?.[REPLICATION_LAG_ANNOTATION];
  const lag = lagText === undefined ? undefined : /^\d+(\.\d+)?$/.test(lagText.trim()) ? Number(lagText) : NaN;
  return { lag, lagText };
}

/** Why the instance cannot serve a backup, or '' when it can. */
function unhealthyBecause(pod: Pod, role: 'primary' | 'replica', lag: { lag: number | undefined; lagText: string | undefined }): string {
  const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
  if (pod.metadata?.deletionTimestamp) return 'is being deleted';
  if (pod.status?.phase !== 'Running') return `is ${pod.status?.phase ?? 'not running'}`;
  if (!ready) return 'is not Ready';
  if (!pod.status?.podIP) return 'has no pod IP';
  if (role === 'replica' && Number.isNaN(lag.lag)) return `reports replication as ${JSON.stringify(lag.lagText)} (not a lag in seconds)`;
  return '';
}

function describe(pod: Pod): Candidate {
  const role = pod.metadata?.labels?.[INSTANCE_ROLE_LABEL] === 'primary' ? 'primary' : 'replica';
  const lag = replicationLag(pod);
  const why = unhealthyBecause(pod, role, lag);
  return {
    podName: pod.metadata?.name ?? '',
    role,
    instanceManagerUrl: instanceManagerUrl(pod.status?.podIP, instanceManagerPort(pod)),
    healthy: why === '',
    why,
    ...(lag.lag !== undefined && !Number.isNaN(lag.lag) ? { lagSeconds: lag.lag } : {}),
  };
}

/**
 * `prefer-standby`: the healthy replica with the least lag (unknown lag ranks
 * last, then by name), else the healthy primary. `primary`: the healthy primary.
 * With several primaries labelled, the Cluster's status.currentPrimary wins.
 */
export function selectSource(pods: Pod[], target: BackupTarget, cluster: string, currentPrimary?: string): SelectedSource | Failure {
  const candidates = pods.map(describe).sort((a, b) => a.podName.localeCompare(b.podName));
  const primaries = candidates
    .filter((c) => c.role === 'primary' && c.healthy)
    .sort((a, b) => Number(b.podName === currentPrimary) - Number(a.podName === currentPrimary));
  const strip = ({ healthy: _h, why: _w, ...source }: Candidate): SelectedSource => source;
  if (target === 'prefer-standby') {
    const replicas = candidates
      .filter((c) => c.role === 'replica' && c.healthy)
      .sort((a, b) => (a.lagSeconds ?? Infinity) - (b.lagSeconds ?? Infinity) || a.podName.localeCompare(b.podName));
    if (replicas.length) return strip(replicas[0]);
  }
  if (primaries.length) return strip(primaries[0]);
  const seen = candidates.length
    ? candidates.map((c) => `${c.podName} (${c.role}) ${c.healthy ? 'is healthy' : c.why}`).join('; ')
    : `no Pods match ${instanceSelector(cluster)}`;
  const wanted =
    target === 'primary'
      ? 'target: primary needs a Running, Ready primary instance'
      : 'target: prefer-standby needs a Running, Ready replica or primary';
  return {
    reason: REASON.NoHealthySource,
    message: `no healthy source instance for Cluster ${cluster}: ${wanted}, and ${seen}; wait for the instances to become Ready and create a new Backup`,
  };
}

export const isFailure = (value: SelectedSource | Failure | unknown): value is Failure =>
  typeof value === 'object' && value !== null && 'reason' in value && 'message' in value;
