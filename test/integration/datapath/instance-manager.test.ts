// The instance manager beside a real MariaDB, and the physical data path through
// it: mTLS, 409, trailers with positions, and a full + incremental chain restored
// into a fresh mariadbd with matching CHECKSUM TABLE.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { request, type RequestOptions, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { DecompressStream } from 'zstd-napi';
import { generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { streamBackup } from '../../../runtime/datapath/backup-pipeline.js';
import { MYSQL_ENGINE } from '../../../runtime/contracts/engines.js';
import { restorePhysicalChain, type ChainLink } from '../../../runtime/datapath/physical-restore.js';
import { ChecksumMismatchError } from '../../../runtime/datapath/restore-pipeline.js';
import { InstanceManagerConnectionError, InstanceManagerSource } from '../../../runtime/datapath/sources/instance-manager-source.js';
import { SourceFailedError } from '../../../runtime/datapath/sources/process-source.js';
import { createInstanceManagerServer } from '../../../runtime/instance-manager/server.js';
import { PATHS } from '../../../runtime/contracts/instance-manager-protocol.js';
import { createMysqlEngine } from '../../../runtime/instance-manager/engines/mysql/engine.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { FilesystemStore } from '../../../runtime/objectstore/fs-store.js';
import { mariadbInstance, mariadbSql, startMariadb, stopMariadb } from '../../stack/components/mariadb.js';
import { checksumTables, seedDataset, type SeedResult } from '../../stack/datasets/mariadb-seed.js';
import { useStack } from '../../stack/mocha.js';
import { createPki, type Pki } from '../../support/pki.js';
import { readAll } from '../../support/streams.js';

/** One GET with a client certificate; resolves with the response once its head arrives. */
function httpsGet(options: RequestOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) =>
    request({ ...options, method: 'GET' }, resolve)
      .on('error', reject)
      .end(),
  );
}

const stack = useStack('mariadb');
const logger = createLogger({}, { write: () => undefined });

describe('instance manager and physical backups (real MariaDB)', function () {
  this.timeout(300_000);
  let dir: string;
  let pki: Pki;
  let server: Server;
  let url: string;
  /** The same instance manager with zstd always in process (the other one uses the zstd command, decision 0017). */
  let inProcessServer: Server;
  let inProcessUrl: string;
  let seed: SeedResult;
  const main = () => mariadbInstance(stack.ctx);
  const tls = () => ({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'silo-im-'));
    pki = createPki(join(dir, 'pki'));
    seed = await seedDataset(main(), { rows: 2000, database: 'silo_im' });
    server = createInstanceManagerServer({
      tls: { key: pki.serverKey, cert: pki.serverCert, clientCa: pki.ca },
      engine: createMysqlEngine({ connection: { socket: main().socket, user: 'root' }, instanceName: 'db-1' }),
      logger,
      instanceName: 'db-1',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    inProcessServer = createInstanceManagerServer({
      tls: { key: pki.serverKey, cert: pki.serverCert, clientCa: pki.ca },
      engine: createMysqlEngine({ connection: { socket: main().socket, user: 'root' }, instanceName: 'db-1' }),
      logger,
      instanceName: 'db-1',
      zstd: 'in-process',
    });
    await new Promise<void>((resolve) => inProcessServer.listen(0, '127.0.0.1', resolve));
    inProcessUrl = `https://127.0.0.1:${(inProcessServer.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await new Promise((resolve) => inProcessServer?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const drain = async (source: InstanceManagerSource) => {
    let n = 0;
    for await (const c of source) n += (c as Buffer).length;
    return n;
  };

  it('refuses a client without a certificate', async () => {
    const source = new InstanceManagerSource({ url, tls: { ca: pki.ca, cert: '', key: '' } as never });
    const error = await drain(source).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(InstanceManagerConnectionError);
  });

  it('refuses a client whose certificate another CA signed', async () => {
    const source = new InstanceManagerSource({ url, tls: { ca: pki.ca, cert: pki.rogueClientCert, key: pki.rogueClientKey } });
    const error = await drain(source).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(InstanceManagerConnectionError);
  });

  it("a client that does not trust the server's CA fails with an mTLS error naming the fix", async () => {
    const source = new InstanceManagerSource({ url, tls: { ca: pki.rogueCa, cert: pki.clientCert, key: pki.clientKey } });
    const error = await drain(source).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(InstanceManagerConnectionError);
    expect(error.message).to.match(
      /mTLS handshake with the instance manager at https:\/\/127.0.0.1:\d+ failed .*check the Cluster's server CA and client certificate Secrets/,
    );
  });

  it('refuses a second concurrent backup with 409', async () => {
    const first = new InstanceManagerSource({ url, tls: tls() });
    first.pause();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const second = new InstanceManagerSource({ url, tls: tls() });
    const error = await drain(second).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(SourceFailedError);
    expect(error.message).to.match(/^the instance manager is busy: a backup of db-1 is already running/);
    first.resume();
    expect(await drain(first)).to.be.greaterThan(0);
  });

  it('rejects a malformed incremental LSN', async () => {
    const error = await drain(new InstanceManagerSource({ url, tls: tls(), incrementalLsn: '12;rm' })).then(
      () => undefined,
      (e) => e,
    );
    expect(error.message).to.match(/answered 400: incremental-lsn must be a decimal LSN/);
  });

  it('rejects an unknown compression or level, naming the parameter', async () => {
    const unknown = await drain(new InstanceManagerSource({ url, tls: tls(), compression: { algorithm: 'lz4' as never } })).then(
      () => undefined,
      (e) => e,
    );
    expect(unknown.message).to.match(/answered 400: compression must be none, gzip or zstd \(got "lz4"\)/);
    const level = await drain(new InstanceManagerSource({ url, tls: tls(), compression: { algorithm: 'gzip', level: 12 } })).then(
      () => undefined,
      (e) => e,
    );
    expect(level.message).to.match(/answered 400: level must be an integer from 1 to 9 for gzip \(got "12"\)/);
  });

  for (const compressor of ['the zstd command', 'in process'] as const) {
    const at = () => (compressor === 'in process' ? inProcessUrl : url);

    it(`compresses before TLS when asked (${compressor}): a zstd xbstream, with the exact uncompressed size in a trailer`, async () => {
      const source = new InstanceManagerSource({ url: at(), tls: tls(), compression: { algorithm: 'zstd', level: 3 } });
      let received = 0;
      const counted = source.on('data', (chunk: Buffer) => {
        received += chunk.length;
      });
      let head = Buffer.alloc(0);
      let decompressed = 0;
      for await (const chunk of counted.pipe(new DecompressStream())) {
        if (head.length < 8) head = Buffer.concat([head, chunk as Buffer]);
        decompressed += (chunk as Buffer).length;
      }
      expect(await source.encoding).to.equal('zstd');
      expect(head.subarray(0, 8).toString('latin1')).to.equal('XBSTCK01');
      expect(source.sourceBytes).to.equal(decompressed);
      expect(received).to.be.lessThan(decompressed);
      // The datadir's size, sent as the multipart part-size hint, bounds the xbstream from above.
      expect(source.expectedBytes).to.be.at.least(decompressed);
    });

    it(`a client that disconnects mid-stream leaves the instance manager free for the next backup (${compressor})`, async () => {
      const first = new InstanceManagerSource({ url: at(), tls: tls(), compression: { algorithm: 'zstd' } });
      await new Promise<void>((resolve, reject) => {
        first.once('data', () => resolve());
        first.once('error', reject);
      });
      first.destroy();
      const deadline = Date.now() + 20_000;
      let error: Error | undefined;
      do {
        await new Promise((resolve) => setTimeout(resolve, 500));
        error = await drain(new InstanceManagerSource({ url: at(), tls: tls(), compression: { algorithm: 'zstd' } })).then(
          () => undefined,
          (e) => e,
        );
      } while (error && /busy/.test(error.message) && Date.now() < deadline);
      expect(error, 'the next backup after a disconnect').to.equal(undefined);
    });
  }

  it('a client that stops reading without closing has its backup stopped, and the instance manager takes the next one', async () => {
    // Uncompressed, so the stream is far larger than the socket buffers between the two ends: it must stall.
    const stalling = createInstanceManagerServer({
      tls: { key: pki.serverKey, cert: pki.serverCert, clientCa: pki.ca },
      engine: createMysqlEngine({ connection: { socket: main().socket, user: 'root' }, instanceName: 'db-1' }),
      logger,
      instanceName: 'db-1',
      clientStallTimeoutMs: 2000,
    });
    await new Promise<void>((resolve) => stalling.listen(0, '127.0.0.1', resolve));
    const port = (stalling.address() as AddressInfo).port;
    const get = (path: string) => httpsGet({ host: '127.0.0.1', port, path, ...tls() });
    const statusNow = async () => JSON.parse((await readAll(await get(PATHS.status))).toString());
    const frozen = await get(`${PATHS.backup}?compression=none`);
    try {
      expect(frozen.statusCode).to.equal(200);
      frozen.pause(); // never read again, never close: the client's node is gone without a word
      expect((await statusNow()).backupRunning, 'the backup runs while the client is frozen').to.not.equal(null);
      const deadline = Date.now() + 60_000;
      let status = await statusNow();
      while (status.backupRunning !== null && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        status = await statusNow();
      }
      expect(status.backupRunning, 'the stalled backup is stopped').to.equal(null);
      expect(status.lastBackup.exitStatus).to.not.equal(0);
      const next = await drain(
        new InstanceManagerSource({ url: `https://127.0.0.1:${port}`, tls: tls(), compression: { algorithm: 'zstd' } }),
      );
      expect(next).to.be.greaterThan(0);
    } finally {
      frozen.destroy();
      await new Promise((resolve) => stalling.close(resolve));
    }
  });

  it('the zstd command killed mid-stream fails the backup with a cut stream, and the instance manager takes the next one', async () => {
    const source = new InstanceManagerSource({ url, tls: tls(), compression: { algorithm: 'zstd' } });
    await new Promise<void>((resolve, reject) => {
      source.once('data', () => resolve());
      source.once('error', reject);
    });
    // This process runs the instance manager, so its zstd children are this backup's compressor.
    const zstds = execFileSync('pgrep', ['-P', String(process.pid), '-x', 'zstd'])
      .toString()
      .trim()
      .split('\n');
    expect(zstds).to.have.length(1);
    process.kill(Number(zstds[0]), 'SIGKILL');
    const error = await drain(source).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(SourceFailedError);
    expect(error.message).to.match(/cut.*nothing was stored/);
    const deadline = Date.now() + 20_000;
    let next: Error | undefined;
    do {
      await new Promise((resolve) => setTimeout(resolve, 500));
      next = await drain(new InstanceManagerSource({ url, tls: tls(), compression: { algorithm: 'zstd' } })).then(
        () => undefined,
        (e) => e,
      );
    } while (next && /busy/.test(next.message) && Date.now() < deadline);
    expect(next, 'the next backup after the killed compressor').to.equal(undefined);
  });

  it('full + two incrementals through zstd and age restore into a fresh mariadbd with equal checksums', async () => {
    const store = new FilesystemStore(join(dir, 'store'));
    const keys = generateAgeKeyPair();
    const chain: ChainLink[] = [];
    let lastLsn: string | undefined;
    const expected: Array<Record<string, string>> = [];
    for (let step = 0; step < 3; step++) {
      if (step > 0)
        await mariadbSql(
          main(),
          `UPDATE customers SET balance = balance + ${step} WHERE id % 7 = ${step}; INSERT INTO customers (id, name, email, created, balance) SELECT id + ${step * 100000}, name, email, created, balance FROM customers WHERE id < 50;`,
          seed.database,
        );
      // The middle link is compressed by the instance manager (decision 0014), the others by the worker.
      const atInstance = step === 1;
      const source = new InstanceManagerSource({
        url,
        tls: tls(),
        incrementalLsn: lastLsn,
        compression: atInstance ? { algorithm: 'zstd' } : undefined,
      });
      expect(await source.encoding).to.equal(atInstance ? 'zstd' : 'none');
      const key = `db/nightly/${step}/backup.xbstream`;
      const result = await streamBackup({
        source,
        store,
        key,
        compression: { algorithm: 'zstd' },
        sourceCompressed: atInstance,
        recipients: [keys.recipient],
      });
      if (atInstance) expect(source.sourceBytes, 'uncompressed size from the trailer').to.be.greaterThan(result.sourceBytes);
      expect(source.positions.toLsn, 'to_lsn reported').to.match(/^\d+$/);
      expect(source.positions.endBinlog, 'binlog position reported').to.match(/:\d+$/);
      expect(source.positions.beginGTID).to.be.a('string');
      if (step > 0) expect(source.positions.fromLsn).to.equal(lastLsn);
      lastLsn = source.positions.toLsn;
      chain.push({ key, sha256: result.sha256, compression: 'zstd', backupId: String(step) });
      expected.push(await checksumTables(main(), seed));
    }
    expect(expected[2]).to.not.deep.equal(expected[0]);

    const fresh = mariadbInstance(stack.ctx, 'im-restore', 19161, { datadir: join(dir, 'restored-data') });
    await restorePhysicalChain({
      engine: MYSQL_ENGINE,
      store,
      chain,
      workDir: join(dir, 'work'),
      dataDir: fresh.datadir,
      identity: keys.identity,
      logger,
    });
    await startMariadb(stack.ctx, fresh);
    try {
      expect(await checksumTables(fresh, seed)).to.deep.equal(expected[2]);
    } finally {
      await stopMariadb(fresh);
    }
  });

  it('one corrupted byte in an archive: restore refuses it and leaves nothing extracted', async () => {
    const store = new FilesystemStore(join(dir, 'store2'));
    const source = new InstanceManagerSource({ url, tls: tls() });
    const result = await streamBackup({ source, store, key: 'k/backup.xbstream', compression: { algorithm: 'none' } });
    const { readFileSync, writeFileSync, existsSync } = await import('node:fs');
    const path = join(dir, 'store2/k/backup.xbstream');
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0x01;
    writeFileSync(path, bytes);
    const error = await restorePhysicalChain({
      engine: MYSQL_ENGINE,
      store,
      chain: [{ key: 'k/backup.xbstream', sha256: result.sha256, compression: 'none', backupId: 'x' }],
      workDir: join(dir, 'work2'),
      dataDir: join(dir, 'data2'),
      logger,
    }).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(ChecksumMismatchError);
    expect(existsSync(join(dir, 'work2/staging-0'))).to.equal(false);
    expect(existsSync(join(dir, 'work2/verified-0'))).to.equal(false);
    expect(existsSync(join(dir, 'data2'))).to.equal(false);
  });
});
