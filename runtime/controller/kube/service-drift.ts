/**
 * Whether a Service the API server holds lacks what Silo's reconcilers want of it: their labels, their selector
 * and their ports. Pure. `KubeClient.applyService` patches only then, so a pass that changes nothing writes nothing:
 * each cluster's pass applies its five Services, and creating each first (409) then patching it cost the API server
 * ten requests a pass, several passes a second while a cluster starts or restores.
 *
 * The check matches the merge patch it guards: labels and selector keys are compared one by one (a merge patch
 * adds and changes keys, it removes none), ports as a whole list (a merge patch replaces a list), each port by the
 * fields Silo sets (the API server adds `protocol` and, for a number, the same `targetPort`).
 */
import type { V1Service } from '@kubernetes/client-node';
import type { Service } from './client.js';

const sameEntries = (want: Record<string, string> | undefined, have: Record<string, string> | undefined): boolean =>
  Object.entries(want ?? {}).every(([key, value]) => have?.[key] === value);

export function serviceDrifted(existing: Service, desired: V1Service): boolean {
  if (!sameEntries(desired.metadata?.labels, existing.metadata?.labels)) return true;
  if (!sameEntries(desired.spec?.selector, existing.spec?.selector)) return true;
  const want = desired.spec?.ports ?? [];
  const have = existing.spec?.ports ?? [];
  if (want.length !== have.length) return true;
  return want.some((port, i) => {
    const got = have[i];
    const targetPort = port.targetPort ?? port.port;
    return got.name !== port.name || got.port !== port.port || String(got.targetPort ?? got.port) !== String(targetPort);
  });
}
