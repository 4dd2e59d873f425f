/**
 * Phase names and checks of the backup-operator.io kinds, written once for src/ and runtime/ alike.
 * Hand-written, beside the generated types.ts; the mapped types below fail to compile when the
 * schemas' phase enums and these names part ways.
 */
import type { BackupRunStatus, BackupStorageStatus } from './types.js';

/** A BackupRun's phase: Pending → Running → Completed | Failed; a completed run may then go Restoring → Restored | RestoreFailed. */
export type BackupRunPhase = NonNullable<BackupRunStatus['phase']>;

/** Every phase of a BackupRun, by name. */
export const BACKUP_RUN_PHASE = {
  Pending: 'Pending',
  Running: 'Running',
  Completed: 'Completed',
  Failed: 'Failed',
  Restoring: 'Restoring',
  Restored: 'Restored',
  RestoreFailed: 'RestoreFailed',
} as const satisfies { readonly [P in BackupRunPhase]: P };

/** Phases in which the run's backup has finished (the restore phases come after a completed backup). */
export const BACKUP_RUN_TERMINAL_PHASES: readonly BackupRunPhase[] = ['Completed', 'Failed', 'Restoring', 'Restored', 'RestoreFailed'];

/** Phases in which the run's stored data exists. */
export const BACKUP_RUN_DATA_PHASES: readonly BackupRunPhase[] = ['Completed', 'Restoring', 'Restored', 'RestoreFailed'];

/** True once the run's backup has completed or failed, whatever a restore did afterwards. */
export const isBackupRunTerminal = (phase: string | undefined): boolean => BACKUP_RUN_TERMINAL_PHASES.includes(phase as BackupRunPhase);

/** True when the run's backup completed, so its data is stored (restored or not). */
export const hasBackupRunData = (phase: string | undefined): boolean => BACKUP_RUN_DATA_PHASES.includes(phase as BackupRunPhase);

/** True while the run's backup has not finished: no phase yet, Pending or Running. */
export const isBackupRunActive = (phase: string | undefined): boolean => phase === undefined || phase === 'Pending' || phase === 'Running';

/** A BackupStorage's phase, from its last check. */
export type BackupStoragePhase = NonNullable<BackupStorageStatus['phase']>;

/** Every phase of a BackupStorage, by name. */
export const BACKUP_STORAGE_PHASE = {
  Ready: 'Ready',
  NotReady: 'NotReady',
} as const satisfies { readonly [P in BackupStoragePhase]: P };
