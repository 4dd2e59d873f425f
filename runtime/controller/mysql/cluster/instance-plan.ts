/**
 * Which instance Pods and PVCs to create or delete, from what exists (decision 0261: Pods and PVCs
 * managed directly). Pure. Serial numbers grow and are never reused, so a lost replica comes back
 * as a new instance cloned from the primary, and a server id (the serial) is never shared.
 *
 * - The primary first; replicas only once it is Ready, one clone at a time.
 * - A replica whose PVC is gone is a lost instance: its Pod is deleted and a new serial replaces it.
 * - Scaling down deletes the newest replicas, never the primary.
 */
import type { InstanceRole } from '../../../contracts/instance-pod.js';
import { instanceNameFor } from './instance-pvc.js';

export interface ObservedInstance {
  readonly name: string;
  readonly serial: number;
  readonly hasPvc: boolean;
  readonly pod?: { readonly role?: string; readonly ready: boolean; readonly deleting: boolean; readonly failed: boolean };
}

export type InstanceAction =
  | { readonly kind: 'createPvc'; readonly name: string; readonly serial: number }
  | { readonly kind: 'createPod'; readonly name: string; readonly serial: number; readonly role: InstanceRole }
  | { readonly kind: 'deletePod'; readonly name: string; readonly why: string }
  | { readonly kind: 'deletePvc'; readonly name: string; readonly why: string };

export interface InstancePlan {
  readonly actions: InstanceAction[];
  /** The serial the newest instance has after these actions (status.latestGeneratedInstance). */
  readonly latestSerial: number;
  /** Why nothing more happens this pass (waiting for the primary, or for a clone to finish). */
  readonly waiting?: string;
  /** The primary's Pod was deleted with its PVC: nothing is done automatically. */
  readonly primaryLost?: boolean;
}

export interface PlanInput {
  readonly cluster: string;
  readonly desired: number;
  readonly primary: string;
  readonly latestSerial: number;
  readonly instances: readonly ObservedInstance[];
  /** The primary's PVC is created and filled by the recovery step, not here. */
  readonly primaryVolumeByRecovery: boolean;
}

/** `<cluster>-<serial>` → serial, or undefined for a name of another shape. */
export function serialOf(cluster: string, name: string): number | undefined {
  const prefix = `${cluster}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^[1-9][0-9]{0,5}$/.test(rest) ? Number(rest) : undefined;
}

function planPrimary(input: PlanInput, primary: ObservedInstance | undefined, serial: number): InstancePlan | InstanceAction[] {
  const actions: InstanceAction[] = [];
  if (!primary?.hasPvc) {
    if (primary?.pod || input.latestSerial >= serial) return { actions: [], latestSerial: input.latestSerial, primaryLost: true };
    if (input.primaryVolumeByRecovery)
      return { actions: [], latestSerial: input.latestSerial, waiting: 'the recovery step fills the primary volume' };
    actions.push({ kind: 'createPvc', name: input.primary, serial });
  }
  if (!primary?.pod) actions.push({ kind: 'createPod', name: input.primary, serial, role: 'primary' });
  else if (primary.pod.failed && !primary.pod.deleting) actions.push({ kind: 'deletePod', name: input.primary, why: 'its Pod failed' });
  return actions;
}

export function planInstances(input: PlanInput): InstancePlan {
  const byName = new Map(input.instances.map((i) => [i.name, i]));
  const primarySerial = serialOf(input.cluster, input.primary) ?? 1;
  const primary = byName.get(input.primary);
  const primaryPlan = planPrimary(input, primary, primarySerial);
  if (!Array.isArray(primaryPlan)) return primaryPlan;
  const latest = Math.max(input.latestSerial, primarySerial);
  if (primaryPlan.length || !primary?.pod?.ready)
    return { actions: primaryPlan, latestSerial: latest, waiting: `primary ${input.primary} is not Ready yet` };

  const actions: InstanceAction[] = [];
  const replicas = input.instances.filter((i) => i.name !== input.primary).sort((a, b) => a.serial - b.serial);
  for (const lost of replicas.filter((r) => !r.hasPvc && r.pod && !r.pod.deleting))
    actions.push({ kind: 'deletePod', name: lost.name, why: 'its PVC is gone' });
  const alive = replicas.filter((r) => r.hasPvc);
  for (const r of alive.filter((r) => !r.pod)) actions.push({ kind: 'createPod', name: r.name, serial: r.serial, role: 'replica' });
  for (const r of alive.filter((r) => r.pod?.failed && !r.pod.deleting))
    actions.push({ kind: 'deletePod', name: r.name, why: 'its Pod failed' });

  const wanted = input.desired - 1;
  if (alive.length > wanted) {
    for (const r of alive.slice(wanted).reverse()) {
      actions.push({ kind: 'deletePod', name: r.name, why: `scaling down to ${input.desired} instances` });
      actions.push({ kind: 'deletePvc', name: r.name, why: `scaling down to ${input.desired} instances` });
    }
    return { actions, latestSerial: latest };
  }
  const cloning = alive.find((r) => !r.pod?.ready);
  if (alive.length < wanted) {
    if (cloning) return { actions, latestSerial: latest, waiting: `replica ${cloning.name} is still joining` };
    const serial = latest + 1;
    const name = instanceNameFor(input.cluster, serial);
    actions.push({ kind: 'createPvc', name, serial }, { kind: 'createPod', name, serial, role: 'replica' });
    return { actions, latestSerial: serial };
  }
  return { actions, latestSerial: latest };
}
