/**
 * The prune Job: `silo prune` in Silo's worker image, deleting a batch of
 * whole backups from one object store. The store credentials reach it only as
 * secretKeyRef env (principle 5); the controller learns the outcome from the
 * Pod's termination message and never talks to the store itself.
 */
import { createHash } from 'node:crypto';
import type { V1Job, V1Pod, V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';
import type { ClusterSpec, ObjectStore } from '../../../../src/generated/api-types.js';
import { storeEnv } from '../backup/backup-store.js';

/** Marks prune Jobs; the value is the Cluster name. The manager's Job watch narrows on it. */
export const PRUNE_LABEL = 'mysql.cloudnative-mysql.io/prune';
export const CLUSTER_LABEL = 'mysql.cloudnative-mysql.io/cluster';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const PRUNE_JOB_SELECTOR = `${MANAGED_BY_LABEL}=silo,${PRUNE_LABEL}`;
/** JSON: the Backup names of the batch, in SILO_PRUNE_PREFIXES order, and why each is pruned. */
export const ANNOTATION_BATCH = 'mysql.cloudnative-mysql.io/prune-batch';
/** Most backups per Job: keeps the termination message (4 KiB) and the Job's env small. */
export const MAX_BATCH = 20;
export const PRUNE_DEADLINE_SECONDS = 900;

export interface PruneEntry {
  readonly backupName: string;
  /** `<path>/<cluster>/<backup-name>/<backup-id>/` */
  readonly prefix: string;
  /** expired: retention; deleted: the Backup is being deleted and opted in to remote deletion. */
  readonly why: 'expired' | 'deleted';
}

/** Deterministic in (cluster, batch): a crash between create and record re-finds the same Job. */
export function pruneJobName(cluster: string, entries: readonly PruneEntry[]): string {
  const hash = createHash('sha256').update(entries.map((e) => e.prefix).join('\n')).digest('hex').slice(0, 10);
  return `${cluster.slice(0, 63 - 'prune--'.length - hash.length).replace(/[-.]+$/, '')}-prune-${hash}`;
}

export function renderPruneJob(options: {
  namespace: string;
  cluster: string;
  clusterSpec?: ClusterSpec;
  store: ObjectStore;
  entries: readonly PruneEntry[];
  workerImage: string;
}): V1Job {
  const { namespace, cluster, clusterSpec, store, entries } = options;
  const s = storeEnv(store);
  const labels = { [MANAGED_BY_LABEL]: 'silo', 'app.kubernetes.io/component': 'prune', [PRUNE_LABEL]: cluster, [CLUSTER_LABEL]: cluster };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: pruneJobName(cluster, entries),
      namespace,
      labels,
      annotations: { [ANNOTATION_BATCH]: JSON.stringify(entries.map((e) => ({ backup: e.backupName, why: e.why }))) },
    },
    spec: {
      // The controller retries a failed prune itself, after a pause, with a fresh batch.
      backoffLimit: 0,
      activeDeadlineSeconds: PRUNE_DEADLINE_SECONDS,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: 'Never',
          ...(clusterSpec?.serviceAccountName ? { serviceAccountName: clusterSpec.serviceAccountName } : {}),
          ...(clusterSpec?.imagePullSecrets?.length ? { imagePullSecrets: clusterSpec.imagePullSecrets.map((p) => ({ name: p.name })) } : {}),
          ...(clusterSpec?.tolerations?.length ? { tolerations: clusterSpec.tolerations as V1Toleration[] } : {}),
          containers: [{
            name: 'prune',
            image: options.workerImage,
            command: ['silo', 'prune'],
            // Only the store settings and credentials: prune reads no codec or encryption settings.
            env: [
              ...s.env.filter((e) => !['SILO_COMPRESSION', 'SILO_COMPRESSION_LEVEL', 'SILO_AGE_RECIPIENTS'].includes(e.name)),
              { name: 'SILO_PRUNE_PREFIXES', value: JSON.stringify(entries.map((e) => e.prefix)) },
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
            ...(clusterSpec?.backup?.resources ? { resources: clusterSpec.backup.resources as V1ResourceRequirements } : {}),
            terminationMessagePolicy: 'FallbackToLogsOnError',
            volumeMounts: s.mounts,
          }],
          volumes: s.volumes,
        },
      },
    },
  };
}

export type PruneOutcome =
  | { readonly state: 'running' }
  | { readonly state: 'finished'; readonly succeeded: boolean; readonly deleted: ReadonlySet<number>; readonly error?: string };

interface PruneLine { outcome?: string; reason?: string; error?: string; deleted?: number[]; failed?: Array<{ index: number; error: string }> }

function parseLine(message: string | undefined): PruneLine | undefined {
  for (const line of (message ?? '').trim().split('\n').reverse()) {
    try {
      const parsed = JSON.parse(line) as PruneLine;
      if (parsed && typeof parsed.outcome === 'string') return parsed;
    } catch { /* a log line before the result */ }
  }
  return undefined;
}

/**
 * A finished Job's outcome: which batch indices are gone from the store.
 * Without a parsable result line nothing counts as deleted — the Backups stay
 * and the next run tries again, which is safe because prune is idempotent.
 */
export function pruneOutcome(job: V1Job, pods: readonly V1Pod[]): PruneOutcome {
  const condition = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
  const complete = condition('Complete') ?? condition('SuccessCriteriaMet');
  const failed = condition('Failed') ?? condition('FailureTarget');
  if (!complete && !failed) return { state: 'running' };
  const pod = [...pods].sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')))[0];
  const container = pod?.status?.containerStatuses?.find((c) => c.name === 'prune') ?? pod?.status?.containerStatuses?.[0];
  const line = parseLine((container?.state?.terminated ?? container?.lastState?.terminated)?.message);
  const deleted = new Set((line?.deleted ?? []).filter((i) => Number.isInteger(i)));
  if (complete && line?.outcome === 'completed') return { state: 'finished', succeeded: true, deleted };
  const error = line?.failed?.length
    ? line.failed.map((f) => f.error).filter((e, i, all) => all.indexOf(e) === i).slice(0, 3).join('; ')
    : line?.error ?? (failed ? `${failed.reason ?? 'Failed'}: ${failed.message ?? 'no message'}` : 'the prune Pod left no result line');
  return { state: 'finished', succeeded: false, deleted, error };
}
