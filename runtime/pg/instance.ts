/**
 * `silo pg instance`: the database container of a PGCluster instance. It makes PGDATA on the PVC
 * with initdb when the volume is empty, then runs postgres with WAL archived through pgBackRest
 * (archive-push, async with a spool on the PVC, to the repo host over TLS) and `pgbackrest server` on
 * the pod IP, so the repo host can back it up. The Pod holds no storage credential: those live on the
 * repo host (principle 5, decision 0271); an encrypted repository's passphrase is here too, because
 * pgBackRest encrypts WAL on the database side (decision 0270).
 */
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../logging/logger.js';
import {
  PG_PORT,
  PG_RUN_DIR,
  PG_SOCKET_DIR,
  PG_SPOOL,
  PG_STANZA,
  PG_SUPERUSER_MOUNT,
  PG_VAR,
  PG_VOLUME_MOUNT,
  PGBACKREST_CONF_FILE,
  PGDATA,
} from '../contracts/pg-pods.js';
import { podIp, pgbackrestServerArgs, pgbackrestServerEnv, writePgbackrestConf } from './pg-config-file.js';
import { postgresIds, runAsPostgres, spawnAsPostgres } from './pgbackrest-process.js';
import { superviseUntilExit, type Supervised } from './supervise.js';
import { accessSettings } from './pg-access.js';
import { joinPrimaryIfEmpty, replicaRoleOf, replicaSettings } from './replica-join.js';
import { copyTlsFiles, ownedDir } from './tls-files.js';

const PG_BIN = process.env.SILO_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** postgres' settings, on its command line so the operator's change reaches it on the next start. */
export function postgresSettings(ip: string, extra: Record<string, string>): string[] {
  const settings: Record<string, string> = {
    listen_addresses: ip,
    port: String(PG_PORT),
    unix_socket_directories: PG_SOCKET_DIR,
    wal_level: 'replica',
    archive_mode: 'on',
    // pgBackRest async: archive-push queues WAL in the spool and a background process ships it in batches.
    archive_command: `pgbackrest --config=${PGBACKREST_CONF_FILE} --stanza=${PG_STANZA} archive-push %p`,
    archive_timeout: '60',
    ...extra,
  };
  return Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
}

async function initdbIfEmpty(log: Logger): Promise<void> {
  if (existsSync(join(PGDATA, 'PG_VERSION'))) return;
  log.info('PGDATA is empty: initdb', { pgdata: PGDATA });
  rmSync(PGDATA, { recursive: true, force: true });
  ownedDir(PGDATA);
  // initdb reads the password from a file the postgres user can read; the mounted one is root's.
  const pwfile = join(PG_RUN_DIR, '.superuser-password');
  copyFileSync(join(PG_SUPERUSER_MOUNT, 'password'), pwfile);
  chmodSync(pwfile, 0o600);
  const ids = postgresIds();
  if (ids) chownSync(pwfile, ids.uid, ids.gid);
  try {
    const result = await runAsPostgres(join(PG_BIN, 'initdb'), [
      '-D',
      PGDATA,
      '-U',
      'postgres',
      `--pwfile=${pwfile}`,
      '--auth-local=peer',
      '--auth-host=scram-sha-256',
      '--data-checksums',
    ]);
    if (result.code !== 0) throw new Error(`initdb failed (${result.code}): ${result.output.slice(-2000)}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
  appendFileSync(join(PGDATA, 'pg_hba.conf'), '\n# Silo: password logins over TCP\nhost all all 0.0.0.0/0 scram-sha-256\n');
}

export async function runPgInstance(env: NodeJS.ProcessEnv, log: Logger): Promise<number> {
  const ip = podIp(env);
  ownedDir(PG_RUN_DIR);
  copyTlsFiles();
  writePgbackrestConf(env);
  mkdirSync(PG_VOLUME_MOUNT, { recursive: true });
  const ids = postgresIds();
  if (ids) chownSync(PG_VOLUME_MOUNT, ids.uid, ids.gid);
  ownedDir(PG_SPOOL);
  ownedDir(join(PG_RUN_DIR, 'lock'));
  // A replica joins the primary by pg_basebackup (decision 0275); the primary starts from initdb.
  const replica = replicaRoleOf(env);
  if (replica) await joinPrimaryIfEmpty(replica, PG_BIN, log);
  else await initdbIfEmpty(log);
  const extra = env[PG_VAR.postgresSettings] ? (JSON.parse(env[PG_VAR.postgresSettings]!) as Record<string, string>) : {};
  const settings = { ...accessSettings(), ...(replica ? replicaSettings(replica) : {}), ...extra };
  const postgres = spawnAsPostgres(join(PG_BIN, 'postgres'), ['-D', PGDATA, ...postgresSettings(ip, settings)], { stdio: 'inherit', env });
  const children: Supervised[] = [{ name: 'postgres', child: postgres, stopSignal: 'SIGINT' }];
  // Only the primary is backed up and archives (archive_mode=on is idle on a standby): a replica runs no pgbackrest server.
  if (!replica)
    children.push({
      name: 'pgbackrest server',
      child: spawnAsPostgres('pgbackrest', pgbackrestServerArgs(ip), { stdio: 'inherit', env: pgbackrestServerEnv(env, PG_SPOOL) }),
    });
  log.info(replica ? 'postgres started as a streaming replica' : 'postgres and pgbackrest server started', { ip, pgdata: PGDATA });
  return superviseUntilExit(children, log);
}
