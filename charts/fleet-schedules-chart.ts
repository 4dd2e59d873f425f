import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { ScheduledBackup } from '../src/index.js';

/** One database of the fleet that needs nightly backups. */
export interface FleetDatabase {
  /** Cluster name. */
  readonly cluster: string;
  /** Namespace of the Cluster. */
  readonly namespace: string;
  /**
   * Minute past 01:00 to start, so a fleet does not hit the store at once.
   * @default - spread by position in the list
   */
  readonly minute?: number;
}

/** Programmatic schedules: one ScheduledBackup per database, written as a loop. */
export class FleetSchedulesChart extends Chart {
  constructor(scope: Construct, id: string, databases: FleetDatabase[]) {
    super(scope, id, { disableResourceNameHashes: true });
    databases.forEach((db, index) => {
      new ScheduledBackup(this, `${db.namespace}-${db.cluster}-nightly`, {
        metadata: { name: `${db.cluster}-nightly`, namespace: db.namespace },
        schedule: `0 ${db.minute ?? index % 60} 1 * * *`,
        cluster: { name: db.cluster },
        backupOwnerReference: 'self',
        type: 'full',
      });
    });
  }
}

/** The sample fleet synthesized into dist/. */
export const SAMPLE_FLEET: FleetDatabase[] = ['orders', 'billing', 'inventory', 'users', 'search'].map((cluster) => ({
  cluster,
  namespace: 'shop',
}));
