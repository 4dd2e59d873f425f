import type { Construct } from 'constructs';
import type { BackupScheduleSpec } from '../api/backup-operator.io/types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a BackupSchedule: its spec plus metadata. */
export interface BackupScheduleProps extends BackupScheduleSpec, SiloResourceOptions {}

/** Creates BackupRuns on a 5-field cron schedule, with bounded history. */
export class BackupSchedule extends SiloResource<BackupScheduleSpec> {
  constructor(scope: Construct, id: string, props: BackupScheduleProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'BackupSchedule', spec, metadata);
  }
}
