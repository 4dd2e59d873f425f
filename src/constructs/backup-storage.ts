import type { Construct } from 'constructs';
import type { BackupStorageSpec } from '../api/backup-operator.io/types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a BackupStorage: its spec plus metadata. */
export interface BackupStorageProps extends BackupStorageSpec, SiloResourceOptions {}

/** A cluster-scoped object store (s3, gcs or azure) that BackupRuns write to. */
export class BackupStorage extends SiloResource<BackupStorageSpec> {
  constructor(scope: Construct, id: string, props: BackupStorageProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'BackupStorage', spec, metadata);
  }
}
