/**
 * Names, labels, annotations and finalizers of backup-operator.io objects, and
 * bounded names: Kubernetes label values and most generated names must fit in
 * 63 characters, so long bases are cut and given a short hash to stay unique.
 */
import { createHash } from 'node:crypto';

export const GROUP = 'backup-operator.io';
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'silo' } as const;

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

const shortHash = (text: string, length = 8): string => createHash('sha256').update(text).digest('hex').slice(0, length);

/**
 * `base-suffix`, cut to `max` characters. When the base must be cut, a hash of
 * the full base keeps distinct long names distinct. Always a valid DNS label
 * when base and suffix are.
 */
export function boundedName(base: string, suffix: string, max = 63): string {
  const tail = suffix ? `-${suffix}` : '';
  const full = `${base}${tail}`;
  if (full.length <= max) return full;
  const hash = shortHash(base);
  const keep = Math.max(1, max - tail.length - hash.length - 1);
  return `${base.slice(0, keep).replace(/[-.]+$/, '')}-${hash}${tail}`;
}

/** A label value (≤ 63 characters) that still identifies a longer object name. */
export const labelValue = (name: string): string => boundedName(name, '', 63);
