/**
 * Names, labels, annotations and finalizers of backup-operator.io objects.
 * Bounded names are the controller kit's (kube/names.ts).
 */

export const GROUP = 'backup-operator.io';

export const LABEL_SCHEDULE = `${GROUP}/schedule`;
export const LABEL_RUN = `${GROUP}/run`;
/** Pod role within a run: backup, restore or cleanup. */
export const LABEL_ROLE = `${GROUP}/role`;

/** Seed 002/004's restore trigger (BackupRun schema description): `"true"` starts the restore of a completed run. */
export const ANNOTATION_RESTORE = `${GROUP}/restore`;
/** Set on a BackupSchedule (any value) to start one run now; the controller removes it once the run exists. */
export const ANNOTATION_TRIGGER = `${GROUP}/trigger`;
/** The cron slot a scheduled run belongs to (RFC 3339). */
export const ANNOTATION_SCHEDULED_AT = `${GROUP}/scheduled-at`;

/** Keeps a BackupStorage while BackupRuns reference it. */
export const FINALIZER_STORAGE_IN_USE = `${GROUP}/storage-in-use`;
/** retainPolicy: Delete — removes the stored object (via a cleanup Pod) before the BackupRun goes. */
export const FINALIZER_DELETE_REMOTE = `${GROUP}/delete-remote-object`;
