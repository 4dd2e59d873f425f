import type { Construct } from 'constructs';
import type { PGClusterSpec } from '../api/postgres.silo.io/types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a PGCluster: its spec plus metadata. */
export interface PGClusterProps extends PGClusterSpec, SiloResourceOptions {}

/** A PostgreSQL cluster backed up by pgBackRest into up to four repositories through its repo host. */
export class PGCluster extends SiloResource<PGClusterSpec> {
  constructor(scope: Construct, id: string, props: PGClusterProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'PGCluster', spec, metadata);
  }
}
