/**
 * What a worker (`silo backup|restore|delete|prune`, runtime/cli.ts) tells the controller: its exit
 * code, one failure class per code, and one JSON result line on stdout that is also its container's
 * termination message. The controller reads the class, never the sentence: busy, interrupted,
 * unreachable and TLS failures of the instance manager each have their own class.
 * Documented in docs/worker-exit-codes.md; numbers never change once released.
 */
import type { BackupMetadata } from '../../src/api/metadata/types.js';
import type { RecoveryDurations } from './recovery-progress.js';

export const EXIT = {
  ok: 0,
  other: 1,
  config: 2,
  auth: 3,
  network: 4,
  sourceFailed: 5,
  /**
   * The stored data is damaged: the SHA256 of the stored bytes does not match metadata.json (or the
   * sha256 the controller resolved does not match metadata.json), or an age payload chunk failed
   * authentication after the header opened with the identity. Nothing was restored.
   */
  checksumMismatch: 6,
  /** The object store is full. */
  storageFull: 7,
  deadline: 8,
  /** The restore command failed, or (physical) the extractor failed on bytes whose checksum matched. */
  restoreFailed: 9,
  notFound: 10,
  tls: 11,
  /**
   * The age header does not open with the identity given (a wrong key), or the backup is encrypted
   * and no identity was given. The data itself may be intact.
   */
  decryption: 12,
  /** The instance manager is already streaming another backup (HTTP 409). */
  busy: 13,
  /**
   * Backup: the stream from the source broke off before its end (cut, or no exit status).
   * Recovery: the worker was stopped (SIGTERM, SIGINT) before it finished; a rerun resumes.
   */
  interrupted: 14,
  /** The instance manager could not be reached (refused, timed out, no route). */
  unreachable: 15,
  /** Physical restore: `mariabackup --prepare` failed on verified archives. */
  prepareFailed: 16,
  /** Physical restore: `mariabackup --move-back` or `--copy-back` into the data directory failed. */
  copyBackFailed: 17,
  /** A local volume is full (ENOSPC, EDQUOT): the recovery's PVC, not the object store. */
  volumeFull: 18,
} as const;

export type ExitReason = keyof typeof EXIT;

/** A failure class the controller maps to its own reason. */
export type FailureClass = Exclude<ExitReason, 'ok'>;

export const isFailureClass = (value: unknown): value is FailureClass =>
  typeof value === 'string' && value !== 'ok' && Object.prototype.hasOwnProperty.call(EXIT, value);

/** The failure class of an exit code, or undefined for 0 and unknown codes. */
export const classOfExitCode = (code: number | undefined): FailureClass | undefined =>
  (Object.keys(EXIT) as ExitReason[]).find((k) => k !== 'ok' && EXIT[k] === code) as FailureClass | undefined;

/** `silo backup …` succeeded: the metadata.json it wrote (the controller never reads the store). */
export interface BackupCompleted {
  readonly outcome: 'completed';
  readonly metadata: BackupMetadata;
}
/** What `silo restore physical` left on the volume (the recovery step of a Cluster). */
export interface RecoveryResult {
  /** The last link of the chain: what STATE_FILE records. */
  readonly backupId: string;
  /** The GTID position the datadir holds (mariabackup's binlog info), when the backup recorded one. */
  readonly gtid?: string;
  /** STATE_FILE already recorded this backup: the run changed nothing. */
  readonly alreadyRecovered: boolean;
  /** How the prepared files reached the data directory (absent when alreadyRecovered). */
  readonly placement?: 'move-back' | 'copy-back';
  /** Links a rerun found verified and extracted by an earlier run, and did not download again. */
  readonly reusedLinks?: number;
  /** Seconds per phase of this run. */
  readonly durations: RecoveryDurations;
}

/** `silo restore …` succeeded. */
export interface RestoreCompleted {
  readonly outcome: 'restored';
  /** Physical restores. */
  readonly recovery?: RecoveryResult;
}
/** `silo delete object` succeeded: the keys it deleted. */
export interface DeleteCompleted {
  readonly outcome: 'deleted';
  readonly deleted: string[];
}
/** `silo prune`: which prefixes (by index into SILO_PRUNE_PREFIXES) are gone, which failed. */
export interface PruneResult {
  readonly outcome: 'completed' | 'failed';
  /** Class of the first failure. */
  readonly reason?: ExitReason;
  /** Indices into SILO_PRUNE_PREFIXES whose objects are all gone. */
  readonly deleted: number[];
  readonly failed: Array<{ index: number; error: string }>;
  /** Objects deleted in all. */
  readonly objects: number;
}
/** Any worker failed: its class and one sentence (never a secret). */
export interface WorkerFailed {
  readonly outcome: 'failed';
  readonly reason: ExitReason | string;
  readonly error: string;
}

export type { PgRestoreCompleted, PgRestoreInterrupted } from './pg-restore.js';
import type { PgRestoreCompleted, PgRestoreInterrupted } from './pg-restore.js';

/** `silo pg backup` succeeded: pgBackRest took the backup; the controller reads its fields from `pgbackrest info`. */
export interface PgBackupCompleted {
  readonly outcome: 'backed-up';
}

export type WorkerResult =
  | BackupCompleted
  | RestoreCompleted
  | DeleteCompleted
  | PruneResult
  | PgBackupCompleted
  | PgRestoreCompleted
  | PgRestoreInterrupted
  | WorkerFailed;

/**
 * A parsed result line: what any worker may have written. Fields are optional because the line
 * comes from another process (perhaps another version); readers check what they use.
 */
export interface ResultLine {
  readonly outcome: string;
  readonly reason?: string;
  readonly error?: string;
  readonly metadata?: BackupMetadata;
  readonly deleted?: unknown[];
  readonly failed?: Array<{ index: number; error: string }>;
  readonly objects?: number;
  readonly recovery?: RecoveryResult;
}

/** Kubernetes keeps at most 4096 bytes of a termination message; the line is cut below that. */
export const TERMINATION_MESSAGE_LIMIT = 4000;

/** The default termination message path, overridden by SILO_TERMINATION_LOG. */
export const TERMINATION_LOG = '/dev/termination-log';

/** The one JSON line a worker prints and leaves as its termination message. */
export const formatResultLine = (result: WorkerResult): string => JSON.stringify(result);

/**
 * The worker's result line in a termination message: the last line that is a JSON object with a
 * string `outcome`. With FallbackToLogsOnError the message may be a log tail that ends with it.
 */
export function parseResultLine(message: string | undefined): ResultLine | undefined {
  if (!message) return undefined;
  for (const line of message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'))
    .reverse()) {
    try {
      const parsed = JSON.parse(line) as ResultLine;
      if (parsed && typeof parsed === 'object' && typeof parsed.outcome === 'string') return parsed;
    } catch {
      /* a truncated or foreign line */
    }
  }
  return undefined;
}
