/**
 * The Cluster's database users as Secrets it owns: `<c>-system-users` (one key per operator-owned
 * user: manager, replication, backup; runtime/contracts/instance-pod.ts SYSTEM_USERS) and, when
 * bootstrap.initdb names a database without a Secret, `<c>-app` (kubernetes.io/basic-auth). Passwords
 * are generated once and never logged; the instance's init-file applies them at every start, so a
 * recovered datadir takes the new Cluster's passwords (issue 13, "Users").
 */
import { randomBytes } from 'node:crypto';
import type { V1OwnerReference, V1Secret } from '@kubernetes/client-node';
import { LABELS, SYSTEM_USERS } from '../../../contracts/instance-pod.js';
import type { ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import type { KubeClient } from '../../kube/client.js';
import { isNotFound } from '../../kube/custom-objects.js';
import { MANAGED_BY } from '../../kube/names.js';

export const systemUsersSecretName = (cluster: string): string => `${cluster}-system-users`;
export const appSecretName = (cluster: string, spec: ClusterResource['spec']): string | undefined =>
  spec.bootstrap?.initdb?.database ? (spec.bootstrap.initdb.secret?.name ?? `${cluster}-app`) : undefined;

/** 32 URL-safe characters: no quote, backslash or shell metacharacter to escape anywhere. */
export const generatePassword = (): string => randomBytes(24).toString('base64url');

function ownedSecret(name: string, namespace: string, cluster: string, owner: V1OwnerReference, secret: Partial<V1Secret>): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { [LABELS.cluster]: cluster, ...MANAGED_BY }, ownerReferences: [owner] },
    ...secret,
  };
}

async function exists(client: KubeClient, namespace: string, name: string): Promise<boolean> {
  try {
    await client.readSecret(namespace, name);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Creates the users' Secrets that are missing; existing ones (an earlier pass, or the user's own app Secret) are kept. */
export async function ensureUserSecrets(
  client: KubeClient,
  cluster: ClusterResource & { metadata: { name: string; namespace: string } },
  owner: V1OwnerReference,
): Promise<void> {
  const { name, namespace } = cluster.metadata;
  const system = systemUsersSecretName(name);
  if (!(await exists(client, namespace, system))) {
    const stringData = Object.fromEntries(Object.keys(SYSTEM_USERS).map((key) => [key, generatePassword()]));
    await createIgnoringRace(client, namespace, ownedSecret(system, namespace, name, owner, { type: 'Opaque', stringData }));
  }
  const initdb = cluster.spec.bootstrap?.initdb;
  if (initdb?.database && !initdb.secret) {
    const app = `${name}-app`;
    if (!(await exists(client, namespace, app))) {
      const username = initdb.owner ?? initdb.database;
      const stringData = { username, password: generatePassword() };
      await createIgnoringRace(
        client,
        namespace,
        ownedSecret(app, namespace, name, owner, { type: 'kubernetes.io/basic-auth', stringData }),
      );
    }
  }
}

async function createIgnoringRace(client: KubeClient, namespace: string, secret: V1Secret): Promise<void> {
  try {
    await client.createSecret(namespace, secret);
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
}
