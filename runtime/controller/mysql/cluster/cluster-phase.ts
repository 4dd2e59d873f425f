/**
 * The Cluster's phase from what one pass observed, in order of what matters most: the primary not
 * ready (Initializing), an instance out of service (Degraded, with its reason), instances still
 * being removed down to spec.instances (ScalingDown), replicas still joining (Cloning), else
 * Healthy. Pure; the reconciler writes the result with status.instancesStatus.
 */
import type { InstanceHealth } from './instance-health.js';

export interface PhaseInput {
  readonly primaryName: string;
  readonly primaryReady: boolean;
  /** Every live instance's health (Pods being deleted are not observed). */
  readonly instances: readonly InstanceHealth[];
  /** Instance Pods being deleted (scale-down, a lost volume, a failed Pod). */
  readonly leaving: readonly string[];
  readonly desired: number;
}

export interface Phase {
  readonly phase: 'Initializing' | 'Degraded' | 'ScalingDown' | 'Cloning' | 'Healthy';
  readonly reason: string;
  readonly message: string;
}

export function clusterPhase(input: PhaseInput): Phase {
  const { instances, leaving, desired } = input;
  const ready = instances.filter((i) => i.ready).length;
  if (!input.primaryReady) return { phase: 'Initializing', reason: 'Initializing', message: `primary ${input.primaryName} is starting` };
  const troubled = instances.filter((i) => !i.serving);
  if (troubled.length)
    return { phase: 'Degraded', reason: troubled[0].reason ?? 'Degraded', message: troubled.map((t) => t.message).join('; ') };
  // Leaving while the rest already make spec.instances: a scale-down (a lost replica leaves one short: Cloning).
  if (leaving.length && instances.length >= desired)
    return {
      phase: 'ScalingDown',
      reason: 'ScalingDown',
      message: `removing ${leaving.join(', ')} down to ${desired} instance${desired === 1 ? '' : 's'}; ${ready} ready`,
    };
  if (ready < desired)
    return {
      phase: 'Cloning',
      reason: 'Cloning',
      message: `${ready} of ${desired} instances ready; replicas are cloning from the primary`,
    };
  return { phase: 'Healthy', reason: 'Healthy', message: `${ready} instances ready, replicating` };
}
