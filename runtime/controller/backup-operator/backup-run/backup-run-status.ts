/** BackupRun status builders: phases, reasons, and the Succeeded / Compressed / Encrypted / Restorable conditions. */
import type { Condition } from '../../../../src/api/common/types.js';
import type { BackupRunResource, BackupRunStatus } from '../../../../src/api/backup-operator.io/types.js';
import { BACKUP_RUN_PHASE } from '../../../../src/api/backup-operator.io/phases.js';
import { setCondition } from '../../kube/conditions.js';
import { BACKUP_RUN_REASONS as R } from './backup-run-reasons.js';

export interface CompletedFacts {
  readonly storedBytes?: number;
  readonly sha256?: string;
  readonly compression?: string;
  readonly encryption?: string;
  readonly recipients?: number;
}

/** Restorable: True only for a completed backup that has a restore command and, if encrypted, a decryption key. */
export function restorable(run: BackupRunResource, completed: boolean): { status: Condition['status']; reason: string; message: string } {
  if (!completed)
    return { status: 'False', reason: R.BackupNotCompleted, message: 'the backup did not complete, so there is nothing to restore.' };
  if (!run.spec.restore)
    return {
      status: 'False',
      reason: R.NoRestoreCommand,
      message: 'spec.restore is not set; add a restore command to make this run restorable.',
    };
  if (run.spec.encryption && !run.spec.encryption.age.identitySecretRef) {
    return {
      status: 'False',
      reason: R.NoDecryptionKey,
      message:
        'the backup is age-encrypted and spec.encryption.age.identitySecretRef is not set; reference the identity Secret to restore.',
    };
  }
  return { status: 'True', reason: R.Restorable, message: 'annotate the run with backup-operator.io/restore="true" to restore it.' };
}

export function completedStatus(run: BackupRunResource, facts: CompletedFacts, message: string, now: Date): BackupRunStatus {
  let conditions = run.status?.conditions;
  const t = (type: string, status: Condition['status'], reason: string, msg: string) => {
    conditions = setCondition(
      conditions,
      { type, status, reason, message: msg },
      now,
      run.metadata && (run.metadata as { generation?: number }).generation,
    );
  };
  t('Succeeded', 'True', R.Completed, message);
  const compression = facts.compression ?? run.spec.compression?.algorithm ?? 'zstd';
  if (compression === 'none')
    t('Compressed', 'False', R.NotCompressed, 'the stream was stored uncompressed (spec.compression.algorithm: none).');
  else
    t(
      'Compressed',
      'True',
      compression === 'gzip' ? R.Gzip : R.Zstd,
      `the stream was compressed with ${compression} before it was stored.`,
    );
  const encrypted = (facts.encryption ?? (run.spec.encryption ? 'age' : 'none')) === 'age';
  if (encrypted)
    t(
      'Encrypted',
      'True',
      R.Age,
      `the stream was encrypted with age to ${facts.recipients ?? run.spec.encryption?.age.recipients.length} recipient(s).`,
    );
  else t('Encrypted', 'False', R.NotEncrypted, 'the stream was stored unencrypted; set spec.encryption.age to encrypt it.');
  const r = restorable(run, true);
  t('Restorable', r.status, r.reason, r.message);
  return {
    phase: BACKUP_RUN_PHASE.Completed,
    reason: R.Completed,
    completedAt: now.toISOString(),
    ...(facts.storedBytes !== undefined ? { sizeInBytes: facts.storedBytes } : {}),
    ...(facts.sha256 ? { sha256: facts.sha256 } : {}),
    conditions,
  };
}

export function failedStatus(run: BackupRunResource, reason: string, error: string, now: Date): BackupRunStatus {
  let conditions = setCondition(run.status?.conditions, { type: 'Succeeded', status: 'False', reason, message: error }, now);
  const r = restorable(run, false);
  conditions = setCondition(conditions, { type: 'Restorable', status: r.status, reason: r.reason, message: r.message }, now);
  return { phase: BACKUP_RUN_PHASE.Failed, reason, error, completedAt: now.toISOString(), conditions };
}

export function restoreFinishedStatus(run: BackupRunResource, ok: boolean, reason: string, message: string, now: Date): BackupRunStatus {
  const conditions = setCondition(run.status?.conditions, { type: 'Restored', status: ok ? 'True' : 'False', reason, message }, now);
  return {
    phase: ok ? BACKUP_RUN_PHASE.Restored : BACKUP_RUN_PHASE.RestoreFailed,
    reason,
    restoreCompletedAt: now.toISOString(),
    conditions,
    ...(ok ? {} : { error: message }),
  };
}
