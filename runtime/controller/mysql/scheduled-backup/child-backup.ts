/**
 * Child Backups of a ScheduledBackup: their names, labels and owner
 * references. Names are deterministic in (schedule, slot), so a reconcile that
 * crashed between creating the child and writing the status creates nothing twice.
 */
import type { BackupSpec, ScheduledBackupSpec } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import type { KubeObject } from '../../reconciler.js';
import { apiVersionOfKind, KINDS } from '../../kube/kinds.js';
import { fitName, MANAGED_BY } from '../../kube/names.js';

export const LABEL_SCHEDULED_BACKUP = 'mysql.cloudnative-mysql.io/scheduled-backup';
export const LABEL_CLUSTER = 'mysql.cloudnative-mysql.io/cluster';
/** Full ScheduledBackup name on each child; the label may be shortened to fit 63 characters. */
export const ANNOTATION_SCHEDULED_BACKUP = 'mysql.cloudnative-mysql.io/scheduled-backup-name';
/** The slot a child was created for (RFC 3339). */
export const ANNOTATION_SLOT = 'mysql.cloudnative-mysql.io/scheduled-slot';

const MAX_NAME = 63;
const STAMP_LENGTH = 14; // yyyymmddhhmmss

/** `yyyymmddhhmmss` in UTC. */
export function slotStamp(slot: Date): string {
  return slot.toISOString().replace(/[-:T]/g, '').slice(0, STAMP_LENGTH);
}

/** Label value naming the ScheduledBackup (≤ 63 characters). */
export const scheduleLabelValue = (scheduleName: string): string => fitName(scheduleName, MAX_NAME);

/** `<schedule>-<yyyymmddhhmmss>`, at most 63 characters, so Job names and label values derived from it fit too. */
export function childBackupName(scheduleName: string, slot: Date): string {
  return `${fitName(scheduleName, MAX_NAME - STAMP_LENGTH - 1)}-${slotStamp(slot)}`;
}

/** The Backup fields of a ScheduledBackup spec, copied verbatim into the child. */
export function backupSpecOf(spec: ScheduledBackupSpec): BackupSpec {
  const { cluster, method, target, online, type, objectStore, deadlineSeconds } = spec;
  const copy: BackupSpec = { cluster: { name: cluster.name } };
  if (method !== undefined) copy.method = method;
  if (target !== undefined) copy.target = target;
  if (online !== undefined) copy.online = online;
  if (type !== undefined) copy.type = type;
  if (objectStore !== undefined) copy.objectStore = objectStore;
  if (deadlineSeconds !== undefined) copy.deadlineSeconds = deadlineSeconds;
  return copy;
}

export interface OwnerObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
}

/**
 * Annotations a child inherits from its ScheduledBackup: those in the
 * mysql.cloudnative-mysql.io/ group (e.g. the remote-deletion opt-in), never
 * kubectl's last-applied configuration.
 */
export function inheritedAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const [key, value] of Object.entries(annotations ?? {})) {
    if (key.startsWith('mysql.cloudnative-mysql.io/')) inherited[key] = value;
  }
  return inherited;
}

/** The child Backup object for one slot. `owner` is absent for backupOwnerReference: none. */
export function renderChildBackup(options: {
  scheduleName: string;
  namespace: string;
  spec: ScheduledBackupSpec;
  annotations?: Record<string, string>;
  slot: Date;
  owner?: OwnerObject;
}): KubeObject {
  const { scheduleName, namespace, spec, slot, owner } = options;
  return {
    apiVersion: apiVersionOfKind(KINDS.Backup),
    kind: KINDS.Backup.kind,
    metadata: {
      name: childBackupName(scheduleName, slot),
      namespace,
      labels: {
        [LABEL_SCHEDULED_BACKUP]: scheduleLabelValue(scheduleName),
        [LABEL_CLUSTER]: spec.cluster.name,
        ...MANAGED_BY,
      },
      annotations: {
        ...inheritedAnnotations(options.annotations),
        [ANNOTATION_SCHEDULED_BACKUP]: scheduleName,
        [ANNOTATION_SLOT]: slot.toISOString(),
      },
      ...(owner
        ? {
            // blockOwnerDeletion is left unset: it needs the finalizers subresource of the owner,
            // and foreground deletion of a schedule should not wait on its backups.
            ownerReferences: [
              {
                apiVersion: owner.apiVersion,
                kind: owner.kind,
                name: owner.name,
                uid: owner.uid,
                controller: owner.kind === KINDS.ScheduledBackup.kind,
              },
            ],
          }
        : {}),
    },
    spec: backupSpecOf(spec),
  };
}
