/**
 * The repo host agent (decision 0272): HTTPS with mutual TLS on the pod IP, for the operator and the
 * backup Jobs, so nobody needs `pods/exec`. Only a client certificate with CN silo-pg-backup signed
 * by the cluster's CA is served. It runs pgBackRest where the repositories are local (backup,
 * stanza-create, check and expire must run there) and tells what came of it, the cause read from the
 * output. One backup at a time (a second gets 409, before pgBackRest's own lock would fail it with 50).
 *
 *   GET  /status   pgbackrest info --output=json, with the repositories it could not read (repo-failures.ts)
 *   POST /stanza   pgbackrest stanza-create (every repository; never stanza-upgrade, which would hide a mismatch)
 *   POST /check    pgbackrest check (WAL reaches every repository)
 *   POST /backup   {repo, type, annotation, options}: the output as it comes, a heartbeat line while it runs, then one
 *                  line `RESULT <json>` (BACKUP_STREAM); the backup stops if its caller goes away
 *   POST /backup-alive {annotation}: the running backup's Job is there; once it has said so, its silence stops it
 *   POST /wal-time {repo, archiveId, segment}: when that WAL segment reached the repository (wal-time.ts)
 *   POST /metadata {repo, label}: write the set's metadata.json beside pgBackRest's directories (metadata-writer.ts)
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Logger } from '../logging/logger.js';
import {
  AGENT_PATHS,
  BACKUP_ANNOTATION_KEY,
  BACKUP_STREAM,
  PG_CN,
  type BackupAliveRequest,
  PG_STANZA,
  PGBACKREST_CONF_FILE,
  type AgentStatus,
  type BackupRequest,
  type CommandOutcome,
  type PgFailure,
} from '../contracts/pg-pods.js';
import { AGENT_WAL_TIME_PATH, type WalTimeRequest } from '../contracts/pg-restore.js';
import { AGENT_METADATA_PATH, type MetadataAnswer, type MetadataRequest } from '../contracts/pg-backup-metadata.js';
import { readRepoInfo, writePgBackupMetadata } from './metadata-writer.js';
import { pgbackrestOutcome } from './pgbackrest-outcome.js';
import { walTime } from './wal-time.js';
import { parseInfoJson } from './backup-metadata.js';
import { repoFailuresOf } from './repo-failures.js';
import { runAsPostgres } from './pgbackrest-process.js';
import type { TlsFiles } from './tls-files.js';

const BASE = [`--config=${PGBACKREST_CONF_FILE}`, `--stanza=${PG_STANZA}`];
const CHECK_ARCHIVE_TIMEOUT = '--archive-timeout=150';
/**
 * info retries a store it cannot reach until io-timeout passes, for each file it reads: 4 minutes with the default
 * 60 s (measured, 2.45, MinIO stopped), longer than the operator waits for /status. 10 s: 40 s then (decision 0283).
 */
const INFO_IO_TIMEOUT = '--io-timeout=10';
const TYPES: Record<BackupRequest['type'], string> = { full: 'full', differential: 'diff', incremental: 'incr' };
/** The same deny-list the PGBackup schema enforces at admission, checked again: the agent trusts no caller's options. */
const DENIED =
  /^--(no-)?(stanza|type|config|pg[0-9]*-|repo[0-9]*-|repo=|repo$|log-path|lock-path|spool-path|log-level-file|annotation|exec-id|cmd-ssh|tls-server)/;

async function readJson<T>(req: IncomingMessage): Promise<T> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as T;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export function backupArgs(request: BackupRequest): string[] {
  if (!Number.isInteger(request.repo) || request.repo < 1 || request.repo > 4) throw new Error('repo must be 1 to 4');
  if (!TYPES[request.type]) throw new Error('type must be full, differential or incremental');
  if (!/^[a-z0-9./-]{1,300}$/.test(request.annotation)) throw new Error('annotation must be <namespace>/<name>/<uid>');
  const denied = (request.options ?? []).find((o) => DENIED.test(o) || !/^--[a-z][a-z0-9-]*(=[^\s]*)?$/.test(o));
  if (denied) throw new Error(`option ${denied} is not allowed`);
  return [
    ...BASE,
    `--repo=${request.repo}`,
    `--type=${TYPES[request.type]}`,
    `--annotation=${BACKUP_ANNOTATION_KEY}=${request.annotation}`,
    ...request.options,
    'backup',
  ];
}

/**
 * Why a client is refused, if it is: no certificate (401), one the cluster's CA did not sign (403 UnknownCA), or
 * another CN (403 ClientNotAuthorized). The TLS server asks for a certificate without failing the handshake, so
 * the client learns which: with TLS 1.3 a handshake refusal reaches it only as "socket hang up".
 */
export function refusal(socket: TLSSocket): { status: number; body: { reason: PgFailure; error: string } } | undefined {
  const peer = socket.getPeerCertificate();
  if (!peer || !Object.keys(peer).length)
    return { status: 401, body: { reason: 'NoClientCertificate', error: 'the repo host agent needs a client certificate' } };
  if (!socket.authorized)
    return {
      status: 403,
      body: {
        reason: 'UnknownCA',
        error: `the client certificate is not signed by the cluster's CA (${String(socket.authorizationError)})`,
      },
    };
  if (peer.subject?.CN !== PG_CN.backup)
    return {
      status: 403,
      body: {
        reason: 'ClientNotAuthorized',
        error: `client certificate CN ${JSON.stringify(peer.subject?.CN ?? '')} is not ${PG_CN.backup}`,
      },
    };
  return undefined;
}

/** How long a status read ahead after a backup answers later requests (RepoAgent.status). */
export const AHEAD_KEPT_MS = 3_000;

/** pgBackRest's line naming the set a backup made: `INFO: new backup label = 20261205-110612F`. */
const NEW_BACKUP_LABEL = /new backup label = (\d{8}-\d{6}F(?:_\d{8}-\d{6}[DI])?)/;

export class RepoAgent {
  private running?: string;
  /**
   * The info being read: callers meanwhile (the operator, Jobs) share it rather than each starting another (a store
   * that does not answer holds one 40 s). Not across the end of a command that changes what info says (a backup,
   * stanza-create, check): its caller must find the result.
   */
  private reading?: { promise: Promise<AgentStatus>; changes: number; keptUntil?: number };
  private changes = 0;

  /** When the running backup's Job last said it is there (POST /backup-alive); undefined until it first does. */
  private jobHeardAt?: number;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly stream: { heartbeatMs: number; silenceMs: number } = BACKUP_STREAM,
  ) {}

  /**
   * `ahead`: read right after a backup ended, before the operator asks (it does once it sees the Job's Pod exit, about
   * 0.1 s later), and kept for AHEAD_KEPT_MS unless something changes it: bench:pg measured the operator's own read at
   * 0.15–0.2 s of every PGBackup. Any other read is shared only while it runs.
   */
  status(ahead = false): Promise<AgentStatus> {
    const r = this.reading;
    const current = r?.changes === this.changes && (r.keptUntil === undefined || this.now() < r.keptUntil);
    if (!current) {
      const reading: NonNullable<RepoAgent['reading']> = { promise: this.readStatus(), changes: this.changes };
      this.reading = reading;
      // Kept only when it read the repository: a failure read ahead must not answer for a later request (the operator
      // would fail the PGBackup with NotInRepository on a store that stumbled once).
      const done = (read?: AgentStatus) => {
        if (this.reading !== reading) return;
        if (ahead && read && !read.infoError) reading.keptUntil = this.now() + AHEAD_KEPT_MS;
        else this.reading = undefined;
      };
      reading.promise.then(done, () => done());
    }
    return this.reading!.promise.then((s) => ({ ...s, running: this.running }));
  }

  private async readStatus(): Promise<AgentStatus> {
    const r = await runAsPostgres('pgbackrest', [...BASE, INFO_IO_TIMEOUT, '--output=json', 'info']);
    if (r.code !== 0) return { info: [], infoError: pgbackrestOutcome(r.code, r.output).message, running: this.running };
    const info = parseInfoJson(r.stdout); // system ids as strings, a repository's raw error text made JSON
    const repoFailures = repoFailuresOf(info);
    return { info, ...(repoFailures.length ? { repoFailures } : {}) };
  }

  /**
   * The set's metadata.json, written as soon as the backup ends rather than when the operator asks (POST /metadata,
   * after the Job's Pod has exited and been seen): the operator's request then finds it written, or being written
   * (bench:pg: 0.1–0.16 s of every PGBackup). The operator still names the set, from `info` by its annotation; a
   * request for another set, or after a failed attempt, writes afresh.
   */
  private ahead?: { repo: number; label: string; answer: Promise<MetadataAnswer> };

  private writeMetadataAhead(repo: number, output: string, reading: Promise<AgentStatus>): void {
    const label = NEW_BACKUP_LABEL.exec(output)?.[1];
    // The info read ahead for the operator serves the document too; a read that failed is not judged here: the
    // writer reads its own repository's then, and words that failure.
    const readInfo = async (repo: number) => {
      const read = await reading;
      return read.infoError ? readRepoInfo(repo) : read.info;
    };
    this.ahead = label ? { repo, label, answer: writePgBackupMetadata({ repo, label }, process.env, readInfo) } : undefined;
  }

  private async metadata(request: MetadataRequest): Promise<MetadataAnswer> {
    const ahead = this.ahead;
    if (ahead && ahead.repo === request.repo && ahead.label === request.label) {
      const answer = await ahead.answer;
      if (answer.ok) return answer;
    }
    return writePgBackupMetadata(request, process.env);
  }

  async command(name: 'stanza-create' | 'check'): Promise<CommandOutcome> {
    // WAL pushed before the stanza existed failed, and PostgreSQL's archiver waits 60 s after three failures before
    // it tries again: the first check after stanza-create waits longer than pgBackRest's default 60 s.
    const extra = name === 'check' ? [CHECK_ARCHIVE_TIMEOUT] : [];
    const r = await runAsPostgres('pgbackrest', [...BASE, ...extra, name], { onLine: (line) => this.log.info(line, { command: name }) });
    this.changes++;
    return pgbackrestOutcome(r.code, r.output);
  }

  async backup(request: BackupRequest, res: ServerResponse): Promise<void> {
    let args: string[];
    try {
      args = backupArgs(request);
    } catch (error) {
      return send(res, 400, { error: (error as Error).message });
    }
    if (this.running) return send(res, 409, { error: `backup ${this.running} is running` });
    this.running = request.annotation;
    this.jobHeardAt = undefined;
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      [BACKUP_STREAM.heartbeatHeader]: String(this.stream.heartbeatMs),
    });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      this.running = undefined;
      this.changes++;
    };
    // The backup lives as long as the Job that asked for it: its Pod deleted (the PGBackup deleted, a drain), its
    // connection lost, or its node lost (its pings stop) stops pgBackRest, which would otherwise run on for a
    // PGBackup already failed and hold off the cluster's next backup (409) until it ended.
    const stop = new AbortController();
    const stopFor = (why: string) => {
      if (ended || stop.signal.aborted) return;
      this.log.warn(`${why}; stopping its backup`, { annotation: request.annotation });
      stop.abort();
    };
    res.on('error', () => undefined); // a write after the caller went away is dropped; its 'close' stops the backup
    res.on('close', () => {
      if (!res.writableFinished) stopFor('the backup Job went away');
    });
    const heartbeat = setInterval(() => {
      res.write(`${BACKUP_STREAM.heartbeatLine}\n`);
      // Only a Job that has pinged is expected to: one of an older image never does.
      if (this.jobHeardAt !== undefined && this.now() - this.jobHeardAt > this.stream.silenceMs)
        stopFor(`the backup Job has not been heard from for ${Math.round(this.stream.silenceMs / 1000)} s`);
    }, this.stream.heartbeatMs);
    try {
      const r = await runAsPostgres('pgbackrest', ['--log-level-console=info', ...args], {
        onLine: (line) => res.write(`${line}\n`),
        signal: stop.signal,
      });
      const outcome = pgbackrestOutcome(r.code, r.output);
      this.log.info(stop.signal.aborted ? 'backup stopped' : 'backup finished', {
        annotation: request.annotation,
        ok: outcome.ok,
        reason: outcome.reason,
      });
      end();
      // The operator's next requests are for the new set in `info` and its metadata.json: both start now, on one read.
      if (outcome.ok) {
        const reading = this.status(true);
        reading.catch(() => undefined); // a read that failed is judged by whoever asks for it
        this.writeMetadataAhead(request.repo, r.output, reading);
      }
      res.end(`${BACKUP_STREAM.resultPrefix}${JSON.stringify(outcome)}\n`);
    } finally {
      end();
    }
  }

  /** POST /backup-alive: the running backup's Job is there (BACKUP_STREAM). */
  alive(request: BackupAliveRequest): { status: number; body: { running: boolean } } {
    if (!this.running || request.annotation !== this.running) return { status: 410, body: { running: false } };
    this.jobHeardAt = this.now();
    return { status: 200, body: { running: true } };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const refused = refusal(req.socket as TLSSocket);
    if (refused) return send(res, refused.status, refused.body);
    const path = new URL(req.url ?? '/', 'https://agent').pathname;
    if (req.method === 'GET' && path === AGENT_PATHS.status) return send(res, 200, await this.status());
    if (req.method === 'POST' && path === AGENT_PATHS.stanza) return send(res, 200, await this.command('stanza-create'));
    if (req.method === 'POST' && path === AGENT_PATHS.check) return send(res, 200, await this.command('check'));
    if (req.method === 'POST' && path === AGENT_PATHS.backup) return this.backup(await readJson<BackupRequest>(req), res);
    if (req.method === 'POST' && path === AGENT_PATHS.backupAlive) {
      const { status, body } = this.alive(await readJson<BackupAliveRequest>(req));
      return send(res, status, body);
    }
    if (req.method === 'POST' && path === AGENT_WAL_TIME_PATH) return send(res, 200, await walTime(await readJson<WalTimeRequest>(req)));
    if (req.method === 'POST' && path === AGENT_METADATA_PATH)
      return send(res, 200, await this.metadata(await readJson<MetadataRequest>(req)));
    return send(res, 404, { error: `no route ${req.method} ${path}` });
  }
}

export function createRepoAgentServer(tls: TlsFiles, agent: RepoAgent, log: Logger): Server {
  const server = createServer(
    {
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
      ca: readFileSync(tls.ca),
      // Every request is refused unless the certificate verified (refusal()); the handshake itself does not fail, so
      // the client is told why.
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (req, res) => {
      agent.handle(req, res).catch((error: Error) => {
        log.error('agent request failed', { error: error.message });
        if (!res.headersSent) send(res, 500, { error: error.message });
        else res.end();
      });
    },
  );
  return server;
}
