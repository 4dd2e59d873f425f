/**
 * mysql.cloudnative-mysql.io Cluster: its PKI and users, its Services, its bootstrap (an empty
 * database, or recovery from a Backup or from the bucket alone), its instances (Pods and PVCs
 * managed directly, replicas cloned from the primary) and its status, refreshed from every
 * instance manager at most 10 s apart. Which reconciler owns which Cluster field: decision 0264.
 *
 * Each pass runs the steps in order; a step that must wait returns when to look again.
 */
import type { Pod, PersistentVolumeClaim } from '../../kube/client.js';
import { KINDS } from '../../kube/kinds.js';
import { labelledKeys, ownerKeysOf } from '../../kube/owner-keys.js';
import type { ObjectKey, ReconcileContext, ReconcileResult, Reconciler } from '../../reconciler.js';
import { LABELS } from '../../../contracts/instance-pod.js';
import type { CertificatesStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import type { ClusterPkiSecretNames } from './cluster-pki.js';
import { ensureClusterPki } from './cluster-pki-reconcile.js';
import { instanceStatusRows, isReady, observeInstances } from './cluster-observe.js';
import { RecoveryStep, RECOVERY_JOB_SELECTOR } from './cluster-recovery.js';
import { ClusterScope, RECONCILIATION_ANNOTATION, type ClusterObject } from './cluster-scope.js';
import { clusterPhase } from './cluster-phase.js';
import { clusterServices } from './cluster-services.js';
import { statusUnchangedRecently } from './status-refresh.js';
import { ensureUserSecrets } from './cluster-users.js';
import { checkClusterDestination } from './cluster-destination.js';
import { applyInstancePlan } from './cluster-instances.js';
import { planInstances, serialOf, type ObservedInstance } from './instance-plan.js';
import { mayFindPreviousCluster, PREVIOUS_CLUSTER_POLL_MS, previousClusterLeftovers, waitingMessage } from './previous-cluster.js';
import { instanceNameFor } from './instance-pvc.js';
import { validateRecoverySpec } from './recovery-resolve.js';

/** Status is read from every instance manager at least this often (issue 13: at least every 10 s). */
export const STATUS_REFRESH_MS = 10_000;
const WAITING_MS = 3_000;

export class ClusterReconciler implements Reconciler {
  readonly name = 'cluster';
  readonly kind = KINDS.Cluster;
  readonly watches = [
    { kind: KINDS.Pod, labelSelector: LABELS.cluster, toKeys: ownerKeysOf(KINDS.Cluster) },
    { kind: KINDS.Job, labelSelector: RECOVERY_JOB_SELECTOR, toKeys: ownerKeysOf(KINDS.Cluster) },
    // The recovery worker's Pod (owned by its Job) ends about a second before the Job is marked Complete (decision 0289).
    { kind: KINDS.Pod, labelSelector: RECOVERY_JOB_SELECTOR, toKeys: labelledKeys(LABELS.cluster) },
  ];

  async reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult | void> {
    const cluster = await ctx.client.get<ClusterObject>(KINDS.Cluster, key);
    if (!cluster || cluster.metadata.deletionTimestamp) return;
    if (cluster.metadata.annotations?.[RECONCILIATION_ANNOTATION] === 'disabled') return;
    return new ClusterPass(new ClusterScope(ctx, cluster)).run();
  }
}

class ClusterPass {
  constructor(private readonly scope: ClusterScope) {}

  private get primaryName(): string {
    return this.scope.status.currentPrimary ?? instanceNameFor(this.scope.name, 1);
  }

  async run(): Promise<ReconcileResult> {
    const { scope } = this;
    const invalid = validateRecoverySpec(scope.cluster.spec);
    if (invalid) {
      await scope.setPhase('Failed', invalid.reason, invalid.message);
      return {};
    }
    if (mayFindPreviousCluster(scope)) {
      const leftovers = await previousClusterLeftovers(scope);
      if (leftovers.length) {
        await scope.setPhase('Initializing', 'WaitingForPreviousCluster', waitingMessage(scope.name, leftovers));
        return { requeueAfterMs: PREVIOUS_CLUSTER_POLL_MS };
      }
    }
    const pki = await ensureClusterPki(scope.ctx.client, scope.cluster, { now: scope.ctx.now() });
    if (!pki.ok) {
      await scope.setPhase('Failed', pki.reason, pki.message);
      return { requeueAfterMs: 60_000 };
    }
    await ensureUserSecrets(scope.ctx.client, scope.cluster, scope.owner);
    for (const service of clusterServices(scope.name, scope.namespace, scope.owner)) await scope.ctx.client.applyService(service);

    const recovery = scope.cluster.spec.bootstrap?.recovery ? new RecoveryStep(scope) : undefined;
    const resolved = await recovery?.ensureResolved();
    if (resolved && !resolved.done) return { requeueAfterMs: resolved.requeueAfterMs };
    const blocked = await checkClusterDestination(scope);
    if (blocked) return blocked;
    const restored = await recovery?.run();
    if (restored && !restored.done) return { requeueAfterMs: restored.requeueAfterMs };
    const waiting = await this.instances(pki.names);
    const observed = await this.status(pki.names, {
      managed: pki.names.operatorIssues.server || pki.names.operatorIssues.client,
      ...(pki.nextRenewal ? { renewAt: pki.nextRenewal.toISOString() } : {}),
    });
    const renewIn = pki.nextRenewal ? Math.max(1_000, pki.nextRenewal.getTime() - scope.ctx.now().getTime()) : Infinity;
    return { requeueAfterMs: Math.min(waiting ? WAITING_MS : STATUS_REFRESH_MS, observed ?? STATUS_REFRESH_MS, renewIn) };
  }

  /** Creates and deletes instance Pods and PVCs toward spec.instances; true while something is still coming up. */
  private async instances(pki: ClusterPkiSecretNames): Promise<boolean> {
    const { scope } = this;
    const selector = LABELS.cluster + '=' + scope.name;
    const [pods, pvcs] = await Promise.all([
      scope.ctx.client.listPods(scope.namespace, selector),
      scope.ctx.client.listPvcs(scope.namespace, selector),
    ]);
    const observed = observedInstances(scope.name, pods, pvcs);
    const plan = planInstances({
      cluster: scope.name,
      desired: scope.cluster.spec.instances ?? 1,
      primary: this.primaryName,
      latestSerial: scope.status.latestGeneratedInstance ?? 0,
      instances: observed,
      primaryVolumeByRecovery: !!scope.cluster.spec.bootstrap?.recovery,
    });
    if (plan.primaryLost) {
      await scope.setPhase(
        'Failed',
        'PrimaryVolumeLost',
        `the PVC of primary ${this.primaryName} is gone; recover a new Cluster from a backup`,
      );
      return false;
    }
    const primaryPod = pods.find((p) => p.metadata?.name === this.primaryName);
    // Instances the last pass saw that have lost their volume: a new replica replaces them.
    const lost = (scope.status.instanceNames ?? []).filter(
      (n) => n !== this.primaryName && !observed.some((o) => o.name === n && o.hasPvc),
    );
    await applyInstancePlan(scope, plan, { primaryPod, lost, pki });
    if (plan.latestSerial !== scope.status.latestGeneratedInstance) await scope.patchStatus({ latestGeneratedInstance: plan.latestSerial });
    return !!plan.waiting || plan.actions.length > 0;
  }

  /** Reads every instance and writes the Cluster's status; returns how soon to look again. */
  private async status(pki: ClusterPkiSecretNames, certificates: CertificatesStatus): Promise<number | undefined> {
    const { scope } = this;
    const pods = (await scope.ctx.client.listPods(scope.namespace, `${LABELS.cluster}=${scope.name}`)).filter(
      (p) => serialOf(scope.name, p.metadata?.name ?? '') !== undefined,
    );
    const observation = await observeInstances(scope, pods, this.primaryName, pki);
    const now = scope.ctx.now();
    const readyInstances = observation.instances.filter((i) => i.ready).length;
    const desired = scope.cluster.spec.instances ?? 1;
    const primaryReady = !!observation.primary?.ready;
    const { phase, reason, message } = clusterPhase({
      primaryName: this.primaryName,
      primaryReady,
      instances: observation.instances,
      leaving: pods.filter((p) => p.metadata?.deletionTimestamp).map((p) => p.metadata!.name!),
      desired,
    });
    const recovery = scope.status.recovery;
    const recovered = recovery?.phase === 'finalizing' && primaryReady;
    const next = {
      instances: pods.length,
      readyInstances,
      currentPrimary: this.primaryName,
      instanceNames: pods.map((p) => p.metadata!.name!).sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
      instancesStatus: instanceStatusRows(observation, now),
      certificates,
    };
    const again = primaryReady && readyInstances === pods.length ? STATUS_REFRESH_MS : WAITING_MS;
    const same = { phase, phaseReason: message, observedGeneration: scope.cluster.metadata.generation, ...next };
    if (!recovered && statusUnchangedRecently(scope.status, same, now, STATUS_REFRESH_MS - 1_000)) return again;
    await scope.setPhase(phase, reason, message, { ...next, ...(recovered ? { recovery: completedRecovery(recovery, now) } : {}) });
    if (recovered) {
      const rto = completedRecovery(recovery, now).rtoSeconds;
      await scope.event('Normal', 'RecoveryCompleted', `recovered ${recovery.backupID}; the primary accepts connections (RTO ${rto} s)`);
    }
    return again;
  }
}

function completedRecovery(recovery: NonNullable<ClusterObject['status']>['recovery'] & object, now: Date) {
  const from = Date.parse(recovery.resolvedAt ?? recovery.startedAt ?? now.toISOString());
  return {
    ...recovery,
    phase: 'completed' as const,
    completedAt: now.toISOString(),
    rtoSeconds: Math.round((now.getTime() - from) / 100) / 10,
    etaSeconds: 0,
  };
}

function observedInstances(cluster: string, pods: Pod[], pvcs: PersistentVolumeClaim[]): ObservedInstance[] {
  const names = new Set([...pods.map((p) => p.metadata?.name ?? ''), ...pvcs.map((p) => p.metadata?.name ?? '')]);
  const out: ObservedInstance[] = [];
  for (const name of names) {
    const serial = serialOf(cluster, name);
    if (serial === undefined) continue;
    const pod = pods.find((p) => p.metadata?.name === name);
    const pvc = pvcs.find((p) => p.metadata?.name === name && !p.metadata?.deletionTimestamp);
    out.push({
      name,
      serial,
      hasPvc: !!pvc,
      ...(pod
        ? {
            pod: {
              role: pod.metadata?.labels?.[LABELS.instanceRole],
              ready: isReady(pod),
              deleting: !!pod.metadata?.deletionTimestamp,
              failed: pod.status?.phase === 'Failed',
            },
          }
        : {}),
    });
  }
  return out;
}
