// The backup data path against fake-gcs-server: a round trip through chunked resumable
// uploads, and failures that must leave no object and no live upload session.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { streamBackup } from '../../../runtime/datapath/backup-pipeline.js';
import { resumableRead, streamRestore } from '../../../runtime/datapath/restore-pipeline.js';
import { ProcessSource, SourceFailedError } from '../../../runtime/datapath/sources/process-source.js';
import { dataKey, newBackupId } from '../../../runtime/objectstore/object-layout.js';
import { MYSQL_ENGINE } from '../../../runtime/contracts/engines.js';
import { ObjectStoreError, type ObjectStore } from '../../../runtime/objectstore/object-store.js';
import { GcsStore, type GcsStoreConfig } from '../../../runtime/objectstore/gcs-store.js';
import { createObjectStore } from '../../../runtime/objectstore/store-factory.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { GCS_BUCKET, GCS_PROJECT } from '../../stack/components/gcs.js';
import { useStack } from '../../stack/mocha.js';
import { cuttingProxy } from '../../support/cutting-proxy.js';
import { hashingSink, MiB, mostlyRandom, readAll } from '../../support/streams.js';

const stack = useStack('gcs');
const logger = createLogger({}, { write: () => undefined });

const payload = () => mostlyRandom(20);

describe('data path on fake-gcs-server', function () {
  this.timeout(120_000);
  const keys = generateAgeKeyPair();
  // 8 MiB chunks (the default is 16) so the round trip takes three upload requests.
  const config = (): GcsStoreConfig => ({
    bucket: GCS_BUCKET,
    apiEndpoint: stack.env().GCS_ENDPOINT,
    projectId: GCS_PROJECT,
    chunkBytes: 8 * MiB,
  });
  const location = () => ({ path: `gcs-datapath-${Date.now()}`, cluster: 'db', backupName: 'nightly', backupId: newBackupId() });
  let store: GcsStore;

  before(async () => {
    store = (await createObjectStore({ type: 'gcs', ...config() })) as GcsStore;
  });

  it('backs up 20 MiB through zstd and age in several chunks and restores it byte for byte', async () => {
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
    expect(result.sourceBytes).to.equal(20 * MiB);
    expect(result.storedBytes).to.be.greaterThan(16 * MiB); // so the upload took three chunks
    expect(await store.size(dataKey(where, MYSQL_ENGINE.dataObject))).to.equal(result.storedBytes);
    expect(await store.list(where.path + '/')).to.deep.equal([dataKey(where, MYSQL_ENGINE.dataObject)]);
    const out = hashingSink();
    await streamRestore({
      store,
      key: dataKey(where, MYSQL_ENGINE.dataObject),
      expectedSha256: result.sha256,
      compression: 'zstd',
      identity: keys.identity,
      sink: out.sink,
    });
    expect(out.bytes()).to.equal(20 * MiB);
    expect(out.digest()).to.equal(sourceHash.digest('hex'));
    await store.delete([dataKey(where, MYSQL_ENGINE.dataObject)]);
    expect(await store.size(dataKey(where, MYSQL_ENGINE.dataObject))).to.equal(undefined);
  });

  it('a ranged read returns exactly the requested bytes', async () => {
    const key = `${location().path}/ranged.bin`;
    const body = randomBytes(300_000);
    await store.putSmall(key, body, 'application/octet-stream');
    expect((await readAll(await store.createReadStream(key, { start: 1000, end: 5000 }))).equals(body.subarray(1000, 5000))).to.equal(true);
    expect((await readAll(await store.createReadStream(key, { start: 299_990 }))).equals(body.subarray(299_990))).to.equal(true);
    expect((await readAll(await store.createReadStream(key, { start: 7, end: 7 }))).length).to.equal(0);
    expect((await store.getSmall(key)).equals(body)).to.equal(true);
  });

  it('a read whose connection drops mid-body resumes from the last byte (it must not hang)', async () => {
    const key = `${location().path}/cut.bin`;
    const body = randomBytes(3 * MiB);
    await store.putSmall(key, body, 'application/octet-stream');
    const proxy = await cuttingProxy(Number(new URL(stack.env().GCS_ENDPOINT).port), 'download', MiB);
    try {
      const viaProxy = new GcsStore({ ...config(), apiEndpoint: `http://127.0.0.1:${proxy.port}` });
      expect((await readAll(resumableRead(viaProxy, key))).equals(body)).to.equal(true);
      expect(proxy.cuts()).to.equal(1);
    } finally {
      proxy.close();
    }
  });

  it('a connection dropped mid-upload fails as network and leaves no object', async () => {
    // On GCS the SDK would ask the session for its offset and resume. fake-gcs-server commits
    // the session on that status query (ADR 0120), so here the upload must fail cleanly instead:
    // the session is then gone, and the generation the emulator committed is deleted.
    const where = location();
    const proxy = await cuttingProxy(Number(new URL(stack.env().GCS_ENDPOINT).port), 'upload', 3 * MiB);
    try {
      const viaProxy = new GcsStore({ ...config(), apiEndpoint: `http://127.0.0.1:${proxy.port}` });
      const error = await streamBackup({
        source: Readable.from([randomBytes(12 * MiB)]),
        store: viaProxy,
        key: dataKey(where, MYSQL_ENGINE.dataObject),
        compression: { algorithm: 'none' },
      }).then(
        () => undefined,
        (e) => e,
      );
      expect(proxy.cuts()).to.equal(1);
      if (error) {
        expect(error).to.be.instanceOf(ObjectStoreError);
        expect(error.failure).to.equal('network');
        expect(await store.size(dataKey(where, MYSQL_ENGINE.dataObject))).to.equal(undefined);
      } else {
        // An emulator that resumes properly: then the object must be whole.
        expect(await store.size(dataKey(where, MYSQL_ENGINE.dataObject))).to.equal(12 * MiB);
      }
    } finally {
      proxy.close();
    }
  });

  it('a source killed mid-stream leaves no object, and the upload session is cancelled', async () => {
    const where = location();
    let session: string | undefined;
    let cancelled: number | undefined;
    const watching: ObjectStore = Object.create(store, {
      createWriteStream: {
        value: (key: string) =>
          store
            .createWriteStream(key)
            .on('session', (uri: string) => {
              session = uri;
            })
            .on('session-cancelled', (status: number) => {
              cancelled = status;
            }),
      },
    });
    const source = new ProcessSource({ command: 'sh', args: ['-c', 'head -c 20000000 /dev/urandom; kill -9 $$'], logger });
    const error = await streamBackup({
      source,
      store: watching,
      key: dataKey(where, MYSQL_ENGINE.dataObject),
      compression: { algorithm: 'none' },
    }).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(SourceFailedError);
    // The session existed (chunks were sent) and was cancelled with DELETE, which GCS answers with 499.
    // fake-gcs-server answers 499 too but keeps the session in memory, so the cancel itself is
    // all this can check; a status probe (`Content-Range: bytes */*`) would make it commit the object.
    expect(session, 'the upload opened a resumable session').to.be.a('string');
    expect(cancelled).to.equal(499);
    // Nothing finalizes later either.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await store.size(dataKey(where, MYSQL_ENGINE.dataObject))).to.equal(undefined);
    expect(await store.list(where.path + '/')).to.deep.equal([]);
  });

  it('a missing bucket fails as not-found naming the fix', async () => {
    const bad = new GcsStore({ ...config(), bucket: 'no-such-bucket-silo' });
    const error = await streamBackup({
      source: Readable.from([randomBytes(1000)]),
      store: bad,
      key: 'k',
      compression: { algorithm: 'none' },
    }).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(ObjectStoreError);
    expect(error.failure).to.equal('not-found');
    expect(error.message).to.match(/create the bucket or fix its name/);
    for (const attempt of [() => bad.list('x/'), () => bad.size('k'), () => bad.createReadStream('k')]) {
      const other = await attempt().then(
        () => undefined,
        (e) => e,
      );
      expect(other.failure).to.equal('not-found');
      expect(other.message).to.match(/create the bucket or fix its name/);
    }
  });

  it('an upload session the store refuses while the stream waits for the SDK fails the backup, never hangs it', async () => {
    // A store that answers the object lookup but refuses the resumable session a second later, by then the SDK holds
    // a full chunk and the next write waits on it. The SDK never calls that write back, so before the sink released
    // it with the upload's error this backup waited forever (CI once hung on a fake-gcs-server that was restarting).
    const server: Server = createServer((req, res) => {
      const reply = (status: number, message: string) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: status, message, errors: [{ reason: 'forbidden', message }] } }));
      };
      if (req.method === 'POST') setTimeout(() => reply(403, 'uploads refused'), 1000);
      else reply(404, 'No such object');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const refusing = new GcsStore({
        ...config(),
        apiEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        chunkBytes: 256 * 1024,
      });
      const started = Date.now();
      const error = await streamBackup({ source: payload(), store: refusing, key: 'k', compression: { algorithm: 'none' } }).then(
        () => undefined,
        (e) => e,
      );
      expect(error).to.be.instanceOf(ObjectStoreError);
      expect(error.message).to.match(/uploading gs:\/\/.*\/k/);
      expect(Date.now() - started, 'failed promptly, not at the test timeout').to.be.below(60_000);
    } finally {
      server.close();
    }
  });

  it('a missing object has no size and reads as not-found, without blaming the bucket', async () => {
    expect(await store.size('no/such/object')).to.equal(undefined);
    const error = await store.createReadStream('no/such/object').then(
      () => undefined,
      (e) => e,
    );
    expect(error.failure).to.equal('not-found');
    expect(error.message).to.match(/no object has this key/);
  });

  it('a malformed service-account key is an auth error that does not quote the key', () => {
    const key = '{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----definitely-secret-key';
    const error = (() => {
      try {
        new GcsStore({ ...config(), credentials: key });
      } catch (e) {
        return e as ObjectStoreError;
      }
    })();
    expect(error).to.be.instanceOf(ObjectStoreError);
    expect(error!.failure).to.equal('auth');
    expect(error!.message).to.not.include('definitely-secret-key');
  });

  describe('refused credentials', () => {
    // fake-gcs-server accepts any request, so a loopback stub answers the way GCS does
    // when it refuses a token: 401 with a JSON error body that echoes request details.
    let server: Server;
    let endpoint: string;
    before(async () => {
      server = createServer((req, res) => {
        req.resume();
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 401, message: 'Invalid Credentials: token definitely-secret-token' } }));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('fail as auth naming the fix, without the secret', async () => {
      const bad = new GcsStore({ ...config(), apiEndpoint: endpoint });
      const error = await streamBackup({
        source: Readable.from([randomBytes(1000)]),
        store: bad,
        key: 'k',
        compression: { algorithm: 'none' },
      }).then(
        () => undefined,
        (e) => e,
      );
      expect(error).to.be.instanceOf(ObjectStoreError);
      expect(error.failure).to.equal('auth');
      expect(error.message).to.match(/check the service-account key in the credentials Secret/);
      expect(error.message).to.not.include('definitely-secret-token');
      const readError = await bad.createReadStream('k').then(
        () => undefined,
        (e) => e,
      );
      expect(readError.failure).to.equal('auth');
    });
  });
});
