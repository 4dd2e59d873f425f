/**
 * Status transitions of a Backup: pending → running → completed | failed.
 * Builders return JSON merge patches of the status subresource; conditions
 * keep their lastTransitionTime while their status does not change.
 */
import type { Condition } from '../../../../src/api/common/types.js';
import type { BackupMetadata } from '../../../../src/api/metadata/types.js';
import type { BackupStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { BACKUP_PHASE } from '../../../../src/api/mysql.cloudnative-mysql.io/phases.js';
import { findCondition, setCondition } from '../../kube/conditions.js';
import { REASON, type Failure, type Reason } from './backup-reasons.js';

/** True once the Job exists; False while the Backup waits for another one of its Cluster. */
export const STARTED = 'Started';
/** True when completed; False with the failure reason when failed. */
export const COMPLETED = 'Completed';

export const conditionOf = (status: BackupStatus | undefined, type: string): Condition | undefined =>
  findCondition(status?.conditions, type);

/** Binary units, as kubectl users read them: 1.5 GiB. */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${units[unit]}`;
}

export function waitingPatch(status: BackupStatus | undefined, message: string, generation: number | undefined, now: Date): BackupStatus {
  return {
    phase: BACKUP_PHASE.Pending,
    reason: REASON.WaitingForRunningBackup,
    conditions: setCondition(
      status?.conditions,
      { type: STARTED, status: 'False', reason: REASON.WaitingForRunningBackup, message },
      now,
      generation,
    ),
    ...gen(generation),
  };
}

export function failedPatch(status: BackupStatus | undefined, failure: Failure, generation: number | undefined, now: Date): BackupStatus {
  return {
    phase: BACKUP_PHASE.Failed,
    reason: failure.reason,
    error: failure.message,
    stoppedAt: now.toISOString(),
    conditions: setCondition(
      status?.conditions,
      { type: COMPLETED, status: 'False', reason: failure.reason, message: failure.message },
      now,
      generation,
    ),
    ...gen(generation),
  };
}

/** Everything the completed Backup reports, from the worker's metadata.json. */
export function completedPatch(
  status: BackupStatus | undefined,
  metadata: BackupMetadata,
  generation: number | undefined,
  now: Date,
): BackupStatus {
  const started = Date.parse(metadata.startedAt);
  const stopped = Date.parse(metadata.stoppedAt);
  const seconds = Math.max((stopped - started) / 1000, 0.001);
  const stored = metadata.sizes.storedBytes;
  const message = `stored ${humanSize(stored)} with SHA256 ${metadata.sha256}`;
  return {
    phase: BACKUP_PHASE.Completed,
    reason: REASON.Completed,
    method: metadata.method ?? status?.method,
    sha256: metadata.sha256,
    ...(metadata.gtid?.begin ? { beginGTID: metadata.gtid.begin } : {}),
    ...(metadata.gtid?.end ? { endGTID: metadata.gtid.end } : {}),
    ...(metadata.binlog?.begin ? { beginBinlog: metadata.binlog.begin } : {}),
    ...(metadata.binlog?.end ? { endBinlog: metadata.binlog.end } : {}),
    ...(metadata.lsn?.to ? { toLSN: metadata.lsn.to } : {}),
    ...(metadata.sourceInstance ? { instanceName: metadata.sourceInstance } : {}),
    startedAt: status?.startedAt ?? metadata.startedAt,
    stoppedAt: metadata.stoppedAt,
    sizeBytes: stored,
    size: humanSize(stored),
    throughputBytesPerSecond: Math.round(stored / seconds),
    error: null as unknown as undefined,
    conditions: setCondition(status?.conditions, { type: COMPLETED, status: 'True', reason: REASON.Completed, message }, now, generation),
    ...gen(generation),
  };
}

export function startedCondition(
  status: BackupStatus | undefined,
  jobName: string,
  generation: number | undefined,
  now: Date,
): BackupStatus {
  return {
    conditions: setCondition(
      status?.conditions,
      { type: STARTED, status: 'True', reason: REASON.Started, message: `Job ${jobName} streams the backup` },
      now,
      generation,
    ),
  };
}

const gen = (generation: number | undefined) => (generation === undefined ? {} : { observedGeneration: generation });

export type { Reason };
