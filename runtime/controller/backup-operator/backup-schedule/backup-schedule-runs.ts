/**
 * The BackupRuns a schedule creates (deterministic names, labels, owner) and
 * the history it keeps (oldest runs beyond the limits are deleted).
 */
import type { BackupRunStatus, BackupScheduleResource } from '../../../../src/api/backup-operator.io/types.js';
import { BACKUP_RUN_PHASE, hasBackupRunData, isBackupRunActive } from '../../../../src/api/backup-operator.io/phases.js';
import { MANAGED_BY, boundedName, labelValue, shortHash } from '../../kube/names.js';
import type { KubeObject } from '../../reconciler.js';
import { ANNOTATION_SCHEDULED_AT, LABEL_SCHEDULE } from '../shared/names.js';

export type Schedule = BackupScheduleResource & KubeObject;

/** `<schedule>-<minutes since epoch>`, like CronJob's Jobs; at most 63 characters. */
export const scheduledRunName = (schedule: string, slot: Date): string =>
  boundedName(schedule, String(Math.floor(slot.getTime() / 60_000)));

/** One name per trigger value, so a retried reconcile finds the run it already made. */
export const manualRunName = (schedule: string, uid: string, value: string): string =>
  boundedName(schedule, `manual-${shortHash(`${uid}/${value}`)}`);

export function runFor(schedule: Schedule, name: string, scheduledAt: Date | undefined): KubeObject {
  const template = schedule.spec.template;
  return {
    apiVersion: 'backup-operator.io/v1',
    kind: 'BackupRun',
    metadata: {
      name,
      namespace: schedule.metadata!.namespace,
      labels: { ...(template.metadata?.labels ?? {}), ...MANAGED_BY, [LABEL_SCHEDULE]: labelValue(schedule.metadata!.name!) },
      annotations: {
        ...(template.metadata?.annotations ?? {}),
        ...(scheduledAt ? { [ANNOTATION_SCHEDULED_AT]: scheduledAt.toISOString() } : {}),
      },
      ownerReferences: [
        {
          apiVersion: 'backup-operator.io/v1',
          kind: 'BackupSchedule',
          name: schedule.metadata!.name!,
          uid: schedule.metadata!.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: structuredClone(template.spec),
  };
}

const phaseOf = (run: KubeObject): string | undefined => (run.status as BackupRunStatus | undefined)?.phase;
/** True while the run's backup has not finished. */
export const isActive = (run: KubeObject): boolean => isBackupRunActive(phaseOf(run));
const finishedAt = (run: KubeObject): number =>
  Date.parse((run.status as BackupRunStatus | undefined)?.completedAt ?? run.metadata?.creationTimestamp ?? '') || 0;

/** Runs to delete so that at most `successful` completed and `failed` failed runs remain; the oldest go first. */
export function runsBeyondHistory(runs: readonly KubeObject[], successful: number, failed: number): KubeObject[] {
  // A run being restored is in use; it is never trimmed.
  const done = runs.filter(
    (r) => hasBackupRunData(phaseOf(r)) && phaseOf(r) !== BACKUP_RUN_PHASE.Restoring && !r.metadata?.deletionTimestamp,
  );
  const bad = runs.filter((r) => phaseOf(r) === BACKUP_RUN_PHASE.Failed && !r.metadata?.deletionTimestamp);
  const newestFirst = (list: KubeObject[]) =>
    [...list].sort((a, b) => finishedAt(b) - finishedAt(a) || String(b.metadata?.name).localeCompare(String(a.metadata?.name)));
  return [...newestFirst(done).slice(successful), ...newestFirst(bad).slice(failed)];
}

/** The newest completion time among successful runs. */
export function lastSuccessful(runs: readonly KubeObject[]): string | undefined {
  const times = runs
    .filter((r) => hasBackupRunData(phaseOf(r)))
    .map((r) => (r.status as BackupRunStatus).completedAt)
    .filter((t): t is string => !!t)
    .sort();
  return times.at(-1);
}
