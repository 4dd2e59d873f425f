/**
 * The object store of a Backup: its own spec.objectStore, else the Cluster's
 * spec.backup.objectStore. Rendered as worker env where every credential is a
 * secretKeyRef, so the value lives only in the short-lived Job's Pod, never in the
 * operator or the database Pods.
 */
import type { V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ObjectStore } from '../../../../src/api/common/types.js';
import type { BackupResource, ClusterResource } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { REASON, type Failure } from './backup-reasons.js';
import { encodeCodecEnv, encodeStoreEnv } from '../../../contracts/worker-env.js';
import { storeRoot, workerStoreSpec } from './store-provider.js';

export interface ResolvedStore {
  readonly store: ObjectStore;
  /** Which field it came from, for messages. */
  readonly from: 'Backup.spec.objectStore' | 'Cluster.spec.backup.objectStore';
}

export function resolveObjectStore(backup: BackupResource, cluster: ClusterResource): ResolvedStore | Failure {
  if (backup.spec.objectStore) return { store: backup.spec.objectStore, from: 'Backup.spec.objectStore' };
  if (cluster.spec.backup?.objectStore) return { store: cluster.spec.backup.objectStore, from: 'Cluster.spec.backup.objectStore' };
  const name = (cluster.metadata as { name?: string }).name;
  return {
    reason: REASON.ObjectStoreMissing,
    message: `no object store configured: neither the Backup's spec.objectStore nor Cluster ${name}'s spec.backup.objectStore is set; add one of them (bucket with endpoint and credentials for S3, or azure, or gcs)`,
  };
}

/** Options the worker cannot honour yet: failing is better than silently storing without them. */
export function unsupportedStoreOption(resolved: ResolvedStore): Failure | undefined {
  const { store, from } = resolved;
  if (store.signatureVersion === 'v2') {
    return {
      reason: REASON.UnsupportedObjectStoreOption,
      message: `${from}.signatureVersion v2 is not supported by Silo's worker; remove it to sign with v4`,
    };
  }
  if (store.serverSideEncryption) {
    return {
      reason: REASON.UnsupportedObjectStoreOption,
      message: `${from}.serverSideEncryption is not supported by Silo's worker yet; remove it and rely on age encryption (encryption.age) or bucket default encryption`,
    };
  }
  return undefined;
}

export const STORE_CA_DIR = '/var/run/silo/store-ca';

/** `<root><prefix>` as shown in status.destinationPath: `s3://bucket/…`, `gs://bucket/…` or `azure://container/…` (store-provider.ts). */
export const destinationUrl = (store: ObjectStore, prefix: string): string => `${storeRoot(store)}${prefix}`;

/** Env, volumes and mounts that give the worker the store; credentials only as secretKeyRef (runtime/contracts/worker-env.ts). */
export function storeEnv(store: ObjectStore): { env: V1EnvVar[]; volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  // endpointCA is an S3 field: admission refuses it beside azure or gcs.
  if (store.endpointCA) {
    volumes.push({
      name: 'store-ca',
      secret: { secretName: store.endpointCA.name, items: [{ key: store.endpointCA.key, path: 'ca.crt' }] },
    });
    mounts.push({ name: 'store-ca', mountPath: STORE_CA_DIR, readOnly: true });
  }
  const env: V1EnvVar[] = [
    ...encodeStoreEnv(workerStoreSpec(store, store.endpointCA ? `${STORE_CA_DIR}/ca.crt` : undefined)),
    ...encodeCodecEnv({
      compression: { algorithm: store.compression?.algorithm ?? 'zstd', level: store.compression?.level },
      ageRecipients: store.encryption?.age.recipients,
    }),
  ];
  return { env, volumes, mounts };
}
