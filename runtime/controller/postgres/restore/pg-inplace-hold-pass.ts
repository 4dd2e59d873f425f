/**
 * What the PGCluster reconciler does while a PGRestore holds the cluster (decision 0294): it keeps the volumes
 * and the repo host (the restore reads the repository through it) and builds the primary only once the restore
 * has stopped every instance, with the `restore` init container running the PGRestore's plan. No replicas,
 * schedules, initial backup or archive check run; ContinuousArchiving goes False so the archive is checked again
 * on the new timeline once the hold is released.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { pgNames, podDnsName } from '../../../contracts/pg-pods.js';
import type { PGClusterObject, PGRestoreObject } from '../shared/pg-objects.js';
import { repoIndex } from '../shared/pg-objects.js';
import { restoreConfig } from '../cluster/pg-restore-pod.js';
import type { KubeClient } from '../../kube/client.js';
import { inPlacePgPlan, withInPlaceRestore } from './pg-inplace-plan.js';
import { restoreHolding } from './pg-restore-hold.js';

export interface InPlaceHold {
  readonly restore: string;
  /** Set once the instances are stopped: the primary Pod as the restore needs it. */
  readonly primary?: (plain: V1Pod) => V1Pod;
}

/** Phases in which the primary runs the restore. */
const PRIMARY_PHASES = new Set(['Restoring', 'Recovering']);

export async function inPlaceHold(client: KubeClient, cluster: PGClusterObject): Promise<InPlaceHold | undefined> {
  const restore = await restoreHolding(client, cluster);
  if (!restore) return undefined;
  const name = restore.metadata.name;
  if (!PRIMARY_PHASES.has(restore.status?.phase ?? '') || !restore.status?.target) return { restore: name };
  return { restore: name, primary: (plain) => restoringPrimary(plain, cluster, restore) };
}

function restoringPrimary(plain: V1Pod, cluster: PGClusterObject, restore: PGRestoreObject): V1Pod {
  const { name, namespace } = cluster.metadata;
  const names = pgNames(name);
  const repo = cluster.spec.backups.pgbackrest.repos.find((r) => r.name === restore.spec.repoName)!;
  const repoHostHost = podDnsName(names.repoHost, names.repoService, namespace);
  const conf = restoreConfig({ namespace, cluster: name, repo, repoHostHost });
  const plan = inPlacePgPlan(restore.metadata.uid, restore.status!, repoIndex(repo), conf, restore.spec.options);
  return withInPlaceRestore(
    plain,
    {
      plan,
      // The instance certificate: this cluster's CA, the CN its repo host admits.
      tlsSecret: names.instanceTlsSecret,
      ...(repo.encryption ? { cipherPass: { name: repo.encryption.passphrase.name, key: repo.encryption.passphrase.key } } : {}),
    },
    restore.metadata.name,
  );
}
