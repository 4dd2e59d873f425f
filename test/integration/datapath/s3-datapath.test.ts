// The backup data path against two real S3 implementations: round trips through
// multipart uploads, and failures that must leave no object, no metadata.json and
// no orphan parts.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { expect } from 'chai';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { streamBackup } from '../../../runtime/datapath/backup-pipeline.js';
import { readBackupMetadata, writeBackupMetadata } from '../../../runtime/datapath/backup-metadata.js';
import { resumableRead, streamRestore } from '../../../runtime/datapath/restore-pipeline.js';
import { ProcessSource, SourceFailedError } from '../../../runtime/datapath/sources/process-source.js';
import { completedBackups, dataKey, metadataKey, newBackupId } from '../../../runtime/objectstore/object-layout.js';
import { MYSQL_ENGINE } from '../../../runtime/contracts/engines.js';
import { ObjectStoreError } from '../../../runtime/objectstore/object-store.js';
import { S3Store, type S3StoreConfig } from '../../../runtime/objectstore/s3-store.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { MINIO_BUCKET, minioEndpoint } from '../../stack/components/minio.js';
import { RGW_BUCKET, rgwEndpoint } from '../../stack/components/rgw.js';
import type { S3Endpoint } from '../../stack/lib/s3.js';
import { useStack } from '../../stack/mocha.js';
import { cuttingProxy } from '../../support/cutting-proxy.js';

const stack = useStack('minio', 'rgw');
const logger = createLogger({}, { write: () => undefined });
const MiB = 1024 * 1024;

const config = (e: S3Endpoint, bucket: string): S3StoreConfig => ({
  bucket,
  endpoint: e.endpoint,
  forcePathStyle: true,
  accessKeyId: e.accessKeyId,
  secretAccessKey: e.secretAccessKey,
  ...(e.caFile ? { ca: readFileSync(e.caFile, 'utf8') } : {}),
});
const targets = [
  { name: 'MinIO over TLS', config: () => config(minioEndpoint(stack.ctx, true), MINIO_BUCKET) },
  { name: 'Ceph RGW', config: () => config(rgwEndpoint(), RGW_BUCKET) },
];

/** 40 MiB of half-compressible bytes: zstd leaves about 20 MiB, more than one 16 MiB part. */
function payload(): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < 40; i++) yield Buffer.concat([randomBytes(MiB / 2), Buffer.alloc(MiB / 2, i)]);
    })(),
  );
}

async function collectTo(): Promise<{ sink: Writable; digest: () => string; bytes: () => number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  return {
    sink: new Writable({
      write(chunk, _e, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done();
      },
    }),
    digest: () => hash.digest('hex'),
    bytes: () => bytes,
  };
}

for (const target of targets) {
  describe(`data path on ${target.name}`, function () {
    this.timeout(120_000);
    let store: S3Store;
    const keys = generateAgeKeyPair();
    const location = () => ({ path: `datapath-${Date.now()}`, cluster: 'db', backupName: 'nightly', backupId: newBackupId() });
    const openUploads = async (prefix: string) =>
      ((await store.client.send(new ListMultipartUploadsCommand({ Bucket: target.config().bucket, Prefix: prefix }))).Uploads ?? []).length;

    before(() => {
      store = new S3Store(target.config());
    });

    it('backs up 40 MiB through zstd and age in several parts, writes metadata.json last, and restores it byte for byte', async () => {
      const where = location();
      const sourceHash = createHash('sha256');
      const source = payload().on('data', (chunk) => sourceHash.update(chunk));
      const result = await streamBackup({
        source,
        store,
        key: dataKey(where, MYSQL_ENGINE.dataObject),
        compression: { algorithm: 'zstd' },
        recipients: [keys.recipient],
      });
      expect(result.sourceBytes).to.equal(40 * MiB);
      expect(await store.size(dataKey(where, MYSQL_ENGINE.dataObject))).to.equal(result.storedBytes);
      expect(result.storedBytes).to.be.greaterThan(16 * MiB); // so it took several multipart parts
      await writeBackupMetadata(store, metadataKey(where), {
        formatVersion: 1,
        kind: 'command',
        backupId: where.backupId,
        type: 'full',
        objectKey: dataKey(where, MYSQL_ENGINE.dataObject),
        codec: {
          compression: 'zstd',
          encryption: 'age',
          recipientFingerprints: [createHash('sha256').update(keys.recipient).digest('hex')],
        },
        sizes: { storedBytes: result.storedBytes, sourceBytes: result.sourceBytes },
        sha256: result.sha256,
        startedAt: result.startedAt.toISOString(),
        stoppedAt: result.stoppedAt.toISOString(),
      });
      const listed = completedBackups(await store.list(where.path + '/'), where.path, 'db');
      expect(listed.map((b) => b.backupId)).to.deep.equal([where.backupId]);
      const metadata = await readBackupMetadata(store, metadataKey(where));
      const out = await collectTo();
      await streamRestore({
        store,
        key: dataKey(where, MYSQL_ENGINE.dataObject),
        expectedSha256: metadata.sha256,
        compression: 'zstd',
        identity: keys.identity,
        sink: out.sink,
      });
      expect(out.bytes()).to.equal(40 * MiB);
      expect(out.digest()).to.equal(sourceHash.digest('hex'));
    });

    it('a read whose connection drops mid-body resumes from the last byte, through the bulk-read transport (decision 0024)', async () => {
      const key = `${location().path}/cut.bin`;
      const body = randomBytes(5 * MiB + 17);
      await store.putSmall(key, body, 'application/octet-stream');
      const endpoint = new URL(target.config().endpoint!);
      const proxy = await cuttingProxy(Number(endpoint.port), 'download', 2 * MiB);
      try {
        endpoint.port = String(proxy.port);
        const viaProxy = new S3Store({ ...target.config(), endpoint: endpoint.origin });
        const chunks: Buffer[] = [];
        for await (const chunk of resumableRead(viaProxy, key)) chunks.push(chunk as Buffer);
        expect(Buffer.concat(chunks).equals(body)).to.equal(true);
        expect(proxy.cuts()).to.equal(1);
        // Whole chunks are the store's pooled 1 MiB buffers, read off the socket, not Node's 64 KiB copies.
        expect(chunks.filter((c) => c.length === MiB).length).to.be.at.least(3);
      } finally {
        proxy.close();
      }
    });

    it('a backup without metadata.json is not listed as complete', async () => {
      const where = location();
      await streamBackup({
        source: Readable.from([Buffer.from('partial')]),
        store,
        key: dataKey(where, MYSQL_ENGINE.dataObject),
        compression: { algorithm: 'none' },
      });
      expect(completedBackups(await store.list(where.path + '/'), where.path, 'db')).to.deep.equal([]);
    });

    it('a source killed mid-stream aborts the multipart upload: no object, no orphan parts', async () => {
      const where = location();
      const source = new ProcessSource({ command: 'sh', args: ['-c', 'head -c 40000000 /dev/urandom; kill -9 $$'], logger });
      const error = await streamBackup({
        source,
        store,
        key: dataKey(where, MYSQL_ENGINE.dataObject),
        compression: { algorithm: 'none' },
      }).then(
        () => undefined,
        (e) => e,
      );
      expect(error).to.be.instanceOf(SourceFailedError);
      expect(await store.size(dataKey(where, MYSQL_ENGINE.dataObject))).to.equal(undefined);
      expect(await openUploads(where.path)).to.equal(0);
    });

    it('wrong credentials fail as an auth error naming the fix, without the secret', async () => {
      const bad = new S3Store({ ...target.config(), secretAccessKey: 'definitely-wrong-secret' });
      const error = await streamBackup({
        source: Readable.from([randomBytes(1000)]),
        store: bad,
        key: dataKey(location(), MYSQL_ENGINE.dataObject),
        compression: { algorithm: 'none' },
      }).then(
        () => undefined,
        (e) => e,
      );
      expect(error).to.be.instanceOf(ObjectStoreError);
      expect(error.failure).to.equal('auth');
      expect(error.message).to.match(/check the access key and secret in the credentials Secret/);
      expect(error.message).to.not.include('definitely-wrong-secret');
    });

    it('a missing bucket fails as not-found naming the fix', async () => {
      const bad = new S3Store({ ...target.config(), bucket: 'no-such-bucket-silo' });
      const error = await streamBackup({
        source: Readable.from([randomBytes(1000)]),
        store: bad,
        key: 'k',
        compression: { algorithm: 'none' },
      }).then(
        () => undefined,
        (e) => e,
      );
      expect(error.failure).to.equal('not-found');
      expect(error.message).to.match(/NoSuchBucket; create the bucket or fix its name/);
    });
  });
}
