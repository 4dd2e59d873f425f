/**
 * Phase names and terminal checks of the mysql.cloudnative-mysql.io kinds, written once for src/ and
 * runtime/ alike. Hand-written, beside the generated types.ts; the mapped types below fail to
 * compile when the schema's phase enum and these names part ways.
 */
import type { BackupStatus } from './types.js';

/** A Backup's phase: pending → running → completed | failed. */
export type BackupPhase = NonNullable<BackupStatus['phase']>;

/** Every phase of a Backup, by name. */
export const BACKUP_PHASE = {
  Pending: 'pending',
  Running: 'running',
  Completed: 'completed',
  Failed: 'failed',
} as const satisfies { readonly [P in BackupPhase as Capitalize<P>]: P };

/** The phases a Backup never leaves: it is no longer reconciled and no longer holds its Cluster's guard. */
export const BACKUP_TERMINAL_PHASES: readonly BackupPhase[] = [BACKUP_PHASE.Completed, BACKUP_PHASE.Failed];

/** True once a Backup has completed or failed; a Backup without a phase yet is not terminal. */
export const isBackupTerminal = (phase: string | undefined): boolean => BACKUP_TERMINAL_PHASES.includes(phase as BackupPhase);
