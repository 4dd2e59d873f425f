import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { expect } from 'chai';
import { AZURITE_CONNECTION_STRING, AZURITE_CONTAINER } from '../../stack/components/azurite.js';
import { useStack } from '../../stack/mocha.js';

useStack('azurite');

describe('Azure Blob (Azurite) round trip', function () {
  this.timeout(30_000);
  let container: ContainerClient;
  const prefix = `roundtrip-${Date.now()}/`;

  before(() => {
    container = BlobServiceClient.fromConnectionString(AZURITE_CONNECTION_STRING).getContainerClient(AZURITE_CONTAINER);
  });

  it('puts, gets and lists blobs under a prefix', async () => {
    const body = randomBytes(200_000);
    await container.getBlockBlobClient(`${prefix}a.bin`).uploadData(body);
    await container.getBlockBlobClient(`${prefix}b.txt`).upload('hello', 5);
    const got = await container.getBlockBlobClient(`${prefix}a.bin`).downloadToBuffer();
    expect(got.equals(body)).to.equal(true);
    const names: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix })) names.push(b.name);
    expect(names.sort()).to.deep.equal([`${prefix}a.bin`, `${prefix}b.txt`]);
  });

  it('uploads a stream in blocks (how workers will write)', async () => {
    const chunks = [randomBytes(3 * 1024 * 1024), randomBytes(1_000_001)];
    const client = container.getBlockBlobClient(`${prefix}stream.bin`);
    await client.uploadStream(Readable.from(chunks), 1024 * 1024, 2);
    const got = await client.downloadToBuffer();
    expect(got.equals(Buffer.concat(chunks))).to.equal(true);
  });
});
