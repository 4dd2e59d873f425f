import { AgeKeyError } from '../datapath/age/age-keys.js';
import { PrepareFailedError } from '../datapath/physical-restore.js';
import { ChecksumMismatchError } from '../datapath/restore-pipeline.js';
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

/**
 * The worker side of the result contract (runtime/contracts/worker-result.ts): which failure
 * class an error is. The codes, the classes and the result line live in the contract.
 */
export function classifyFailure(error: unknown): ExitReason {
  if (error instanceof ConfigError) return 'config';
  if (error instanceof DeadlineExceededError) return 'deadline';
  if (error instanceof ChecksumMismatchError) return 'checksumMismatch';
  if (error instanceof InstanceManagerUnreachableError) return 'unreachable';
  if (error instanceof InstanceManagerConnectionError) return 'tls';
  if (error instanceof InstanceManagerBusyError) return 'busy';
  if (error instanceof SourceInterruptedError) return 'interrupted';
  if (error instanceof SourceFailedError) return 'sourceFailed';
  if (error instanceof RestoreCommandError || error instanceof PrepareFailedError) return 'restoreFailed';
  if (error instanceof AgeKeyError) return 'decryption';
  if (error instanceof ObjectStoreError) {
    return ({ auth: 'auth', network: 'network', 'storage-full': 'storageFull', 'not-found': 'notFound', other: 'other' } as const)[
      error.failure
    ];
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'storageFull';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT') return 'network';
  return 'other';
}
