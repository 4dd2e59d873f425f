/**
 * POST /backup's stream between the backup Job and the repo host agent, over real mutual TLS on loopback
 * (BACKUP_STREAM, decision 0272 amended): the agent's heartbeats keep a backup that pgBackRest copies quietly alive,
 * an agent that goes silent (its node lost, the network cut) fails the Job as RepoHostUnreachable within the silence
 * window, an agent of an older image without heartbeats is not timed, a Job that goes away stops pgBackRest so
 * that the cluster's next backup is not refused, and a Job that finds the agent still busy waits its turn. pgBackRest is a script on PATH here: what is tested is the stream.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { issueCa, issueLeaf } from '../../../runtime/controller/pki/x509.js';
import { pgLeafIdentities } from '../../../runtime/controller/postgres/cluster/pg-pki.js';
import { AGENT_PATHS, BACKUP_STREAM, PG_VAR, pgNames } from '../../../runtime/contracts/pg-pods.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { runPgBackupJob } from '../../../runtime/pg/backup-job.js';
import { RepoAgent, createRepoAgentServer } from '../../../runtime/pg/repo-agent.js';

const quiet = createLogger({ component: 'test' }, { write: () => undefined });
const names = pgNames('shop');
const serverName = 'shop-repo-host.shop-repo.ns.svc';
const HEARTBEAT_MS = 100;
const SILENCE_MS = 600;
const backupRequest = { repo: 1, type: 'full', annotation: 'ns/b/u', options: [] } as const;

/** Collects what the Job prints. */
function printed(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write: (chunk: Buffer, _e, done) => {
      text += chunk.toString('utf8');
      done();
    },
  });
  return { out, text: () => text };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the backup stream between the Job and the repo host agent', function () {
  this.timeout(30_000);
  const root = mkdtempSync(join(tmpdir(), 'silo-agent-stream-'));
  const bin = join(root, 'bin');
  /** The fake pgBackRest's backup sleeps while this file exists, and writes `terminated` when SIGTERM stops it. */
  const slowFlag = join(bin, 'slow');
  const terminated = join(bin, 'terminated');
  const tls: Record<'server' | 'backup', string> = { server: join(root, 'server'), backup: join(root, 'backup') };
  let path: string | undefined;
  let agent: RepoAgent;
  let agentServer: Server;
  let agentUrl = '';
  const others: Server[] = [];

  const job = (url: string, out: Writable = printed().out, busyWaitMs = 1_500) =>
    runPgBackupJob(
      { [PG_VAR.agentUrl]: url, [PG_VAR.agentServerName]: serverName, [PG_VAR.backupRequest]: JSON.stringify(backupRequest) },
      quiet,
      out,
      tls.backup,
      { silenceMs: SILENCE_MS, busyRetryMs: 100, busyWaitMs },
    );

  /** A Job's POST (`path`) as the agent sees it, made by hand; its answer's text once it ends. */
  const rawPost = (path: string, body: unknown) => {
    const req = request(new URL(path, agentUrl), {
      method: 'POST',
      cert: readFileSync(join(tls.backup, 'tls.crt')),
      key: readFileSync(join(tls.backup, 'tls.key')),
      ca: readFileSync(join(tls.backup, 'ca.crt')),
      servername: serverName,
    });
    req.on('error', () => undefined);
    const answered = new Promise<import('node:http').IncomingMessage>((resolve) => req.on('response', resolve));
    const text = answered.then(
      (res) =>
        new Promise<string>((resolve) => {
          let t = '';
          res.on('data', (c: Buffer) => (t += c.toString('utf8')));
          res.on('end', () => resolve(t));
          res.on('error', () => resolve(t));
        }),
    );
    req.end(JSON.stringify(body));
    return { req, answered, text };
  };
  const waitFor = async (what: string, check: () => boolean | Promise<boolean>, ms: number) => {
    for (const until = Date.now() + ms; Date.now() < until; await sleep(20)) if (await check()) return;
    throw new Error(`${what}: not within ${ms} ms`);
  };

  /** An HTTPS server with the repo host's certificate that answers /backup as `answer` says, for agents that misbehave. */
  const fakeAgent = async (answer: (res: import('node:http').ServerResponse) => void): Promise<string> => {
    const files = (name: string) => join(tls.server, name);
    const server = createHttpsServer({ cert: readFileSync(files('tls.crt')), key: readFileSync(files('tls.key')) }, (req, res) => {
      req.resume();
      req.on('end', () => answer(res));
    });
    others.push(server);
    return listen(server);
  };

  before(async () => {
    const now = new Date();
    const ca = await issueCa({ cluster: 'shop', now });
    const ids = pgLeafIdentities('shop', 'ns');
    for (const [dir, leaf] of [
      [tls.server, await issueLeaf(ca, ids[names.repoHostTlsSecret], now)],
      [tls.backup, await issueLeaf(ca, ids[names.backupTlsSecret], now)],
    ] as const) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'tls.crt'), leaf.cert);
      writeFileSync(join(dir, 'tls.key'), leaf.key);
      writeFileSync(join(dir, 'ca.crt'), ca.cert);
    }
    // Run as postgres when the tests run as root (runAsPostgres): the script and its marker must be theirs to use.
    mkdirSync(bin, { recursive: true });
    chmodSync(root, 0o755);
    chmodSync(bin, 0o777);
    const script = [
      '#!/bin/sh',
      'last=""; for a in "$@"; do last="$a"; done',
      'case "$last" in',
      '  backup)',
      `    trap 'touch ${terminated}; echo "ERROR: [063]: terminated on signal [SIGTERM]" >&2; exit 63' TERM`,
      "    echo 'INFO: backup command begin'",
      `    while [ -e ${slowFlag} ]; do sleep 0.1 & wait; done`,
      '    sleep 1 & wait', // quiet for longer than the Job's silence window: only the heartbeats reach it
      "    echo 'INFO: new backup label = 20261207-110000F'",
      "    echo 'INFO: backup command end: completed successfully'",
      '    ;;',
      "  info) echo '[]';;",
      '  *) exit 1;;',
      'esac',
    ].join('\n');
    writeFileSync(join(bin, 'pgbackrest'), `${script}\n`, { mode: 0o755 });
    path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    agentServer = createRepoAgentServer(
      { cert: join(tls.server, 'tls.crt'), key: join(tls.server, 'tls.key'), ca: join(tls.server, 'ca.crt') },
      (agent = new RepoAgent(quiet, Date.now, { heartbeatMs: HEARTBEAT_MS, silenceMs: SILENCE_MS })),
      quiet,
    );
    agentUrl = await listen(agentServer);
  });
  after(() => {
    process.env.PATH = path;
    agentServer?.close();
    for (const s of others) s.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('a backup that pgBackRest copies quietly for longer than the silence window completes: heartbeats keep it, unprinted', async () => {
    const { out, text } = printed();
    const r = await job(agentUrl, out);
    expect(r, r.message).to.include({ ok: true });
    expect(text()).to.include('new backup label = 20261207-110000F');
    expect(text()).to.not.include(BACKUP_STREAM.heartbeatLine);
  });

  it('an agent that goes silent mid-backup fails the Job as RepoHostUnreachable within the silence window', async () => {
    const url = await fakeAgent((res) => {
      res.writeHead(200, { [BACKUP_STREAM.heartbeatHeader]: String(HEARTBEAT_MS) });
      res.write('INFO: backup command begin\n'); // then nothing, with the connection open: a partition looks so
    });
    const started = Date.now();
    const r = await job(url);
    const took = Date.now() - started;
    expect(r).to.include({ ok: false, reason: 'RepoHostUnreachable' });
    expect(r.message).to.match(/sent nothing for 1 s during the backup/);
    expect(took).to.be.within(SILENCE_MS, SILENCE_MS + 2_000);
  });

  it('an agent that never answers the request fails the Job the same way', async () => {
    const url = await fakeAgent(() => undefined);
    const r = await job(url);
    expect(r).to.include({ ok: false, reason: 'RepoHostUnreachable' });
    expect(r.message).to.match(/after the request/);
  });

  it('an agent of an older image (no heartbeat header) is not timed once it answered', async () => {
    const url = await fakeAgent((res) => {
      res.writeHead(200);
      res.write('INFO: backup command begin\n');
      setTimeout(() => res.end(`${BACKUP_STREAM.resultPrefix}${JSON.stringify({ ok: true, exitCode: 0 })}\n`), SILENCE_MS * 2);
    });
    const r = await job(url);
    expect(r, r.message).to.include({ ok: true });
  });

  it('a Job that goes away stops pgBackRest, and the next backup of the cluster is not refused as busy', async () => {
    writeFileSync(slowFlag, '');
    rmSync(terminated, { force: true });
    const readFile = (name: string) => join(tls.backup, name);
    // The Job's request, dropped once pgBackRest has begun: a Pod deleted or a node lost closes it so.
    const req = request(new URL(AGENT_PATHS.backup, agentUrl), {
      method: 'POST',
      cert: readFileSync(readFile('tls.crt')),
      key: readFileSync(readFile('tls.key')),
      ca: readFileSync(readFile('ca.crt')),
      servername: serverName,
    });
    req.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      req.on('response', (res) => res.once('data', () => resolve()));
      req.end(JSON.stringify(backupRequest));
    });
    req.destroy();
    for (let i = 0; i < 50 && !existsSync(terminated); i++) await sleep(100);
    expect(existsSync(terminated), 'pgBackRest got SIGTERM').to.equal(true);
    rmSync(slowFlag);
    for (let i = 0; i < 50 && (await agent.status()).running; i++) await sleep(100);
    const r = await job(agentUrl);
    expect(r, r.message).to.include({ ok: true });
    expect(r.busy).to.equal(undefined);
  });

  it('a repo host still running an earlier backup: the Job asks again and backs up once it ends', async () => {
    writeFileSync(slowFlag, '');
    const earlier = request(new URL(AGENT_PATHS.backup, agentUrl), {
      method: 'POST',
      cert: readFileSync(join(tls.backup, 'tls.crt')),
      key: readFileSync(join(tls.backup, 'tls.key')),
      ca: readFileSync(join(tls.backup, 'ca.crt')),
      servername: serverName,
    });
    const earlierEnded = new Promise<string>((resolve) => {
      earlier.on('response', (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve(text));
      });
    });
    earlier.end(JSON.stringify({ ...backupRequest, annotation: 'ns/earlier/u' }));
    while (!(await agent.status()).running) await sleep(20);
    setTimeout(() => rmSync(slowFlag, { force: true }), 400);
    const { out, text } = printed();
    const r = await job(agentUrl, out, 10_000);
    expect(r, r.message).to.include({ ok: true });
    expect(text()).to.include('new backup label');
    expect(await earlierEnded).to.include(`${BACKUP_STREAM.resultPrefix}{"ok":true`);
  });

  it('gives up as LockBusy after its wait, naming the backup the repo host runs', async () => {
    const url = await fakeAgent((res) => {
      res.writeHead(409, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'backup ns/earlier/u is running' }));
    });
    const started = Date.now();
    const r = await job(url);
    expect(r).to.include({ ok: false, busy: true, reason: 'LockBusy' });
    expect(r.message).to.match(/earlier backup \(backup ns\/earlier\/u is running\), still after 0 min of asking/);
    expect(Date.now() - started).to.be.within(1_200, 3_000);
  });

  it('a Job lost without a FIN (its node gone): the agent stops the backup once its pings stop', async () => {
    writeFileSync(slowFlag, '');
    rmSync(terminated, { force: true });
    const lost = rawPost(AGENT_PATHS.backup, { ...backupRequest, annotation: 'ns/lost/u' });
    await lost.answered;
    const ping = rawPost(AGENT_PATHS.backupAlive, { annotation: 'ns/lost/u' });
    expect((await ping.answered).statusCode, 'the running backup is acknowledged').to.equal(200);
    // The connection stays open and read, as one to a node that vanished does; only the pings stop.
    const pingedAt = Date.now();
    await waitFor('pgBackRest got SIGTERM', () => existsSync(terminated), SILENCE_MS + 2_000);
    expect(Date.now() - pingedAt).to.be.at.least(SILENCE_MS);
    expect(await lost.text).to.match(/RESULT \{"ok":false/);
    const late = rawPost(AGENT_PATHS.backupAlive, { annotation: 'ns/lost/u' });
    expect((await late.answered).statusCode, 'a ping for a backup that is not running').to.equal(410);
    rmSync(slowFlag, { force: true });
  });

  it('a Job of an older image, which never pings, is not stopped for its silence', async () => {
    writeFileSync(slowFlag, '');
    rmSync(terminated, { force: true });
    const old = rawPost(AGENT_PATHS.backup, { ...backupRequest, annotation: 'ns/old/u' });
    await old.answered;
    await sleep(SILENCE_MS + 4 * HEARTBEAT_MS);
    expect(existsSync(terminated)).to.equal(false);
    rmSync(slowFlag);
    expect(await old.text).to.include(`${BACKUP_STREAM.resultPrefix}{"ok":true`);
  });
});
