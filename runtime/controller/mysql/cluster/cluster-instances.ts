/**
 * Carries out an instance plan (instance-plan.ts) with the Pod and PVC builders (instance-pod.ts),
 * with an Event for each instance that comes, goes or is cloned again.
 */
import type { Pod } from '../../kube/client.js';
import type { ClusterScope } from './cluster-scope.js';
import type { ClusterPkiSecretNames } from './cluster-pki.js';
import { appSecretName, systemUsersSecretName } from './cluster-users.js';
import { instancePod } from './instance-pod.js';
import { instancePvc } from './instance-pvc.js';
import type { InstanceAction, InstancePlan } from './instance-plan.js';

export interface PlanContext {
  readonly primaryPod?: Pod;
  /** Replicas the last pass saw whose volume is gone now. */
  readonly lost: readonly string[];
  readonly pki: ClusterPkiSecretNames;
}

async function apply(scope: ClusterScope, action: InstanceAction, context: PlanContext): Promise<void> {
  const { client } = scope.ctx;
  const { cluster, namespace } = scope;
  switch (action.kind) {
    case 'createPvc':
      await client.createPvc(instancePvc({ cluster: scope.cluster, instanceName: action.name, owner: scope.owner }));
      return;
    case 'createPod': {
      const primaryIp = context.primaryPod?.status?.podIP;
      await client.createPod(
        instancePod({
          cluster,
          instanceName: action.name,
          serial: action.serial,
          role: action.role,
          serverId: action.serial,
          ...(action.role === 'replica' && primaryIp
            ? { primary: { podIp: primaryIp, instanceName: context.primaryPod!.metadata!.name! } }
            : {}),
          image: scope.ctx.settings.instanceImage ?? scope.ctx.settings.workerImage,
          secrets: {
            serverTLS: context.pki.serverTLS,
            serverCA: context.pki.serverCA,
            clientCA: context.pki.clientCA,
            replicationTLS: context.pki.replicationTLS,
            systemUsers: systemUsersSecretName(scope.name),
            appUser: appSecretName(scope.name, cluster.spec),
          },
          appDatabase: cluster.spec.bootstrap?.initdb?.database,
          bootstrap: action.role === 'primary' && cluster.spec.bootstrap?.recovery ? 'recovery' : 'initdb',
          owner: scope.owner,
        }),
      );
      return;
    }
    case 'deletePod':
      await client.deletePod(namespace, action.name);
      await scope.event('Normal', 'InstanceDeleted', `deleted the Pod of ${action.name}: ${action.why}`);
      return;
    case 'deletePvc':
      await client.deletePvc(namespace, action.name);
      await scope.event('Normal', 'InstanceVolumeDeleted', `deleted the PVC of ${action.name}: ${action.why}`);
      return;
  }
}

export async function applyInstancePlan(scope: ClusterScope, plan: InstancePlan, context: PlanContext): Promise<void> {
  for (const action of plan.actions) await apply(scope, action, context);
  const created = plan.actions.filter((a) => a.kind === 'createPvc' && a.serial > 1).map((a) => a.name);
  if (!created.length) return;
  const { lost } = context;
  for (const name of created) {
    const why = lost.length ? ` to replace ${lost.join(', ')} (its Pod and PVC are gone)` : '';
    await scope.event(
      'Normal',
      'ReplicaCloning',
      `creating replica ${name}${why}: it clones from primary ${context.primaryPod?.metadata?.name} and then replicates`,
    );
  }
}
