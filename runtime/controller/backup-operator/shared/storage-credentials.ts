/**
 * What a BackupStorage's credentials Secret must hold, per storage type, and how
 * its keys become worker environment. Only key names ever appear in messages.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import type { BackupStorageSpec } from '../../../../src/api/backup-operator.io/types.js';
import { encodeSecret, encodeStoreEnv, VAR } from '../../../contracts/worker-env.js';

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
    {
      required: ['accessKeyId', 'secretAccessKey'],
      env: { accessKeyId: VAR.awsAccessKeyId, secretAccessKey: VAR.awsSecretAccessKey },
      optional: { sessionToken: VAR.awsSessionToken },
    },
    {
      required: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'],
      env: { AWS_ACCESS_KEY_ID: VAR.awsAccessKeyId, AWS_SECRET_ACCESS_KEY: VAR.awsSecretAccessKey },
      optional: { AWS_SESSION_TOKEN: VAR.awsSessionToken },
    },
  ],
  gcs: [{ required: ['serviceAccount.json'], env: { 'serviceAccount.json': VAR.gcsCredentials } }],
  azure: [
    { required: ['connectionString'], env: { connectionString: VAR.azureConnectionString } },
    { required: ['accountKey'], env: { accountKey: VAR.azureAccountKey }, optional: { accountName: VAR.azureAccount } },
  ],
};

export type CredentialCheck = { readonly ok: true; readonly keys: KeySet } | { readonly ok: false; readonly message: string };

const describeSets = (type: StorageType): string =>
  KEY_SETS[type].map((set) => set.required.map((k) => `"${k}"`).join(' and ')).join(', or ');

/**
 * Checks that `data` (the Secret's data map; values are not looked at beyond
 * being non-empty) has one accepted key set for `type`.
 */
export function checkCredentialKeys(
  type: StorageType,
  data: Readonly<Record<string, string>> | undefined,
  secretRef: string,
): CredentialCheck {
  const present = Object.entries(data ?? {})
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k]) => k);
  const set = KEY_SETS[type].find((s) => s.required.every((k) => present.includes(k)));
  if (set) return { ok: true, keys: set };
  const have = present.length
    ? `it has ${present
        .map((k) => `"${k}"`)
        .sort()
        .join(', ')}`
    : 'it has no non-empty keys';
  return {
    ok: false,
    message: `Secret ${secretRef} lacks the keys a ${type} storage needs (${describeSets(type)}); ${have}. Add the missing keys to the Secret.`,
  };
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
  return Object.entries(all).flatMap(([key, name]) => encodeSecret(name, { secretKeyRef: { name: secretName, key } }));
}

/**
 * Non-secret worker env from the storage parameters (runtime/contracts/worker-env.ts). Parameters are
 * strings; they go on the wire as written and the worker checks them.
 */
export function storageEnv(spec: BackupStorageSpec): V1EnvVar[] {
  const p = spec.parameters;
  return encodeStoreEnv(
    spec.type === 's3'
      ? {
          type: 's3',
          bucket: p.bucket as string,
          endpoint: p.endpoint,
          region: p.region,
          forcePathStyle: p.s3ForcePathStyle,
          insecure: p.insecure,
          storageClass: p.storageClass,
        }
      : spec.type === 'gcs'
        ? {
            type: 'gcs',
            bucket: p.bucket as string,
            endpoint: p.endpoint,
            project: p.projectId,
          }
        : {
            type: 'azure',
            container: p.container as string,
            endpoint: p.endpoint,
            account: p.storageAccount,
          },
  );
}
