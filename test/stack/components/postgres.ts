import { appendFileSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component, StackContext } from '../component.js';
import { aptInstallIfMissing } from '../lib/apt.js';
import { LOOPBACK, ports } from '../lib/ports.js';
import { logTail, pidFileAlive, spawnDaemon, stopByPidFile } from '../lib/proc.js';
import { run, type RunResult } from '../lib/run.js';
import { waitUntil } from '../lib/wait.js';
import { versions } from '../versions.js';

export const PG_STANZA = 'silo';
export const pgBin = (tool: string) => join('/usr/lib/postgresql', versions.debian.postgresql, 'bin', tool);

export function pgPaths(ctx: StackContext) {
  const dir = join(ctx.root, 'postgres');
  return {
    dir,
    data: join(dir, 'data'),
    run: join(dir, 'run'),
    repo: join(dir, 'repo'),
    pgbackrestDir: join(dir, 'pgbackrest'),
    config: join(dir, 'pgbackrest.conf'),
    pidFile: join(dir, 'postgres.pid'),
    logFile: join(ctx.logDir, 'postgres.log'),
  };
}

/** PostgreSQL refuses to run as root, so the server and pgBackRest run as Debian's `postgres` user. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  return { uid, gid };
}

/**
 * Runs pgBackRest as the postgres user against the stack's config and stanza.
 * `env` adds PGBACKREST_* options, e.g. a repo2 on S3 for one command only.
 */
export async function pgbackrest(ctx: StackContext, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  const p = pgPaths(ctx);
  return run('pgbackrest', [`--config=${p.config}`, `--stanza=${PG_STANZA}`, ...args], {
    ...(await postgresUser()),
    cwd: p.dir,
    env: { ...process.env, ...env },
  });
}

/** Runs SQL with psql over the unix socket as the postgres superuser. */
export async function psql(ctx: StackContext, sql: string, database = 'postgres'): Promise<RunResult> {
  const p = pgPaths(ctx);
  return run(
    pgBin('psql'),
    ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', p.run, '-p', String(ports.postgres), '-U', 'postgres', '-d', database, '-c', sql],
    await postgresUser(),
  );
}

async function ready(ctx: StackContext): Promise<boolean> {
  const p = pgPaths(ctx);
  const r = await run(pgBin('pg_isready'), ['-h', p.run, '-p', String(ports.postgres)], { allowFailure: true });
  return r.code === 0;
}

function writePgbackrestConfig(ctx: StackContext): void {
  const p = pgPaths(ctx);
  writeFileSync(
    p.config,
    [
      '[global]',
      'repo1-type=posix',
      `repo1-path=${p.repo}`,
      'repo1-retention-full=2',
      `log-path=${join(p.pgbackrestDir, 'log')}`,
      `lock-path=${join(p.pgbackrestDir, 'lock')}`,
      `spool-path=${join(p.pgbackrestDir, 'spool')}`,
      'log-level-console=info',
      'log-level-file=detail',
      'compress-type=zst',
      'compress-level=1',
      'start-fast=y',
      '',
      `[${PG_STANZA}]`,
      `pg1-path=${p.data}`,
      `pg1-port=${ports.postgres}`,
      `pg1-socket-path=${p.run}`,
      '',
    ].join('\n'),
  );
}

export const postgres: Component = {
  name: 'postgres',
  async install(ctx) {
    await aptInstallIfMissing(ctx, [`postgresql-${versions.debian.postgresql}`, 'pgbackrest'], {
      [`postgresql-${versions.debian.postgresql}`]: versions.debian.postgresql,
      pgbackrest: versions.debian.pgbackrest,
    });
  },
  async up(ctx) {
    if (await postgres.status(ctx)) return;
    const p = pgPaths(ctx);
    const owner = await postgresUser();
    for (const d of [p.dir, p.run, p.repo, p.pgbackrestDir]) {
      mkdirSync(d, { recursive: true });
      chownSync(d, owner.uid, owner.gid);
    }
    writePgbackrestConfig(ctx);
    if (!existsSync(join(p.data, 'PG_VERSION'))) {
      await run(pgBin('initdb'), ['-D', p.data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8'], {
        ...owner,
        cwd: p.dir,
      });
      appendFileSync(
        join(p.data, 'postgresql.conf'),
        [
          '',
          '# silo test stack',
          `listen_addresses = '${LOOPBACK}'`,
          `port = ${ports.postgres}`,
          `unix_socket_directories = '${p.run}'`,
          'wal_level = replica',
          'archive_mode = on',
          // Every finished WAL segment goes to the stanza's posix repository.
          `archive_command = 'pgbackrest --config=${p.config} --stanza=${PG_STANZA} archive-push %p'`,
          'max_wal_senders = 4',
          'shared_buffers = 128MB',
          '',
        ].join('\n'),
      );
    }
    spawnDaemon({
      cmd: pgBin('postgres'),
      args: ['-D', p.data],
      pidFile: p.pidFile,
      logFile: p.logFile,
      cwd: p.dir,
      ...owner,
    });
    try {
      await waitUntil('postgres to accept connections', () => ready(ctx), 60_000, { pidFile: p.pidFile });
      await pgbackrest(ctx, ['stanza-create']);
    } catch (e) {
      throw new Error(`postgres did not start: ${(e as Error).message}\n${logTail(p.logFile)}`, { cause: e });
    }
  },
  async down(ctx) {
    // SIGINT is PostgreSQL's "fast" shutdown (SIGTERM would wait for clients to leave).
    await stopByPidFile(pgPaths(ctx).pidFile, 60_000, 'SIGINT');
  },
  async status(ctx) {
    return pidFileAlive(pgPaths(ctx).pidFile) && (await ready(ctx));
  },
  env(ctx) {
    const p = pgPaths(ctx);
    return {
      PGHOST: LOOPBACK,
      PGPORT: String(ports.postgres),
      PGUSER: 'postgres',
      PG_SOCKET_DIR: p.run,
      PGDATA_DIR: p.data,
      PG_BIN_DIR: pgBin(''),
      // pgBackRest reads its options from PGBACKREST_* variables too.
      PGBACKREST_CONFIG: p.config,
      PGBACKREST_STANZA: PG_STANZA,
      PGBACKREST_REPO1_PATH: p.repo,
    };
  },
};
