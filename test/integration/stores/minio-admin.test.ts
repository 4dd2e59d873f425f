// The stack's MinIO administration through MinIO's own JavaScript client (test/stack/components/minio.ts):
// buckets, versioning, object lock and incomplete multipart uploads, on the HTTP and the custom-CA TLS server.
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import type { ObjectLockInfo } from 'minio';
import { abortIncompleteUploads, ensureMinioBucket, incompleteUploads, minioClient, minioEndpoint } from '../../stack/components/minio.js';
import { s3Client } from '../../stack/lib/s3.js';
import { useStack } from '../../stack/mocha.js';

const stack = useStack('minio');

describe('MinIO administration with the minio client', function () {
  this.timeout(60_000);
  const suffix = `${process.pid}-${Date.now()}`;

  for (const tls of [false, true]) {
    it(`finds the stack's bucket over ${tls ? 'TLS with the test CA' : 'HTTP'}`, async () => {
      const client = await minioClient(stack.ctx, tls);
      expect(await client.bucketExists(stack.env().MINIO_BUCKET)).to.equal(true);
      await ensureMinioBucket(client, stack.env().MINIO_BUCKET);
    });
  }

  it('creates a versioned bucket and an object-locked one', async () => {
    const client = await minioClient(stack.ctx);
    const versioned = `silo-versioned-${suffix}`;
    const locked = `silo-locked-${suffix}`;
    try {
      await ensureMinioBucket(client, versioned, { versioning: true });
      expect((await client.getBucketVersioning(versioned)).Status).to.equal('Enabled');
      await ensureMinioBucket(client, locked, { objectLock: true });
      // minio's overloads make the one-argument form `void`; it returns the promise.
      const lock = await (client.getObjectLockConfig(locked) as unknown as Promise<ObjectLockInfo>);
      expect(lock.objectLockEnabled).to.equal('Enabled');
      expect((await client.getBucketVersioning(locked)).Status).to.equal('Enabled');
    } finally {
      for (const bucket of [versioned, locked]) if (await client.bucketExists(bucket)) await client.removeBucket(bucket);
    }
  });

  it('lists and aborts the incomplete multipart uploads of an object', async () => {
    const client = await minioClient(stack.ctx);
    const bucket = stack.env().MINIO_BUCKET;
    const key = `minio-admin/${suffix}/left-behind`;
    const s3 = s3Client(minioEndpoint(stack.ctx));
    try {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: 'part one' }));
      expect(await incompleteUploads(client, bucket, key)).to.deep.equal([{ key, uploadId: UploadId }]);
      expect(await abortIncompleteUploads(client, bucket, key)).to.equal(1);
      expect(await incompleteUploads(client, bucket, key)).to.deep.equal([]);
    } finally {
      s3.destroy();
    }
  });
});
