// A network that goes silent: the instance manager's address accepts the TCP
// connection and then says nothing. Neither the source nor the worker may hang.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { InstanceManagerConnectionError, InstanceManagerSource } from '../../../runtime/datapath/sources/instance-manager-source.js';
import { EXIT } from '../../../runtime/contracts/worker-result.js';
import { createPki, type Pki } from '../../support/pki.js';
import { runSilo } from '../../support/silo-cli.js';

describe('a silent network never hangs a backup', function () {
  this.timeout(60_000);
  let dir: string;
  let pki: Pki;
  let silent: Server;
  let url: string;
  const sockets: Socket[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'silo-silent-'));
    pki = createPki(join(dir, 'pki'));
    for (const [name, value] of Object.entries({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }))
      writeFileSync(join(dir, name), value);
    silent = createServer((socket) => {
      sockets.push(socket);
    }); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  after(() => {
    for (const socket of sockets) socket.destroy();
    silent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the instance-manager source fails after its idle timeout', async () => {
    const started = Date.now();
    const source = new InstanceManagerSource({ url, tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }, idleTimeoutMs: 1500 });
    const error = await (async () => {
      for await (const _ of source) {
        /* nothing arrives */
      }
    })().then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(InstanceManagerConnectionError);
    expect(error.message).to.match(
      /no data from the instance manager at https:\/\/127.0.0.1:\d+ for 2 s; the network or the instance is stuck/,
    );
    expect(Date.now() - started).to.be.lessThan(10_000);
  });

  it('the worker exits with the deadline code, promptly, when the deadline passes first', async () => {
    const started = Date.now();
    const { code } = await runSilo(['backup', 'physical', '--instance-manager', url], {
      SILO_STORE_TYPE: 'filesystem',
      SILO_FS_ROOT: join(dir, 'store'),
      SILO_DATA_KEY: 'k/backup.xbstream',
      SILO_BACKUP_ID: '20261122T000000Z',
      SILO_DEADLINE_SECONDS: '3',
      SILO_TLS_CA_FILE: join(dir, 'ca'),
      SILO_TLS_CERT_FILE: join(dir, 'cert'),
      SILO_TLS_KEY_FILE: join(dir, 'key'),
    });
    expect(code).to.equal(EXIT.deadline);
    expect(Date.now() - started).to.be.lessThan(20_000);
  });
});
