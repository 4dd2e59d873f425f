import { readFileSync } from 'node:fs';
import { MAX_LEVELS, type CompressionAlgorithm } from '../datapath/stages/compression.js';
import type { ObjectStoreConfig } from '../objectstore/store-factory.js';
import { ConfigError } from './exit-codes.js';

/**
 * Worker configuration comes from env (and secrets from mounted files or
 * secretKeyRef env). Every problem names the variable and the fix.
 */
export type Env = Record<string, string | undefined>;

export function required(env: Env, name: string, hint: string): string {
  const value = env[name];
  if (value === undefined || value === '') throw new ConfigError(`${name} is not set; ${hint}`);
  return value;
}

/** A secret from NAME, or from the file named by NAME_FILE (a mounted Secret key). */
export function secret(env: Env, name: string): string | undefined {
  if (env[name]) return env[name];
  const file = env[`${name}_FILE`];
  if (!file) return undefined;
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`${name}_FILE points at ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code}); mount the Secret key there`);
  }
}

function bool(env: Env, name: string): boolean {
  const value = env[name];
  if (value === undefined || value === '') return false;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new ConfigError(`${name} must be "true" or "false" (got ${JSON.stringify(value)})`);
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
  const value = Number(env[name]);
  if (!Number.isInteger(value) || value < 1) throw new ConfigError(`${name} must be a positive integer (got ${JSON.stringify(env[name])})`);
  return value;
}

export function storeConfigFromEnv(env: Env): ObjectStoreConfig {
  const type = required(env, 'SILO_STORE_TYPE', 'set it to s3, gcs, azure or filesystem');
  switch (type) {
    case 's3':
      return {
        type, bucket: required(env, 'SILO_S3_BUCKET', 'set it to the bucket name'), endpoint: env.SILO_S3_ENDPOINT || undefined,
        region: env.SILO_S3_REGION || undefined, forcePathStyle: bool(env, 'SILO_S3_FORCE_PATH_STYLE'), insecure: bool(env, 'SILO_S3_INSECURE'),
        ca: file(env, 'SILO_S3_CA_FILE'), accessKeyId: secret(env, 'AWS_ACCESS_KEY_ID'), secretAccessKey: secret(env, 'AWS_SECRET_ACCESS_KEY'),
        sessionToken: secret(env, 'AWS_SESSION_TOKEN'), storageClass: env.SILO_S3_STORAGE_CLASS || undefined,
        uploadConcurrency: positiveInteger(env, 'SILO_S3_UPLOAD_CONCURRENCY'),
      };
    case 'gcs':
      return {
        type, bucket: required(env, 'SILO_GCS_BUCKET', 'set it to the bucket name'), apiEndpoint: env.SILO_GCS_ENDPOINT || undefined,
        projectId: env.SILO_GCS_PROJECT || undefined, credentials: secret(env, 'SILO_GCS_CREDENTIALS'),
      };
    case 'azure':
      return {
        type, container: required(env, 'SILO_AZURE_CONTAINER', 'set it to the blob container name'), endpoint: env.SILO_AZURE_ENDPOINT || undefined,
        accountName: env.SILO_AZURE_ACCOUNT || undefined, accountKey: secret(env, 'SILO_AZURE_ACCOUNT_KEY'),
        connectionString: secret(env, 'SILO_AZURE_CONNECTION_STRING'),
      };
    case 'filesystem':
      return { type, root: required(env, 'SILO_FS_ROOT', 'set it to the mounted volume path') };
    default:
      throw new ConfigError(`SILO_STORE_TYPE must be one of s3, gcs, azure, filesystem (got ${JSON.stringify(type)})`);
  }
}

/**
 * Where a physical backup is compressed: `instance` (the instance manager, before TLS; decision 0014)
 * or `worker` (keeps the database pod's CPU free at the cost of sending the stream uncompressed).
 */
export function compressOnFromEnv(env: Env): 'instance' | 'worker' {
  const where = env.SILO_COMPRESS_ON || 'instance';
  if (where !== 'instance' && where !== 'worker') throw new ConfigError(`SILO_COMPRESS_ON must be instance or worker (got ${JSON.stringify(where.slice(0, 40))})`);
  return where;
}

export function compressionFromEnv(env: Env): { algorithm: CompressionAlgorithm; level?: number } {
  const algorithm = (env.SILO_COMPRESSION || 'zstd') as CompressionAlgorithm;
  if (!['none', 'gzip', 'zstd'].includes(algorithm)) throw new ConfigError(`SILO_COMPRESSION must be none, gzip or zstd (got ${JSON.stringify(algorithm)})`);
  if (!env.SILO_COMPRESSION_LEVEL) return { algorithm };
  const level = Number(env.SILO_COMPRESSION_LEVEL);
  const max = algorithm === 'gzip' ? MAX_LEVELS.gzip : MAX_LEVELS.zstd;
  if (!Number.isInteger(level) || level < 1 || level > max) throw new ConfigError(`SILO_COMPRESSION_LEVEL must be an integer from 1 to ${max} for ${algorithm} (got ${JSON.stringify(env.SILO_COMPRESSION_LEVEL)})`);
  return { algorithm, level };
}

export function recipientsFromEnv(env: Env): string[] {
  return (env.SILO_AGE_RECIPIENTS ?? '').split(/[\s,]+/).filter(Boolean);
}

export function deadlineFromEnv(env: Env): number | undefined {
  if (!env.SILO_DEADLINE_SECONDS) return undefined;
  const seconds = Number(env.SILO_DEADLINE_SECONDS);
  if (!Number.isInteger(seconds) || seconds < 1) throw new ConfigError(`SILO_DEADLINE_SECONDS must be a positive integer (got ${JSON.stringify(env.SILO_DEADLINE_SECONDS)})`);
  return seconds;
}

const BYTE_UNITS: Record<string, number> = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/**
 * SILO_EXPECTED_BYTES: about how large the source is (bytes, or a Kubernetes quantity such as 200Gi).
 * Multipart parts are sized from it (decision 0008), so a command-mode dump above 31 GiB keeps flat
 * memory; an overestimate costs nothing but larger parts, an underestimate is still completed.
 */
export function expectedBytesFromEnv(env: Env): number | undefined {
  const value = env.SILO_EXPECTED_BYTES?.trim();
  if (!value) return undefined;
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|K|M|G|T)?$/.exec(value);
  const bytes = match ? Math.ceil(Number(match[1]) * BYTE_UNITS[match[2] ?? '']) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new ConfigError(`SILO_EXPECTED_BYTES must be a positive size in bytes or a quantity such as 500Gi (got ${JSON.stringify(value.slice(0, 40))})`);
  }
  return bytes;
}
