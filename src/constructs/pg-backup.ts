import type { Construct } from 'constructs';
import type { PGBackupSpec } from '../api/postgres.silo.io/types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a PGBackup: its spec plus metadata. */
export interface PGBackupProps extends PGBackupSpec, SiloResourceOptions {}

/** One on-demand pgBackRest backup of a PGCluster into one of its repositories. Immutable once created. */
export class PGBackup extends SiloResource<PGBackupSpec> {
  constructor(scope: Construct, id: string, props: PGBackupProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'PGBackup', spec, metadata);
  }
}
