/**
 * Reads a BackupStorage's credentials Secret (`get` only, decision 0003) and
 * checks its keys. Failures are reasons plus a sentence with names only.
 */
import { ApiException } from '@kubernetes/client-node';
import type { BackupStorageSpec } from '../../../../src/api/backup-operator.io/types.js';
import type { KubeClient, Secret } from '../../kube/client.js';
import { BACKUP_STORAGE_REASONS as R, type CredentialsReason } from '../backup-storage/backup-storage-reasons.js';
import { checkCredentialKeys, type CredentialCheck } from './storage-credentials.js';

export type CredentialsResult =
  | { readonly ok: true; readonly secret: Secret; readonly keys: Extract<CredentialCheck, { ok: true }>['keys'] }
  | { readonly ok: false; readonly reason: CredentialsReason; readonly message: string };

export async function readCredentials(client: KubeClient, storageName: string, spec: BackupStorageSpec): Promise<CredentialsResult> {
  const ref = `${spec.credentials.namespace}/${spec.credentials.name}`;
  let secret: Secret;
  try {
    secret = await client.readSecret(spec.credentials.namespace, spec.credentials.name);
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) {
      return {
        ok: false,
        reason: R.SecretNotFound,
        message: `the credentials Secret ${ref} of BackupStorage ${storageName} does not exist; create it or fix spec.credentials.`,
      };
    }
    const code = error instanceof ApiException ? `HTTP ${error.code}` : (error as Error).name;
    return {
      ok: false,
      reason: R.SecretUnreadable,
      message: `the credentials Secret ${ref} of BackupStorage ${storageName} could not be read (${code}); check the operator's RBAC (get secrets).`,
    };
  }
  const check = checkCredentialKeys(spec.type, secret.data, ref);
  if (!check.ok) return { ok: false, reason: R.SecretKeyMissing, message: check.message };
  return { ok: true, secret, keys: check.keys };
}
