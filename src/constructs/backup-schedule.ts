import type { Construct } from 'constructs';
import { BackupSchedule as BackupScheduleL1 } from '../../imports/backup-operator.io.js';
import type { BackupScheduleSpec } from '../generated/api-types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a BackupSchedule: its spec plus metadata. */
export interface BackupScheduleProps extends BackupScheduleSpec, SiloResourceOptions {}

/** Creates BackupRuns on a 5-field cron schedule, with bounded history. */
export class BackupSchedule extends SiloResource<BackupScheduleSpec> {
  constructor(scope: Construct, id: string, props: BackupScheduleProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'BackupSchedule', BackupScheduleL1.GVK, spec, metadata);
  }
}
