import type { Construct } from 'constructs';
import type { PGRestoreSpec } from '../api/postgres.silo.io/types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a PGRestore: its spec plus metadata. */
export interface PGRestoreProps extends PGRestoreSpec, SiloResourceOptions {}

/** An in-place restore of a PGCluster from one of its own repositories, to a backup or a point in time. Immutable once created. */
export class PGRestore extends SiloResource<PGRestoreSpec> {
  constructor(scope: Construct, id: string, props: PGRestoreProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'PGRestore', spec, metadata);
  }
}
