/**
 * The prune Job: `silo prune` in Silo's worker image, deleting a batch of
 * whole backups from one object store. The store credentials reach it only as
 * secretKeyRef env, so the operator never reads them; the controller learns the
 * outcome from the Pod's termination message and never talks to the store itself.
 */
import type { V1Job, V1ResourceRequirements, V1Toleration } from '@kubernetes/client-node';
import type { ObjectStore } from '../../../../src/api/common/types.js';
import type { ClusterSpec } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { storeEnv } from '../backup/backup-store.js';
import { encodeWorkerEnv, VAR } from '../../../contracts/worker-env.js';
import type { Job, Pod } from '../../kube/client.js';
import { readJobOutcome } from '../../kube/job-outcome.js';
import { cutName, shortHash } from '../../kube/names.js';

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

/**
 * Deterministic in (cluster, batch): a crash between create and record re-finds the same Job.
 * The Cluster name is cut without the hash boundedName adds, so a long Cluster name keeps the Job
 * name earlier releases gave it and an upgraded operator re-finds a prune Job already running.
 */
export function pruneJobName(cluster: string, entries: readonly PruneEntry[]): string {
  const hash = shortHash(entries.map((e) => e.prefix).join('\n'), 10);
  return `${cutName(cluster, 63 - 'prune--'.length - hash.length)}-prune-${hash}`;
}

const CODEC_VARS: readonly string[] = [VAR.compression, VAR.compressionLevel, VAR.ageRecipients];

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
          ...(clusterSpec?.imagePullSecrets?.length
            ? { imagePullSecrets: clusterSpec.imagePullSecrets.map((p) => ({ name: p.name })) }
            : {}),
          ...(clusterSpec?.tolerations?.length ? { tolerations: clusterSpec.tolerations as V1Toleration[] } : {}),
          containers: [
            {
              name: 'prune',
              image: options.workerImage,
              command: ['silo', 'prune'],
              // Only the store settings and credentials: prune reads no codec or encryption settings.
              env: [
                ...s.env.filter((e) => !CODEC_VARS.includes(e.name)),
                ...encodeWorkerEnv({ prunePrefixes: entries.map((e) => e.prefix), podName: true }),
              ],
              ...(clusterSpec?.backup?.resources ? { resources: clusterSpec.backup.resources as V1ResourceRequirements } : {}),
              terminationMessagePolicy: 'FallbackToLogsOnError',
              volumeMounts: s.mounts,
            },
          ],
          volumes: s.volumes,
        },
      },
    },
  };
}

export type PruneOutcome =
  | { readonly state: 'running' }
  | { readonly state: 'finished'; readonly succeeded: boolean; readonly deleted: ReadonlySet<number>; readonly error?: string };

/**
 * A finished Job's outcome: which batch indices are gone from the store.
 * Without a parsable result line nothing counts as deleted — the Backups stay
 * and the next run tries again, which is safe because prune is idempotent.
 */
export function pruneOutcome(job: Job, pods: readonly Pod[]): PruneOutcome {
  const outcome = readJobOutcome(job, pods, 'prune');
  if (outcome.state === 'running') return { state: 'running' };
  const complete = outcome.state === 'complete';
  const failed = outcome.state === 'failed' ? outcome.condition : undefined;
  const line = outcome.result;
  const deleted = new Set((line?.deleted ?? []).filter((i): i is number => Number.isInteger(i)));
  if (complete && line?.outcome === 'completed') return { state: 'finished', succeeded: true, deleted };
  const error = line?.failed?.length
    ? line.failed
        .map((f) => f.error)
        .filter((e, i, all) => all.indexOf(e) === i)
        .slice(0, 3)
        .join('; ')
    : (line?.error ?? (failed ? `${failed.reason ?? 'Failed'}: ${failed.message ?? 'no message'}` : 'the prune Pod left no result line'));
  return { state: 'finished', succeeded: false, deleted, error };
}
