// A private MinIO that is killed in the middle of an upload and comes back:
// the backup fails as a network error, writes no metadata.json, and its
// multipart upload is aborted once the store is back (no orphan parts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { CreateBucketCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { streamBackup } from '../../../runtime/datapath/backup-pipeline.js';
import { ObjectStoreError } from '../../../runtime/objectstore/object-store.js';
import { S3Store } from '../../../runtime/objectstore/s3-store.js';
import { versions } from '../../stack/versions.js';
import { goBinPath } from '../../stack/lib/go.js';
import { useStack } from '../../stack/mocha.js';

const stack = useStack('minio');
const PORT = 19097;
const MiB = 1024 * 1024;

describe('object store outage mid-upload (private MinIO)', function () {
  this.timeout(180_000);
  let dir: string;
  let server: ChildProcess | undefined;
  const start = async () => {
    server = spawn(
      goBinPath(stack.ctx, 'minio', versions.minio),
      ['server', '--address', `127.0.0.1:${PORT}`, '--console-address', `127.0.0.1:${PORT + 1}`, join(dir, 'data')],
      {
        env: {
          ...process.env,
          MINIO_ROOT_USER: 'outage',
          MINIO_ROOT_PASSWORD: 'outage-secret',
          MINIO_UPDATE: 'off',
          MINIO_BROWSER: 'off',
          MINIO_CALLHOME_ENABLE: 'off',
        },
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 100; i++) {
      const ok = await fetch(`http://127.0.0.1:${PORT}/minio/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error('private MinIO did not start');
  };
  const store = () =>
    new S3Store({
      bucket: 'outage',
      endpoint: `http://127.0.0.1:${PORT}`,
      forcePathStyle: true,
      accessKeyId: 'outage',
      secretAccessKey: 'outage-secret',
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'silo-outage-'));
    await start();
    await store().client.send(new CreateBucketCommand({ Bucket: 'outage' }));
  });
  after(() => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails as a network error, writes nothing, and aborts the upload when the store returns', async () => {
    let sent = 0;
    // A source that keeps producing slowly, so the upload is mid-way when MinIO dies.
    const source = new Readable({
      read() {
        if (sent >= 200 * MiB) return void this.push(null);
        sent += MiB;
        setTimeout(() => this.push(Buffer.alloc(MiB, sent & 0xff)), 5);
      },
    });
    const target = store();
    const backup = streamBackup({ source, store: target, key: 'db/backup.xbstream', compression: { algorithm: 'none' } }).then(
      () => undefined,
      (e) => e,
    );
    while (sent < 40 * MiB) await new Promise((resolve) => setTimeout(resolve, 50));
    server!.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    await start(); // the store comes back while the worker is still trying to abort
    const error = await backup;
    expect(error).to.be.instanceOf(ObjectStoreError);
    expect(error.failure).to.equal('network');
    expect(error.message).to.match(/check that the endpoint is reachable$/);
    expect(await target.size('db/backup.xbstream')).to.equal(undefined);
    expect(await target.list('db/')).to.deep.equal([]);
    const uploads = await target.client.send(new ListMultipartUploadsCommand({ Bucket: 'outage', Prefix: 'db/backup.xbstream' }));
    expect(uploads.Uploads ?? []).to.deep.equal([]);
  });
});
