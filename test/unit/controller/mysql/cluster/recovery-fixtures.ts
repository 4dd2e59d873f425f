/**
 * Backups as the worker stores them (data object, then metadata.json through the real writer and
 * its validator) and Backup objects as the Backup reconciler leaves them (launch fields, then
 * completedPatch from the same metadata), for the recovery resolution tests.
 */
import { createHash } from 'node:crypto';
import type { ObjectStore as ObjectStoreSpec } from '../../../../../src/api/common/types.js';
import type { BackupMetadata } from '../../../../../src/api/metadata/types.js';
import type { BackupResource, BackupStatus } from '../../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { writeBackupMetadata } from '../../../../../runtime/datapath/backup-metadata.js';
import { MYSQL_ENGINE } from '../../../../../runtime/contracts/engines.js';
import { backupPrefix, dataKey, metadataKey, newBackupId, type BackupLocation } from '../../../../../runtime/objectstore/object-layout.js';
import type { ObjectStore } from '../../../../../runtime/objectstore/object-store.js';
import { destinationUrl } from '../../../../../runtime/controller/mysql/backup/backup-store.js';
import { completedPatch } from '../../../../../runtime/controller/mysql/backup/backup-status.js';

/** Backup IDs one hour apart from 2026-01-01T00:00:00Z: id(0) < id(1) < … */
export const id = (n: number): string => newBackupId(new Date(Date.UTC(2026, 0, 1) + n * 3_600_000));

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

export interface StoredBackup {
  readonly path: string;
  readonly cluster: string;
  readonly backupName: string;
  readonly backupId: string;
  readonly type?: 'full' | 'differential' | 'incremental';
  readonly parent?: string;
  readonly compression?: 'none' | 'gzip' | 'zstd';
  readonly encrypted?: boolean;
  /** Leave out the data object, or metadata.json: what an unfinished or half-pruned backup looks like. */
  readonly withoutData?: boolean;
  readonly withoutMetadata?: boolean;
  /** Store a data object this many bytes longer than metadata.json says. */
  readonly extraBytes?: number;
}

export const locationOf = (b: StoredBackup): BackupLocation => ({
  path: b.path,
  cluster: b.cluster,
  backupName: b.backupName,
  backupId: b.backupId,
});

export function metadataFor(b: StoredBackup, data: Buffer): BackupMetadata {
  const stopped = new Date(Date.parse(b.backupId.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z')) + 60_000);
  return {
    formatVersion: 1,
    kind: 'physical',
    cluster: { name: b.cluster, namespace: 'ns' },
    backup: { name: b.backupName, namespace: 'ns' },
    backupId: b.backupId,
    type: b.type ?? 'full',
    ...(b.parent ? { parentBackupId: b.parent } : {}),
    method: 'xtrabackup',
    sourceInstance: `${b.cluster}-2`,
    objectKey: dataKey(locationOf(b), MYSQL_ENGINE.dataObject),
    codec: {
      compression: b.compression ?? 'zstd',
      encryption: b.encrypted ? 'age' : 'none',
      ...(b.encrypted ? { recipientFingerprints: ['a'.repeat(64)] } : {}),
    },
    sizes: { storedBytes: data.length, sourceBytes: data.length * 3 },
    sha256: sha256(data),
    startedAt: new Date(stopped.getTime() - 60_000).toISOString(),
    stoppedAt: stopped.toISOString(),
    gtid: { begin: 'uuid:1-10', end: `uuid:1-${10 + data.length}` },
    binlog: { begin: 'mysql-bin.000001:4', end: `mysql-bin.000001:${100 + data.length}` },
    lsn: { from: '0', to: String(1000 + data.length) },
  };
}

/** Stores one backup as the worker does: the data object, then metadata.json (validated) last. */
export async function storeBackup(store: ObjectStore, b: StoredBackup): Promise<BackupMetadata> {
  const data = Buffer.from(`xbstream of ${b.cluster}/${b.backupName}/${b.backupId}`);
  const metadata = metadataFor(b, data);
  if (!b.withoutData)
    await store.putSmall(dataKey(locationOf(b), MYSQL_ENGINE.dataObject), Buffer.concat([data, Buffer.alloc(b.extraBytes ?? 0)]));
  if (!b.withoutMetadata) await writeBackupMetadata(store, metadataKey(locationOf(b)), metadata);
  return metadata;
}

export const objectStore = (extra: Partial<ObjectStoreSpec> = {}): ObjectStoreSpec => ({
  bucket: 'backups',
  path: 'production',
  endpoint: 'http://127.0.0.1:19000',
  forcePathStyle: true,
  credentials: { accessKeyId: { name: 's3', key: 'id' }, secretAccessKey: { name: 's3', key: 'secret' } },
  ...extra,
});

export interface BackupObjectOptions {
  readonly name: string;
  readonly cluster?: string;
  readonly store: ObjectStoreSpec;
  /** The store in the Backup's own spec.objectStore (else it inherited its Cluster's). */
  readonly ownStore?: boolean;
  readonly backupId?: string;
  readonly type?: 'full' | 'differential' | 'incremental';
  readonly parent?: string;
  readonly phase?: BackupStatus['phase'] | 'none';
  readonly annotations?: Record<string, string>;
  readonly deleting?: boolean;
  readonly statusExtra?: Partial<BackupStatus>;
}

/** A Backup object as the Backup reconciler leaves it: the fields launch() persists, then completedPatch (or failedPatch's). */
export function backupObject(o: BackupObjectOptions): BackupResource {
  const cluster = o.cluster ?? 'db';
  const backupId = o.backupId ?? id(0);
  const stored: StoredBackup = { path: o.store.path ?? '', cluster, backupName: o.name, backupId, type: o.type, parent: o.parent };
  const launched: BackupStatus = {
    phase: 'running',
    method: 'xtrabackup',
    type: o.type ?? 'full',
    backupId,
    jobName: `${o.name}-job`,
    ...(o.parent ? { parentBackupId: o.parent } : {}),
    instanceName: `${cluster}-2`,
    destinationPath: destinationUrl(o.store, backupPrefix(locationOf(stored))),
    startedAt: '2026-01-01T00:00:00Z',
  };
  const now = new Date('2026-02-01T00:00:00Z');
  const phase = o.phase ?? 'completed';
  let status: BackupStatus | undefined = launched;
  if (phase === 'completed') {
    const metadata = metadataFor(stored, Buffer.from(`xbstream of ${cluster}/${o.name}/${backupId}`));
    status = { ...launched, ...completedPatch(launched, metadata, 1, now) };
  } else if (phase === 'failed') {
    status = { ...launched, phase: 'failed', reason: 'XtraBackupFailed', error: 'mariabackup exited with status 1' };
  } else if (phase === 'pending') status = { phase: 'pending' };
  else if (phase === 'none') status = undefined;
  return {
    apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
    kind: 'Backup',
    metadata: {
      name: o.name,
      namespace: 'ns',
      uid: `${o.name}-uid`,
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.deleting ? { deletionTimestamp: '2026-02-01T00:00:00Z', finalizers: ['x'] } : {}),
    },
    spec: { cluster: { name: cluster }, method: 'xtrabackup', type: o.type ?? 'full', ...(o.ownStore ? { objectStore: o.store } : {}) },
    ...(status ? { status: { ...status, ...o.statusExtra } } : {}),
  } as BackupResource;
}
