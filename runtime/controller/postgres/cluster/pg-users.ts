/** The superuser's Secret `<cluster>-pguser-postgres` (kubernetes.io/basic-auth), generated once and never logged. */
import { randomBytes } from 'node:crypto';
import { pgNames } from '../../../contracts/pg-pods.js';
import { isNotFound } from '../../kube/custom-objects.js';
import { MANAGED_BY } from '../../kube/names.js';
import { PG_LABELS } from '../shared/pg-objects.js';
import type { PGClusterScope } from './pg-cluster-scope.js';

export async function ensureSuperuserSecret(scope: PGClusterScope): Promise<void> {
  const name = pgNames(scope.name).superuserSecret;
  try {
    await scope.ctx.client.readSecret(scope.namespace, name);
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await scope.ctx.client.createSecret(scope.namespace, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/basic-auth',
    metadata: {
      name,
      namespace: scope.namespace,
      labels: { ...MANAGED_BY, [PG_LABELS.cluster]: scope.name },
      ownerReferences: [scope.owner],
    },
    stringData: { username: 'postgres', password: randomBytes(24).toString('base64url') },
  });
}
