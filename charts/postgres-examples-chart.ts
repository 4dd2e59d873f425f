import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { PGBackup, PGCluster, PGRestore } from '../src/index.js';

/**
 * PostgreSQL through pgBackRest, in seed 001's vocabulary: a PGCluster with repo1 on a volume of the
 * repo host and repo2 on S3 (encrypted, with per-type schedules and retention), and an on-demand
 * PGBackup. Written to dist/postgres-examples.k8s.yaml.
 */
export class PostgresExamplesChart extends Chart {
  constructor(scope: Construct, id = 'postgres-examples') {
    super(scope, id, { disableResourceNameHashes: true, namespace: 'shop' });
    new PGCluster(this, 'orders', {
      instances: 1,
      storage: { size: '20Gi' },
      users: [{ name: 'orders', databases: ['orders'] }],
      backups: {
        pgbackrest: {
          global: { 'process-max': '2', 'compress-type': 'zst' },
          repos: [
            {
              name: 'repo1',
              volume: { volumeClaimSpec: { size: '100Gi' } },
              schedules: { full: '0 1 * * 0', differential: '0 1 * * 1-6', incremental: '0 */4 * * *' },
              retention: { full: 2 },
            },
            {
              name: 'repo2',
              s3: {
                bucket: 'shop-pgbackrest',
                endpoint: 's3.eu-west-1.amazonaws.com',
                region: 'eu-west-1',
                credentials: {
                  accessKeyId: { name: 'pgbackrest-s3', key: 'id' },
                  secretAccessKey: { name: 'pgbackrest-s3', key: 'secret' },
                },
              },
              schedules: { full: '0 3 * * *' },
              retention: { full: 14, fullType: 'time' },
              encryption: { passphrase: { name: 'pgbackrest-cipher', key: 'passphrase' } },
            },
          ],
        },
      },
    });
    new PGBackup(this, 'orders-before-migration', { cluster: { name: 'orders' }, repoName: 'repo2', type: 'full' });
    // Undo a migration in place: back to just before it started, on a new timeline in the same stanza.
    new PGRestore(this, 'orders-undo-migration', {
      cluster: { name: 'orders' },
      repoName: 'repo2',
      target: { time: '2026-12-04T21:59:00Z' },
    });
  }
}
