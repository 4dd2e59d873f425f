/**
 * What the PGCluster reconciler and `silo pg restore` (the restoring init container of a cluster made
 * from spec.dataSource) agree on: the plan it gets, where it keeps its progress on the volume, the
 * result it leaves as its termination message, and the repo host agent's WAL-time question.
 * Decisions 0290 (where the restore runs), 0291 (archiving off until promoted), 0292 (resolved once).
 */
import { PG_RUN_DIR, PG_VOLUME_MOUNT } from './pg-pods.js';

/** The restore's client certificate, issued by the SOURCE cluster's CA (CN silo-pg-instance), ca.crt its CA. */
export const PG_RESTORE_TLS_MOUNT = '/etc/silo/pgbackrest-restore-tls';
export const PG_RESTORE_TLS_COPY_DIR = `${PG_RUN_DIR}/restore-tls`;
export const PG_RESTORE_TLS_COPY = {
  cert: `${PG_RESTORE_TLS_COPY_DIR}/tls.crt`,
  key: `${PG_RESTORE_TLS_COPY_DIR}/tls.key`,
  ca: `${PG_RESTORE_TLS_COPY_DIR}/ca.crt`,
} as const;
/**
 * The CN of the restore's client certificate when this cluster's repo host Pod serves a repository given
 * directly (dataSource.pgbackrest, decision 0293): that restore source admits only it, so the database
 * container (CN silo-pg-instance) never reaches the source repository.
 */
export const PG_RESTORE_CN = 'silo-pg-restore';
/** pgbackrest.conf naming the source's repository through the source's repo host; PostgreSQL's restore_command names it too. */
export const PGBACKREST_RESTORE_CONF_FILE = `${PG_RUN_DIR}/pgbackrest-restore.conf`;
/** The restore's progress, on the PVC beside PGDATA, so a restarted init container resumes (or repeats its failure). */
export const PG_RESTORE_STATE_FILE = `${PG_VOLUME_MOUNT}/silo-restore.json`;

export const PG_RESTORE_VAR = {
  /** JSON PgRestorePlan. */
  plan: 'SILO_PG_RESTORE_PLAN',
} as const;

export interface PgRestorePlan {
  /** The restoring cluster's uid: a state file of another plan is not this restore's. */
  readonly id: string;
  /** The repository index in the source's configuration (its repo host's credentials are repoN's). */
  readonly repo: number;
  /** pgBackRest's `--set`, when a backup was chosen for the target. */
  readonly set?: string;
  /** pgBackRest's --type: time, lsn, xid, name, immediate or default. */
  readonly type: string;
  readonly target?: string;
  readonly exclusive?: boolean;
  /** pgBackRest's --target-timeline: a number, current or latest. */
  readonly timeline?: string;
  /** The rendered restore pgbackrest.conf (no secret). */
  readonly conf: string;
  /** The resolved backup set's size (pgbackrest info), the copy's total until pgBackRest's own lines tell it. */
  readonly bytesTotal?: number;
  /** An in-place restore (a PGRestore, decision 0295): `--delta` over the volume as it is, instead of an empty PGDATA. */
  readonly delta?: boolean;
  /** Extra `pgbackrest restore` options from the PGRestore's spec.options (admission refused Silo's own). */
  readonly options?: readonly string[];
}

export type PgRestoreStep = 'copying' | 'recovering' | 'done' | 'failed';

/**
 * The log line (`msg`) `silo pg restore` writes at each step and, while it copies, every PG_RESTORE_PROGRESS_INTERVAL_MS;
 * the operator reads the last from the log tail (parsePgRestoreProgress).
 *   {"ts":"…","level":"info","msg":"restore progress","step":"copying","percent":41,"bytesDone":459276288,
 *    "bytesTotal":1120403456,"bytesPerSecond":91855257,"etaSeconds":8}
 */
export const PG_RESTORE_PROGRESS_MSG = 'restore progress';
/** The longest gap between two progress lines while the copy runs. */
export const PG_RESTORE_PROGRESS_INTERVAL_MS = 2_000;
export interface PgRestoreProgress {
  readonly step: PgRestoreStep;
  /** Of the copy: bytesDone of bytesTotal, or pgBackRest's own per-file percent while the total is unknown. */
  readonly percent?: number;
  /** Bytes of PGDATA the copy has written (pgBackRest's finished files, or what is on the volume when more). */
  readonly bytesDone?: number;
  /** The backup set's size, as pgBackRest restores it (its database size). */
  readonly bytesTotal?: number;
  /** bytesDone over the seconds this copy has run. */
  readonly bytesPerSecond?: number;
  /** Seconds until the copy ends at bytesPerSecond; 0 once it ended. */
  readonly etaSeconds?: number;
}

const PROGRESS_COUNTS = ['percent', 'bytesDone', 'bytesTotal', 'bytesPerSecond', 'etaSeconds'] as const;

/** The newest progress line of a log (or its tail); lines of other kinds, cut lines and fields that are not counts are skipped. */
export function parsePgRestoreProgress(log: string | undefined): PgRestoreProgress | undefined {
  for (const line of (log ?? '').split('\n').reverse()) {
    if (!line.includes(PG_RESTORE_PROGRESS_MSG)) continue;
    try {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (parsed.msg !== PG_RESTORE_PROGRESS_MSG || typeof parsed.step !== 'string') continue;
      const counts = PROGRESS_COUNTS.filter(
        (k) => typeof parsed[k] === 'number' && Number.isFinite(parsed[k]) && (parsed[k] as number) >= 0,
      );
      return { step: parsed.step as PgRestoreStep, ...Object.fromEntries(counts.map((k) => [k, Math.round(parsed[k] as number)])) };
    } catch {
      /* a line cut by the tail */
    }
  }
  return undefined;
}

export interface PgRestoreReached {
  readonly reachedLsn?: string;
  readonly reachedTimeline?: number;
  readonly reachedTime?: string;
}

export interface PgRestoreState {
  readonly planId: string;
  /** Written by an in-place restore: a new-cluster restore's init container finding it done knows its own restore was superseded. */
  readonly delta?: boolean;
  readonly step: PgRestoreStep;
  /** Which run of the init container this is for the step: 1, then one more after each interruption (decision 0282). */
  readonly attempt?: number;
  /** What interrupted the last run (a kill, a lost repo host): the message of a restore that gives up. */
  readonly interruption?: { readonly reason: string; readonly error: string };
  readonly reached?: PgRestoreReached;
  readonly failure?: { readonly reason: PgRestoreFailure; readonly error: string };
}

/**
 * Runs of `silo pg restore` one restore may take: after an interruption the init container exits with
 * EXIT.interrupted and the kubelet starts it again (with its back-off); the run after the last fails for good
 * with RestoreInterruptedRepeatedly, so a restore never loops (decision 0282).
 */
export const PG_RESTORE_MAX_ATTEMPTS = 8;

/** The init container's termination message: `{"outcome":"pg-restored",...}` or `{"outcome":"failed","reason",...}`. */
export interface PgRestoreCompleted extends PgRestoreReached {
  readonly outcome: 'pg-restored';
}

/** The init container was interrupted (its copy lost the repo host, its postgres was killed): the next run resumes. */
export interface PgRestoreInterrupted {
  readonly outcome: 'pg-interrupted';
  readonly reason: string;
  readonly error: string;
}

/** Why `silo pg restore` failed, beyond pgBackRest's own causes (PG_FAILURES). */
export const PG_RESTORE_FAILURES = ['TargetNotReached', 'RestoreFailed', 'RestoreInterruptedRepeatedly'] as const;
export type PgRestoreFailure = (typeof PG_RESTORE_FAILURES)[number] | string;

/** POST /wal-time: when a WAL segment reached the repository (pgbackrest repo-ls), the upper bound of the recovery window. */
export const AGENT_WAL_TIME_PATH = '/wal-time';
export interface WalTimeRequest {
  readonly repo: number;
  /** pgBackRest's archive id, e.g. 15-1. */
  readonly archiveId: string;
  /** A 24-hex-digit WAL segment name. */
  readonly segment: string;
}
export interface WalTimeAnswer {
  /** Epoch seconds; absent when the segment is not in the repository. */
  readonly time?: number;
}
