/**
 * A replica's bootstrap (decision 0275): an empty volume is filled by pg_basebackup from the primary
 * over TLS, as `streaming_replica` with the instance certificate, streaming the WAL it needs through
 * the replica's own slot, into a staging directory renamed to PGDATA only when complete (a Pod killed
 * half-way starts over, never from half a copy). The replica then runs with standby.signal and its
 * primary_conninfo and primary_slot_name on postgres' command line, so a changed primary address
 * reaches it on the next start. It has no restore_command: it needs the slot, not the repository,
 * and so holds no storage credential or cipher passphrase.
 */
import { chownSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import { PG_PORT, PG_REPLICA_VAR, PG_REPLICATION_USER, PG_TLS_COPY, PGDATA } from '../contracts/pg-pods.js';
import { postgresIds, runAsPostgres } from './pgbackrest-process.js';
import { ownedDir } from './tls-files.js';

export interface ReplicaRole {
  readonly primaryHost: string;
  readonly slot: string;
  readonly instance: string;
}

/** The replica's role from its environment, or undefined on the primary. */
export function replicaRoleOf(env: NodeJS.ProcessEnv): ReplicaRole | undefined {
  const primaryHost = env[PG_REPLICA_VAR.primaryHost];
  if (!primaryHost) return undefined;
  return { primaryHost, slot: env[PG_REPLICA_VAR.slot] ?? '', instance: env[PG_REPLICA_VAR.instance] ?? '' };
}

/** libpq's connection string to the primary: TLS checked against the cluster CA and the primary's name, the instance certificate as login. */
export const primaryConninfo = (role: ReplicaRole): string =>
  [
    `host=${role.primaryHost}`,
    `port=${PG_PORT}`,
    `user=${PG_REPLICATION_USER}`,
    `application_name=${role.instance}`,
    'sslmode=verify-full',
    `sslrootcert=${PG_TLS_COPY.ca}`,
    `sslcert=${PG_TLS_COPY.cert}`,
    `sslkey=${PG_TLS_COPY.key}`,
    'connect_timeout=10',
  ].join(' ');

/** postgres' settings of a replica. */
export const replicaSettings = (role: ReplicaRole): Record<string, string> => ({
  primary_conninfo: primaryConninfo(role),
  primary_slot_name: role.slot,
  hot_standby: 'on',
});

function touchStandbySignal(dir: string): void {
  const path = join(dir, 'standby.signal');
  if (existsSync(path)) return;
  writeFileSync(path, '', { mode: 0o600 });
  const ids = postgresIds();
  if (ids) chownSync(path, ids.uid, ids.gid);
}

/** Fills an empty PGDATA from the primary; a PGDATA that exists stays (a restarted replica resumes from its slot). */
export async function joinPrimaryIfEmpty(role: ReplicaRole, pgBin: string, log: Logger): Promise<void> {
  if (existsSync(join(PGDATA, 'PG_VERSION'))) {
    // No failover in this version: a replica stays a standby (decision 0274).
    touchStandbySignal(PGDATA);
    return;
  }
  const staging = `${PGDATA}.joining`;
  rmSync(staging, { recursive: true, force: true });
  ownedDir(staging);
  log.info('PGDATA is empty: pg_basebackup from the primary', { primary: role.primaryHost, slot: role.slot });
  const started = Date.now();
  const args = ['-d', primaryConninfo(role), '-D', staging, '-X', 'stream', '-S', role.slot, '--checkpoint=fast', '--no-password'];
  const result = await runAsPostgres(join(pgBin, 'pg_basebackup'), args);
  if (result.code !== 0) throw new Error(`pg_basebackup from ${role.primaryHost} failed (${result.code}): ${result.output.slice(-2000)}`);
  touchStandbySignal(staging);
  rmSync(PGDATA, { recursive: true, force: true });
  renameSync(staging, PGDATA);
  log.info('joined the primary', { seconds: Math.round((Date.now() - started) / 1000) });
}
