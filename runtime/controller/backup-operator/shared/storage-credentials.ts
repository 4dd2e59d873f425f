/**
 * What a BackupStorage's credentials Secret must hold, per storage type, and how
 * its keys become worker environment. Only key names ever appear in messages.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import type { BackupStorageSpec } from '../../../../src/generated/api-types.js';

export type StorageType = BackupStorageSpec['type'];

/** One accepted set of keys: every key in `required` must be present. */
interface KeySet {
  readonly required: readonly string[];
  /** Worker env variable for each required key. */
  readonly env: Readonly<Record<string, string>>;
  /** Optional keys and their env variables. */
  readonly optional?: Readonly<Record<string, string>>;
}

const KEY_SETS: Record<StorageType, readonly KeySet[]> = {
  s3: [
    { required: ['accessKeyId', 'secretAccessKey'], env: { accessKeyId: 'AWS_ACCESS_KEY_ID', secretAccessKey: 'AWS_SECRET_ACCESS_KEY' }, optional: { sessionToken: 'AWS_SESSION_TOKEN' } },
    { required: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'], env: { AWS_ACCESS_KEY_ID: 'AWS_ACCESS_KEY_ID', AWS_SECRET_ACCESS_KEY: 'AWS_SECRET_ACCESS_KEY' }, optional: { AWS_SESSION_TOKEN: 'AWS_SESSION_TOKEN' } },
  ],
  gcs: [{ required: ['serviceAccount.json'], env: { 'serviceAccount.json': 'SILO_GCS_CREDENTIALS' } }],
  azure: [
    { required: ['connectionString'], env: { connectionString: 'SILO_AZURE_CONNECTION_STRING' } },
    { required: ['accountKey'], env: { accountKey: 'SILO_AZURE_ACCOUNT_KEY' }, optional: { accountName: 'SILO_AZURE_ACCOUNT' } },
  ],
};

export type CredentialCheck =
  | { readonly ok: true; readonly keys: KeySet }
  | { readonly ok: false; readonly message: string };

const describeSets = (type: StorageType): string =>
  KEY_SETS[type].map((set) => set.required.map((k) => `"${k}"`).join(' and ')).join(', or ');

/**
 * Checks that `data` (the Secret's data map; values are not looked at beyond
 * being non-empty) has one accepted key set for `type`.
 */
export function checkCredentialKeys(type: StorageType, data: Readonly<Record<string, string>> | undefined, secretRef: string): CredentialCheck {
  const present = Object.entries(data ?? {}).filter(([, v]) => v !== undefined && v !== '').map(([k]) => k);
  const set = KEY_SETS[type].find((s) => s.required.every((k) => present.includes(k)));
  if (set) return { ok: true, keys: set };
  const have = present.length ? `it has ${present.map((k) => `"${k}"`).sort().join(', ')}` : 'it has no non-empty keys';
  return { ok: false, message: `Secret ${secretRef} lacks the keys a ${type} storage needs (${describeSets(type)}); ${have}. Add the missing keys to the Secret.` };
}

/** Decoded Secret values for the in-memory reachability check; never logged. */
export function decodeSecretData(data: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

/** The keys of the check's key set (required and present optional ones) that a Pod needs. */
export function credentialKeysToCopy(keys: KeySet, data: Readonly<Record<string, string>>): string[] {
  return [...keys.required, ...Object.keys(keys.optional ?? {}).filter((k) => data[k])];
}

/** secretKeyRef env for the worker container: credentials stay in the Secret, never in the Pod spec. */
export function credentialEnv(keys: KeySet, secretName: string, data: Readonly<Record<string, string>>): V1EnvVar[] {
  const all: Record<string, string> = { ...keys.env, ...Object.fromEntries(Object.entries(keys.optional ?? {}).filter(([k]) => data[k])) };
  return Object.entries(all).map(([key, name]) => ({ name, valueFrom: { secretKeyRef: { name: secretName, key } } }));
}

/** Non-secret worker env from the storage parameters (runtime/workers/worker-env.ts). */
export function storageEnv(spec: BackupStorageSpec): V1EnvVar[] {
  const p = spec.parameters;
  const vars: Record<string, string | undefined> =
    spec.type === 's3' ? {
      SILO_STORE_TYPE: 's3', SILO_S3_BUCKET: p.bucket, SILO_S3_ENDPOINT: p.endpoint, SILO_S3_REGION: p.region,
      SILO_S3_FORCE_PATH_STYLE: p.s3ForcePathStyle, SILO_S3_INSECURE: p.insecure, SILO_S3_STORAGE_CLASS: p.storageClass,
    } : spec.type === 'gcs' ? {
      SILO_STORE_TYPE: 'gcs', SILO_GCS_BUCKET: p.bucket, SILO_GCS_ENDPOINT: p.endpoint, SILO_GCS_PROJECT: p.projectId,
    } : {
      SILO_STORE_TYPE: 'azure', SILO_AZURE_CONTAINER: p.container, SILO_AZURE_ENDPOINT: p.endpoint, SILO_AZURE_ACCOUNT: p.storageAccount,
    };
  return Object.entries(vars).filter(([, v]) => v !== undefined && v !== '').map(([name, value]) => ({ name, value }));
}
