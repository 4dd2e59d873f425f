/**
 * The PersistentVolumeClaim of one instance of a MySQL/MariaDB Cluster: named like the instance
 * (`<cluster>-<serial>`), created before its Pod and kept when the Pod goes (CloudNativePG style: no
 * StatefulSet; the Cluster reconciler owns both). The datadir and Silo's working area share it
 * (runtime/contracts/instance-pod.ts), so a clone or a restore moves files into place by rename.
 */
import type { V1OwnerReference, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { ANNOTATIONS, LABELS } from '../../../contracts/instance-pod.js';
import { MANAGED_BY } from '../../kube/names.js';

export interface InstancePvcInput {
  readonly cluster: ClusterResource;
  readonly instanceName: string;
  /** A Kubernetes quantity; the Cluster's spec.storage.size when omitted. */
  readonly size?: string;
  /** The Cluster's spec.storage.storageClass when omitted; neither means the cluster's default class. */
  readonly storageClass?: string;
  readonly owner: V1OwnerReference;
  readonly serial?: number;
}

/** `<cluster>-<serial>`: the name of an instance, its Pod and its PVC. */
export const instanceNameFor = (cluster: string, serial: number): string => `${cluster}-${serial}`;

export const clusterName = (cluster: ClusterResource): string => (cluster.metadata as { name: string }).name;
export const clusterNamespace = (cluster: ClusterResource): string | undefined => (cluster.metadata as { namespace?: string }).namespace;

/** Labels every object of one instance carries (its Pod adds the role). */
export function instanceLabels(cluster: ClusterResource, instanceName: string): Record<string, string> {
  return { ...MANAGED_BY, [LABELS.cluster]: clusterName(cluster), [LABELS.instanceName]: instanceName };
}

export function instancePvc(input: InstancePvcInput): V1PersistentVolumeClaim {
  const { cluster, instanceName } = input;
  const storageClass = input.storageClass ?? cluster.spec.storage.storageClass;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: instanceName,
      namespace: clusterNamespace(cluster),
      labels: instanceLabels(cluster, instanceName),
      ...(input.serial !== undefined ? { annotations: { [ANNOTATIONS.serial]: String(input.serial) } } : {}),
      ownerReferences: [input.owner],
    },
    spec: {
      accessModes: ['ReadWriteOnce'],
      volumeMode: 'Filesystem',
      resources: { requests: { storage: input.size ?? cluster.spec.storage.size } },
      ...(storageClass ? { storageClassName: storageClass } : {}),
    },
  };
}
