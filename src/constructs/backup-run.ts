import type { Construct } from 'constructs';
import type { BackupRunSpec } from '../api/backup-operator.io/types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a BackupRun: its spec plus metadata. */
export interface BackupRunProps extends BackupRunSpec, SiloResourceOptions {}

/** One backup of user-defined commands; annotate it with backup-operator.io/restore to restore it. */
export class BackupRun extends SiloResource<BackupRunSpec> {
  /** Annotation that asks the operator to restore a completed BackupRun. */
  static readonly RESTORE_ANNOTATION = 'backup-operator.io/restore';

  constructor(scope: Construct, id: string, props: BackupRunProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'BackupRun', spec, metadata);
  }
}
