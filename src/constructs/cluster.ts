import type { Construct } from 'constructs';
import { Cluster as ClusterL1 } from '../../imports/mysql.cloudnative-mysql.io.js';
import type { ClusterSpec } from '../generated/api-types.js';
import { SiloResource, type SiloResourceOptions } from './silo-resource.js';

/** Props of a Cluster: its spec plus metadata. */
export interface ClusterProps extends ClusterSpec, SiloResourceOptions {}

/** A MySQL/MariaDB cluster with physical backups and recovery from them. */
export class Cluster extends SiloResource<ClusterSpec> {
  constructor(scope: Construct, id: string, props: ClusterProps) {
    const { metadata, ...spec } = props;
    super(scope, id, 'Cluster', ClusterL1.GVK, spec, metadata);
  }
}
