/**
 * The Cluster's status from its instances: each instance manager's /status (read every pass, at
 * most 10 s apart), assessed (instance-health.ts), then written three ways: status.instancesStatus,
 * the Pods' `serving` label (the read-only Service and backup-source selection follow it) and the
 * replication-lag annotation that `prefer-standby` Backups read (decision 0220).
 */
import type { InstanceStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { ANNOTATIONS, LABELS, type InstanceRole } from '../../../contracts/instance-pod.js';
import type { Pod } from '../../kube/client.js';
import type { ClusterPkiSecretNames } from './cluster-pki.js';
import type { ClusterScope } from './cluster-scope.js';
import { assessInstance, type InstanceHealth } from './instance-health.js';
import { fetchInstanceStatus, pointReplicaAt, type InstanceManagerStatus, type InstanceManagerTls } from './instance-manager-client.js';

/** The Pod's Ready condition is True. */
export const isReady = (pod: Pod): boolean => !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function instanceManagerTls(scope: ClusterScope, names: ClusterPkiSecretNames): Promise<InstanceManagerTls | undefined> {
  const read = (name: string) => scope.ctx.client.readSecret(scope.namespace, name).catch(() => undefined);
  const [client, ca] = await Promise.all([read(names.clientTLS), read(names.serverCA)]);
  const field = (data: Record<string, string> | undefined, key: string) =>
    data?.[key] ? Buffer.from(data[key], 'base64').toString('utf8') : '';
  if (!client?.data || !ca?.data) return undefined;
  return {
    ca: field(ca.data, 'ca.crt'),
    cert: field(client.data, 'tls.crt'),
    key: field(client.data, 'tls.key'),
    servername: `${scope.name}-instance-manager`,
  };
}

async function statusOf(pod: Pod, tls: InstanceManagerTls | undefined): Promise<{ status?: InstanceManagerStatus; statusError?: string }> {
  if (!pod.status?.podIP) return { statusError: 'no pod IP yet' };
  if (!tls) return { statusError: "the Cluster's client certificate or server CA Secret cannot be read" };
  try {
    return { status: await fetchInstanceStatus(pod.status.podIP, tls) };
  } catch (error) {
    return { statusError: (error as Error).message.slice(0, 200) };
  }
}

/** Keeps each Pod's serving label and lag annotation in step with its health. */
async function labelPod(scope: ClusterScope, pod: Pod, health: InstanceHealth): Promise<void> {
  const serving = health.serving ? 'true' : 'false';
  const lag = health.role === 'primary' ? null : health.serving ? String(health.replicationLagSeconds ?? 0) : 'broken';
  const labels = pod.metadata?.labels ?? {};
  const annotations = pod.metadata?.annotations ?? {};
  if (labels[LABELS.serving] === serving && (annotations[ANNOTATIONS.replicationLag] ?? null) === lag) return;
  await scope.ctx.client.patchPodMetadata(scope.namespace, pod.metadata!.name!, {
    labels: { [LABELS.serving]: serving },
    annotations: { [ANNOTATIONS.replicationLag]: lag },
  });
}

export interface Observation {
  readonly instances: InstanceHealth[];
  readonly primary?: InstanceHealth;
  readonly primaryStatus?: InstanceManagerStatus;
}

/** Reads every instance, labels its Pod, re-points replicas that follow an old primary address. */
export async function observeInstances(
  scope: ClusterScope,
  pods: Pod[],
  primaryName: string,
  pki: ClusterPkiSecretNames,
): Promise<Observation> {
  const tls = await instanceManagerTls(scope, pki);
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp);
  const statuses = await Promise.all(live.map((pod) => statusOf(pod, tls)));
  const primaryIndex = live.findIndex((p) => p.metadata?.name === primaryName);
  const primaryStatus = primaryIndex >= 0 ? statuses[primaryIndex].status : undefined;
  const primaryIp = primaryIndex >= 0 ? live[primaryIndex].status?.podIP : undefined;
  const instances: InstanceHealth[] = [];
  for (const [i, pod] of live.entries()) {
    const role: InstanceRole = pod.metadata?.name === primaryName ? 'primary' : 'replica';
    const observed = statuses[i];
    const masterHost = observed.status?.replication?.masterHost;
    if (role === 'replica' && tls && primaryIp && pod.status?.podIP && masterHost && masterHost !== primaryIp) {
      await pointReplicaAt(pod.status.podIP, tls, { host: primaryIp }).catch(() => undefined);
    }
    const health = assessInstance(
      { name: pod.metadata!.name!, role, podReady: isReady(pod), podIP: pod.status?.podIP, ...observed },
      primaryStatus,
    );
    instances.push(health);
    await labelPod(scope, pod, health);
  }
  instances.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  return { instances, primary: instances.find((i) => i.role === 'primary'), primaryStatus };
}

export function instanceStatusRows(observation: Observation, now: Date): InstanceStatus[] {
  return observation.instances.map((i) => ({
    name: i.name,
    role: i.role,
    ready: i.ready,
    ...(i.podIP ? { podIP: i.podIP } : {}),
    ...(i.serverId !== undefined ? { serverId: i.serverId } : {}),
    ...(i.gtidPosition ? { gtidPosition: i.gtidPosition } : {}),
    ...(i.replicationLagSeconds !== undefined ? { replicationLagSeconds: i.replicationLagSeconds } : {}),
    serving: i.serving,
    ...(i.reason ? { reason: i.reason, message: i.message } : {}),
    observedAt: now.toISOString(),
  }));
}
