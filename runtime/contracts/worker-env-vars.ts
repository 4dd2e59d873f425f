/**
 * The names of the worker's environment: every `SILO_*` variable (`VAR`) and the `<NAME>_FILE`
 * suffix. Part of the worker-env contract; import it through runtime/contracts/worker-env.ts.
 */
export type Env = Record<string, string | undefined>;

// ---------------------------------------------------------------------------------------------
// Variable names

export const VAR = {
  storeType: 'SILO_STORE_TYPE',
  s3Bucket: 'SILO_S3_BUCKET',
  s3Endpoint: 'SILO_S3_ENDPOINT',
  s3Region: 'SILO_S3_REGION',
  s3ForcePathStyle: 'SILO_S3_FORCE_PATH_STYLE',
  s3Insecure: 'SILO_S3_INSECURE',
  s3CaFile: 'SILO_S3_CA_FILE',
  s3StorageClass: 'SILO_S3_STORAGE_CLASS',
  s3UploadConcurrency: 'SILO_S3_UPLOAD_CONCURRENCY',
  awsAccessKeyId: 'AWS_ACCESS_KEY_ID',
  awsSecretAccessKey: 'AWS_SECRET_ACCESS_KEY',
  awsSessionToken: 'AWS_SESSION_TOKEN',
  gcsBucket: 'SILO_GCS_BUCKET',
  gcsEndpoint: 'SILO_GCS_ENDPOINT',
  gcsProject: 'SILO_GCS_PROJECT',
  gcsCredentials: 'SILO_GCS_CREDENTIALS',
  azureContainer: 'SILO_AZURE_CONTAINER',
  azureEndpoint: 'SILO_AZURE_ENDPOINT',
  azureAccount: 'SILO_AZURE_ACCOUNT',
  azureAccountKey: 'SILO_AZURE_ACCOUNT_KEY',
  azureConnectionString: 'SILO_AZURE_CONNECTION_STRING',
  fsRoot: 'SILO_FS_ROOT',
  compression: 'SILO_COMPRESSION',
  compressionLevel: 'SILO_COMPRESSION_LEVEL',
  compressOn: 'SILO_COMPRESS_ON',
  ageRecipients: 'SILO_AGE_RECIPIENTS',
  ageIdentity: 'SILO_AGE_IDENTITY',
  dataKey: 'SILO_DATA_KEY',
  metadataKey: 'SILO_METADATA_KEY',
  metadataKeys: 'SILO_METADATA_KEYS',
  /** Physical restore: the SHA256 of each link's stored bytes as the controller resolved them, in SILO_METADATA_KEYS order. */
  chainSha256s: 'SILO_CHAIN_SHA256S',
  backupId: 'SILO_BACKUP_ID',
  backupType: 'SILO_BACKUP_TYPE',
  parentBackupId: 'SILO_PARENT_BACKUP_ID',
  incrementalLsn: 'SILO_INCREMENTAL_LSN',
  cluster: 'SILO_CLUSTER',
  namespace: 'SILO_NAMESPACE',
  backupName: 'SILO_BACKUP_NAME',
  sourceInstance: 'SILO_SOURCE_INSTANCE',
  deadlineSeconds: 'SILO_DEADLINE_SECONDS',
  expectedBytes: 'SILO_EXPECTED_BYTES',
  engine: 'SILO_ENGINE',
  tlsCaFile: 'SILO_TLS_CA_FILE',
  tlsCertFile: 'SILO_TLS_CERT_FILE',
  tlsKeyFile: 'SILO_TLS_KEY_FILE',
  tlsServerName: 'SILO_TLS_SERVER_NAME',
  prunePrefixes: 'SILO_PRUNE_PREFIXES',
  terminationLog: 'SILO_TERMINATION_LOG',
  podName: 'POD_NAME',
  // The instance manager (`silo instance-manager`)
  imEngine: 'SILO_IM_ENGINE',
  imPort: 'SILO_IM_PORT',
  imHost: 'SILO_IM_HOST',
  imZstd: 'SILO_IM_ZSTD',
  imTlsKeyFile: 'SILO_IM_TLS_KEY_FILE',
  imTlsCertFile: 'SILO_IM_TLS_CERT_FILE',
  imClientCaFile: 'SILO_IM_CLIENT_CA_FILE',
  dbSocket: 'SILO_DB_SOCKET',
  dbHost: 'SILO_DB_HOST',
  dbPort: 'SILO_DB_PORT',
  dbUser: 'SILO_DB_USER',
  dbPasswordFile: 'SILO_DB_PASSWORD_FILE',
  /** mariabackup's own database user and its password file; without them the backup connects as SILO_DB_USER. */
  dbBackupUser: 'SILO_DB_BACKUP_USER',
  dbBackupPasswordFile: 'SILO_DB_BACKUP_PASSWORD_FILE',
  /** The user a replica connects to its primary as, for `POST /cluster/replication`. */
  dbReplicationUser: 'SILO_DB_REPLICATION_USER',
  dbReplicationPasswordFile: 'SILO_DB_REPLICATION_PASSWORD_FILE',
  podIp: 'POD_IP',
} as const;

/** The suffix that names a file holding a secret value instead of the value itself (a mounted Secret key). */
export const FILE_SUFFIX = '_FILE';
