// An object store behind a network that goes silent: connections stay open and every byte is held (a partition,
// a load balancer that stops forwarding). A backup's upload and a restore's read must fail as `network` once the
// stall timeout and the SDK's retries have run out, never wait for the Job's deadline (six hours for a Backup):
// before decision 0026, an upload to any of the three stores and a read from S3 waited forever or ten minutes.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { streamBackup } from '../../../runtime/datapath/backup-pipeline.js';
import { MYSQL_ENGINE } from '../../../runtime/contracts/engines.js';
import { dataKey, newBackupId } from '../../../runtime/objectstore/object-layout.js';
import { ObjectStoreError, type ObjectStore, type StoreFailure } from '../../../runtime/objectstore/object-store.js';
import { classifyS3Error } from '../../../runtime/objectstore/s3-errors.js';
import { S3Store } from '../../../runtime/objectstore/s3-store.js';
import { GcsStore } from '../../../runtime/objectstore/gcs-store.js';
import { AzureBlobStore } from '../../../runtime/objectstore/azure-store.js';
import { MINIO_BUCKET, minioEndpoint } from '../../stack/components/minio.js';
import { GCS_BUCKET, GCS_PROJECT } from '../../stack/components/gcs.js';
import { AZURITE_ACCOUNT, AZURITE_CONTAINER, AZURITE_KEY } from '../../stack/components/azurite.js';
import { useStack } from '../../stack/mocha.js';
import { valveProxy, type ValveProxy } from '../../support/valve-proxy.js';
import { MiB } from '../../support/streams.js';

const stack = useStack('minio', 'gcs', 'azurite');
/** Short, so each store's retries run out in seconds; the product's default is two minutes (STALL_TIMEOUT_MS). */
const STALL_MS = 1500;

interface Target {
  readonly name: string;
  /** The store's own address, which the valve forwards to. */
  readonly endpoint: () => URL;
  /**
   * A store reaching `endpoint` (the valve's when `port` is given). `slowLink`: with the product's allowance for slow
   * upload links (GCS's is on top of its whole-request timeout, about a minute a chunk here, which the silent tests
   * would wait out on every retry; they allow none).
   */
  readonly store: (port?: number, slowLink?: boolean) => ObjectStore;
  /**
   * The SDK times a request whole (GCS), not by its socket's idle time (S3, Azure). An idle timer sees the upload's
   * last write into the kernel, then nothing while the buffers drain: scaled down to this file's 1.5 s it would fail
   * any rate under a few MB/s here; at the product's minute, links under about 70 KB/s (4 MiB of send buffer).
   */
  readonly timesWholeRequests?: boolean;
  /** Uploads the store still holds open under `prefix` (S3's multipart uploads; the others keep none). */
  readonly openUploads?: (store: ObjectStore, prefix: string) => Promise<number>;
  /**
   * The failure class of an error from a read's body. S3's body errors are the transport's own (decision 0024 keeps
   * that path bare); resumableRead retries them as it does `network`, and classifyS3Error is what names them.
   */
  readonly bodyFailure?: (error: unknown) => StoreFailure;
}

/** `url` without a trailing slash, at `port` when one is given. */
const at = (url: URL, port?: number) => `${url.protocol}//${url.hostname}:${port ?? url.port}${url.pathname.replace(/\/$/, '')}`;

const targets: Target[] = [
  {
    name: 'S3 (MinIO over TLS)',
    endpoint: () => new URL(minioEndpoint(stack.ctx, true).endpoint),
    store: (port) => {
      const e = minioEndpoint(stack.ctx, true);
      return new S3Store({
        bucket: MINIO_BUCKET,
        endpoint: at(new URL(e.endpoint), port),
        forcePathStyle: true,
        accessKeyId: e.accessKeyId,
        secretAccessKey: e.secretAccessKey,
        ca: readFileSync(e.caFile!, 'utf8'),
        stallTimeoutMs: STALL_MS,
      });
    },
    bodyFailure: (error) => classifyS3Error(error, 'reading').failure,
    openUploads: async (store, prefix) =>
      ((await (store as S3Store).client.send(new ListMultipartUploadsCommand({ Bucket: MINIO_BUCKET, Prefix: prefix }))).Uploads ?? [])
        .length,
  },
  {
    name: 'GCS (fake-gcs-server)',
    timesWholeRequests: true,
    endpoint: () => new URL(stack.env().GCS_ENDPOINT),
    store: (port, slowLink) =>
      new GcsStore({
        bucket: GCS_BUCKET,
        apiEndpoint: at(new URL(stack.env().GCS_ENDPOINT), port),
        projectId: GCS_PROJECT,
        chunkBytes: 4 * MiB,
        stallTimeoutMs: STALL_MS,
        ...(slowLink ? {} : { slowestUploadBytesPerSecond: 1024 * MiB }),
      }),
  },
  {
    name: 'Azure (Azurite)',
    endpoint: () => new URL(stack.env().AZURITE_BLOB_ENDPOINT),
    store: (port) =>
      new AzureBlobStore({
        container: AZURITE_CONTAINER,
        endpoint: at(new URL(stack.env().AZURITE_BLOB_ENDPOINT), port),
        accountName: AZURITE_ACCOUNT,
        accountKey: AZURITE_KEY,
        stallTimeoutMs: STALL_MS,
      }),
  },
];

/** 1 MiB chunks without end, that says when the pipeline reading it was torn down (the backup has failed). */
function endlessSource(onTornDown: () => void): Readable {
  return new Readable({
    read() {
      this.push(randomBytes(MiB));
    },
    destroy(error, done) {
      onTornDown();
      done(error);
    },
  });
}

for (const target of targets) {
  describe(`a silent network in front of ${target.name}`, function () {
    this.timeout(180_000);
    let valve: ValveProxy;
    let direct: ObjectStore;
    let silent: ObjectStore;
    const prefix = () => `silence-${Date.now()}`;

    before(async () => {
      const endpoint = target.endpoint();
      valve = await valveProxy({ host: endpoint.hostname, port: Number(endpoint.port) });
      direct = target.store();
      silent = target.store(valve.port);
    });
    afterEach(() => valve.resume());
    after(() => valve.close());

    it('fails an upload that goes silent midway as network, and leaves no object once the store answers again', async () => {
      const path = prefix();
      const key = dataKey({ path, cluster: 'db', backupName: 'nightly', backupId: newBackupId() }, MYSQL_ENGINE.dataObject);
      let tornDown!: () => void;
      const failed = new Promise<void>((resolve) => (tornDown = resolve));
      const started = Date.now();
      const backup = streamBackup({ source: endlessSource(() => tornDown()), store: silent, key, compression: { algorithm: 'none' } }).then(
        () => undefined,
        (error: unknown) => error,
      );
      // Silence once the upload is surely under way: the store has answered (the upload started) and parts flow.
      while (valve.forwarded() === 0 || Date.now() - started < 1500) await new Promise((resolve) => setTimeout(resolve, 100));
      valve.pause();
      const silencedAt = Date.now();
      await failed;
      const failedAfter = Date.now() - silencedAt;
      if (process.env.SILO_TEST_TIMINGS) console.log(`${target.name}: upload failed ${failedAfter} ms after the silence`);
      // The store answers again: what the failed upload cleans up (S3's multipart upload) can now be cleaned.
      valve.resume();
      const error = await backup;
      expect(error, 'the backup must fail').to.be.instanceOf(ObjectStoreError);
      expect((error as ObjectStoreError).failure).to.equal('network');
      expect((error as Error).message).to.match(/ETIMEDOUT|TimeoutError/);
      expect((error as Error).message).not.to.match(/upload_id|uploadId=|sig=|Signature|AccountKey/i);
      expect(failedAfter, 'the upload fails within its retries of the stall timeout, not at the deadline').to.be.lessThan(120_000);
      expect(await direct.size(key)).to.equal(undefined);
      if (target.openUploads) expect(await target.openUploads(direct, path)).to.equal(0);
    });

    if (target.timesWholeRequests)
      it('completes an upload over a link too slow to send a chunk within the stall timeout', async () => {
        const slow = target.store(valve.port, true);
        const key = `${prefix()}/slow-link.bin`;
        const data = randomBytes(9 * MiB);
        // 1 MiB/s: each 4 MiB chunk takes 4 s, past the 1.5 s stall timeout (decision 0026, amended).
        valve.uploadRate(MiB);
        try {
          await streamBackup({ source: Readable.from([data]), store: slow, key, compression: { algorithm: 'none' } });
        } finally {
          valve.uploadRate(undefined);
        }
        expect(await direct.size(key)).to.equal(data.length);
      });

    it('takes a pooled connection left idle past the stall timeout as closed, not as a failure', async () => {
      const idle = target.store();
      const key = `${prefix()}/idle.json`;
      await idle.putSmall(key, Buffer.from('{"first":true}'));
      await new Promise((resolve) => setTimeout(resolve, 2 * STALL_MS));
      await idle.putSmall(key, Buffer.from('{"second":true}'));
      expect(JSON.parse((await idle.getSmall(key)).toString())).to.deep.equal({ second: true });
    });

    it('fails a read that goes silent mid-body as network', async () => {
      const key = `${prefix()}/object.bin`;
      await direct.putSmall(key, randomBytes(24 * MiB), 'application/octet-stream');
      const body = await silent.createReadStream(key);
      let received = 0;
      const error = await (async () => {
        for await (const chunk of body) {
          received += (chunk as Buffer).length;
          if (received >= MiB) valve.pause();
        }
      })().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(received, 'the read stopped before the end').to.be.lessThan(24 * MiB);
      expect(error, 'the read must fail').to.be.instanceOf(Error);
      const failure = error instanceof ObjectStoreError ? error.failure : target.bodyFailure?.(error);
      expect(failure, String(error)).to.equal('network');
    });
  });
}
