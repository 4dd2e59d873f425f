/**
 * Everything a run's Pod needs from its BackupStorage: the storage must exist
 * and not be reported NotReady, and its credentials Secret must hold the keys
 * the type needs. Produces the worker's store env with secretKeyRef credentials.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import type { BackupRunResource, BackupStorageResource } from '../../../../src/api/backup-operator.io/types.js';
import type { KubeClient } from '../../kube/client.js';
import { findCondition } from '../../kube/conditions.js';
import { KINDS } from '../../kube/kinds.js';
import type { KubeObject } from '../../reconciler.js';
import { readCredentials } from '../shared/credentials-secret.js';
import { BACKUP_RUN_REASONS as R } from './backup-run-reasons.js';
import { credentialEnv, credentialKeysToCopy, storageEnv } from '../shared/storage-credentials.js';
import { ensureCredentialsInNamespace } from './backup-run-credentials.js';

export type StorageResolution =
  | { readonly ok: true; readonly storage: BackupStorageResource; readonly storeEnv: V1EnvVar[] }
  | { readonly ok: false; readonly reason: string; readonly message: string };

export async function resolveStorage(run: BackupRunResource & KubeObject, client: KubeClient): Promise<StorageResolution> {
  const name = run.spec.storage.name;
  const storage = await client.get<BackupStorageResource & KubeObject>(KINDS.BackupStorage, { name });
  if (!storage || storage.metadata?.deletionTimestamp) {
    return {
      ok: false,
      reason: R.StorageNotFound,
      message: `BackupStorage ${name} (spec.storage.name) ${storage ? 'is being deleted' : 'does not exist'}; create it or fix spec.storage.name.`,
    };
  }
  const ready = findCondition(storage.status?.conditions, 'Ready');
  if (ready?.status === 'False' && !([R.SecretNotFound, R.SecretKeyMissing] as string[]).includes(ready.reason)) {
    return { ok: false, reason: R.StorageNotReady, message: `BackupStorage ${name} is not ready (${ready.reason}): ${ready.message}` };
  }
  // Checked here too, not only through the storage's condition, which may be minutes old.
  const credentials = await readCredentials(client, name, storage.spec);
  if (!credentials.ok) return credentials;
  const data = credentials.secret.data ?? {};
  let secretName: string;
  try {
    secretName = await ensureCredentialsInNamespace({
      client,
      source: credentials.secret,
      keys: credentialKeysToCopy(credentials.keys, data),
      namespace: run.metadata!.namespace!,
      runName: run.metadata!.name!,
      runUid: run.metadata!.uid!,
    });
  } catch (error) {
    const ref = `${storage.spec.credentials.namespace}/${storage.spec.credentials.name}`;
    return {
      ok: false,
      reason: R.CredentialsCopyFailed,
      message: `the credentials Secret ${ref} is in another namespace and could not be copied into ${run.metadata!.namespace} (${(error as Error).message}); grant the operator create/delete on secrets or put the Secret in ${run.metadata!.namespace}.`,
    };
  }
  return { ok: true, storage, storeEnv: [...storageEnv(storage.spec), ...credentialEnv(credentials.keys, secretName, data)] };
}
