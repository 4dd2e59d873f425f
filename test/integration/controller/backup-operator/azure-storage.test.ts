/**
 * A BackupStorage of type azure on the stack's Azurite: the container check
 * (getProperties) reports Ready, a missing container BucketNotFound, a wrong
 * key AccessDenied; and a run streams into the container through the worker.
 */
import { expect } from 'chai';
import { BlobServiceClient } from '@azure/storage-blob';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { useStack } from '../../../stack/mocha.js';
import { createRun, createSecret, shellRunSpec, useBackupOperator, waitFor, waitForPhase } from './support.js';

describe('backup-operator.io: an azure BackupStorage on Azurite', function () {
  this.timeout(240_000);
  const azurite = useStack('azurite');
  const fx = useBackupOperator('boaz');

  const createAzureStorage = async (suffix: string, secret: string, container: string) => {
    const env = azurite.env();
    const name = `${fx.prefix}-${suffix}`;
    await fx.objects.create(KINDS.BackupStorage, {
      metadata: { name },
      spec: {
        type: 'azure',
        parameters: { container, storageAccount: env.AZURITE_ACCOUNT, endpoint: env.AZURITE_BLOB_ENDPOINT },
        credentials: { name: secret, namespace: fx.kube.namespace },
      },
    });
    return name;
  };
  const readyReason = (name: string, reason: string) =>
    waitFor(
      `${name} Ready reason ${reason}`,
      async () => {
        const s = await fx.objects.get<any>(KINDS.BackupStorage, { name });
        const ready = s?.status?.conditions?.find((c: any) => c.type === 'Ready');
        if (ready?.reason === reason) return s;
        throw new Error(JSON.stringify(ready));
      },
      60_000,
    );

  it('reports Ready, BucketNotFound and AccessDenied, and a run stores its stream as a blob', async () => {
    const env = azurite.env();
    await createSecret(fx, 'azure-key', { accountKey: env.AZURITE_KEY });
    await createSecret(fx, 'azure-wrong', { accountKey: Buffer.from('not the key').toString('base64') });
    const ok = await createAzureStorage('ok', 'azure-key', env.AZURITE_CONTAINER);
    const missing = await createAzureStorage('missing', 'azure-key', 'no-such-container');
    const denied = await createAzureStorage('denied', 'azure-wrong', env.AZURITE_CONTAINER);
    await readyReason(ok, 'Ready');
    await readyReason(missing, 'BucketNotFound');
    const deniedStorage = await readyReason(denied, 'AccessDenied');
    expect(JSON.stringify(deniedStorage.status)).to.not.include(env.AZURITE_KEY);

    await createRun(fx, 'to-azure', shellRunSpec(fx, ok, 'echo into azurite'));
    const run = await waitForPhase(fx, 'to-azure', ['Completed', 'Failed']);
    expect(run.status.phase, JSON.stringify(run.status)).to.equal('Completed');
    const container = BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING).getContainerClient(env.AZURITE_CONTAINER);
    const key = run.status.path.slice(1);
    const props = await container.getBlobClient(key).getProperties();
    expect(props.contentLength).to.equal(run.status.sizeInBytes);
    await container.deleteBlob(key).catch(() => undefined);
    await container.deleteBlob(`${key}.metadata.json`).catch(() => undefined);
  });
});
