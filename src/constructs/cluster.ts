import type { Construct } from 'constructs';
import type { ClusterSpec } from '../api/mysql.cloudnative-mysql.io/types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a Cluster: its spec plus metadata. */
export interface ClusterProps extends ClusterSpec, SiloResourceOptions {}

/** A MySQL/MariaDB cluster with physical backups and recovery from them. */
export class Cluster extends SiloResource<ClusterSpec> {
  constructor(scope: Construct, id: string, props: ClusterProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'Cluster', spec, metadata);
  }
}
