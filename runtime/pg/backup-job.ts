/**
 * `silo pg backup`: the PGBackup Job's command. It asks the repo host agent over mutual TLS to run
 * `pgbackrest backup` (POST /backup), prints pgBackRest's output as it comes, and ends with the
 * outcome: the agent's RESULT line, its cause mapped to a reason (runtime/pg/pgbackrest-outcome.ts).
 * The agent is dialed by pod IP and checked by the name in its certificate.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { AGENT_PATHS, PG_TLS_MOUNT, PG_VAR, type BackupRequest, type CommandOutcome } from '../contracts/pg-pods.js';
import { ConfigError } from '../contracts/config-error.js';

export type PgBackupJobResult = CommandOutcome & { readonly busy?: boolean };

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|HOSTNAME/i;

/** A transport failure as a reason: the agent unreachable, or a TLS failure. */
export function transportOutcome(error: NodeJS.ErrnoException): PgBackupJobResult {
  const code = error.code ?? '';
  if (TLS_CODES.test(code) || TLS_CODES.test(error.message))
    return { ok: false, exitCode: null, reason: 'UnknownCA', message: `TLS with the repo host agent failed: ${error.message}` };
  return {
    ok: false,
    exitCode: null,
    reason: 'RepoHostUnreachable',
    message: `the repo host agent could not be reached: ${error.message}`,
  };
}

export function runPgBackupJob(
  env: NodeJS.ProcessEnv,
  log: Logger,
  out: NodeJS.WritableStream = process.stdout,
): Promise<PgBackupJobResult> {
  const url = env[PG_VAR.agentUrl];
  const body = env[PG_VAR.backupRequest];
  if (!url || !body) throw new ConfigError(`${PG_VAR.agentUrl} and ${PG_VAR.backupRequest} must be set; the PGBackup reconciler sets both`);
  const parsed = JSON.parse(body) as BackupRequest;
  const tls = (name: string) => readFileSync(join(PG_TLS_MOUNT, name));
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
