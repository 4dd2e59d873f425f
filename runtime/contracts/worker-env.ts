/**
 * The worker's environment: every `SILO_*` variable (and the AWS_ and `<NAME>_FILE` secret
 * conventions) a worker or the instance manager reads, written once. The controller's Job and Pod
 * builders encode a typed spec into container env (`encodeStoreEnv`, `encodeWorkerEnv`); each
 * process decodes its whole environment once, at its start (`decodeBackupEnv`, `decodeRestoreEnv`,
 * `decodeDeleteEnv`, `decodePruneEnv`, `decodeInstanceManagerEnv`). Every problem is a ConfigError
 * that names the variable and the fix. test/unit/contracts/worker-env.test.ts proves the round trip.
 *
 * The names live in worker-env-vars.ts and the encoders in worker-env-encode.ts; this file decodes
 * and re-exports both, so both sides import the contract from here.
 *
 * Credentials never appear as values in a Pod spec: the builders pass them as secretKeyRef (or a
 * mounted file named by `<NAME>_FILE`); literal values are for tests and the CLI only.
 */
import { readFileSync } from 'node:fs';
import type { BackupMetadata } from '../../src/api/metadata/types.js';
import type { ObjectStoreConfig } from '../objectstore/store-factory.js';
import { COMPRESSION_ALGORITHMS, MAX_LEVELS, type CompressionAlgorithm } from './compression.js';
import { ConfigError } from './config-error.js';
import { DEFAULT_ENGINE, ENGINE_NAMES, engineNamed } from './engines.js';
import { INSTANCE_MANAGER_PORT } from './instance-manager-protocol.js';
import { FILE_SUFFIX, VAR, type Env } from './worker-env-vars.js';

export * from './worker-env-vars.js';
export * from './worker-env-encode.js';

// ---------------------------------------------------------------------------------------------
// Decoding building blocks: what a worker reads

export function required(env: Env, name: string, hint: string): string {
  const v = env[name];
  if (v === undefined || v === '') throw new ConfigError(`${name} is not set; ${hint}`);
  return v;
}

/** A secret from NAME, or from the file named by NAME_FILE (a mounted Secret key). */
export function secret(env: Env, name: string): string | undefined {
  if (env[name]) return env[name];
  const file = env[`${name}${FILE_SUFFIX}`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(
      `${name}${FILE_SUFFIX} points at ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code}); mount the Secret key there`,
    );
  }
}

function bool(env: Env, name: string): boolean {
  const v = env[name];
  if (v === undefined || v === '') return false;
  if (v === 'true' || v === 'false') return v === 'true';
  throw new ConfigError(`${name} must be "true" or "false" (got ${JSON.stringify(v)})`);
}

function file(env: Env, name: string): string | undefined {
  const path = env[name];
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${name} points at ${path}, which cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
}

function positiveInteger(env: Env, name: string): number | undefined {
  if (!env[name]) return undefined;
  const v = Number(env[name]);
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be a positive integer (got ${JSON.stringify(env[name])})`);
  return v;
}

export function storeConfigFromEnv(env: Env): ObjectStoreConfig {
  const type = required(env, VAR.storeType, 'set it to s3, gcs, azure or filesystem');
  switch (type) {
    case 's3':
      return {
        type,
        bucket: required(env, VAR.s3Bucket, 'set it to the bucket name'),
        endpoint: env[VAR.s3Endpoint] || undefined,
        region: env[VAR.s3Region] || undefined,
        forcePathStyle: bool(env, VAR.s3ForcePathStyle),
        insecure: bool(env, VAR.s3Insecure),
        ca: file(env, VAR.s3CaFile),
        accessKeyId: secret(env, VAR.awsAccessKeyId),
        secretAccessKey: secret(env, VAR.awsSecretAccessKey),
        sessionToken: secret(env, VAR.awsSessionToken),
        storageClass: env[VAR.s3StorageClass] || undefined,
        uploadConcurrency: positiveInteger(env, VAR.s3UploadConcurrency),
      };
    case 'gcs':
      return {
        type,
        bucket: required(env, VAR.gcsBucket, 'set it to the bucket name'),
        apiEndpoint: env[VAR.gcsEndpoint] || undefined,
        projectId: env[VAR.gcsProject] || undefined,
        credentials: secret(env, VAR.gcsCredentials),
      };
    case 'azure':
      return {
        type,
        container: required(env, VAR.azureContainer, 'set it to the blob container name'),
        endpoint: env[VAR.azureEndpoint] || undefined,
        accountName: env[VAR.azureAccount] || undefined,
        accountKey: secret(env, VAR.azureAccountKey),
        connectionString: secret(env, VAR.azureConnectionString),
      };
    case 'filesystem':
      return { type, root: required(env, VAR.fsRoot, 'set it to the mounted volume path') };
    default:
      throw new ConfigError(`SILO_STORE_TYPE must be one of s3, gcs, azure, filesystem (got ${JSON.stringify(type)})`);
  }
}

/**
 * Where a physical backup is compressed: `instance` (the instance manager, before TLS; decision 0014)
 * or `worker` (keeps the database pod's CPU free at the cost of sending the stream uncompressed).
 */
export function compressOnFromEnv(env: Env): 'instance' | 'worker' {
  const where = env[VAR.compressOn] || 'instance';
  if (where !== 'instance' && where !== 'worker')
    throw new ConfigError(`SILO_COMPRESS_ON must be instance or worker (got ${JSON.stringify(where.slice(0, 40))})`);
  return where;
}

export function compressionFromEnv(env: Env): { algorithm: CompressionAlgorithm; level?: number } {
  const algorithm = (env[VAR.compression] || 'zstd') as CompressionAlgorithm;
  if (!COMPRESSION_ALGORITHMS.includes(algorithm))
    throw new ConfigError(`SILO_COMPRESSION must be none, gzip or zstd (got ${JSON.stringify(algorithm)})`);
  if (!env[VAR.compressionLevel]) return { algorithm };
  const level = Number(env[VAR.compressionLevel]);
  const max = algorithm === 'gzip' ? MAX_LEVELS.gzip : MAX_LEVELS.zstd;
  if (!Number.isInteger(level) || level < 1 || level > max)
    throw new ConfigError(
      `SILO_COMPRESSION_LEVEL must be an integer from 1 to ${max} for ${algorithm} (got ${JSON.stringify(env[VAR.compressionLevel])})`,
    );
  return { algorithm, level };
}

export function recipientsFromEnv(env: Env): string[] {
  return (env[VAR.ageRecipients] ?? '').split(/[\s,]+/).filter(Boolean);
}

export function deadlineFromEnv(env: Env): number | undefined {
  if (!env[VAR.deadlineSeconds]) return undefined;
  const seconds = Number(env[VAR.deadlineSeconds]);
  if (!Number.isInteger(seconds) || seconds < 1)
    throw new ConfigError(`SILO_DEADLINE_SECONDS must be a positive integer (got ${JSON.stringify(env[VAR.deadlineSeconds])})`);
  return seconds;
}

const BYTE_UNITS: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/**
 * SILO_EXPECTED_BYTES: about how large the source is (bytes, or a Kubernetes quantity such as 200Gi).
 * Multipart parts are sized from it (decision 0008), so a command-mode dump above 31 GiB keeps flat
 * memory; an overestimate costs nothing but larger parts, an underestimate is still completed.
 */
export function expectedBytesFromEnv(env: Env): number | undefined {
  const v = env[VAR.expectedBytes]?.trim();
  if (!v) return undefined;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(v);
  const bytes = match ? Math.ceil(Number(match[1]) * BYTE_UNITS[match[2] ?? '']) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new ConfigError(
      `SILO_EXPECTED_BYTES must be a positive size in bytes or a quantity such as 500Gi (got ${JSON.stringify(v.slice(0, 40))})`,
    );
  }
  return bytes;
}

export type BackupType = BackupMetadata['type'];
const BACKUP_TYPES: readonly BackupType[] = ['full', 'differential', 'incremental'];

function backupTypeFromEnv(env: Env): BackupType {
  const type = env[VAR.backupType] || 'full';
  if (!BACKUP_TYPES.includes(type as BackupType))
    throw new ConfigError(`SILO_BACKUP_TYPE must be full, differential or incremental (got ${JSON.stringify(type.slice(0, 40))})`);
  return type as BackupType;
}

function engineFromEnv(env: Env, name: string): string {
  const engine = env[name] || DEFAULT_ENGINE;
  if (!engineNamed(engine))
    throw new ConfigError(
      `${name} must be one of ${ENGINE_NAMES.join(', ')} (got ${JSON.stringify(engine.slice(0, 40))}); leave it unset for ${DEFAULT_ENGINE}`,
    );
  return engine;
}

const readPem = (env: Env, name: string): string =>
  readFileSync(required(env, name, "mount the Cluster's PKI Secret and point it at the file"), 'utf8');

// ---------------------------------------------------------------------------------------------
// Decoding: one call per process, at its start

export type BackupMode = 'command' | 'fifo' | 'physical';

export interface BackupEnv {
  readonly store: ObjectStoreConfig;
  readonly dataKey: string;
  readonly metadataKey: string;
  readonly compression: { algorithm: CompressionAlgorithm; level?: number };
  readonly recipients: string[];
  readonly deadlineSeconds?: number;
  readonly expectedBytes?: number;
  readonly backupId: string;
  readonly backupType: BackupType;
  readonly parentBackupId?: string;
  readonly cluster?: string;
  readonly namespace?: string;
  readonly backupName?: string;
  readonly sourceInstance?: string;
  /** Physical mode only. */
  readonly physical?: {
    readonly engine: string;
    readonly incrementalLsn?: string;
    readonly compressOn: 'instance' | 'worker';
    readonly tls: { ca: string; cert: string; key: string; servername?: string };
  };
}

/** `silo backup <mode>`: every setting, checked before the source starts. */
export function decodeBackupEnv(env: Env, mode: BackupMode): BackupEnv {
  const store = storeConfigFromEnv(env);
  const dataKey = required(env, VAR.dataKey, 'set it to the object key of the backup data');
  const metadataKey = env[VAR.metadataKey] || `${dataKey}.metadata.json`;
  const compression = compressionFromEnv(env);
  const recipients = recipientsFromEnv(env);
  const deadlineSeconds = deadlineFromEnv(env);
  const expectedBytes = expectedBytesFromEnv(env);
  const backupId = required(env, VAR.backupId, 'set it to the time-ordered backup ID');
  const backupType = backupTypeFromEnv(env);
  const physical =
    mode === 'physical'
      ? {
          engine: engineFromEnv(env, VAR.engine),
          incrementalLsn: env[VAR.incrementalLsn] || undefined,
          compressOn: compressOnFromEnv(env),
          tls: {
            ca: readPem(env, VAR.tlsCaFile),
            cert: readPem(env, VAR.tlsCertFile),
            key: readPem(env, VAR.tlsKeyFile),
            servername: env[VAR.tlsServerName] || undefined,
          },
        }
      : undefined;
  return {
    store,
    dataKey,
    metadataKey,
    compression,
    recipients,
    deadlineSeconds,
    expectedBytes,
    backupId,
    backupType,
    parentBackupId: env[VAR.parentBackupId] || undefined,
    cluster: env[VAR.cluster] || undefined,
    namespace: env[VAR.namespace],
    backupName: env[VAR.backupName] || undefined,
    sourceInstance: env[VAR.sourceInstance] || undefined,
    physical,
  };
}

export type RestoreMode = 'command' | 'physical';

export interface RestoreEnv {
  readonly store: ObjectStoreConfig;
  readonly identity?: string;
  readonly deadlineSeconds?: number;
  /** Command mode: the backup's metadata.json. */
  readonly metadataKey?: string;
  /** Physical mode: the chain's metadata.json keys, oldest first. */
  readonly metadataKeys?: string[];
  /** Physical mode: the engine when metadata.json's method names none (SILO_ENGINE, default mysql). */
  readonly engine?: string;
  /** Physical mode: the sha256 each link's metadata.json must record (SILO_CHAIN_SHA256S), when given. */
  readonly expectedSha256s?: string[];
  /**
   * Physical mode: the backup the chain ends with (SILO_BACKUP_ID), when given. A volume whose state
   * file already records it is done without opening the store.
   */
  readonly backupId?: string;
}

/** SILO_CHAIN_SHA256S: one lowercase hex SHA256 per metadata.json key, in the same order. */
function chainSha256sFromEnv(env: Env, keys: string[]): string[] | undefined {
  const raw = env[VAR.chainSha256s];
  if (!raw) return undefined;
  const sums = raw.split(',').map((s) => s.trim());
  if (sums.length !== keys.length)
    throw new ConfigError(
      `SILO_CHAIN_SHA256S names ${sums.length} checksums for ${keys.length} metadata.json keys in SILO_METADATA_KEYS; give one per link, in the same order`,
    );
  const bad = sums.findIndex((s) => !/^[a-f0-9]{64}$/.test(s));
  if (bad !== -1)
    throw new ConfigError(`SILO_CHAIN_SHA256S[${bad}] is not a lowercase hex SHA256 (got ${JSON.stringify(sums[bad].slice(0, 16))}…)`);
  return sums;
}

/** `silo restore <mode>`. */
export function decodeRestoreEnv(env: Env, mode: RestoreMode): RestoreEnv {
  const store = storeConfigFromEnv(env);
  const identity = secret(env, VAR.ageIdentity);
  const deadlineSeconds = deadlineFromEnv(env);
  if (mode === 'command')
    return {
      store,
      identity,
      deadlineSeconds,
      metadataKey: required(env, VAR.metadataKey, "set it to the key of the backup's metadata.json"),
    };
  const metadataKeys = required(env, VAR.metadataKeys, 'set it to the metadata.json keys of the chain, oldest first, comma-separated')
    .split(',')
    .filter(Boolean);
  return {
    store,
    identity,
    deadlineSeconds,
    engine: engineFromEnv(env, VAR.engine),
    metadataKeys,
    expectedSha256s: chainSha256sFromEnv(env, metadataKeys),
    backupId: env[VAR.backupId] || undefined,
  };
}

export interface DeleteEnv {
  readonly store: ObjectStoreConfig;
  /** The data object and its metadata.json. */
  readonly keys: [string, string];
}

/** `silo delete object`. */
export function decodeDeleteEnv(env: Env): DeleteEnv {
  const store = storeConfigFromEnv(env);
  const key = required(env, VAR.dataKey, 'set it to the object key of the backup data');
  return { store, keys: [key, env[VAR.metadataKey] || `${key}.metadata.json`] };
}

/** At least `<cluster>/<backup-name>/<backup-id>/`: a prune never deletes a whole cluster or path by mistake. */
const PREFIX = /^([^/]+\/)*[^/]+\/[^/]+\/[^/]+\/$/;

export function parsePrefixes(raw: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(
      'SILO_PRUNE_PREFIXES is not JSON; set it to a JSON array of backup prefixes such as ["path/cluster/backup/20260101T000000Z/"]',
    );
  }
  if (!Array.isArray(parsed) || !parsed.length)
    throw new ConfigError('SILO_PRUNE_PREFIXES must be a non-empty JSON array of backup prefixes');
  for (const [index, prefix] of parsed.entries()) {
    if (typeof prefix !== 'string' || !PREFIX.test(prefix) || prefix.split('/').some((s) => s === '.' || s === '..')) {
      throw new ConfigError(
        `SILO_PRUNE_PREFIXES[${index}] ${JSON.stringify(prefix)} is not a backup prefix; each must be <cluster>/<backup-name>/<backup-id>/ under the store path, ending with "/"`,
      );
    }
  }
  return parsed as string[];
}

export interface PruneEnv {
  readonly prefixes: string[];
  /** Undefined only when the caller brings its own store (tests). */
  readonly store?: ObjectStoreConfig;
}

/** `silo prune`: the prefixes first (they are the command's whole input), then the store unless one is given. */
export function decodePruneEnv(env: Env, options: { store?: boolean } = {}): PruneEnv {
  const prefixes = parsePrefixes(required(env, VAR.prunePrefixes, 'set it to a JSON array of backup prefixes'));
  return { prefixes, store: options.store === false ? undefined : storeConfigFromEnv(env) };
}

export interface InstanceManagerEnv {
  readonly engine: string;
  readonly port: number;
  readonly host: string;
  readonly zstd: 'auto' | 'in-process';
  /**
   * The PEMs as read at start, and the files they came from: mounted Secrets the operator renews in
   * place, which the instance manager re-reads to reload its certificate without a restart.
   */
  readonly tls: { key: string; cert: string; clientCa: string; files: { key: string; cert: string; clientCa: string } };
  readonly connection: { socket?: string; host?: string; port?: number; user: string; passwordFile?: string };
  /** mariabackup's own user, when the Pod names one (SILO_DB_BACKUP_USER). */
  readonly backupUser?: { user: string; passwordFile?: string };
  /** The replication user for `POST /cluster/replication` (SILO_DB_REPLICATION_USER). */
  readonly replicationUser?: { user: string; passwordFile?: string };
  readonly instanceName: string;
}

/** `{ [key]: value }`, or nothing when the value is undefined (decoded settings carry no undefined keys). */
const optional = <K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } =>
  v === undefined ? {} : ({ [key]: v } as { [P in K]?: V });

/** A user named by `userVar` with its password file from `fileVar`; a password file without a user is a mistake. */
function databaseUser(env: Env, userVar: string, fileVar: string): { user: string; passwordFile?: string } | undefined {
  const user = env[userVar];
  if (!user) {
    if (env[fileVar]) throw new ConfigError(`${fileVar} is set but ${userVar} is not; name the user the password belongs to`);
    return undefined;
  }
  return { user, ...(env[fileVar] ? { passwordFile: env[fileVar] } : {}) };
}

/** `silo instance-manager`: the sidecar's settings. */
export function decodeInstanceManagerEnv(env: Env): InstanceManagerEnv {
  const path = (name: string) => required(env, name, "mount the Cluster's PKI Secret and point it at the file");
  const files = { key: path(VAR.imTlsKeyFile), cert: path(VAR.imTlsCertFile), clientCa: path(VAR.imClientCaFile) };
  const read = (name: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch {
      throw new ConfigError(`${name} points at ${file}, which cannot be read`);
    }
  };
  const engine = engineFromEnv(env, VAR.imEngine);
  const port = Number(env[VAR.imPort] ?? String(INSTANCE_MANAGER_PORT));
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ConfigError(`SILO_IM_PORT must be a TCP port (got ${JSON.stringify(env[VAR.imPort])})`);
  const zstd = env[VAR.imZstd] ?? 'auto';
  if (zstd !== 'auto' && zstd !== 'in-process')
    throw new ConfigError(`SILO_IM_ZSTD must be auto or in-process (got ${JSON.stringify(zstd.slice(0, 40))})`);
  return {
    engine,
    port,
    zstd,
    tls: {
      key: read(VAR.imTlsKeyFile, files.key),
      cert: read(VAR.imTlsCertFile, files.cert),
      clientCa: read(VAR.imClientCaFile, files.clientCa),
      files,
    },
    connection: {
      socket: env[VAR.dbSocket],
      host: env[VAR.dbHost],
      port: env[VAR.dbPort] ? Number(env[VAR.dbPort]) : undefined,
      user: env[VAR.dbUser] ?? 'root',
      passwordFile: env[VAR.dbPasswordFile],
    },
    ...optional('backupUser', databaseUser(env, VAR.dbBackupUser, VAR.dbBackupPasswordFile)),
    ...optional('replicationUser', databaseUser(env, VAR.dbReplicationUser, VAR.dbReplicationPasswordFile)),
    instanceName: env[VAR.podName] ?? 'instance',
    host: env[VAR.imHost] ?? env[VAR.podIp] ?? '0.0.0.0',
  };
}
