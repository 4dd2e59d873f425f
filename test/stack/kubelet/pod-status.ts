/** Builds the Pod status the kubelet reports: phase, conditions, IPs and container statuses. */
import type { V1PodCondition } from '@kubernetes/client-node';
import { type ContainerRecord, kubeTime } from './container-status.js';

export const terminalPhases = new Set(['Succeeded', 'Failed']);

export interface PodState {
  phase: string;
  reason?: string;
  message?: string;
  initialized: boolean;
  inits: ContainerRecord[];
  containers: ContainerRecord[];
  podIP: string;
  startTime: Date;
  qosClass?: string;
}

/** Keeps lastTransitionTime stable while a condition's status does not change. */
export class ConditionClock {
  private readonly seen = new Map<string, { status: string; at: string }>();

  condition(type: string, ok: boolean, reason?: string): V1PodCondition {
    const status = ok ? 'True' : 'False';
    const prev = this.seen.get(type);
    const at = prev && prev.status === status ? prev.at : kubeTime();
    this.seen.set(type, { status, at });
    return { type, status, lastTransitionTime: at as unknown as Date, ...(ok || !reason ? {} : { reason }) };
  }
}

/** The phase while the pod is not finished: Running once a container has started. */
export function livePhase(s: PodState): string {
  if (terminalPhases.has(s.phase)) return s.phase;
  return s.initialized && s.containers.some((c) => c.running || c.terminated || c.restartCount > 0) ? 'Running' : s.phase;
}

export function buildPodStatus(s: PodState, clock: ConditionClock): object {
  const done = terminalPhases.has(s.phase);
  const ready = s.initialized && !done && s.containers.every((c) => c.ready) && s.inits.filter((c) => c.sidecar).every((c) => c.ready);
  const notReadyReason = done ? 'PodCompleted' : 'ContainersNotReady';
  return {
    phase: s.phase,
    ...(s.reason ? { reason: s.reason, message: s.message } : {}),
    conditions: [
      clock.condition('PodReadyToStartContainers', true),
      clock.condition('Initialized', s.initialized, 'ContainersNotInitialized'),
      clock.condition('Ready', ready, notReadyReason),
      clock.condition('ContainersReady', ready, notReadyReason),
      clock.condition('PodScheduled', true),
    ],
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    podIP: s.podIP,
    podIPs: [{ ip: s.podIP }],
    startTime: kubeTime(s.startTime),
    ...(s.inits.length ? { initContainerStatuses: s.inits.map((c) => c.toStatus()) } : {}),
    containerStatuses: s.containers.map((c) => c.toStatus()),
    qosClass: s.qosClass ?? 'BestEffort',
  };
}
