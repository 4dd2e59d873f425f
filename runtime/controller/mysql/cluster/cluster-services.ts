/**
 * A Cluster's three Services: `<c>-rw` (the primary), `<c>-ro` (replicas that replicate without
 * error: LABELS.serving) and `<c>-r` (any instance). Selectors follow labels the reconciler keeps
 * current on the instance Pods, so a replica that stops replicating leaves `-ro` within one pass.
 */
import type { V1OwnerReference, V1Service } from '@kubernetes/client-node';
import { LABELS, MYSQL_PORT } from '../../../contracts/instance-pod.js';
import { MANAGED_BY } from '../../kube/names.js';

export const serviceNames = (cluster: string) => ({ rw: `${cluster}-rw`, ro: `${cluster}-ro`, r: `${cluster}-r` });

export function clusterServices(cluster: string, namespace: string, owner: V1OwnerReference): V1Service[] {
  const names = serviceNames(cluster);
  const service = (name: string, selector: Record<string, string>): V1Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { [LABELS.cluster]: cluster, ...MANAGED_BY }, ownerReferences: [owner] },
    spec: { selector: { [LABELS.cluster]: cluster, ...selector }, ports: [{ name: 'mysql', port: MYSQL_PORT, targetPort: MYSQL_PORT }] },
  });
  return [
    service(names.rw, { [LABELS.instanceRole]: 'primary' }),
    service(names.ro, { [LABELS.instanceRole]: 'replica', [LABELS.serving]: 'true' }),
    service(names.r, {}),
  ];
}
