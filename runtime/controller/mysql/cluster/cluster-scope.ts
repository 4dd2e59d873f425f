/**
 * What every step of one Cluster reconcile shares: the Cluster as read at the start of the pass,
 * its owner reference for what it creates, and the two ways it speaks: its status and its Events.
 */
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { ClusterResource, ClusterStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { setCondition } from '../../kube/conditions.js';
import { KINDS } from '../../kube/kinds.js';
import type { KubeObject, ReconcileContext } from '../../reconciler.js';

/**
 * `disabled` pauses the Cluster reconciler for this Cluster (maintenance by hand, or instances made
 * by hand); Backups, schedules and retention still work on it. CloudNativePG has the same switch.
 */
export const RECONCILIATION_ANNOTATION = 'mysql.cloudnative-mysql.io/reconciliation';

export type ClusterObject = ClusterResource &
  KubeObject & {
    metadata: {
      name: string;
      namespace: string;
      uid: string;
      generation?: number;
      deletionTimestamp?: string;
      annotations?: Record<string, string>;
    };
  };

export class ClusterScope {
  readonly name: string;
  readonly namespace: string;

  constructor(
    readonly ctx: ReconcileContext,
    readonly cluster: ClusterObject,
  ) {
    this.name = cluster.metadata.name;
    this.namespace = cluster.metadata.namespace;
  }

  get status(): ClusterStatus {
    return this.cluster.status ?? {};
  }

  get owner(): V1OwnerReference {
    return {
      apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
      kind: 'Cluster',
      name: this.name,
      uid: this.cluster.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
  }

  async patchStatus(status: ClusterStatus): Promise<void> {
    // With the resourceVersion the pass read as a precondition: a pass that began before the Cluster
    // changed (or was deleted and re-created under the same name) fails with a conflict and is
    // retried on the new object, instead of writing a stale status onto it.
    const key = { namespace: this.namespace, name: this.name };
    const updated = await this.ctx.client.patchStatus<ClusterObject>(KINDS.Cluster, key, status, this.cluster.metadata.resourceVersion);
    this.cluster.status = updated.status;
    this.cluster.metadata.resourceVersion = updated.metadata.resourceVersion;
  }

  /** Sets one condition, keeping the others (the list is written whole: merge patches replace arrays). */
  conditionsWith(type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string): ClusterStatus['conditions'] {
    return setCondition(this.status.conditions, { type, status, reason, message }, this.ctx.now(), this.cluster.metadata.generation);
  }

  /** phase, its reason as phaseReason and the Ready condition, in one patch with `extra`. */
  async setPhase(phase: string, reason: string, message: string, extra: ClusterStatus = {}): Promise<void> {
    const ready = phase === 'Healthy' ? 'True' : 'False';
    if (this.status.phase !== phase || this.status.phaseReason !== message) {
      const type = phase === 'Failed' ? 'Warning' : 'Normal';
      if (this.status.phaseReason !== message) await this.event(type, reason, message);
    }
    await this.patchStatus({
      ...extra,
      phase,
      phaseReason: message,
      observedGeneration: this.cluster.metadata.generation,
      conditions: setCondition(
        extra.conditions ?? this.status.conditions,
        { type: 'Ready', status: ready, reason, message },
        this.ctx.now(),
      ),
    });
  }

  event(type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    return this.ctx.events.record(this.cluster, type, reason, message);
  }
}
