/**
 * `silo pg backup`: the PGBackup Job's command. It asks the repo host agent over mutual TLS to run
 * `pgbackrest backup` (POST /backup), prints pgBackRest's output as it comes, and ends with the
 * outcome: the agent's RESULT line, its cause mapped to a reason (runtime/pg/pgbackrest-outcome.ts).
 * The agent is dialed by pod IP and checked by the name in its certificate.
 */
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import {
  AGENT_PATHS,
  PG_TLS_MOUNT,
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

export function runPgBackupJob(
  env: NodeJS.ProcessEnv,
  log: Logger,
  out: NodeJS.WritableStream = process.stdout,
  tlsDir = PG_TLS_MOUNT,
): Promise<PgBackupJobResult> {
  const url = env[PG_VAR.agentUrl];
  const body = env[PG_VAR.backupRequest];
  if (!url || !body) throw new ConfigError(`${PG_VAR.agentUrl} and ${PG_VAR.backupRequest} must be set; the PGBackup reconciler sets both`);
  const parsed = JSON.parse(body) as BackupRequest;
  // A file that is not there is sent as nothing: the agent then says what is missing (no client certificate).
  const tls = (name: string) => (existsSync(join(tlsDir, name)) ? readFileSync(join(tlsDir, name)) : undefined);
  log.info('asking the repo host to back up', { repo: parsed.repo, type: parsed.type, annotation: parsed.annotation });
  return new Promise((resolve) => {
    const req = request(
      new URL(AGENT_PATHS.backup, url),
      {
        method: 'POST',
        cert: tls('tls.crt'),
        key: tls('tls.key'),
        ca: tls('ca.crt'),
        servername: env[PG_VAR.agentServerName],
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let partial = '';
        let result: PgBackupJobResult | undefined;
        res.on('data', (chunk: Buffer) => {
          const lines = (partial + chunk.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          for (const line of lines) {
            if (line.startsWith('RESULT ')) result = JSON.parse(line.slice(7)) as CommandOutcome;
            else out.write(`${line}\n`);
          }
        });
        res.on('end', () => {
          if (res.statusCode === 401 || res.statusCode === 403) return resolve(refusedOutcome(partial));
          if (res.statusCode === 409)
            return resolve({
              ok: false,
              exitCode: null,
              busy: true,
              reason: 'LockBusy',
              message: 'the repo host is running another backup',
            });
          if (res.statusCode !== 200)
            return resolve({
              ok: false,
              exitCode: null,
              reason: 'PgBackRestFailed',
              message: `repo host agent: HTTP ${res.statusCode} ${partial}`,
            });
          resolve(
            result ?? {
              ok: false,
              exitCode: null,
              reason: 'RepoHostUnreachable',
              message: 'the repo host agent closed the stream before the result',
            },
          );
        });
        res.on('error', (error) => resolve(transportOutcome(error)));
      },
    );
    req.on('error', (error) => resolve(transportOutcome(error)));
    req.end(body);
  });
}
