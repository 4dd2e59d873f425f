// The env a worker Job gets for each store of the local stack: one place, so every test that runs the
// worker CLI against a store configures it the same way.
import type { StackContext } from '../stack/component.js';
import { AZURITE_CONNECTION_STRING, AZURITE_CONTAINER } from '../stack/components/azurite.js';
import { GCS_BUCKET, GCS_PROJECT } from '../stack/components/gcs.js';
import { MINIO_ACCESS_KEY, MINIO_BUCKET, MINIO_SECRET_KEY, minioEndpoint } from '../stack/components/minio.js';
import { RGW_BUCKET, rgwEndpoint } from '../stack/components/rgw.js';
import { LOOPBACK, ports } from '../stack/lib/ports.js';

export type WorkerStoreEnv = Record<string, string>;

export const minioWorkerEnv = (ctx: StackContext): WorkerStoreEnv => ({
  SILO_STORE_TYPE: 's3', SILO_S3_BUCKET: MINIO_BUCKET, SILO_S3_ENDPOINT: minioEndpoint(ctx, false).endpoint, SILO_S3_FORCE_PATH_STYLE: 'true',
  AWS_ACCESS_KEY_ID: MINIO_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: MINIO_SECRET_KEY,
});

export const rgwWorkerEnv = (): WorkerStoreEnv => {
  const e = rgwEndpoint();
  return { SILO_STORE_TYPE: 's3', SILO_S3_BUCKET: RGW_BUCKET, SILO_S3_ENDPOINT: e.endpoint, SILO_S3_FORCE_PATH_STYLE: 'true', AWS_ACCESS_KEY_ID: e.accessKeyId, AWS_SECRET_ACCESS_KEY: e.secretAccessKey };
};

export const azuriteWorkerEnv = (): WorkerStoreEnv => ({ SILO_STORE_TYPE: 'azure', SILO_AZURE_CONTAINER: AZURITE_CONTAINER, SILO_AZURE_CONNECTION_STRING: AZURITE_CONNECTION_STRING });

export const gcsWorkerEnv = (): WorkerStoreEnv => ({ SILO_STORE_TYPE: 'gcs', SILO_GCS_BUCKET: GCS_BUCKET, SILO_GCS_ENDPOINT: `http://${LOOPBACK}:${ports.gcs}`, SILO_GCS_PROJECT: GCS_PROJECT });
