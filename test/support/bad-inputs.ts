import type { SiloKind } from '../../src/schema/kinds.js';

/**
 * Bad inputs, each with the message Silo gives at synth time and, where the
 * API server can catch it too (structural schema or CEL), the text it gives.
 * Shared by the unit test (ajv + CEL in process) and the real-API-server test.
 */
export interface BadInput {
  readonly name: string;
  readonly kind: SiloKind;
  readonly object: Record<string, any>;
  /** Exact message from Silo's validator. */
  readonly message: string;
  /** Substring of the API server's rejection, or undefined when only Silo catches it. */
  readonly server?: string;
}

const clone = <T>(value: T): T => structuredClone(value);
const set = (object: any, path: string, value: unknown) => {
  const parts = path.split('.');
  let node = object;
  for (const part of parts.slice(0, -1)) node = node[part] ??= {};
  if (value === undefined) delete node[parts[parts.length - 1]];
  else node[parts[parts.length - 1]] = value;
  return object;
};

export const VALID_BACKUP = {
  apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
  kind: 'Backup',
  metadata: { name: 'nightly' },
  spec: { cluster: { name: 'db' } },
};
export const VALID_CLUSTER = {
  apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
  kind: 'Cluster',
  metadata: { name: 'db' },
  spec: {
    instances: 3,
    storage: { size: '10Gi' },
    backup: {
      objectStore: {
        bucket: 'backups',
        endpoint: 'http://minio:9000',
        credentials: { accessKeyId: { name: 's', key: 'a' }, secretAccessKey: { name: 's', key: 'b' } },
      },
    },
  },
};
export const VALID_SCHEDULED_BACKUP = {
  apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
  kind: 'ScheduledBackup',
  metadata: { name: 'db-nightly' },
  spec: { schedule: '0 0 1 * * *', cluster: { name: 'db' } },
};
export const VALID_STORAGE = {
  apiVersion: 'backup-operator.io/v1',
  kind: 'BackupStorage',
  metadata: { name: 'minio' },
  spec: {
    type: 's3',
    parameters: { bucket: 'backups', endpoint: 'http://minio:9000' },
    credentials: { name: 'creds', namespace: 'minio' },
  },
};
const RUN_SPEC = {
  storage: { name: 'minio', path: '/db/{{ now | date "2006-01-02" }}.sql' },
  backup: { container: 'db', command: ['mariadb-dump', '--all-databases'] },
  template: { spec: { containers: [{ name: 'db', image: 'mariadb:10.11' }] } },
};
export const VALID_RUN = { apiVersion: 'backup-operator.io/v1', kind: 'BackupRun', metadata: { name: 'once' }, spec: RUN_SPEC };
export const VALID_SCHEDULE = {
  apiVersion: 'backup-operator.io/v1',
  kind: 'BackupSchedule',
  metadata: { name: 'daily' },
  spec: { schedule: '0 0 * * *', template: { spec: RUN_SPEC } },
};

/** A valid azure objectStore form (container, account, key). */
const AZURE_STORE = { container: 'backups', storageAccount: 'silo', credentials: { accountKey: { name: 'azure', key: 'key' } } };

const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

/** Bad inputs of one kind: a valid object of that kind with one field set to `value` at `path`. */
const badInputOf =
  (kind: SiloKind, base: any) =>
  (name: string, path: string, value: unknown, message: string, server?: string): BadInput => ({
    name,
    kind,
    object: set(clone(base), path, value),
    message,
    server,
  });
const badBackup = badInputOf('Backup', VALID_BACKUP);
const badCluster = badInputOf('Cluster', VALID_CLUSTER);
const badScheduledBackup = badInputOf('ScheduledBackup', VALID_SCHEDULED_BACKUP);
const badRun = badInputOf('BackupRun', VALID_RUN);
const badSchedule = badInputOf('BackupSchedule', VALID_SCHEDULE);
const badStorage = badInputOf('BackupStorage', VALID_STORAGE);

export const BAD_INPUTS: BadInput[] = [
  badBackup(
    'unknown backup method',
    'spec.method',
    'mysqldump',
    'spec.method must be one of xtrabackup (got "mysqldump")',
    'Unsupported value: "mysqldump"',
  ),
  badBackup(
    'unknown backup target',
    'spec.target',
    'standby',
    'spec.target must be one of primary, prefer-standby (got "standby")',
    'Unsupported value: "standby"',
  ),
  badBackup(
    'unknown backup type',
    'spec.type',
    'snapshot',
    'spec.type must be one of full, differential, incremental (got "snapshot")',
    'Unsupported value: "snapshot"',
  ),
  badBackup('Backup without a cluster', 'spec.cluster', undefined, 'spec.cluster is required', 'Required value'),
  badBackup(
    'offline backup',
    'spec.online',
    false,
    'spec: online: false is not supported yet; remove it or set online: true',
    'online: false is not supported yet',
  ),
  badBackup(
    'deadline below a minute',
    'spec.deadlineSeconds',
    5,
    'spec.deadlineSeconds must be >= 60 (got 5)',
    'should be greater than or equal to 60',
  ),
  badBackup('misspelled field', 'spec.targett', 'primary', 'spec.targett is not a known field; did you mean target?'),
  badCluster(
    'both backup and source',
    'spec.bootstrap',
    { recovery: { backup: { name: 'b' }, source: 'prod' } },
    'spec: bootstrap.recovery.source must name an entry of spec.externalClusters',
    'bootstrap.recovery takes exactly one of backup or source',
  ),
  badCluster(
    'recovery with neither backup nor source',
    'spec.bootstrap',
    { recovery: {} },
    'spec.bootstrap.recovery: bootstrap.recovery takes exactly one of backup or source, not both and not neither',
    'bootstrap.recovery takes exactly one of backup or source',
  ),
  badCluster(
    'source not in externalClusters',
    'spec.bootstrap',
    { recovery: { source: 'prod' } },
    'spec: bootstrap.recovery.source must name an entry of spec.externalClusters',
    'bootstrap.recovery.source must name an entry of spec.externalClusters',
  ),
  badCluster(
    'backupID without source',
    'spec.bootstrap',
    { recovery: { backup: { name: 'b' }, backupID: 'x' } },
    'spec.bootstrap.recovery: backupID pins a backup under a source; set source or remove backupID',
    'backupID pins a backup under a source',
  ),
  badInputOf('Cluster', { ...VALID_CLUSTER, spec: { ...VALID_CLUSTER.spec, externalClusters: [{ name: 'prod' }] } })(
    'two recovery targets',
    'spec.bootstrap',
    { recovery: { source: 'prod', recoveryTarget: { targetGTID: 'u:1-9', targetTime: '2026-01-01T00:00:00Z' } } },
    'spec.bootstrap.recovery.recoveryTarget: recoveryTarget takes exactly one of targetGTID, targetTime or targetBinlog',
    'recoveryTarget takes exactly one of',
  ),
  badCluster(
    'instances: 0',
    'spec.instances',
    0,
    'spec.instances must be >= 1 (got 0); use at least 1 instance (one primary) and at most 9',
    'should be greater than or equal to 1',
  ),
  badCluster(
    'storage size that is not a quantity',
    'spec.storage.size',
    '10 gigs',
    'spec.storage.size is not valid (got "10 gigs"); use a Kubernetes quantity such as 10Gi',
    'should match',
  ),
  badCluster(
    'bucket name with uppercase letters',
    'spec.backup.objectStore.bucket',
    'MyBackups',
    "spec.backup.objectStore.bucket is not valid (got \"MyBackups\"); use 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit",
    'should match',
  ),
  badCluster(
    'endpoint without a scheme',
    'spec.backup.objectStore.endpoint',
    'minio.minio.svc:9000',
    'spec.backup.objectStore.endpoint is not valid (got "minio.minio.svc:9000"); include the scheme, e.g. https://s3.example.com or http://minio.minio.svc:9000',
    'should match',
  ),
  badCluster(
    'object store without credentials or IAM role',
    'spec.backup.objectStore.credentials',
    undefined,
    'spec.backup.objectStore: set exactly one of credentials or inheritFromIAMRole: true',
    'set exactly one of credentials or inheritFromIAMRole',
  ),
  badCluster(
    'object store with both an S3 bucket and azure',
    'spec.backup.objectStore.azure',
    AZURE_STORE,
    'spec.backup.objectStore: set exactly one store: bucket (S3, with its endpoint and credentials), azure or gcs',
    'set exactly one store',
  ),
  badCluster(
    'azure object store with an S3 endpoint and credentials',
    'spec.backup.objectStore',
    {
      endpoint: 'http://minio:9000',
      credentials: { accessKeyId: { name: 's', key: 'a' }, secretAccessKey: { name: 's', key: 'b' } },
      azure: AZURE_STORE,
    },
    'spec.backup.objectStore: endpoint, region, forcePathStyle, signatureVersion, endpointCA, insecure, serverSideEncryption, storageClass, credentials and inheritFromIAMRole are S3 fields; with azure or gcs, set the endpoint and credentials inside azure or gcs',
    'are S3 fields',
  ),
  badCluster(
    'azure credentials with both a connection string and an account key',
    'spec.backup.objectStore',
    { azure: { ...AZURE_STORE, credentials: { ...AZURE_STORE.credentials, connectionString: { name: 'azure', key: 'cs' } } } },
    'spec.backup.objectStore.azure.credentials: set exactly one of connectionString or accountKey',
    'set exactly one of connectionString or accountKey',
  ),
  badCluster(
    'azure account key without the storage account',
    'spec.backup.objectStore',
    { azure: { container: 'backups', credentials: AZURE_STORE.credentials } },
    'spec.backup.objectStore.azure: credentials.accountKey needs storageAccount (the account the key belongs to)',
    'credentials.accountKey needs storageAccount',
  ),
  badCluster(
    'gcs bucket with uppercase letters',
    'spec.backup.objectStore',
    { gcs: { bucket: 'MyBackups' } },
    "spec.backup.objectStore.gcs.bucket is not valid (got \"MyBackups\"); use 3-63 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit",
    'should match',
  ),
  badCluster(
    'retention policy in hours',
    'spec.backup.retentionPolicy',
    '48h',
    'spec.backup.retentionPolicy is not valid (got "48h"); use a number followed by d, w or m, e.g. 30d',
    'should match',
  ),
  badCluster(
    'malformed age recipient',
    'spec.backup.objectStore.encryption',
    { age: { recipients: ['age1notarealkey'] } },
    'spec.backup.objectStore.encryption.age.recipients[0] is not valid (got "age1notarealkey"); use an X25519 recipient as printed by `age-keygen -y` (age1 followed by 58 bech32 characters)',
    'should match',
  ),
  badCluster(
    'gzip level 12',
    'spec.backup.objectStore.compression',
    { algorithm: 'gzip', level: 12 },
    'spec.backup.objectStore.compression: level must be between 1 and 9 when algorithm is gzip',
    'level must be between 1 and 9 when algorithm is gzip',
  ),
  badCluster(
    'unknown compression algorithm',
    'spec.backup.objectStore.compression',
    { algorithm: 'lz4' },
    'spec.backup.objectStore.compression.algorithm must be one of none, gzip, zstd (got "lz4")',
    'Unsupported value: "lz4"',
  ),
  badCluster(
    'duplicate externalClusters names',
    'spec.externalClusters',
    [{ name: 'a' }, { name: 'a' }],
    'spec: externalClusters names must be unique',
    'Duplicate value',
  ),
  badScheduledBackup(
    '5-field cron on a ScheduledBackup',
    'spec.schedule',
    '0 0 * * *',
    'spec.schedule: must be a 6-field cron expression with seconds first (second minute hour day-of-month month day-of-week), e.g. "0 0 0 * * *", or a macro such as @daily',
    'must be a 6-field cron expression',
  ),
  badScheduledBackup(
    'unknown backupOwnerReference',
    'spec.backupOwnerReference',
    'owner',
    'spec.backupOwnerReference must be one of none, self, cluster (got "owner")',
    'Unsupported value: "owner"',
  ),
  badSchedule(
    'invalid cron expression',
    'spec.schedule',
    '0 25 * * *',
    'spec.schedule: must be a 5-field cron expression (minute hour day-of-month month day-of-week), e.g. "0 0 * * *", or a macro such as @daily',
    'must be a 5-field cron expression',
  ),
  badSchedule(
    'concurrencyPolicy: Sometimes',
    'spec.concurrencyPolicy',
    'Sometimes',
    'spec.concurrencyPolicy must be one of Allow, Forbid, Replace (got "Sometimes")',
    'Unsupported value: "Sometimes"',
  ),
  badSchedule(
    'negative successful history limit',
    'spec.successfulRunsHistoryLimit',
    -1,
    'spec.successfulRunsHistoryLimit must be >= 0 (got -1); use a number from 0 to 1000',
    'should be greater than or equal to 0',
  ),
  badSchedule(
    'negative failed history limit',
    'spec.failedRunsHistoryLimit',
    -3,
    'spec.failedRunsHistoryLimit must be >= 0 (got -3); use a number from 0 to 1000',
    'should be greater than or equal to 0',
  ),
  badSchedule(
    'time zone that is not IANA',
    'spec.timeZone',
    'GMT+2',
    'spec.timeZone is not valid (got "GMT+2"); use an IANA time zone name such as Europe/Paris or UTC',
    'should match',
  ),
  badRun(
    'path template with an unknown variable',
    'spec.storage.path',
    '/db/{{ .Cluster }}.sql',
    'spec.storage.path references unknown variable ".Cluster"; known variables are .Name, .Namespace, .ScheduleName, .StorageName (got "/db/{{ .Cluster }}.sql")',
  ),
  badRun(
    'path template with an unknown function',
    'spec.storage.path',
    '/db/{{ now | strftime "%Y" }}.sql',
    'spec.storage.path references unknown function "strftime"; known functions are now, date, lower, upper (got "/db/{{ now | strftime \\"%Y\\" }}.sql")',
  ),
  badRun(
    'unclosed path template',
    'spec.storage.path',
    '/db/{{ now .sql',
    'spec.storage.path has "{{" without a matching "}}" (got "/db/{{ now .sql")',
  ),
  badRun(
    'backup container not in the pod template',
    'spec.backup.container',
    'mysql',
    'spec: backup.container must name a container of template.spec.containers',
    'backup.container must name a container of template.spec.containers',
  ),
  badRun(
    'unknown retainPolicy',
    'spec.retainPolicy',
    'Keep',
    'spec.retainPolicy must be one of Retain, Delete (got "Keep")',
    'Unsupported value: "Keep"',
  ),
  badRun(
    'empty backup command',
    'spec.backup.command',
    [],
    'spec.backup.command must have at least 1 item',
    'should have at least 1 items',
  ),
  badRun(
    'encrypted restore without an identity',
    'spec',
    { ...RUN_SPEC, restore: { container: 'db', command: ['mariadb'] }, encryption: { age: { recipients: [RECIPIENT] } } },
    'spec: an encrypted run with a restore command needs encryption.age.identitySecretRef to decrypt',
    'needs encryption.age.identitySecretRef',
  ),
  badStorage('unknown storage type', 'spec.type', 'ftp', 'spec.type must be one of s3, gcs, azure (got "ftp")', 'Unsupported value: "ftp"'),
  badStorage(
    's3 storage without a bucket',
    'spec.parameters.bucket',
    undefined,
    'spec: parameters.bucket is required for s3 and gcs storages',
    'parameters.bucket is required for s3 and gcs storages',
  ),
  badStorage(
    'insecure as a boolean',
    'spec.parameters.insecure',
    true,
    'spec.parameters.insecure must be a string (got true)',
    'must be of type string',
  ),
  badStorage(
    'credentials without a namespace',
    'spec.credentials.namespace',
    undefined,
    'spec.credentials.namespace is required',
    'Required value',
  ),
  badStorage(
    'azure storage without a container',
    'spec',
    { type: 'azure', parameters: { storageAccount: 'acct' }, credentials: { name: 'c', namespace: 'n' } },
    'spec: azure storages need parameters.container and either parameters.storageAccount or parameters.endpoint',
    'azure storages need parameters.container',
  ),
];
