/** Writes the pgbackrest.conf the operator rendered (it holds no secret) where pgBackRest reads it. */
import { chownSync, writeFileSync } from 'node:fs';
import { PG_RUN_DIR, PG_VAR, PGBACKREST_CONF_FILE } from '../contracts/pg-pods.js';
import { ConfigError } from '../contracts/config-error.js';
import { postgresIds } from './pgbackrest-process.js';
import { ownedDir } from './tls-files.js';

export function writePgbackrestConf(env: NodeJS.ProcessEnv): string {
  const text = env[PG_VAR.pgbackrestConf];
  if (!text) throw new ConfigError(`${PG_VAR.pgbackrestConf} is empty; the operator sets it on every Pod of a PGCluster`);
  ownedDir(PG_RUN_DIR);
  writeFileSync(PGBACKREST_CONF_FILE, text, { mode: 0o600 });
  const ids = postgresIds();
  if (ids) chownSync(PGBACKREST_CONF_FILE, ids.uid, ids.gid);
  return PGBACKREST_CONF_FILE;
}

export function podIp(env: NodeJS.ProcessEnv): string {
  const ip = env[PG_VAR.podIp];
  if (!ip) throw new ConfigError(`${PG_VAR.podIp} is empty; set it from the downward API (status.podIP)`);
  return ip;
}

/** `pgbackrest server` on the pod IP, with the Pod's config. */
export const pgbackrestServerArgs = (ip: string): string[] => [`--config=${PGBACKREST_CONF_FILE}`, `--tls-server-address=${ip}`, 'server'];

/**
 * The environment of `pgbackrest server`. Each connection forks a remote that reads neither the
 * server's --config nor any option the client could send for lock-path or log-path: left alone it
 * locks in /tmp/pgbackrest and logs in /var/log/pgbackrest, shared by every Pod on a host without
 * container filesystems (the process kubelet) and by two clusters' stanzas, both named `db`. PGBACKREST_*
 * variables reach the remote, so its locks and spool stay in this Pod's own volumes (decision 0277).
 */
export function pgbackrestServerEnv(env: NodeJS.ProcessEnv, spoolPath: string): NodeJS.ProcessEnv {
  return {
    ...env,
    PGBACKREST_LOCK_PATH: `${PG_RUN_DIR}/lock`,
    PGBACKREST_SPOOL_PATH: spoolPath,
    PGBACKREST_LOG_LEVEL_FILE: 'off',
  };
}
