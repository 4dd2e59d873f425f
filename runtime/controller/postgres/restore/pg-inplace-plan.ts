/**
 * An in-place restore, as pure builders: the backup set and target checked against the cluster's own
 * repository (pg-restore-plan.ts's window check, plus the backup spec.backup names), the plan `silo pg restore`
 * runs with `--delta` on the primary's volume (decision 0295), and the primary Pod that carries it.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { PGInPlaceRestoreStatus, PGRestoreSpec } from '../../../../src/api/postgres.silo.io/types.js';
import type { PgRestorePlan } from '../../../contracts/pg-restore.js';
import { CONFIG_HASH_ANNOTATION } from '../cluster/pg-pods.js';
import { planRestore, utcTarget, lsnValue, type SourceRepository } from '../cluster/pg-restore-plan.js';
import { withRestoreInit, type RestoreInit } from '../cluster/pg-restore-pod.js';
import type { InfoBackup } from '../shared/pgbackrest-info.js';
import { PG_LABELS, PG_RESTORE_POD_ANNOTATION } from '../shared/pg-objects.js';

export type InPlaceRefusal = 'NoBackupBeforeTarget' | 'TargetOutsideRecoveryWindow' | 'BackupNotFound' | 'BackupAfterTarget';
export type InPlaceResolved = Pick<
  PGInPlaceRestoreStatus,
  | 'stanza'
  | 'systemIdentifier'
  | 'backupLabel'
  | 'backupSizeBytes'
  | 'backupStopTime'
  | 'backupStopLsn'
  | 'window'
  | 'target'
  | 'previousTimeline'
>;
export type InPlacePlanResult =
  | { readonly ok: true; readonly resolved: InPlaceResolved }
  | { readonly ok: false; readonly reason: InPlaceRefusal; readonly detail: string; readonly window?: PGInPlaceRestoreStatus['window'] };

const iso = (epochSeconds: number): string => new Date(epochSeconds * 1000).toISOString().replace(/\.000Z$/, 'Z');

/** The set a label names, completed and in this repository. */
const backupOf = (source: SourceRepository, label: string): InfoBackup | undefined =>
  (source.stanza?.backup ?? []).find(
    (b) => b.label === label && b.database?.['repo-key'] === source.key && !b.error && b.timestamp && b.lsn,
  );

/** Whether replay can reach the target from this set: it ended before a time or LSN target. */
function endedBefore(backup: InfoBackup, target: PGRestoreSpec['target']): boolean {
  if (target?.time) return backup.timestamp!.stop * 1000 < utcTarget(target.time).ms;
  if (target?.lsn) return lsnValue(backup.lsn!.stop) <= lsnValue(target.lsn);
  return true;
}

/** The timeline of the repository's newest archived WAL: the one the restored primary leaves behind. */
function archivedTimeline(source: SourceRepository): number | undefined {
  const archives = (source.stanza?.archive ?? []).filter((a) => a.database['repo-key'] === source.key && a.max);
  const max = archives[archives.length - 1]?.max;
  return max ? parseInt(max.slice(0, 8), 16) : undefined;
}

/**
 * Which set and which pgBackRest target: the window check of a new-cluster restore, then the set spec.backup names
 * (it must have ended before a time or LSN target). A named set without a target stops where it is consistent
 * (immediate): replaying to the end of the archive would bring back what the restore means to undo (decision 0295).
 */
export function planInPlace(spec: PGRestoreSpec, source: SourceRepository, label: string | undefined): InPlacePlanResult {
  const planned = planRestore(
    { postgresCluster: { clusterName: '', repoName: spec.repoName }, ...(spec.target ? { target: spec.target } : {}) },
    source,
  );
  if (!planned.ok) return planned;
  const previousTimeline = archivedTimeline(source);
  const resolved: InPlaceResolved = { ...planned.resolved, ...(previousTimeline ? { previousTimeline } : {}) };
  if (!label) return { ok: true, resolved };
  const backup = backupOf(source, label);
  if (!backup)
    return {
      ok: false,
      reason: 'BackupNotFound',
      detail: `${label} is not a completed backup in ${spec.repoName}`,
      window: resolved.window,
    };
  if (!endedBefore(backup, spec.target))
    return { ok: false, reason: 'BackupAfterTarget', detail: `${label} ended at ${iso(backup.timestamp!.stop)}`, window: resolved.window };
  // A timeline alone asks for the end of that timeline: replay goes on from the named set (decision 0061).
  const type = resolved.target!.type === 'default' && !resolved.target!.timeline ? 'immediate' : resolved.target!.type;
  return {
    ok: true,
    resolved: {
      ...resolved,
      backupLabel: backup.label,
      ...(backup.info ? { backupSizeBytes: backup.info.size } : {}),
      backupStopTime: iso(backup.timestamp!.stop),
      backupStopLsn: backup.lsn!.stop,
      target: { ...resolved.target, type },
    },
  };
}

/** What `silo pg restore` runs: the resolved set and target, --delta over the volume, the spec's extra options. */
export function inPlacePgPlan(
  id: string,
  status: PGInPlaceRestoreStatus,
  repo: number,
  conf: string,
  options?: readonly string[],
): PgRestorePlan {
  const target = status.target!;
  return {
    id,
    repo,
    type: target.type!,
    // pgBackRest takes --set with these types (and the end of a named timeline); name and xid replay from the newest set.
    ...(status.backupLabel && (['time', 'lsn', 'immediate'].includes(target.type!) || (target.type === 'default' && target.timeline))
      ? { set: status.backupLabel }
      : {}),
    ...(target.value !== undefined ? { target: target.value } : {}),
    ...(target.exclusive ? { exclusive: true } : {}),
    ...(target.timeline ? { timeline: target.timeline } : {}),
    conf,
    delta: true,
    ...(status.backupSizeBytes ? { bytesTotal: status.backupSizeBytes } : {}),
    ...(options?.length ? { options: [...options] } : {}),
  };
}

/**
 * The primary with the restore init container, carrying the PLAIN primary's config hash: once the restore is done
 * the PGCluster reconciler finds the Pod it would build and keeps it, so the restored primary is not restarted
 * (its init container, if the Pod's containers restart, only reads the done state on the volume).
 */
export function withInPlaceRestore(plain: V1Pod, init: RestoreInit, restoreName: string): V1Pod {
  const hash = plain.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
  const pod = withRestoreInit(plain, init);
  // Named for the PGRestore reconciler's Pod watch: it sees the restore container end and the primary turn Ready
  // as they happen, instead of on its next poll (the RTO counts every second of that wait).
  pod.metadata!.labels = { ...pod.metadata!.labels, [PG_LABELS.inPlaceRestore]: 'true' };
  pod.metadata!.annotations = {
    ...pod.metadata!.annotations,
    [PG_RESTORE_POD_ANNOTATION]: restoreName,
    ...(hash ? { [CONFIG_HASH_ANNOTATION]: hash } : {}),
  };
  return pod;
}
