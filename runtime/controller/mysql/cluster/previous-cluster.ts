/**
 * A Cluster created under the name of one just deleted finds that Cluster's Pods, PVCs, Jobs,
 * Services and Secrets still there until the garbage collector removes them (it notices a custom
 * resource's dependents only after its next discovery: about 40 s on the test stack). They carry
 * this Cluster's names and labels but the old Cluster's uid in their controller reference. Building
 * on them would start the new primary on the old volume, read the old recovery Job as this one's,
 * or refuse the PKI Secrets as a conflict; so, until this Cluster has created its first instance,
 * each pass first looks for them and waits while any is left (`WaitingForPreviousCluster`, not a
 * failure: it ends by itself). docs/decisions/0268-waiting-for-a-previous-cluster.md.
 */
import { LABELS } from '../../../contracts/instance-pod.js';
import { isNotFound } from '../../kube/custom-objects.js';
import { clusterPkiSecretNames } from './cluster-pki.js';
import type { ClusterScope } from './cluster-scope.js';
import { serviceNames } from './cluster-services.js';
import { appSecretName, systemUsersSecretName } from './cluster-users.js';

/** How soon a waiting pass looks again: the garbage collector works in seconds once it noticed. */
export const PREVIOUS_CLUSTER_POLL_MS = 5_000;

interface Meta {
  readonly name?: string;
  readonly ownerReferences?: ReadonlyArray<{ kind?: string; name?: string; uid?: string; controller?: boolean }>;
}

export interface Leftover {
  readonly kind: string;
  readonly name: string;
  /** The uid of the previous Cluster that owns it. */
  readonly ownerUid: string;
}

/**
 * The object's controller is a Cluster of this name with another uid: a Cluster of the same name
 * that is gone (names are unique in a namespace, and this Cluster holds the name now).
 */
export function previousOwnerUid(meta: Meta | undefined, cluster: string, uid: string): string | undefined {
  const owner = meta?.ownerReferences?.find((o) => o.controller && o.kind === 'Cluster');
  return owner && owner.name === cluster && owner.uid !== uid ? owner.uid : undefined;
}

/** One sentence naming what is left (at most a few names) and what ends the wait. */
export function waitingMessage(cluster: string, leftovers: readonly Leftover[]): string {
  const shown = leftovers.slice(0, 4).map((l) => `${l.kind} ${l.name}`);
  const more = leftovers.length > shown.length ? ` and ${leftovers.length - shown.length} more` : '';
  return (
    `a previous Cluster ${cluster} (uid ${leftovers[0].ownerUid}) was deleted and its ${shown.join(', ')}${more} ` +
    `${leftovers.length === 1 ? 'is' : 'are'} not removed yet; waiting for the garbage collector to remove them (delete a Cluster with propagationPolicy Foreground to avoid this wait)`
  );
}

/** Whether this pass must look for a previous Cluster's objects: only before this Cluster created anything of its own with those names. */
export const mayFindPreviousCluster = (scope: ClusterScope): boolean => (scope.status.latestGeneratedInstance ?? 0) === 0;

async function leftoverSecrets(scope: ClusterScope, uid: string): Promise<Leftover[]> {
  const pki = clusterPkiSecretNames(scope.name, scope.cluster.spec.certificates);
  const pkiNames = pki.ok
    ? [pki.names.ca, pki.names.serverCA, pki.names.serverTLS, pki.names.clientCA, pki.names.clientTLS, pki.names.replicationTLS]
    : [];
  const app = appSecretName(scope.name, scope.cluster.spec);
  const names = [...new Set([...pkiNames, systemUsersSecretName(scope.name), ...(app ? [app] : [])])];
  const read = async (name: string) => {
    try {
      return await scope.ctx.client.readSecret(scope.namespace, name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const secrets = await Promise.all(names.map(read));
  return secrets.flatMap((s) => {
    const ownerUid = previousOwnerUid(s?.metadata, scope.name, uid);
    return ownerUid ? [{ kind: 'Secret', name: s!.metadata!.name!, ownerUid }] : [];
  });
}

/** The previous Cluster's objects still present under this Cluster's names and labels. */
export async function previousClusterLeftovers(scope: ClusterScope): Promise<Leftover[]> {
  const { client } = scope.ctx;
  const uid = scope.cluster.metadata.uid;
  const selector = `${LABELS.cluster}=${scope.name}`;
  const names = serviceNames(scope.name);
  const [pods, pvcs, jobs, services, secrets] = await Promise.all([
    client.listPods(scope.namespace, selector),
    client.listPvcs(scope.namespace, selector),
    client.listJobs(scope.namespace, selector),
    Promise.all([names.rw, names.ro, names.r].map((n) => client.readService(scope.namespace, n))),
    leftoverSecrets(scope, uid),
  ]);
  const of = (kind: string, items: ReadonlyArray<{ metadata?: Meta } | undefined>): Leftover[] =>
    items.flatMap((item) => {
      const ownerUid = previousOwnerUid(item?.metadata, scope.name, uid);
      return ownerUid ? [{ kind, name: item!.metadata!.name!, ownerUid }] : [];
    });
  return [...of('Pod', pods), ...of('PVC', pvcs), ...of('Job', jobs), ...of('Service', services), ...secrets];
}
