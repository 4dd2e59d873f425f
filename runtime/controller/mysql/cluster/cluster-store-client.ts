/**
 * A read-only view of an object store for the Cluster reconciler: it lists a prefix and reads
 * metadata.json files to decide what recovery restores and whether a new Cluster's destination is
 * empty (decision 0262). It never reads or writes payload (principle 1); the credentials are read
 * from their Secrets for the call and are never logged or written anywhere.
 */
import type { ObjectStore as ObjectStoreSpec } from '../../../../src/api/common/types.js';
import type { ObjectStore } from '../../../objectstore/object-store.js';
import { createObjectStore, type ObjectStoreConfig } from '../../../objectstore/store-factory.js';
import type { KubeClient } from '../../kube/client.js';

async function secretValue(
  client: KubeClient,
  namespace: string,
  ref: { name: string; key: string } | undefined,
): Promise<string | undefined> {
  if (!ref) return undefined;
  const secret = await client.readSecret(namespace, ref.name);
  const value = secret.data?.[ref.key];
  if (value === undefined) throw new Error(`Secret ${namespace}/${ref.name} has no key ${ref.key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}

/** The store's client configuration with the values of its Secrets; each provider reads only its own fields. */
async function storeConfig(client: KubeClient, namespace: string, spec: ObjectStoreSpec): Promise<ObjectStoreConfig> {
  const read = (ref?: { name: string; key: string }) => secretValue(client, namespace, ref);
  if (spec.azure) {
    const { container, endpoint, storageAccount, credentials } = spec.azure;
    const [accountKey, connectionString] = await Promise.all([read(credentials.accountKey), read(credentials.connectionString)]);
    return { type: 'azure', container, endpoint, accountName: storageAccount, accountKey, connectionString };
  }
  if (spec.gcs) {
    const { bucket, endpoint, projectId, credentials } = spec.gcs;
    // Without a key the SDK uses the operator Pod's Application Default Credentials (or none, with an emulator endpoint).
    return { type: 'gcs', bucket, apiEndpoint: endpoint, projectId, credentials: await read(credentials?.serviceAccount) };
  }
  const credentials = spec.inheritFromIAMRole ? undefined : spec.credentials;
  const [accessKeyId, secretAccessKey, sessionToken, ca] = await Promise.all([
    read(credentials?.accessKeyId),
    read(credentials?.secretAccessKey),
    read(credentials?.sessionToken),
    read(spec.endpointCA),
  ]);
  return {
    type: 's3',
    bucket: spec.bucket ?? '',
    endpoint: spec.endpoint,
    region: spec.region,
    forcePathStyle: spec.forcePathStyle,
    insecure: spec.insecure,
    ca,
    accessKeyId,
    secretAccessKey,
    sessionToken,
  };
}

/** Builds a client for `spec` (S3, Azure Blob or GCS) with the credentials its Secrets (in `namespace`) hold. */
export async function openObjectStore(client: KubeClient, namespace: string, spec: ObjectStoreSpec): Promise<ObjectStore> {
  return createObjectStore(await storeConfig(client, namespace, spec));
}
