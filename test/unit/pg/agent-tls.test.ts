/**
 * The backup Job's hop to the repo host agent, over real mutual TLS on loopback: each TLS failure of
 * issue 14's matrix (unreachable, client name not authorised, unknown CA, no client certificate) is
 * its own reason, and the agent serves only the cluster's `silo-pg-backup` certificate.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { CLIENT_AUTH, issueCa, issueLeaf, type PemPair } from '../../../runtime/controller/pki/x509.js';
import { pgLeafIdentities } from '../../../runtime/controller/postgres/cluster/pg-pki.js';
import { PG_VAR, pgNames } from '../../../runtime/contracts/pg-pods.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { runPgBackupJob } from '../../../runtime/pg/backup-job.js';
import { RepoAgent, createRepoAgentServer } from '../../../runtime/pg/repo-agent.js';

const quiet = createLogger({ component: 'test' }, { write: () => undefined });
const sink = () => new Writable({ write: (_c, _e, done) => done() });
const names = pgNames('shop');
const serverName = 'shop-repo-host.shop-repo.ns.svc';

function tlsDir(root: string, name: string, files: { cert?: PemPair; ca: string }): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  if (files.cert) {
    writeFileSync(join(dir, 'tls.crt'), files.cert.cert);
    writeFileSync(join(dir, 'tls.key'), files.cert.key);
  }
  writeFileSync(join(dir, 'ca.crt'), files.ca);
  return dir;
}

describe('repo host agent: the TLS matrix of the backup Job', function () {
  this.timeout(20_000);
  const root = mkdtempSync(join(tmpdir(), 'silo-agent-tls-'));
  let port = 0;
  let server: ReturnType<typeof createRepoAgentServer>;
  const dirs: Record<string, string> = {};

  before(async () => {
    const now = new Date();
    const ca = await issueCa({ cluster: 'shop', now });
    const foreign = await issueCa({ cluster: 'elsewhere', now });
    const ids = pgLeafIdentities('shop', 'ns');
    const repoHost = await issueLeaf(ca, ids[names.repoHostTlsSecret], now);
    const serverDir = tlsDir(root, 'server', { cert: repoHost, ca: ca.cert });
    dirs.backup = tlsDir(root, 'backup', { cert: await issueLeaf(ca, ids[names.backupTlsSecret], now), ca: ca.cert });
    dirs.otherCn = tlsDir(root, 'other-cn', {
      cert: await issueLeaf(ca, { cn: 'silo-pg-instance', usages: [CLIENT_AUTH] }, now),
      ca: ca.cert,
    });
    dirs.foreign = tlsDir(root, 'foreign', { cert: await issueLeaf(foreign, ids[names.backupTlsSecret], now), ca: ca.cert });
    dirs.none = tlsDir(root, 'none', { ca: ca.cert });
    dirs.wrongTrust = tlsDir(root, 'wrong-trust', { cert: await issueLeaf(ca, ids[names.backupTlsSecret], now), ca: foreign.cert });
    server = createRepoAgentServer(
      { cert: join(serverDir, 'tls.crt'), key: join(serverDir, 'tls.key'), ca: join(serverDir, 'ca.crt') },
      new RepoAgent(quiet),
      quiet,
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server?.close());

  // A request the agent refuses after TLS and authorisation (repo 9): proof the connection got that far, without pgBackRest.
  const request = JSON.stringify({ repo: 9, type: 'full', annotation: 'ns/b/u', options: [] });
  const job = (dir: string, url = `https://127.0.0.1:${port}`) =>
    runPgBackupJob({ [PG_VAR.agentUrl]: url, [PG_VAR.agentServerName]: serverName, [PG_VAR.backupRequest]: request }, quiet, sink(), dir);

  it('the cluster backup certificate passes TLS and authorisation (the request itself is then judged: repo 9 is refused)', async () => {
    const r = await job(dirs.backup);
    expect(r).to.include({ ok: false, reason: 'PgBackRestFailed' });
    expect(r.message).to.match(/HTTP 400.*repo must be 1 to 4/);
  });
  it('another CN of the same CA: ClientNotAuthorized', async () =>
    expect(await job(dirs.otherCn)).to.include({ reason: 'ClientNotAuthorized' }));
  it('a client certificate from another CA: UnknownCA', async () => {
    const r = await job(dirs.foreign);
    expect(r, r.message).to.include({ reason: 'UnknownCA' });
  });
  it('a repo host certificate the Job cannot verify: UnknownCA', async () =>
    expect(await job(dirs.wrongTrust)).to.include({ reason: 'UnknownCA' }));
  it('no client certificate: NoClientCertificate', async () => expect(await job(dirs.none)).to.include({ reason: 'NoClientCertificate' }));
  it('nothing listening: RepoHostUnreachable', async () => {
    expect(await job(dirs.backup, 'https://127.0.0.1:1')).to.include({ reason: 'RepoHostUnreachable' });
  });
});
