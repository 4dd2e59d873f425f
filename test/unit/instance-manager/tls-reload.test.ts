import { X509Certificate } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { issueClusterPki, renewLeaf, type ClusterPki, type PemPair } from '../../../runtime/controller/mysql/cluster/cluster-pki.js';
import type { Engine } from '../../../runtime/instance-manager/engine.js';
import { createInstanceManagerServer } from '../../../runtime/instance-manager/server.js';
import { checkTlsMaterial } from '../../../runtime/instance-manager/tls-reload.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { tlsProbe } from '../../support/tls-probe.js';

const stubEngine: Engine = {
  name: 'stub',
  backupRequest: () => ({ error: 'no backups here' }),
  startBackup: () => Promise.reject(new Error('no backups here')),
  status: () => Promise.resolve({}),
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('instance manager: certificate reload without a restart', function () {
  this.timeout(30_000);
  const now = new Date();
  let dir: string;
  let pki: ClusterPki;
  let certB: PemPair;
  let certC: PemPair;
  let server: Server;
  let port: number;
  const lines: string[] = [];
  const files = () => ({ key: join(dir, 'tls.key'), cert: join(dir, 'tls.crt'), clientCa: join(dir, 'ca.crt') });
  /** Like the kubelet: each file is replaced whole (write aside, rename). */
  const put = (name: string, text: string) => {
    writeFileSync(join(dir, `.${name}.tmp`), text);
    renameSync(join(dir, `.${name}.tmp`), join(dir, name));
  };
  const served = async () =>
    (await tlsProbe({ port, ca: pki.ca.cert, servername: 'db-instance-manager', ...pki.backupClient })).fingerprint256;
  const fingerprint = (pair: PemPair) => new X509Certificate(pair.cert).fingerprint256;
  async function until(want: string, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while ((await served()) !== want) {
      if (Date.now() > end) throw new Error(`the server still presents another certificate after ${ms} ms`);
      await sleep(25);
    }
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'silo-tls-reload-'));
    pki = await issueClusterPki({ cluster: 'db', namespace: 'shop', now });
    const renew = () => renewLeaf({ ca: pki.ca, kind: 'server', cluster: 'db', namespace: 'shop', now });
    [certB, certC] = await Promise.all([renew(), renew()]);
    put('tls.key', pki.server.key);
    put('tls.crt', pki.server.cert);
    put('ca.crt', pki.ca.cert);
    server = createInstanceManagerServer({
      tls: { key: pki.server.key, cert: pki.server.cert, clientCa: pki.ca.cert },
      tlsFiles: files(),
      tlsReloadIntervalMs: 40,
      engine: stubEngine,
      logger: createLogger({}, { write: (line) => lines.push(line), level: 'debug' }),
      instanceName: 'db-1',
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves cert A, then cert B once the files hold B, on a new handshake, logging only "certificate reloaded" and notAfter', async () => {
    expect(await served()).to.equal(fingerprint(pki.server));
    put('tls.key', certB.key);
    put('tls.crt', certB.cert);
    await until(fingerprint(certB));
    const reloaded = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'certificate reloaded');
    expect(reloaded).to.have.length(1);
    expect(Object.keys(reloaded[0]).sort()).to.deep.equal(['level', 'msg', 'notAfter', 'ts']);
    expect(reloaded[0].notAfter).to.equal(new X509Certificate(certB.cert).validTo);
  });

  it('keeps the old certificate while the pair is half written, warns once, and takes the pair when it is whole', async () => {
    const before = lines.length;
    put('tls.key', certC.key); // the key of C with the certificate of B: not a pair
    await sleep(300);
    expect(await served()).to.equal(fingerprint(certB));
    const warnings = lines.slice(before).map((l) => JSON.parse(l));
    expect(warnings.map((w) => [w.level, w.msg])).to.deep.equal([
      ['warn', 'certificate files changed but are not a usable certificate, key and client CA; keeping the current certificate'],
    ]);
    expect(warnings[0].error).to.equal('the key does not belong to the certificate');
    put('tls.crt', certC.cert);
    await until(fingerprint(certC));
  });

  it('keeps the old certificate when a file is truncated or the client CA holds no certificate', async () => {
    put('tls.crt', certB.cert.slice(0, 200));
    await sleep(200);
    expect(await served()).to.equal(fingerprint(certC));
    put('tls.crt', certC.cert);
    put('ca.crt', 'not a certificate');
    await sleep(200);
    expect(await served()).to.equal(fingerprint(certC));
    put('ca.crt', pki.ca.cert);
  });

  it('never logs key or certificate material', () => {
    const all = lines.join('\n');
    expect(all).to.not.match(/BEGIN|PRIVATE KEY|CERTIFICATE-----/);
    for (const pair of [pki.server, certB, certC]) expect(all).to.not.include(pair.key.split('\n')[1]);
  });

  it('checkTlsMaterial names the problem', () => {
    const ok = { key: certB.key, cert: certB.cert, clientCa: pki.ca.cert };
    expect(checkTlsMaterial(ok)).to.equal(new X509Certificate(certB.cert).validTo);
    expect(() => checkTlsMaterial({ ...ok, key: certC.key })).to.throw('the key does not belong to the certificate');
    expect(() => checkTlsMaterial({ ...ok, clientCa: '' })).to.throw('the client CA file holds no certificate');
    expect(() => checkTlsMaterial({ ...ok, cert: '' })).to.throw();
  });
});
