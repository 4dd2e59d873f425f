import type { Construct } from 'constructs';
import type { ScheduledBackupSpec } from '../api/mysql.cloudnative-mysql.io/types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a ScheduledBackup: its spec plus metadata. */
export interface ScheduledBackupProps extends ScheduledBackupSpec, SiloResourceOptions {}

/**
 * Creates Backups of a Cluster on a 6-field cron schedule. Safe to create in a
 * loop: `for (const db of dbs) new ScheduledBackup(chart, db.name, {...})`.
 */
export class ScheduledBackup extends SiloResource<ScheduledBackupSpec> {
  constructor(scope: Construct, id: string, props: ScheduledBackupProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'ScheduledBackup', spec, metadata);
  }
}
