import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Component, StackContext } from '../component.js';
import { aptInstallIfMissing } from '../lib/apt.js';
import { LOOPBACK, ports } from '../lib/ports.js';
import { logTail, pidFileAlive, spawnDaemon, stopByPidFile } from '../lib/proc.js';
import { run, type RunResult } from '../lib/run.js';
import { waitUntil } from '../lib/wait.js';
import { versions } from '../versions.js';

/** A TCP user for clients; root stays socket-only as Debian sets it up. */
export const MARIADB_USER = 'silo';
export const MARIADB_PASSWORD = 'silo-test-password';

export interface MariadbInstance {
  name: string;
  port: number;
  host: string;
  dir: string;
  datadir: string;
  socket: string;
  pidFile: string;
  logFile: string;
}

/**
 * Describes a throwaway mariadbd under <root>/mariadb/<name>. Tests and
 * benchmarks make extra ones (e.g. a fresh server to restore into) with
 * another name, port, and optionally a datadir produced by `mariabackup --copy-back`.
 */
export function mariadbInstance(
  ctx: StackContext,
  name = 'main',
  port: number = ports.mariadb,
  opts: { datadir?: string; host?: string } = {},
): MariadbInstance {
  const dir = join(ctx.root, 'mariadb', name);
  return {
    name,
    port,
    host: opts.host ?? LOOPBACK,
    dir,
    datadir: opts.datadir ?? join(dir, 'data'),
    socket: join(dir, 'mariadbd.sock'),
    pidFile: join(dir, 'mariadbd.pid'),
    logFile: join(ctx.logDir, `mariadb-${name}.log`),
  };
}

/** Runs SQL through the `mariadb` CLI over the socket as root; batch mode, no column names. */
export function mariadbSql(inst: MariadbInstance, sql: string, database?: string): Promise<RunResult> {
  const args = ['--no-defaults', `--socket=${inst.socket}`, '-uroot', '-N', '-B', '-e', sql];
  if (database) args.push(database);
  return run('mariadb', args);
}

async function ping(inst: MariadbInstance): Promise<boolean> {
  const r = await run('mariadb-admin', ['--no-defaults', `--socket=${inst.socket}`, '-uroot', 'ping'], {
    allowFailure: true,
  });
  return r.code === 0;
}

export async function mariadbAlive(inst: MariadbInstance): Promise<boolean> {
  return pidFileAlive(inst.pidFile) && (await ping(inst));
}

/** Initialises the datadir when it is empty, starts mariadbd, waits for it, and creates the TCP user. */
export async function startMariadb(ctx: StackContext, inst: MariadbInstance): Promise<void> {
  if (await mariadbAlive(inst)) return;
  mkdirSync(join(inst.dir, 'tmp'), { recursive: true });
  if (!existsSync(join(inst.datadir, 'mysql'))) {
    mkdirSync(inst.datadir, { recursive: true });
    await run('mariadb-install-db', [
      '--no-defaults',
      `--datadir=${inst.datadir}`,
      '--user=root',
      '--auth-root-authentication-method=socket',
      '--skip-test-db',
    ]);
  }
  spawnDaemon({
    cmd: 'mariadbd',
    args: [
      '--no-defaults',
      `--datadir=${inst.datadir}`,
      `--socket=${inst.socket}`,
      `--port=${inst.port}`,
      `--bind-address=${inst.host}`,
      `--pid-file=${join(inst.dir, 'mariadbd.own.pid')}`,
      '--user=root',
      // Its own tmpdir: temp tables in a shared /tmp have been deleted under us on a busy machine.
      `--tmpdir=${join(inst.dir, 'tmp')}`,
      '--skip-name-resolve',
      // Binlogs give backups a real GTID/binlog position to record.
      `--log-bin=${join(inst.dir, 'binlog')}`,
      '--server-id=1',
      '--binlog-format=ROW',
      // The stack's data outlives a run: without an expiry its binlogs grew by gigabytes over the CI runs of a day.
      '--binlog-expire-logs-seconds=86400',
      '--innodb-buffer-pool-size=256M',
      '--innodb-log-file-size=256M',
    ],
    pidFile: inst.pidFile,
    logFile: inst.logFile,
  });
  try {
    await waitUntil(`mariadbd ${inst.name} to answer ping`, () => ping(inst), 120_000, { pidFile: inst.pidFile });
  } catch (e) {
    throw new Error(`mariadb ${inst.name} did not start: ${(e as Error).message}\n${logTail(inst.logFile)}`, { cause: e });
  }
  await mariadbSql(
    inst,
    `CREATE USER IF NOT EXISTS '${MARIADB_USER}'@'%' IDENTIFIED BY '${MARIADB_PASSWORD}';
    GRANT ALL PRIVILEGES ON *.* TO '${MARIADB_USER}'@'%' WITH GRANT OPTION;`,
  );
}

export async function stopMariadb(inst: MariadbInstance): Promise<void> {
  // mariadbd flushes InnoDB on SIGTERM; allow it time before SIGKILL.
  await stopByPidFile(inst.pidFile, 60_000);
}

export const mariadb: Component = {
  name: 'mariadb',
  async install(ctx) {
    await aptInstallIfMissing(ctx, ['mariadb-server', 'mariadb-client', 'mariadb-backup'], {
      'mariadb-server': versions.debian.mariadb,
      'mariadb-backup': versions.debian.mariadb,
    });
  },
  async up(ctx) {
    await startMariadb(ctx, mariadbInstance(ctx));
  },
  async down(ctx) {
    await stopMariadb(mariadbInstance(ctx));
  },
  async status(ctx) {
    return mariadbAlive(mariadbInstance(ctx));
  },
  env(ctx) {
    const inst = mariadbInstance(ctx);
    return {
      MARIADB_HOST: inst.host,
      MARIADB_PORT: String(inst.port),
      MARIADB_SOCKET: inst.socket,
      MARIADB_DATADIR: inst.datadir,
      MARIADB_USER,
      MARIADB_PASSWORD,
    };
  },
};
