import { AgeDataDamagedError, AgeKeyError } from '../datapath/age/age-keys.js';
import { CopyBackFailedError, PrepareFailedError, VolumeFullError } from '../datapath/physical-restore.js';
import { StoredDataDamagedError } from '../datapath/restore-pipeline.js';
import { RestoreCommandError } from '../datapath/sinks/process-sink.js';
import {
  InstanceManagerBusyError,
  InstanceManagerConnectionError,
  InstanceManagerUnreachableError,
  SourceInterruptedError,
} from '../datapath/sources/instance-manager-source.js';
import { SourceFailedError } from '../datapath/sources/process-source.js';
import { ObjectStoreError } from '../objectstore/object-store.js';
import { ConfigError } from '../contracts/config-error.js';
import type { ExitReason } from '../contracts/worker-result.js';

export class DeadlineExceededError extends Error {
  constructor(seconds: number) {
    super(
      `the deadline of ${seconds} s passed before the stream finished; nothing was stored (raise deadlineSeconds or check why the source is slow)`,
    );
    this.name = 'DeadlineExceededError';
  }
}

/** A physical restore (the recovery step) was stopped by a signal before it finished; a rerun resumes. */
export class RecoveryInterruptedError extends Error {
  constructor(signal: string) {
    super(`the recovery was stopped by ${signal} before it finished; run it again on the same volume to resume`);
    this.name = 'RecoveryInterruptedError';
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Error classes and their failure class, most specific first (a subclass before the class it
 * refines: SourceInterruptedError before SourceFailedError, AgeDataDamagedError before AgeKeyError).
 */
const CLASSES: ReadonlyArray<readonly [ErrorClass, ExitReason]> = [
  [ConfigError, 'config'],
  [DeadlineExceededError, 'deadline'],
  [RecoveryInterruptedError, 'interrupted'],
  // Stored data damaged: the SHA256 does not match, or an age chunk failed authentication after the header opened.
  [StoredDataDamagedError, 'checksumMismatch'],
  [AgeDataDamagedError, 'checksumMismatch'],
  [InstanceManagerUnreachableError, 'unreachable'],
  [InstanceManagerConnectionError, 'tls'],
  [InstanceManagerBusyError, 'busy'],
  [SourceInterruptedError, 'interrupted'],
  [SourceFailedError, 'sourceFailed'],
  [VolumeFullError, 'volumeFull'],
  [PrepareFailedError, 'prepareFailed'],
  [CopyBackFailedError, 'copyBackFailed'],
  [RestoreCommandError, 'restoreFailed'],
  // The header did not open with the identity (a wrong key), or there was none for an encrypted backup.
  [AgeKeyError, 'decryption'],
];

/**
 * The worker side of the result contract (runtime/contracts/worker-result.ts): which failure
 * class an error is. The codes, the classes and the result line live in the contract.
 */
export function classifyFailure(error: unknown): ExitReason {
  const known = CLASSES.find(([type]) => error instanceof type);
  if (known) return known[1];
  if (error instanceof ObjectStoreError) {
    return ({ auth: 'auth', network: 'network', 'storage-full': 'storageFull', 'not-found': 'notFound', other: 'other' } as const)[
      error.failure
    ];
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  // A local write: the volume (an object store's full disk is an ObjectStoreError, above).
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'volumeFull';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT') return 'network';
  return 'other';
}
