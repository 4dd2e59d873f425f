import { FilesystemStore } from './fs-store.js';
import { ObjectStoreError, type ObjectStore } from './object-store.js';
import type { AzureBlobStoreConfig } from './azure-store.js';
import type { GcsStoreConfig } from './gcs-store.js';
import type { S3StoreConfig } from './s3-store.js';

/** Everything a worker needs to reach one store; `type` matches BackupStorage's `type`. */
export type ObjectStoreConfig =
  | ({ readonly type: 's3' } & S3StoreConfig)
  | ({ readonly type: 'gcs' } & GcsStoreConfig)
  | ({ readonly type: 'azure' } & AzureBlobStoreConfig)
  | { readonly type: 'filesystem'; readonly root: string };

/**
 * Each cloud SDK costs about 20 MiB of RSS once loaded, so a worker loads only the one its
 * store needs; the bundle splits them into their own chunks (decision 0015).
 */
export async function createObjectStore(config: ObjectStoreConfig): Promise<ObjectStore> {
  switch (config.type) {
    case 's3':
      return new (await import('./s3-store.js')).S3Store(config);
    case 'gcs':
      return new (await import('./gcs-store.js')).GcsStore(config);
    case 'azure':
      return new (await import('./azure-store.js')).AzureBlobStore(config);
    case 'filesystem':
      return new FilesystemStore(config.root);
    default: {
      // `never` makes a forgotten union member a compile error; at run time this is
      // reached only from untyped input (env, JSON), so name the accepted values.
      const unhandled: never = config;
      const type = (unhandled as { type?: unknown }).type;
      throw new ObjectStoreError('other', `unknown storage type ${JSON.stringify(type)}; use one of s3, gcs, azure, filesystem`);
    }
  }
}
