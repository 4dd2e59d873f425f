/**
 * The instances of a PGCluster beyond the primary (decisions 0274-0276): on each pass, with the
 * primary Ready, the operator makes sure of the `streaming_replica` role and of one slot per wanted
 * replica on the primary, then creates each missing replica's PVC and Pod (the Pod joins by
 * pg_basebackup), removes replicas above `spec.instances` (highest-numbered first, never the primary)
 * with their PVCs (their slots go on a later pass, once their WAL senders ended), labels every instance
 * Pod for the client Services, and returns the instances' status rows. A replica whose Pod and PVC were
 * deleted is created again the same way, with a ReplicaRecreated Event.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { PGClusterStatus, PGInstanceRow } from '../../../../src/api/postgres.silo.io/types.js';
import { pgInstanceName, pgNames, pgReplicationSlot } from '../../../contracts/pg-pods.js';
import type { PersistentVolumeClaim, Pod } from '../../kube/client.js';
import { PG_LABELS } from '../shared/pg-objects.js';
import { instanceRows, JOINING_REASONS } from './pg-instance-rows.js';
import { PGR, type PGClusterReason } from './pg-cluster-reasons.js';
import type { PGClusterScope } from './pg-cluster-scope.js';
import { instancePod, pvc, type PodInput } from './pg-pods.js';
import {
  ensureReplicationRole,
  readReplication,
  syncSlots,
  withPrimary,
  type ArchiverStats,
  type PrimaryReplication,
} from './pg-primary-sql.js';

export interface ReplicasInput {
  readonly scope: PGClusterScope;
  /** The instances' Pod input (pgbackrestConf is the instances' config). */
  readonly pod: PodInput;
  readonly primary: Pod | undefined;
  /** Creates the Pod, or replaces it when stale; returns it as it is (undefined when just created or deleted). */
  readonly ensurePod: (desired: V1Pod) => Promise<Pod | undefined>;
}

export interface InstancesOutcome {
  readonly status: Pick<PGClusterStatus, 'currentPrimary' | 'instances' | 'readyInstances' | 'instancesStatus'>;
  /** Some wanted replica is not serving yet: look again soon. */
  readonly converging: boolean;
  /** The primary's pg_stat_archiver, when it could be read. */
  readonly archiver?: ArchiverStats;
}

const ordinalOf = (name: string): number => Number(/-(\d+)$/.exec(name)?.[1] ?? 0);
const isLive = (o: { metadata?: { deletionTimestamp?: unknown } }): boolean => !o.metadata?.deletionTimestamp;
const podReady = (pod: Pod | undefined): boolean => !!pod?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function superuserPassword(scope: PGClusterScope): Promise<string> {
  const secret = await scope.ctx.client.readSecret(scope.namespace, pgNames(scope.name).superuserSecret);
  return Buffer.from((secret.data as Record<string, string>).password, 'base64').toString('utf8');
}

async function instanceCa(scope: PGClusterScope): Promise<string> {
  const secret = await scope.ctx.client.readSecret(scope.namespace, pgNames(scope.name).instanceTlsSecret);
  return Buffer.from((secret.data as Record<string, string>)['ca.crt'], 'base64').toString('utf8');
}

/** The role and the slots on the primary, then its replication state; the error's words when the primary cannot be read. */
async function syncPrimary(
  input: ReplicasInput,
  wantedSlots: string[],
): Promise<{ replication?: PrimaryReplication; createdSlots?: string[]; error?: string }> {
  const { scope, primary } = input;
  if (!primary?.status?.podIP || !podReady(primary)) return { error: 'the primary is not Ready' };
  const names = pgNames(scope.name);
  try {
    const endpoint = {
      podIP: primary.status.podIP,
      serverName: `${names.primary}.${names.instancesService}.${scope.namespace}.svc`,
      ca: await instanceCa(scope),
      password: await superuserPassword(scope),
    };
    return await withPrimary(endpoint, async (client) => {
      await ensureReplicationRole(client);
      const before = await readReplication(client);
      const { created, dropped } = await syncSlots(client, before.slots, wantedSlots);
      if (created.length || dropped.length) scope.ctx.log.info('replication slots changed', { cluster: scope.name, created, dropped });
      return { replication: created.length || dropped.length ? await readReplication(client) : before, createdSlots: created };
    });
  } catch (error) {
    return { error: (error as Error).message.slice(0, 300) };
  }
}

/** Creates a wanted replica's PVC and Pod; waits while its old PVC is still being deleted. True when it created the Pod. */
interface Observed {
  readonly pods: Map<string, Pod>;
  readonly pvcs: Map<string, PersistentVolumeClaim>;
  /** Slots this pass created: their replicas are new. */
  readonly newSlots: readonly string[];
}

async function ensureReplica(input: ReplicasInput, ordinal: number, { pods, pvcs, newSlots }: Observed) {
  const { scope } = input;
  const name = pgInstanceName(scope.name, ordinal);
  const claim = pvcs.get(name);
  const existing = pods.get(name);
  // A PVC being deleted (its Pod gone or going) must be gone before the replica starts on a new, empty one.
  if (claim && !isLive(claim)) return;
  if (!claim)
    await scope.ctx.client.createPvc(pvc(name, input.pod, input.pod.spec.storage.size, input.pod.spec.storage.storageClass, 'replica'));
  if (existing && !isLive(existing)) return;
  // The pass's lists may predate a deletion made since (a replica's PVC and Pod deleted together): then ensurePod
  // would create the Pod again on the PVC being deleted. A Pod is only made on a PVC that is there, and not going.
  const fresh = await scope.ctx.client.readPvc(scope.namespace, name);
  if (!fresh || !isLive(fresh)) return;
  await input.ensurePod(instancePod(input.pod, ordinal));
  if (existing) return;
  // A replica's slot outlives its Pod and PVC: a slot that was already there means the replica existed before.
  const reason = newSlots.includes(pgReplicationSlot(name)) ? PGR.ReplicaCreated : PGR.ReplicaRecreated;
  await scope.ctx.events.record(
    scope.cluster,
    'Normal',
    reason,
    `${name}: joins the primary by pg_basebackup through slot ${pgReplicationSlot(name)}`,
  );
}

/** Deletes replicas above spec.instances with their PVCs (highest first), with a ReplicaRemoved Event. */
async function removeExtras(input: ReplicasInput, wanted: number, pods: Map<string, Pod>, pvcs: Map<string, PersistentVolumeClaim>) {
  const { scope } = input;
  const { client } = scope.ctx;
  const extras = [...new Set([...pods.keys(), ...pvcs.keys()])].filter((n) => ordinalOf(n) > Math.max(wanted, 1));
  for (const name of extras.sort((a, b) => ordinalOf(b) - ordinalOf(a))) {
    const pod = pods.get(name);
    if (pod && isLive(pod)) {
      await client.deletePod(scope.namespace, name);
      await scope.ctx.events.record(
        scope.cluster,
        'Normal',
        PGR.ReplicaRemoved,
        `${name}: removed by scaling down; its PVC and slot go too`,
      );
    }
    if (pvcs.get(name) && isLive(pvcs.get(name)!)) await client.deletePvc(scope.namespace, name);
  }
}

/** Keeps each instance Pod's role, instance and serving labels in step with its row. */
async function labelPods(input: ReplicasInput, pods: Pod[], rows: PGInstanceRow[]): Promise<void> {
  for (const pod of pods) {
    const row = rows.find((r) => r.name === pod.metadata!.name);
    if (!row) continue;
    const want = { [PG_LABELS.role]: row.role!, [PG_LABELS.instance]: 'true', [PG_LABELS.serving]: row.serving ? 'true' : 'false' };
    const labels = pod.metadata?.labels ?? {};
    if (Object.entries(want).every(([k, v]) => labels[k] === v)) continue;
    await input.scope.ctx.client.patchPodMetadata(input.scope.namespace, pod.metadata!.name!, { labels: want });
  }
}

export async function reconcileReplicas(input: ReplicasInput): Promise<InstancesOutcome> {
  const { scope } = input;
  const { client } = scope.ctx;
  const wanted = input.pod.spec.instances ?? 1;
  const isInstance = (name: string | undefined) => !!name && new RegExp(`^${scope.name}-\\d+$`).test(name);
  const selector = `${PG_LABELS.cluster}=${scope.name}`;
  const pods = new Map(
    (await client.listPods(scope.namespace, selector)).filter((p) => isInstance(p.metadata?.name)).map((p) => [p.metadata!.name!, p]),
  );
  const pvcs = new Map(
    (await client.listPvcs(scope.namespace, selector)).filter((p) => isInstance(p.metadata?.name)).map((p) => [p.metadata!.name!, p]),
  );
  const replicaOrdinals = Array.from({ length: wanted - 1 }, (_, i) => i + 2);
  const synced = await syncPrimary(
    input,
    replicaOrdinals.map((n) => pgReplicationSlot(pgInstanceName(scope.name, n))),
  );
  // Without the primary's answer the slots may not exist: no replica is created before its slot.
  if (synced.replication)
    for (const n of replicaOrdinals) await ensureReplica(input, n, { pods, pvcs, newSlots: synced.createdSlots ?? [] });
  await removeExtras(input, wanted, pods, pvcs);
  const live = [...pods.values()].filter((p) => isLive(p) && ordinalOf(p.metadata!.name!) <= wanted);
  const rows = instanceRows({
    wanted: [1, ...replicaOrdinals].map((n) => pgInstanceName(scope.name, n)),
    pods: live,
    primaryName: pgNames(scope.name).primary,
    replication: synced.replication,
    replicationError: synced.error,
    now: scope.ctx.now(),
  });
  await labelPods(input, live, rows);
  setReplicasCondition(scope, wanted, rows);
  return {
    status: {
      currentPrimary: pgNames(scope.name).primary,
      instances: live.length,
      readyInstances: rows.filter((r) => r.serving).length,
      instancesStatus: rows,
    },
    converging: live.length !== wanted || rows.some((r) => !r.serving),
    ...(synced.replication?.archiver ? { archiver: synced.replication.archiver } : {}),
  };
}

/** ReplicasReady: True when every wanted replica streams; False naming each one that does not and why. */
function setReplicasCondition(scope: PGClusterScope, wanted: number, rows: PGInstanceRow[]): void {
  const condition = replicasReady(wanted, rows, !!scope.condition('ReplicasReady'));
  if (condition) scope.set('ReplicasReady', condition.ready, condition.reason, condition.detail);
}

/**
 * What ReplicasReady should say, or undefined to leave it unset (a single-instance cluster that never had it).
 * Replicas still starting or joining are not a failure (ReplicasJoining); one whose WAL sender is missing or
 * lagging is (ReplicaNotStreaming).
 */
export function replicasReady(
  wanted: number,
  rows: readonly PGInstanceRow[],
  hadCondition: boolean,
): { ready: boolean; reason: PGClusterReason; detail?: string } | undefined {
  if (wanted <= 1 && !rows.some((r) => r.role === 'replica')) return hadCondition ? { ready: true, reason: PGR.NoReplicas } : undefined;
  const replicas = rows.filter((r) => r.role === 'replica');
  const down = replicas.filter((r) => !r.serving);
  if (replicas.length === wanted - 1 && !down.length) return { ready: true, reason: PGR.ReplicasStreaming };
  const detail = down.map((r) => `${r.name}: ${r.message}`).join('; ') || `${replicas.length} of ${wanted - 1} replicas exist`;
  const failing = down.some((r) => !JOINING_REASONS.includes(r.reason ?? ''));
  return { ready: false, reason: failing ? PGR.ReplicaNotStreaming : PGR.ReplicasJoining, detail };
}
