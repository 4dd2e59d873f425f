import type { Construct } from 'constructs';
import type { BackupSpec } from '../api/mysql.cloudnative-mysql.io/types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a Backup: its spec plus metadata. */
export interface BackupProps extends BackupSpec, SiloResourceOptions {}

/** One physical backup of a Cluster. Immutable once created. */
export class Backup extends SiloResource<BackupSpec> {
  constructor(scope: Construct, id: string, props: BackupProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'Backup', spec, metadata);
  }
}
