/**
 * `silo instance db`, the instance Pod's `mariadb` container: refuses a volume without a state file,
 * writes mariadbd's option file and init-file (init-sql.ts), then runs mariadbd in the foreground,
 * forwarding SIGTERM/SIGINT so it shuts down cleanly, and exits with its status.
 *
 * Replication is configured in the init-file, not by the instance manager after the start: the
 * init-file runs before the server accepts a connection, so a replica never serves (or is backed
 * up) unconfigured, and nothing has to wait for the server. It is written only when the datadir has
 * no master.info yet; from then on mariadbd resumes replication itself, and the instance manager's
 * `POST /cluster/replication` re-points it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { constants } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../contracts/config-error.js';
import { INSTANCE_VAR, MYSQL_PORT, SYSTEM_USERS, type SystemUserKey, type VolumeState } from '../contracts/instance-pod.js';
import type { Logger } from '../logging/logger.js';
import { buildInitSql, type InitSqlInput } from './init-sql.js';
import type { InstanceConfig } from './instance-env.js';
import { configFile, initFile, tmpDir, type InstanceLayout } from './layout.js';
import { serverConfig } from './server-config.js';
import { readVolumeState } from './volume-state.js';

function readSecretFile(dir: string, key: string, what: string): string {
  const path = join(dir, key);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`${what} ${path} cannot be read (${(error as NodeJS.ErrnoException).code}); mount the Secret there`);
  }
}

/** The init-file's input: passwords from the mounted Secrets, the app user on a primary, replication on an unconfigured replica. */
export function initSqlInput(config: InstanceConfig, state: VolumeState, layout: InstanceLayout, logger: Logger): InitSqlInput {
  const passwords = Object.fromEntries(
    (Object.keys(SYSTEM_USERS) as SystemUserKey[]).map((key) => [
      key,
      readSecretFile(layout.mounts.systemUsers, key, `the ${SYSTEM_USERS[key]} password`),
    ]),
  ) as Record<SystemUserKey, string>;
  const hasAppUser = existsSync(join(layout.mounts.appUser, 'username'));
  const app =
    config.role === 'primary' && config.appDatabase
      ? {
          database: config.appDatabase,
          ...(hasAppUser
            ? {
                user: readSecretFile(layout.mounts.appUser, 'username', 'the app user name'),
                password: readSecretFile(layout.mounts.appUser, 'password', 'the app user password'),
              }
            : {}),
        }
      : undefined;
  let replication: InitSqlInput['replication'];
  if (config.role === 'replica' && !existsSync(join(layout.dataDir, 'master.info'))) {
    const host = config.primary?.host;
    if (!host) throw new ConfigError(`a replica needs its primary: set ${INSTANCE_VAR.primaryHost} to the primary's address`);
    if (state.gtid === undefined) {
      logger.warn(
        'this replica has no replication yet and its volume no GTID position; it will replicate from the first GTID the primary has',
        {
          origin: state.origin,
        },
      );
    }
    replication = { gtid: state.gtid, host, port: MYSQL_PORT };
    logger.info('configuring replication', { primary: host, gtid: state.gtid, origin: state.origin });
  }
  return { passwords, app, replication };
}

/** Resolves once the server answers on its socket (it accepts connections only after the init-file ran). */
function whenServing(socket: string, stopped: () => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const attempt = () => {
      if (stopped()) return resolve(false);
      const client = connect(socket);
      client.once('data', () => {
        client.destroy();
        resolve(true);
      });
      client.once('error', () => {
        client.destroy();
        setTimeout(attempt, 500);
      });
    };
    attempt();
  });
}

/** Starts mariadbd and resolves with its exit status (128 + signal number when killed). */
export async function runDb(config: InstanceConfig, layout: InstanceLayout, logger: Logger): Promise<number> {
  const state = readVolumeState(layout.stateFile);
  if (!state) {
    throw new ConfigError(
      `${layout.stateFile} is missing: the volume holds no complete datadir (the bootstrap init container, or the recovery Job, did not finish); mariadbd is not started on it`,
    );
  }
  if (config.serverId === undefined) throw new ConfigError(`${INSTANCE_VAR.serverId} is not set; give every instance its own server id`);
  mkdirSync(tmpDir(layout), { recursive: true });
  writeFileSync(
    configFile(layout),
    serverConfig({
      layout,
      role: config.role,
      serverId: config.serverId,
      bindAddress: config.bindAddress,
      reportHost: config.instanceName,
    }),
  );
  // The init-file holds passwords: readable by this user only, removed once the server has read it.
  writeFileSync(initFile(layout), buildInitSql(initSqlInput(config, state, layout, logger)), { mode: 0o600 });
  const args = [`--defaults-file=${configFile(layout)}`, ...config.extraArgs];
  logger.info('starting mariadbd', {
    origin: state.origin,
    role: config.role,
    serverId: config.serverId,
    bindAddress: config.bindAddress,
    args,
  });
  const child = spawn('mariadbd', args, { stdio: ['ignore', 'inherit', 'inherit'] });
  let exited = false;
  const forward = (signal: NodeJS.Signals) => () => {
    logger.info('stopping mariadbd', { signal });
    if (!exited) child.kill(signal);
  };
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGINT', forward('SIGINT'));
  const exit = new Promise<number>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot start mariadbd: ${error.message}`)));
    child.once('exit', (code, signal) => {
      exited = true;
      logger.info('mariadbd exited', { code, signal });
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
  void whenServing(layout.socket, () => exited).then((serving) => {
    if (!serving) return;
    rmSync(initFile(layout), { force: true });
    logger.info('mariadbd is serving');
  });
  return exit;
}
