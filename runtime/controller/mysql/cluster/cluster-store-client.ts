/**
 * A read-only view of an object store for the Cluster reconciler: it lists a prefix and reads
 * metadata.json files to decide what recovery restores and whether a new Cluster's destination is
 * empty (decision 0262). It never reads or writes payload (principle 1); the credentials are read
 * from their Secrets for the call and are never logged or written anywhere.
 */
import type { ObjectStore as ObjectStoreSpec } from '../../../../src/api/common/types.js';
import type { ObjectStore } from '../../../objectstore/object-store.js';
import { createObjectStore } from '../../../objectstore/store-factory.js';
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

/** Builds a client for `spec` with the credentials its Secrets (in `namespace`) hold. */
export async function openObjectStore(client: KubeClient, namespace: string, spec: ObjectStoreSpec): Promise<ObjectStore> {
  const credentials = spec.inheritFromIAMRole ? undefined : spec.credentials;
  const [accessKeyId, secretAccessKey, sessionToken, ca] = await Promise.all([
    secretValue(client, namespace, credentials?.accessKeyId),
    secretValue(client, namespace, credentials?.secretAccessKey),
    secretValue(client, namespace, credentials?.sessionToken),
    secretValue(client, namespace, spec.endpointCA),
  ]);
  return createObjectStore({
    type: 's3',
    bucket: spec.bucket,
    endpoint: spec.endpoint,
    region: spec.region,
    forcePathStyle: spec.forcePathStyle,
    insecure: spec.insecure,
    ca,
    accessKeyId,
    secretAccessKey,
    sessionToken,
  });
}
