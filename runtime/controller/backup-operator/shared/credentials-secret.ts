/**
 * Reads a BackupStorage's credentials Secret (`get` only, decision 0003) and
 * checks its keys. Failures are reasons plus a sentence with names only.
 */
import { ApiException, CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { BackupStorageSpec } from '../../../../src/generated/api-types.js';
import { checkCredentialKeys, type CredentialCheck } from './storage-credentials.js';

export type CredentialsResult =
  | { readonly ok: true; readonly secret: V1Secret; readonly keys: Extract<CredentialCheck, { ok: true }>['keys'] }
  | { readonly ok: false; readonly reason: 'SecretNotFound' | 'SecretKeyMissing' | 'SecretUnreadable'; readonly message: string };

export async function readCredentials(kubeConfig: KubeConfig, storageName: string, spec: BackupStorageSpec): Promise<CredentialsResult> {
  const ref = `${spec.credentials.namespace}/${spec.credentials.name}`;
  let secret: V1Secret;
  try {
    secret = await kubeConfig.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: spec.credentials.namespace, name: spec.credentials.name });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) {
      return { ok: false, reason: 'SecretNotFound', message: `the credentials Secret ${ref} of BackupStorage ${storageName} does not exist; create it or fix spec.credentials.` };
    }
    const code = error instanceof ApiException ? `HTTP ${error.code}` : (error as Error).name;
    return { ok: false, reason: 'SecretUnreadable', message: `the credentials Secret ${ref} of BackupStorage ${storageName} could not be read (${code}); check the operator's RBAC (get secrets).` };
  }
  const check = checkCredentialKeys(spec.type, secret.data, ref);
  if (!check.ok) return { ok: false, reason: 'SecretKeyMissing', message: check.message };
  return { ok: true, secret, keys: check.keys };
}
