/**
 * `silo pg backup`: the PGBackup Job's command. It asks the repo host agent over mutual TLS to run
 * `pgbackrest backup` (POST /backup), prints pgBackRest's output as it comes, and ends with the
 * outcome: the agent's RESULT line, its cause mapped to a reason (runtime/pg/pgbackrest-outcome.ts).
 * The agent is dialed by pod IP and checked by the name in its certificate.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logging/logger.js';
import {
  AGENT_PATHS,
  BACKUP_STREAM,
  PG_TLS_MOUNT,
  type BackupAliveRequest,
  PG_VAR,
  type BackupRequest,
  type CommandOutcome,
  type PgFailure,
  PG_FAILURES,
} from '../contracts/pg-pods.js';
import { ConfigError } from '../contracts/config-error.js';

export type PgBackupJobResult = CommandOutcome & { readonly busy?: boolean };

/** Node's TLS and socket errors, each as the reason a user can act on (the TLS matrix of issue 14). */
const TRANSPORT: ReadonlyArray<readonly [PgFailure, RegExp, string]> = [
  ['NoClientCertificate', /CERTIFICATE_REQUIRED|certificate required/i, 'the repo host agent asked for a client certificate and got none'],
  [
    'UnknownCA',
    /UNKNOWN_CA|unknown ca|UNABLE_TO_VERIFY|SELF_SIGNED|CERT_SIGNATURE|unable to get (local )?issuer/i,
    'a certificate from another CA',
  ],
  ['UnknownCA', /HOSTNAME|ALTNAME|Hostname\/IP does not match/i, "the repo host's certificate does not name the repo host"],
  [
    'RepoHostUnreachable',
    /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN|ENOTFOUND/i,
    'the repo host agent could not be reached',
  ],
];

/** A transport failure as a reason: the agent unreachable, or which TLS failure. */
export function transportOutcome(error: NodeJS.ErrnoException): PgBackupJobResult {
  const text = `${error.code ?? ''} ${error.message}`;
  const found = TRANSPORT.find(([, pattern]) => pattern.test(text));
  const [reason, sentence] = found
    ? [found[0], found[2]]
    : (['RepoHostUnreachable', 'the connection to the repo host agent failed'] as const);
  return { ok: false, exitCode: null, reason, message: `${sentence}: ${error.message}` };
}

/** The agent's 401/403 body: which certificate failure it saw (repo-agent.ts refusal()). */
function refusedOutcome(body: string): PgBackupJobResult {
  let parsed: { reason?: string; error?: string } = {};
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    /* not the agent's JSON */
  }
  const reason = PG_FAILURES.find((r) => r === parsed.reason) ?? 'ClientNotAuthorized';
  return { ok: false, exitCode: null, reason, message: parsed.error ?? 'the repo host agent refused this client certificate' };
}

/** The agent's `{error}` body, or the body itself. */
function agentError(body: string): string {
  try {
    return String((JSON.parse(body) as { error?: unknown }).error ?? body);
  } catch {
    return body;
  }
}

/** What the agent's answer to POST /backup came to, once it ended: its result line, or why there is none. */
function answerOutcome(status: number | undefined, rest: string, result: PgBackupJobResult | undefined): PgBackupJobResult {
  if (status === 401 || status === 403) return refusedOutcome(rest);
  if (status === 409)
    return {
      ok: false,
      exitCode: null,
      busy: true,
      reason: 'LockBusy',
      message: `the repo host is running an earlier backup (${agentError(rest)})`,
    };
  if (status !== 200) return { ok: false, exitCode: null, reason: 'PgBackRestFailed', message: `repo host agent: HTTP ${status} ${rest}` };
  return (
    result ?? {
      ok: false,
      exitCode: null,
      reason: 'RepoHostUnreachable',
      message: 'the repo host agent closed the stream before the result',
    }
  );
}

/** The agent, or the way to it, went quiet past its heartbeats: the Job fails now rather than at its deadline. */
export function silenceOutcome(silenceMs: number, answered: boolean): PgBackupJobResult {
  return {
    ok: false,
    exitCode: null,
    reason: 'RepoHostUnreachable',
    message: `the repo host agent sent nothing for ${Math.round(silenceMs / 1000)} s ${answered ? 'during the backup' : 'after the request'}: its Pod or node is lost, or the network to it is cut`,
  };
}

/** How long the Job waits on its agent: its silence, and a repo host still busy with an earlier backup. */
export interface PgBackupJobTiming {
  /**
   * How long the agent may send nothing. It applies from the connection on, and once the agent answers only if it
   * says it sends heartbeats (BACKUP_STREAM): an agent of an older image does not, and stays quiet while it copies.
   */
  readonly silenceMs: number;
  /** How often to ask again while the agent answers 409. */
  readonly busyRetryMs: number;
  /** How long to keep asking: past the ~15 min in which the agent notices a Job lost without a FIN and stops its backup. */
  readonly busyWaitMs: number;
}

export const PG_BACKUP_JOB_TIMING: PgBackupJobTiming = { silenceMs: BACKUP_STREAM.silenceMs, busyRetryMs: 5_000, busyWaitMs: 20 * 60_000 };

/**
 * Asks until the agent takes the backup. Its 409 means a backup the agent runs for an earlier Job: Silo runs one
 * PGBackup of a cluster at a time, so that Job went away and the agent is still stopping it, or has not yet noticed
 * (decision 0272, amended). That is the queue's turn not yet come, not a failure: this Job waits for it.
 */
export async function runPgBackupJob(
  env: NodeJS.ProcessEnv,
  log: Logger,
  out: NodeJS.WritableStream = process.stdout,
  tlsDir = PG_TLS_MOUNT,
  timing: Partial<PgBackupJobTiming> = {},
): Promise<PgBackupJobResult> {
  const t = { ...PG_BACKUP_JOB_TIMING, ...timing };
  const url = env[PG_VAR.agentUrl];
  const body = env[PG_VAR.backupRequest];
  if (!url || !body) throw new ConfigError(`${PG_VAR.agentUrl} and ${PG_VAR.backupRequest} must be set; the PGBackup reconciler sets both`);
  const parsed = JSON.parse(body) as BackupRequest;
  // A file that is not there is sent as nothing: the agent then says what is missing (no client certificate).
  const tls = (name: string) => (existsSync(join(tlsDir, name)) ? readFileSync(join(tlsDir, name)) : undefined);
  const dial: AgentDial = {
    url: new URL(AGENT_PATHS.backup, url),
    cert: tls('tls.crt'),
    key: tls('tls.key'),
    ca: tls('ca.crt'),
    servername: env[PG_VAR.agentServerName],
  };
  log.info('asking the repo host to back up', { repo: parsed.repo, type: parsed.type, annotation: parsed.annotation });
  const started = Date.now();
  let toldAt = 0;
  for (;;) {
    const result = await askRepoHost(dial, { body, annotation: parsed.annotation }, out, t.silenceMs);
    const waited = Date.now() - started;
    if (!result.busy) return result;
    if (waited + t.busyRetryMs > t.busyWaitMs)
      return { ...result, message: `${result.message}, still after ${Math.round(waited / 60_000)} min of asking` };
    if (Date.now() - toldAt >= 60_000) {
      log.info('the repo host is still running an earlier backup; asking again until it ends', { detail: result.message });
      toldAt = Date.now();
    }
    await sleep(t.busyRetryMs);
  }
}

interface AgentDial {
  readonly url: URL;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly ca?: Buffer;
  readonly servername?: string;
}

/** POST /backup-alive: this Job is there. What comes of it does not matter here: the backup's own stream tells. */
function sayAlive(dial: AgentDial, annotation: string, timeoutMs: number): void {
  const { url, ...tls } = dial;
  const req = request(
    new URL(AGENT_PATHS.backupAlive, url),
    { method: 'POST', ...tls, headers: { 'content-type': 'application/json' }, timeout: timeoutMs },
    (res) => res.resume(),
  );
  req.on('timeout', () => req.destroy());
  req.on('error', () => undefined);
  req.end(JSON.stringify({ annotation } satisfies BackupAliveRequest));
}

/**
 * One POST /backup: pgBackRest's output to `out`, heartbeats dropped, and how it ended. While an agent that sends
 * heartbeats runs it, this Job says it is there as often (BACKUP_STREAM), so a Job whose node is lost stops it.
 */
function askRepoHost(
  dial: AgentDial,
  ask: { body: string; annotation: string },
  out: NodeJS.WritableStream,
  silenceMs: number,
): Promise<PgBackupJobResult> {
  return new Promise((resolve) => {
    let answered = false;
    let settled = false;
    let alive: NodeJS.Timeout | undefined;
    const settle = (result: PgBackupJobResult) => {
      if (settled) return;
      settled = true;
      clearInterval(alive);
      resolve(result);
    };
    const { url, ...tls } = dial;
    const req = request(
      url,
      {
        method: 'POST',
        ...tls,
        headers: { 'content-type': 'application/json' },
        // The socket's idle time, from before it connects: a repo host that is gone answers no SYN and no heartbeat.
        timeout: silenceMs,
      },
      (res) => {
        answered = true;
        const heartbeatMs = Number(res.headers[BACKUP_STREAM.heartbeatHeader]);
        if (res.statusCode === 200 && heartbeatMs > 0) {
          sayAlive(dial, ask.annotation, heartbeatMs);
          alive = setInterval(() => sayAlive(dial, ask.annotation, heartbeatMs), heartbeatMs);
        } else req.setTimeout(0);
        let partial = '';
        let result: PgBackupJobResult | undefined;
        res.on('data', (chunk: Buffer) => {
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (line === BACKUP_STREAM.heartbeatLine) continue;
            if (line.startsWith(BACKUP_STREAM.resultPrefix))
              result = JSON.parse(line.slice(BACKUP_STREAM.resultPrefix.length)) as CommandOutcome;
            else out.write(`${line}\n`);
          }
        });
        res.on('end', () => settle(answerOutcome(res.statusCode, partial, result)));
        res.on('error', (error) => settle(transportOutcome(error)));
      },
    );
    req.on('timeout', () => {
      settle(silenceOutcome(silenceMs, answered));
      req.destroy();
    });
    req.on('error', (error) => settle(transportOutcome(error)));
    req.end(ask.body);
  });
}
