/**
 * Encoding the worker's environment: what the controller's Job and Pod builders write, and
 * `toProcessEnv`, what a container sees of it. Part of the worker-env contract; import it through
 * runtime/contracts/worker-env.ts.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import { DEFAULT_ENGINE } from './engines.js';
import { FILE_SUFFIX, VAR } from './worker-env-vars.js';
import type { BackupType } from './worker-env.js';

// ---------------------------------------------------------------------------------------------
// Encoding: what the controller writes

/** How a credential reaches the worker: from a Secret key (secretKeyRef), a mounted file (`<NAME>_FILE`), or a literal (tests, CLI). */
export type SecretSource =
  { readonly secretKeyRef: { readonly name: string; readonly key: string } } | { readonly file: string } | { readonly value: string };

/**
 * A store as the controller describes it. Booleans may be given as the strings a BackupStorage's
 * parameters hold; they go on the wire as they are and the worker checks them.
 */
export type StoreSpec =
  | {
      readonly type: 's3';
      readonly bucket: string;
      readonly endpoint?: string;
      readonly region?: string;
      readonly forcePathStyle?: boolean | string;
      readonly insecure?: boolean | string;
      readonly storageClass?: string;
      /** Path of a mounted CA bundle for the endpoint. */
      readonly caFile?: string;
      readonly uploadConcurrency?: number;
      readonly accessKeyId?: SecretSource;
      readonly secretAccessKey?: SecretSource;
      readonly sessionToken?: SecretSource;
    }
  | {
      readonly type: 'gcs';
      readonly bucket: string;
      readonly endpoint?: string;
      readonly project?: string;
      readonly credentials?: SecretSource;
    }
  | {
      readonly type: 'azure';
      readonly container: string;
      readonly endpoint?: string;
      readonly account?: string;
      readonly accountKey?: SecretSource;
      readonly connectionString?: SecretSource;
    }
  | { readonly type: 'filesystem'; readonly root: string };

/** Everything else a worker may be told; each builder sets what its mode reads. */
export interface WorkerEnvSpec {
  readonly dataKey?: string;
  readonly metadataKey?: string;
  /** Physical restore: the chain's metadata.json keys, oldest first. */
  readonly metadataKeys?: readonly string[];
  /**
   * Physical restore: the sha256 of each link's stored bytes (the Backups' status), in metadataKeys
   * order. The worker refuses a metadata.json that records another one (swapped after the backup).
   */
  readonly chainSha256s?: readonly string[];
  readonly deadlineSeconds?: number;
  readonly namespace?: string;
  readonly backupId?: string;
  readonly backupType?: BackupType;
  readonly parentBackupId?: string;
  readonly incrementalLsn?: string;
  readonly cluster?: string;
  readonly backupName?: string;
  readonly sourceInstance?: string;
  /** A size hint in bytes or a Kubernetes quantity. */
  readonly expectedBytes?: number | string;
  readonly compression?: { readonly algorithm?: string; readonly level?: number };
  readonly compressOn?: 'instance' | 'worker';
  readonly ageRecipients?: readonly string[];
  readonly ageIdentity?: SecretSource;
  /** Mounted PEM files of the instance manager's server CA and the worker's client certificate. */
  readonly tls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string; readonly serverName?: string };
  readonly prunePrefixes?: readonly string[];
  /** The database engine of a physical backup; written only when it is not the default (mysql). */
  readonly engine?: string;
  /** Adds POD_NAME from the Pod's metadata.name (the worker's logs name their Pod). */
  readonly podName?: boolean;
}

const value = (name: string, v: string | number | boolean | undefined): V1EnvVar[] =>
  v === undefined || v === '' ? [] : [{ name, value: String(v) }];

/** A credential: `NAME` from a Secret key or literal, or `NAME_FILE` naming a mounted file. */
export function encodeSecret(name: string, source: SecretSource | undefined): V1EnvVar[] {
  if (!source) return [];
  if ('secretKeyRef' in source)
    return [{ name, valueFrom: { secretKeyRef: { name: source.secretKeyRef.name, key: source.secretKeyRef.key } } }];
  if ('file' in source) return [{ name: name + FILE_SUFFIX, value: source.file }];
  return value(name, source.value);
}

/** The store's settings and credentials as worker env. */
export function encodeStoreEnv(store: StoreSpec): V1EnvVar[] {
  switch (store.type) {
    case 's3':
      return [
        ...value(VAR.storeType, 's3'),
        ...value(VAR.s3Bucket, store.bucket),
        ...value(VAR.s3Endpoint, store.endpoint),
        ...value(VAR.s3Region, store.region),
        ...value(VAR.s3ForcePathStyle, store.forcePathStyle),
        ...value(VAR.s3Insecure, store.insecure),
        ...value(VAR.s3StorageClass, store.storageClass),
        ...value(VAR.s3UploadConcurrency, store.uploadConcurrency),
        ...encodeSecret(VAR.awsAccessKeyId, store.accessKeyId),
        ...encodeSecret(VAR.awsSecretAccessKey, store.secretAccessKey),
        ...encodeSecret(VAR.awsSessionToken, store.sessionToken),
        ...value(VAR.s3CaFile, store.caFile),
      ];
    case 'gcs':
      return [
        ...value(VAR.storeType, 'gcs'),
        ...value(VAR.gcsBucket, store.bucket),
        ...value(VAR.gcsEndpoint, store.endpoint),
        ...value(VAR.gcsProject, store.project),
        ...encodeSecret(VAR.gcsCredentials, store.credentials),
      ];
    case 'azure':
      return [
        ...value(VAR.storeType, 'azure'),
        ...value(VAR.azureContainer, store.container),
        ...value(VAR.azureEndpoint, store.endpoint),
        ...value(VAR.azureAccount, store.account),
        ...encodeSecret(VAR.azureAccountKey, store.accountKey),
        ...encodeSecret(VAR.azureConnectionString, store.connectionString),
      ];
    case 'filesystem':
      return [...value(VAR.storeType, 'filesystem'), ...value(VAR.fsRoot, store.root)];
  }
}

/** The codec settings (compression and age recipients) as worker env. */
export function encodeCodecEnv(spec: Pick<WorkerEnvSpec, 'compression' | 'ageRecipients'>): V1EnvVar[] {
  return [
    ...value(VAR.compression, spec.compression?.algorithm),
    ...value(VAR.compressionLevel, spec.compression?.level),
    ...value(VAR.ageRecipients, spec.ageRecipients?.join(',')),
  ];
}

/** Everything but the store and the codec, as worker env. */
export function encodeWorkerEnv(spec: WorkerEnvSpec): V1EnvVar[] {
  return [
    ...value(VAR.backupId, spec.backupId),
    ...value(VAR.backupType, spec.backupType),
    ...value(VAR.parentBackupId, spec.parentBackupId),
    ...value(VAR.incrementalLsn, spec.incrementalLsn),
    ...value(VAR.dataKey, spec.dataKey),
    ...value(VAR.metadataKey, spec.metadataKey),
    ...value(VAR.metadataKeys, spec.metadataKeys?.join(',')),
    ...value(VAR.chainSha256s, spec.chainSha256s?.join(',')),
    ...value(VAR.cluster, spec.cluster),
    ...value(VAR.namespace, spec.namespace),
    ...value(VAR.backupName, spec.backupName),
    ...value(VAR.sourceInstance, spec.sourceInstance),
    ...value(VAR.deadlineSeconds, spec.deadlineSeconds),
    ...value(VAR.expectedBytes, spec.expectedBytes),
    ...encodeCodecEnv(spec),
    ...value(VAR.compressOn, spec.compressOn),
    ...encodeSecret(VAR.ageIdentity, spec.ageIdentity),
    ...(spec.tls
      ? [
          ...value(VAR.tlsCaFile, spec.tls.caFile),
          ...value(VAR.tlsCertFile, spec.tls.certFile),
          ...value(VAR.tlsKeyFile, spec.tls.keyFile),
          ...value(VAR.tlsServerName, spec.tls.serverName),
        ]
      : []),
    ...value(VAR.prunePrefixes, spec.prunePrefixes ? JSON.stringify(spec.prunePrefixes) : undefined),
    // Today's Jobs carry no engine: absent means mysql, so existing Jobs and images keep working.
    ...value(VAR.engine, spec.engine && spec.engine !== DEFAULT_ENGINE ? spec.engine : undefined),
    ...(spec.podName ? [{ name: VAR.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] : []),
  ];
}

/** A database user and the mounted file holding its password (never the password itself). */
export interface DatabaseUserSpec {
  readonly user: string;
  readonly passwordFile?: string;
}

/** The instance manager's settings as the Pod that runs it writes them. */
export interface InstanceManagerEnvSpec {
  /** Written only when it is not the default (mysql). */
  readonly engine?: string;
  readonly port?: number;
  readonly zstd?: 'auto' | 'in-process';
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly clientCaFile: string };
  readonly connection: {
    readonly socket?: string;
    readonly host?: string;
    readonly port?: number;
    readonly user?: string;
    readonly passwordFile?: string;
  };
  /** mariabackup's own user (RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR, …); without it the backup connects as `connection.user`. */
  readonly backupUser?: DatabaseUserSpec;
  /** The user a replica connects to its primary as, when `POST /cluster/replication` points it at a new one. */
  readonly replicationUser?: DatabaseUserSpec;
  /** POD_NAME from metadata.name (the name /status reports). */
  readonly podName?: boolean;
  /** Listen on the pod IP (SILO_IM_HOST from status.podIP), or on this address. */
  readonly host?: string | { readonly fromPodIp: true };
}

export function encodeInstanceManagerEnv(spec: InstanceManagerEnvSpec): V1EnvVar[] {
  const c = spec.connection;
  return [
    ...value(VAR.imEngine, spec.engine && spec.engine !== DEFAULT_ENGINE ? spec.engine : undefined),
    ...value(VAR.imPort, spec.port),
    ...value(VAR.imZstd, spec.zstd),
    ...value(VAR.imTlsCertFile, spec.tls.certFile),
    ...value(VAR.imTlsKeyFile, spec.tls.keyFile),
    ...value(VAR.imClientCaFile, spec.tls.clientCaFile),
    ...value(VAR.dbSocket, c.socket),
    ...value(VAR.dbHost, c.host),
    ...value(VAR.dbPort, c.port),
    ...value(VAR.dbUser, c.user),
    ...value(VAR.dbPasswordFile, c.passwordFile),
    ...value(VAR.dbBackupUser, spec.backupUser?.user),
    ...value(VAR.dbBackupPasswordFile, spec.backupUser?.passwordFile),
    ...value(VAR.dbReplicationUser, spec.replicationUser?.user),
    ...value(VAR.dbReplicationPasswordFile, spec.replicationUser?.passwordFile),
    ...(spec.podName ? [{ name: VAR.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] : []),
    ...(typeof spec.host === 'object'
      ? [{ name: VAR.imHost, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]
      : value(VAR.imHost, spec.host)),
  ];
}

/**
 * The process env a container gets from `vars`: literal values as they are, `secretKeyRef` through
 * `resolve` (Kubernetes reads the Secret; tests and the CLI pass a lookup), `fieldRef` through
 * `field` (the kubelet fills it). Without a resolver a reference is an error, so a test never
 * silently drops a credential.
 */
export function toProcessEnv(
  vars: readonly V1EnvVar[],
  resolve: { secret?: (ref: { name: string; key: string }) => string; field?: (fieldPath: string) => string } = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const v of vars) {
    const ref = v.valueFrom?.secretKeyRef;
    const field = v.valueFrom?.fieldRef;
    if (ref) {
      if (!resolve.secret) throw new Error(`${v.name} comes from Secret ${ref.name} key ${ref.key}; pass a secret resolver`);
      env[v.name] = resolve.secret({ name: ref.name ?? '', key: ref.key });
    } else if (field) {
      if (resolve.field) env[v.name] = resolve.field(field.fieldPath);
    } else {
      env[v.name] = v.value ?? '';
    }
  }
  return env;
}
