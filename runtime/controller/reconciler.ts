/**
 * The contract between the manager (`runtime/controller/manager/`) and the
 * reconcilers (`runtime/controller/<group>/<kind>/`). A reconciler owns one
 * primary kind; the manager watches that kind and every secondary kind the
 * reconciler lists, maps events to primary keys, deduplicates them in a work
 * queue and calls `reconcile` — only on the elected leader.
 *
 * Reconcilers are level-triggered and idempotent: they read the world, make
 * one step of progress, and return when to look again. They never sleep.
 */
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Logger } from '../logging/logger.js';
import type { KubeClient } from './kube/client.js';

export interface ObjectKey {
  /** Absent for cluster-scoped kinds (BackupStorage). */
  readonly namespace?: string;
  readonly name: string;
}

export interface KindRef {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Lower-case plural, as in the REST path. */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/**
 * Object metadata as the API server's JSON carries it: timestamps are RFC 3339
 * strings, whether the object came from the informer cache or from a read
 * (kube/client.ts normalises client-node's Dates).
 */
export type ObjectMeta = Omit<V1ObjectMeta, 'creationTimestamp' | 'deletionTimestamp'> & {
  creationTimestamp?: string;
  deletionTimestamp?: string;
};

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: unknown;
  status?: unknown;
  [field: string]: unknown;
}

export interface SecondaryWatch {
  readonly kind: KindRef;
  /** Narrows the watch, e.g. Silo's own Job label. */
  readonly labelSelector?: string;
  /** Which primary objects an event on this object concerns. */
  toKeys(object: KubeObject): ObjectKey[];
}

export interface ReconcileResult {
  /** Look at this key again after this long, even without a watch event. */
  readonly requeueAfterMs?: number;
}

export interface Reconciler {
  /** Stable name used in logs and metric labels, e.g. "backup". */
  readonly name: string;
  readonly kind: KindRef;
  readonly watches?: readonly SecondaryWatch[];
  /**
   * An update of a primary object that needs no pass (controller-runtime's predicates): true skips it. Secondary
   * watches and resyncs are not filtered. Decision 0254.
   */
  readonly ignoresUpdate?: (previous: KubeObject, current: KubeObject) => boolean;
  /**
   * Throwing is a failed reconcile: the manager logs it, counts it and
   * requeues the key with per-key exponential backoff.
   */
  reconcile(key: ObjectKey, context: ReconcileContext): Promise<ReconcileResult | void>;
}

export interface ObjectCache {
  /** The informer's copy; may lag the API server by one watch event. */
  get(kind: KindRef, key: ObjectKey): KubeObject | undefined;
  list(kind: KindRef, namespace?: string): KubeObject[];
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** Never throws: a lost Event must not fail a reconcile. Messages must not carry secrets. */
  record(regarding: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

/** One backup reaching a terminal phase, of whichever kind records backups (Backup, BackupRun, ...). */
export interface BackupOutcome {
  /** The kind's name, the `kind` label of the backup metrics. */
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  /** What the backup belongs to, the `cluster` label: the Cluster (mysql) or the storage (backup-operator.io). */
  readonly cluster: string;
  /** The schedule object that created it (ScheduledBackup, BackupSchedule), or '' for one-shot backups. */
  readonly schedule: string;
  readonly outcome: 'completed' | 'failed';
  readonly reason?: string;
  readonly durationSeconds?: number;
  readonly sizeBytes?: number;
  readonly finishedAt: Date;
}

/** The newest backup set of one type in one pgBackRest repository (runtime/controller/postgres/shared/pg-metrics.ts). */
export interface PgBackupSetSample {
  readonly type: 'full' | 'differential' | 'incremental';
  /** pgBackRest's stop time, Unix seconds. */
  readonly stoppedAt: number;
  readonly durationSeconds: number;
  readonly databaseBytes?: number;
  readonly copiedBytes?: number;
  readonly repositoryBytes?: number;
  readonly repositoryDeltaBytes?: number;
}

/** A PGCluster's backups and WAL archiving as one pass saw them. */
export interface PgClusterSample {
  readonly namespace: string;
  readonly cluster: string;
  /** ContinuousArchiving is True. */
  readonly archiving: boolean;
  /** The reason `pgbackrest check` failed in this pass, when it ran and failed. */
  readonly archiveCheckFailure?: string;
  /** When `pgbackrest check` last passed, Unix seconds. */
  readonly lastArchiveCheck?: number;
  readonly repos: ReadonlyArray<{
    readonly repo: string;
    readonly lastArchivedAt?: number;
    readonly backups: readonly PgBackupSetSample[];
  }>;
}

export interface ControllerMetrics {
  /** Called once per backup reaching a terminal phase. */
  observeBackup(outcome: BackupOutcome): void;
  /** Called after each PGCluster pass that read the repositories (optional: test doubles need not implement it). */
  observePgCluster?(sample: PgClusterSample): void;
}

export interface ReconcileContext {
  /** The only way to the API server: built once by the manager, shared by every reconcile. */
  readonly client: KubeClient;
  readonly cache: ObjectCache;
  readonly events: EventRecorder;
  readonly metrics: ControllerMetrics;
  readonly log: Logger;
  readonly now: () => Date;
  /** Aborted on shutdown or when leadership is lost. */
  readonly signal: AbortSignal;
  /** Settings from the operator's environment (worker image, namespace, ...). */
  readonly settings: OperatorSettings;
}

export interface OperatorSettings {
  /** Image of Silo's worker containers. @default ghcr.io/silo-operator/silo:<version> */
  readonly workerImage: string;
  /** A Cluster's instance image when spec.imageName is empty. `SILO_INSTANCE_IMAGE`. @default ghcr.io/silo-operator/silo-mysql-instance:<version> */
  readonly instanceImage?: string;
  /** A PGCluster's image when spec.image is empty. `SILO_PG_INSTANCE_IMAGE`. @default ghcr.io/silo-operator/silo-postgres-instance:<version> */
  readonly pgInstanceImage?: string;
  /** Namespace the operator runs in (leader-election Lease). */
  readonly operatorNamespace: string;
  /**
   * How long a worker Pod may sit unable to start (ErrImagePull, a missing Secret) before its
   * backup fails with JobCannotStart. `SILO_POD_START_GRACE_SECONDS`.
   * @default 60
   */
  readonly podStartGraceSeconds?: number;
}
