/**
 * The instances side of an in-place restore: stopping them (Pods deleted, the primary's PVC kept, the replicas'
 * PVCs deleted so they are cloned again from the restored primary, decision 0298) and what the primary's
 * `restore` init container reported.
 */
import { parseResultLine } from '../../../contracts/worker-result.js';
import type { KubeClient, Pod } from '../../kube/client.js';
import { PG_LABELS } from '../shared/pg-objects.js';
import { RESTORE_CONTAINER } from '../cluster/pg-restore-pod.js';

const ordinalOf = (cluster: string, name: string): number | undefined => {
  const m = new RegExp(`^${cluster.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(name);
  return m ? Number(m[1]) : undefined;
};

export interface StopResult {
  /** Instance Pods still there (deleted now or already going away). */
  readonly remaining: string[];
}

/** Deletes every instance Pod and every replica PVC of the cluster; what is still there. The repo host stays. */
export async function stopInstances(client: KubeClient, namespace: string, cluster: string): Promise<StopResult> {
  const selector = `${PG_LABELS.cluster}=${cluster}`;
  const pods = (await client.listPods(namespace, selector)).filter((p) => ordinalOf(cluster, p.metadata!.name!) !== undefined);
  for (const pod of pods) if (!pod.metadata?.deletionTimestamp) await client.deletePod(namespace, pod.metadata!.name!);
  for (const claim of await client.listPvcs(namespace, selector)) {
    const ordinal = ordinalOf(cluster, claim.metadata!.name!);
    if (ordinal !== undefined && ordinal > 1 && !claim.metadata?.deletionTimestamp)
      await client.deletePvc(namespace, claim.metadata!.name!);
  }
  return { remaining: pods.map((p) => p.metadata!.name!) };
}

export type RestoreContainerState =
  | { readonly state: 'absent' }
  | { readonly state: 'plain' }
  | { readonly state: 'running' | 'waiting' | 'interrupted'; readonly restarts: number }
  | { readonly state: 'done'; readonly line: Record<string, unknown> }
  | { readonly state: 'failed'; readonly line: Record<string, unknown> };

/** What the primary Pod's restore container says: absent Pod, a Pod without it (built before the hold), or its state. */
const hasRestoreContainer = (pod: Pod): boolean => !!pod.spec?.initContainers?.some((c) => c.name === RESTORE_CONTAINER);

export function restoreContainerState(pod: Pod | undefined): RestoreContainerState {
  if (!pod || pod.metadata?.deletionTimestamp) return { state: 'absent' };
  if (!hasRestoreContainer(pod)) return { state: 'plain' };
  const status = pod.status?.initContainerStatuses?.find((c) => c.name === RESTORE_CONTAINER);
  const terminated = status?.state?.terminated ?? status?.lastState?.terminated;
  const ended = terminated ? endedState(terminated) : undefined;
  if (ended) return ended;
  const restarts = status?.restartCount ?? 0;
  if (status?.state?.running) return { state: 'running', restarts };
  return { state: terminated ? 'interrupted' : 'waiting', restarts };
}

/** The result line the container left when it ended: done or failed; undefined when it ended without one. */
function endedState(terminated: { exitCode?: number; message?: string }): RestoreContainerState | undefined {
  const line = parseResultLine(terminated.message) as (Record<string, unknown> & { outcome: string }) | undefined;
  if (terminated.exitCode === 0 && line?.outcome === 'pg-restored') return { state: 'done', line };
  if (terminated.exitCode !== 0 && line?.outcome === 'failed') return { state: 'failed', line };
  return undefined;
}

export const isReady = (pod: Pod | undefined): boolean =>
  !!pod && !pod.metadata?.deletionTimestamp && !!pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
