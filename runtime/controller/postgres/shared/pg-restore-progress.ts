/**
 * A restore's progress fields (a new cluster's status.restore, a PGRestore's status) from the restore container's
 * last progress line (runtime/contracts/pg-restore.ts, decision 0278). Status is merge-patched, so a field is never
 * left out to clear it: once the copy has ended (the step is past copying), its figures are written as ended
 * (100 %, no time left, every byte done), also when no pass saw it copy. Pure.
 */
import type { PGInPlaceRestoreStatus, PGRestoreStatus } from '../../../../src/api/postgres.silo.io/types.js';
import type { PgRestoreProgress } from '../../../contracts/pg-restore.js';

type ProgressFields = Pick<PGRestoreStatus, 'percent' | 'bytesDone' | 'bytesTotal' | 'bytesPerSecond' | 'etaSeconds'>;

export function restoreProgressStatus(
  progress: PgRestoreProgress | undefined,
  current: PGRestoreStatus | PGInPlaceRestoreStatus | undefined,
): ProgressFields {
  if (!progress) return {};
  if (progress.step !== 'copying') {
    // The copy's own total when a pass saw it, else the resolved set's size.
    const total = current?.bytesTotal ?? current?.backupSizeBytes;
    return { percent: 100, etaSeconds: 0, ...(total !== undefined ? { bytesDone: total, bytesTotal: total } : {}) };
  }
  const { percent, bytesDone, bytesTotal, bytesPerSecond, etaSeconds } = progress;
  return Object.fromEntries(
    Object.entries({ percent, bytesDone, bytesTotal, bytesPerSecond, etaSeconds }).filter(([, v]) => v !== undefined),
  ) as ProgressFields;
}
