/**
 * What a recovery Job's worker said: its newest progress line (from the Pod's log) and, when it
 * ended, its result line mapped to a Cluster reason, and whether another attempt may resume it.
 */
import type { ResultLine } from '../../../contracts/worker-result.js';

export interface RecoveryProgressView {
  readonly phase: 'downloading' | 'verifying' | 'extracting' | 'preparing' | 'moving' | 'finalizing';
  readonly bytesDone?: number;
  readonly bytesTotal?: number;
  readonly rate?: number;
  readonly etaSeconds?: number;
}

const PHASES = new Set(['downloading', 'verifying', 'extracting', 'preparing', 'moving', 'finalizing']);

/** The newest progress line in a log tail (JSON lines with a `phase` and byte counts), if any. */
export function latestRecoveryProgress(log: string | undefined): RecoveryProgressView | undefined {
  if (!log) return undefined;
  for (const line of log.trim().split('\n').reverse()) {
    try {
      const record = JSON.parse(line) as Record<string, unknown>;
      const progress = (record.progress ?? record) as Record<string, unknown>;
      if (typeof progress.phase === 'string' && PHASES.has(progress.phase)) {
        const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? Math.round(v) : undefined);
        return {
          phase: progress.phase as RecoveryProgressView['phase'],
          bytesDone: n(progress.bytesDone),
          bytesTotal: n(progress.bytesTotal),
          rate: n(progress.rate),
          etaSeconds: n(progress.etaSeconds),
        };
      }
    } catch {
      /* not a JSON line */
    }
  }
  return undefined;
}

export interface RecoveryFailure {
  readonly reason: string;
  readonly message: string;
  /** Killed or cut off: a new attempt resumes on the volume. */
  readonly retry: boolean;
}

const BY_CLASS: Record<string, { reason: string; retry: boolean; fix: string }> = {
  checksumMismatch: {
    reason: 'StoredDataDamaged',
    retry: false,
    fix: 'the stored object is damaged; recover from another backup (pin spec.bootstrap.recovery.backupID)',
  },
  decryption: {
    reason: 'DecryptionFailed',
    retry: false,
    fix: "the age identity does not open this backup; point the object store's encryption.age.identitySecretRef at the matching identity",
  },
  restoreFailed: {
    reason: 'PrepareFailed',
    retry: false,
    fix: 'mariabackup could not prepare the backup; check that the instance image matches the server version that took it',
  },
  auth: {
    reason: 'ObjectStoreAccessDenied',
    retry: false,
    fix: "the object store refused the credentials; fix the Secret the objectStore's credentials name",
  },
  network: {
    reason: 'ObjectStoreUnreachable',
    retry: true,
    fix: 'the object store could not be reached; check its endpoint and the network',
  },
  notFound: {
    reason: 'BackupChainIncomplete',
    retry: false,
    fix: 'an object of the chain is gone from the store; recover from another backup',
  },
  storageFull: {
    reason: 'CopyBackFailed',
    retry: false,
    fix: "the instance's volume is full; raise spec.storage.size and delete the Cluster's first PVC so it is re-created",
  },
  interrupted: { reason: 'RecoveryInterrupted', retry: true, fix: '' },
};

export function recoveryFailureFromWorker(result: ResultLine | undefined, terminationMessage: string | undefined): RecoveryFailure {
  const failed = result?.outcome === 'failed' ? { reason: result.reason ?? 'other', error: result.error ?? '' } : undefined;
  if (!failed) {
    // No result line: the worker was killed (OOM, SIGKILL, node loss) before it could say anything.
    return {
      reason: 'RecoveryInterrupted',
      message: `the recovery worker ended without a result${terminationMessage ? `: ${terminationMessage.slice(0, 200)}` : ''}`,
      retry: true,
    };
  }
  const mapped = BY_CLASS[failed.reason] ?? { reason: 'RecoveryFailed', retry: false, fix: 'see the recovery Job Pod log' };
  return { reason: mapped.reason, message: `${failed.error.slice(0, 400)}${mapped.fix ? `; ${mapped.fix}` : ''}`, retry: mapped.retry };
}
