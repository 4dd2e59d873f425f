/**
 * A PGCluster's client Services, shaped like a mysql Cluster's (cluster-services.ts): `<c>-rw` (the
 * primary), `<c>-ro` (replicas that stream with a small lag: PG_LABELS.serving, kept current by the
 * reconciler at least every 10 s) and `<c>-r` (every instance). The repo host and backup Pods carry the
 * cluster label too, so every selector names instances explicitly.
 */
import type { V1OwnerReference, V1Service } from '@kubernetes/client-node';
import { PG_PORT } from '../../../contracts/pg-pods.js';
import { MANAGED_BY } from '../../kube/names.js';
import { PG_LABELS } from '../shared/pg-objects.js';

export const pgServiceNames = (cluster: string) => ({ rw: `${cluster}-rw`, ro: `${cluster}-ro`, r: `${cluster}-r` });

export function pgClientServices(input: { cluster: string; namespace: string; owner: V1OwnerReference }): V1Service[] {
  const names = pgServiceNames(input.cluster);
  const service = (name: string, selector: Record<string, string>): V1Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: input.namespace,
      labels: { ...MANAGED_BY, [PG_LABELS.cluster]: input.cluster },
      ownerReferences: [input.owner],
    },
    spec: {
      selector: { [PG_LABELS.cluster]: input.cluster, [PG_LABELS.instance]: 'true', ...selector },
      ports: [{ name: 'postgres', port: PG_PORT, targetPort: PG_PORT }],
    },
  });
  return [
    service(names.rw, { [PG_LABELS.role]: 'primary' }),
    service(names.ro, { [PG_LABELS.role]: 'replica', [PG_LABELS.serving]: 'true' }),
    service(names.r, {}),
  ];
}
