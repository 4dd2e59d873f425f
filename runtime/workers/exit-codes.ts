import { AgeKeyError } from '../datapath/age/age-keys.js';
import { PrepareFailedError } from '../datapath/physical-restore.js';
import { ChecksumMismatchError } from '../datapath/restore-pipeline.js';
import { RestoreCommandError } from '../datapath/sinks/process-sink.js';
import { InstanceManagerConnectionError } from '../datapath/sources/instance-manager-source.js';
import { SourceFailedError } from '../datapath/sources/process-source.js';
import { ObjectStoreError } from '../objectstore/object-store.js';

/**
 * One exit code per failure class, so the controller can set a distinct reason
 * from the Job's container status alone. Documented in docs/worker-exit-codes.md.
 */
export const EXIT = {
  ok: 0,
  other: 1,
  config: 2,
  auth: 3,
  network: 4,
  sourceFailed: 5,
  checksumMismatch: 6,
  storageFull: 7,
  deadline: 8,
  restoreFailed: 9,
  notFound: 10,
  tls: 11,
  decryption: 12,
} as const;

export type ExitReason = keyof typeof EXIT;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export class DeadlineExceededError extends Error {
  constructor(seconds: number) {
    super(`the deadline of ${seconds} s passed before the stream finished; nothing was stored (raise deadlineSeconds or check why the source is slow)`);
    this.name = 'DeadlineExceededError';
  }
}

export function classifyFailure(error: unknown): ExitReason {
  if (error instanceof ConfigError) return 'config';
  if (error instanceof DeadlineExceededError) return 'deadline';
  if (error instanceof ChecksumMismatchError) return 'checksumMismatch';
  if (error instanceof InstanceManagerConnectionError) return 'tls';
  if (error instanceof SourceFailedError) return 'sourceFailed';
  if (error instanceof RestoreCommandError || error instanceof PrepareFailedError) return 'restoreFailed';
  if (error instanceof AgeKeyError) return 'decryption';
  if (error instanceof ObjectStoreError) {
    return ({ auth: 'auth', network: 'network', 'storage-full': 'storageFull', 'not-found': 'notFound', other: 'other' } as const)[error.failure];
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'storageFull';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT') return 'network';
  return 'other';
}
