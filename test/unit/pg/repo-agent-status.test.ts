/**
 * The repo host agent's `pgbackrest info` reads (RepoAgent.status): read ahead once a backup ended, so the operator's
 * request right after finds the new set without waiting for another read, and otherwise never served from a copy.
 * pgBackRest is a script on PATH here that counts its `info` runs: what is tested is when the agent starts one.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createLogger } from '../../../runtime/logging/logger.js';
import { AHEAD_KEPT_MS, RepoAgent } from '../../../runtime/pg/repo-agent.js';

const quiet = createLogger({ component: 'test' }, { write: () => undefined });

/** What an HTTP response is to RepoAgent.backup: the lines it streamed. */
function response(): { res: ServerResponse; text: () => string } {
  let text = '';
  const res = {
    headersSent: false,
    writeHead: () => res,
    on: () => res,
    write: (chunk: string) => ((text += chunk), true),
    end: (chunk?: string) => ((text += chunk ?? ''), res),
  };
  return { res: res as unknown as ServerResponse, text: () => text };
}

describe('RepoAgent status reads (pgbackrest info on the repo host)', () => {
  let dir: string;
  let calls: string;
  /** While this file exists, `pgbackrest info` fails as a store that does not answer. */
  let failFlag: string;
  let path: string | undefined;
  let clock: number;
  const runs = (what: 'info' | 'repo-info') =>
    readFileSync(calls, 'utf8')
      .split('\n')
      .filter((l) => l === what).length;
  const infoReads = () => runs('info');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'silo-agent-info-'));
    // Run as postgres when the tests run as root (runAsPostgres): the script and its log must be theirs to use.
    chmodSync(dir, 0o755);
    calls = join(dir, 'calls');
    failFlag = join(dir, 'fail');
    writeFileSync(calls, '');
    chmodSync(calls, 0o666);
    const script = [
      '#!/bin/sh',
      'last=""; repo=""',
      'for a in "$@"; do last="$a"; case "$a" in --repo=*) repo=1;; esac; done',
      `case "$last" in`,
      `  info) [ -n "$repo" ] && { echo repo-info >> ${calls}; exit 1; }; echo info >> ${calls}; sleep 0.2; [ -e ${failFlag} ] && { echo 'ERROR: [039]: unreachable' >&2; exit 39; }; echo '[]';;`,
      `  backup) echo 'INFO: new backup label = 20261205-110612F';;`,
      '  *) exit 1;;',
      'esac',
    ].join('\n');
    writeFileSync(join(dir, 'pgbackrest'), `${script}\n`, { mode: 0o755 });
    path = process.env.PATH;
    process.env.PATH = `${dir}:${path}`;
    clock = 1_000_000;
  });
  afterEach(() => {
    process.env.PATH = path;
    rmSync(dir, { recursive: true, force: true });
  });

  const backUp = async (agent: RepoAgent) => {
    const { res, text } = response();
    await agent.backup({ repo: 1, type: 'full', annotation: 'ns/b/u', options: [] }, res);
    expect(text()).to.match(/RESULT \{"ok":true/);
  };

  it('reads info ahead after a backup, and the next request (the operator completing the PGBackup) shares it', async () => {
    const agent = new RepoAgent(quiet, () => clock);
    await backUp(agent);
    const first = await agent.status();
    const second = await agent.status();
    expect(first.info).to.deep.equal([]);
    expect(second.info).to.deep.equal([]);
    expect(infoReads()).to.equal(1);
  });

  it("writes the set's metadata.json ahead from that same read, not from a second pgbackrest info", async () => {
    const agent = new RepoAgent(quiet, () => clock);
    await backUp(agent);
    // The document itself fails here (this pgBackRest has no repo-get); what is counted is the info it read.
    const answer = await agent['ahead']!.answer;
    expect(answer.ok).to.equal(false);
    expect(infoReads()).to.equal(1);
    expect(runs('repo-info')).to.equal(0);
  });

  it("reads the repository's own info for the document when the read ahead failed", async () => {
    const agent = new RepoAgent(quiet, () => clock);
    writeFileSync(failFlag, '');
    chmodSync(failFlag, 0o666);
    await backUp(agent);
    const answer = await agent['ahead']!.answer;
    expect(answer).to.deep.include({ ok: false });
    expect(runs('repo-info')).to.equal(1);
  });

  it('keeps the read ahead for AHEAD_KEPT_MS only', async () => {
    const agent = new RepoAgent(quiet, () => clock);
    await backUp(agent);
    await agent.status();
    clock += AHEAD_KEPT_MS + 1;
    await agent.status();
    expect(infoReads()).to.equal(2);
  });

  it('never serves a finished read again otherwise: each request after the last one ended reads afresh', async () => {
    const agent = new RepoAgent(quiet, () => clock);
    await agent.status();
    await agent.status();
    expect(infoReads()).to.equal(2);
    // Concurrent requests share the read that runs.
    await Promise.all([agent.status(), agent.status()]);
    expect(infoReads()).to.equal(3);
  });

  it('never keeps a read ahead that failed: the next request reads the repository again', async () => {
    const agent = new RepoAgent(quiet, () => clock);
    writeFileSync(failFlag, '');
    chmodSync(failFlag, 0o666);
    await backUp(agent);
    // Shares the read ahead while it runs (or reads again if it already ended): a failure either way.
    expect((await agent.status()).infoError).to.be.a('string');
    rmSync(failFlag);
    const status = await agent.status();
    expect(status.infoError).to.equal(undefined);
    expect(status.info).to.deep.equal([]);
  });

  it('drops the read ahead when a command changes what info says (check, stanza-create)', async () => {
    const agent = new RepoAgent(quiet, () => clock);
    await backUp(agent);
    await agent.status();
    await agent.command('check');
    await agent.status();
    expect(infoReads()).to.equal(2);
  });
});
