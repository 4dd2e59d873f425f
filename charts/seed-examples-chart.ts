import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import { Backup, BackupSchedule, BackupStorage, Cluster, type ObjectStore } from '../src/index.js';

/** Seed 003's object store, shared by the example Clusters. */
const productionStore = (withRegion: boolean): ObjectStore => ({
  bucket: 'cloudnative-mysql-backups',
  path: 'production',
  endpoint: 'http://minio.minio.svc:9000',
  ...(withRegion ? { region: 'us-east-1', forcePathStyle: true } : {}),
  credentials: {
    accessKeyId: { name: 'minio-creds', key: 'accessKey' },
    secretAccessKey: { name: 'minio-creds', key: 'secretKey' },
  },
});

const INSTANCE_IMAGE = 'ghcr.io/cloudnative-mysql/cloudnative-mysql-instance:8.4';

/** Every YAML example of the seed documents, rebuilt with the constructs. */
export class SeedExamplesChart extends Chart {
  constructor(scope: Construct, id = 'seed-examples') {
    super(scope, id, { disableResourceNameHashes: true });

    // Seeds 002 and 004: back up anything with user-defined commands.
    new BackupStorage(this, 'minio', {
      type: 's3',
      parameters: { bucket: 'backups', endpoint: 'http://minio.minio.svc:9000', insecure: 'true', s3ForcePathStyle: 'true' },
      credentials: { name: 'minio-credentials', namespace: 'minio' },
    });
    const mysqlEnv = [
      { name: 'HOSTNAME', value: 'mysql.development' },
      { name: 'DATABASE', value: 'backend_db' },
      { name: 'USERNAME', valueFrom: { secretKeyRef: { name: 'mysql-credentials', key: 'username' } } },
      { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'mysql-credentials', key: 'password' } } },
    ];
    new BackupSchedule(this, 'mysql-daily', {
      schedule: '0 0 * * *',
      concurrencyPolicy: 'Replace',
      successfulRunsHistoryLimit: 14,
      failedRunsHistoryLimit: 2,
      template: {
        spec: {
          retainPolicy: 'Delete',
          storage: { name: 'minio', path: '/backups/mysql-{{ now | date "2006.01.02-15:04:05" }}.sql' },
          backup: {
            deadlineSeconds: 300,
            container: 'mysql',
            command: ['/bin/sh', '-c'],
            args: ['mysqldump -h "${HOSTNAME}" -u "${USERNAME}" "-p${PASSWORD}" "${DATABASE}"'],
          },
          restore: {
            deadlineSeconds: 300,
            container: 'mysql',
            command: ['/bin/sh', '-c'],
            args: ['mysql -h "${HOSTNAME}" -u "${USERNAME}" "-p${PASSWORD}" "${DATABASE}"'],
          },
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'mysql', image: 'mysql:8.3.0', command: ['sleep', '1d'], env: mysqlEnv }],
            },
          },
        },
      },
    });

    // Seed 003: physical backups of a Cluster, and recovery from them.
    new Cluster(this, 'cluster-sample', {
      instances: 3,
      imageName: INSTANCE_IMAGE,
      storage: { size: '10Gi' },
      backup: { objectStore: productionStore(true) },
    });
    new Backup(this, 'backup-sample', {
      cluster: { name: 'cluster-sample' },
      method: 'xtrabackup',
      target: 'prefer-standby',
      online: true,
    });
    new Cluster(this, 'restored-cluster', {
      instances: 3,
      imageName: INSTANCE_IMAGE,
      storage: { size: '10Gi' },
      bootstrap: { recovery: { backup: { name: 'backup-sample' } } },
      backup: { objectStore: productionStore(false) },
    });
    new Cluster(this, 'recovered-cluster', {
      instances: 3,
      imageName: INSTANCE_IMAGE,
      storage: { size: '10Gi' },
      bootstrap: { recovery: { source: 'prod-cluster', backupID: '', recoveryTarget: { targetGTID: 'uuid:1-99' } } },
      externalClusters: [{ name: 'prod-cluster', objectStore: productionStore(false) }],
    });
  }
}
