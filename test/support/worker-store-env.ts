// The env a worker Job gets for each store of the local stack: one place, so every test that runs the
// worker CLI against a store configures it the same way. Written by the worker-env contract
// (runtime/contracts/worker-env.ts), as the controller writes it, with literal credentials.
import { encodeStoreEnv, encodeWorkerEnv, toProcessEnv, type StoreSpec, type WorkerEnvSpec } from '../../runtime/contracts/worker-env.js';
import type { StackContext } from '../stack/component.js';
import { AZURITE_CONNECTION_STRING, AZURITE_CONTAINER } from '../stack/components/azurite.js';
import { GCS_BUCKET, GCS_PROJECT } from '../stack/components/gcs.js';
import { MINIO_ACCESS_KEY, MINIO_BUCKET, MINIO_SECRET_KEY, minioEndpoint } from '../stack/components/minio.js';
import { RGW_BUCKET, rgwEndpoint } from '../stack/components/rgw.js';
import { LOOPBACK, ports } from '../stack/lib/ports.js';

export type WorkerStoreEnv = Record<string, string>;

/** A store spec as process env: what the worker's container would see. */
export const storeProcessEnv = (store: StoreSpec): WorkerStoreEnv => toProcessEnv(encodeStoreEnv(store));

/** Everything but the store, as process env: keys, codec, TLS files, the age identity (literal or `{ file }`). */
export const workerProcessEnv = (spec: WorkerEnvSpec): WorkerStoreEnv => toProcessEnv(encodeWorkerEnv(spec));

export const minioWorkerEnv = (ctx: StackContext): WorkerStoreEnv =>
  storeProcessEnv({
    type: 's3',
    bucket: MINIO_BUCKET,
    endpoint: minioEndpoint(ctx, false).endpoint,
    forcePathStyle: true,
    accessKeyId: { value: MINIO_ACCESS_KEY },
    secretAccessKey: { value: MINIO_SECRET_KEY },
  });

export const rgwWorkerEnv = (): WorkerStoreEnv => {
  const e = rgwEndpoint();
  return storeProcessEnv({
    type: 's3',
    bucket: RGW_BUCKET,
    endpoint: e.endpoint,
    forcePathStyle: true,
    accessKeyId: { value: e.accessKeyId },
    secretAccessKey: { value: e.secretAccessKey },
  });
};

export const azuriteWorkerEnv = (): WorkerStoreEnv =>
  storeProcessEnv({ type: 'azure', container: AZURITE_CONTAINER, connectionString: { value: AZURITE_CONNECTION_STRING } });

export const gcsWorkerEnv = (): WorkerStoreEnv =>
  storeProcessEnv({ type: 'gcs', bucket: GCS_BUCKET, endpoint: `http://${LOOPBACK}:${ports.gcs}`, project: GCS_PROJECT });
