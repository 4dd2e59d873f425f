/**
 * What every step of one PGCluster pass shares: the cluster as read at the start, its owner reference,
 * its conditions as this pass sets them, and its Events. The status is written once, at the end of
 * the pass (`flush`), with an Event for every condition whose reason changed.
 */
import type { V1OwnerReference } from '@kubernetes/client-node';
import type { Condition } from '../../../../src/api/common/types.js';
import type { PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { setCondition, findCondition } from '../../kube/conditions.js';
import { KINDS } from '../../kube/kinds.js';
import type { ReconcileContext } from '../../reconciler.js';
import type { PGClusterObject } from '../shared/pg-objects.js';
import { pgClusterMessage, type PGClusterReason } from './pg-cluster-reasons.js';
import { pgStatusUnchangedRecently } from './pg-status-refresh.js';

export type PGConditionType = 'Ready' | 'RepoHostReady' | 'StanzaReady' | 'ContinuousArchiving' | 'ReplicasReady';

export class PGClusterScope {
  readonly name: string;
  readonly namespace: string;
  private conditions: Condition[];
  private readonly changed: Array<{ type: string; status: string; reason: string; message: string }> = [];
  /** The instances' part of the status (pg-replicas.ts), written with every flush of this pass. */
  instances: PGClusterStatus = {};

  constructor(
    readonly ctx: ReconcileContext,
    readonly cluster: PGClusterObject,
  ) {
    this.name = cluster.metadata.name;
    this.namespace = cluster.metadata.namespace;
    this.conditions = [...(cluster.status?.conditions ?? [])];
  }

  get status(): PGClusterStatus {
    return this.cluster.status ?? {};
  }

  get owner(): V1OwnerReference {
    return {
      apiVersion: 'postgres.silo.io/v1alpha1',
      kind: 'PGCluster',
      name: this.name,
      uid: this.cluster.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
  }

  condition(type: PGConditionType): Condition | undefined {
    return findCondition(this.conditions, type);
  }

  /** Sets a condition for this pass's status; its message is the reason's sentence and fix unless `detail` says more. */
  set(type: PGConditionType, ok: boolean, reason: PGClusterReason, detail?: string): void {
    const message = pgClusterMessage(reason, detail);
    const previous = this.condition(type);
    const status = ok ? 'True' : 'False';
    if (previous?.reason !== reason || previous.status !== status) this.changed.push({ type, status, reason, message });
    this.conditions = setCondition(this.conditions, { type, status, reason, message }, this.ctx.now(), this.cluster.metadata.generation);
  }

  /** Writes phase, Ready and the conditions with `extra`; an Event per condition that changed (a Warning when it went False on a failure). */
  async flush(phase: string, ready: boolean, reason: PGClusterReason, extra: PGClusterStatus, detail?: string): Promise<void> {
    this.set('Ready', ready, reason, detail);
    // Ready repeats a condition's reason: its Event would say the same twice.
    if (this.changed.length > 1)
      this.changed.splice(
        this.changed.findIndex((c) => c.type === 'Ready'),
        1,
      );
    const status: PGClusterStatus = {
      ...extra,
      ...this.instances,
      phase,
      phaseReason: pgClusterMessage(reason, detail),
      observedGeneration: this.cluster.metadata.generation,
      conditions: this.conditions,
    };
    // Decision 0269's rule: only observation times changed and they are fresh enough: no write, so no self-wakeup.
    if (!this.changed.length && pgStatusUnchangedRecently(this.status, status, this.ctx.now())) return;
    const updated = await this.ctx.client.patchStatus<PGClusterObject>(
      KINDS.PGCluster,
      { namespace: this.namespace, name: this.name },
      status,
    );
    this.cluster.status = updated.status;
    for (const c of this.changed) {
      const warning = c.status === 'False' && !/Pending|Starting|Initializing|Restor(ing|ed|eResolved)/.test(c.reason);
      await this.ctx.events.record(this.cluster, warning ? 'Warning' : 'Normal', c.reason, `${c.type}: ${c.message}`);
    }
    this.changed.length = 0;
  }
}
