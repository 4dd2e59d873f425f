import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { ConfigError } from '../../../runtime/contracts/config-error.js';
import { createLogger } from '../../../runtime/logging/logger.js';
import { binlogInfoGtid } from '../../../runtime/instance/clone.js';
import { initSqlInput, runDb } from '../../../runtime/instance/db.js';
import { runInit } from '../../../runtime/instance/init.js';
import { decodeInstanceEnv, type InstanceConfig } from '../../../runtime/instance/instance-env.js';
import type { InstanceLayout } from '../../../runtime/instance/layout.js';
import { serverConfig } from '../../../runtime/instance/server-config.js';
import { readVolumeState, writeVolumeState } from '../../../runtime/instance/volume-state.js';

describe('silo instance init|db (on a temporary volume)', () => {
  let root: string;
  let layout: InstanceLayout;
  let lines: string[];
  const logger = () => createLogger({}, { write: (line) => lines.push(line) });
  const config = (env: Record<string, string> = {}): InstanceConfig =>
    decodeInstanceEnv({ SILO_CLUSTER: 'shop', SILO_INSTANCE_NAME: 'shop-2', SILO_SERVER_ID: '2', ...env });

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'silo-instance-'));
    lines = [];
    layout = {
      dataDir: join(root, 'pvc', 'data'),
      workDir: join(root, 'pvc', 'silo'),
      stateFile: join(root, 'pvc', 'silo', 'state.json'),
      runDir: join(root, 'run'),
      socket: join(root, 'run', 'mysqld.sock'),
      mounts: {
        systemUsers: join(root, 'users'),
        appUser: join(root, 'app'),
        serverCa: join(root, 'server-ca'),
        replicationTls: join(root, 'replication-tls'),
      },
    };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('init: a volume with a state file is left alone', async () => {
    mkdirSync(layout.dataDir, { recursive: true });
    writeFileSync(join(layout.dataDir, 'ibdata1'), 'x');
    writeVolumeState(layout.stateFile, { origin: 'recovery', completedAt: '2026-12-01T00:00:00Z', gtid: '0-1-5', backupId: 'b' });
    const state = await runInit(config({ SILO_INSTANCE_ROLE: 'replica' }), layout, logger());
    expect(state).to.deep.include({ origin: 'recovery', gtid: '0-1-5' });
    expect(readdirSync(layout.dataDir)).to.deep.equal(['ibdata1']);
  });

  it('init: a half-filled volume (files, no state file) is cleaned before it is filled again, loudly', async () => {
    mkdirSync(join(layout.workDir, 'clone', 'shop'), { recursive: true });
    writeFileSync(join(layout.workDir, 'clone', 'shop', 't.ibd'), 'partial');
    mkdirSync(layout.dataDir, { recursive: true });
    writeFileSync(join(layout.dataDir, 'ibdata1'), 'partial');
    // A replica without its primary's URL stops right after the cleanup, before any clone.
    const failed = await runInit(config({ SILO_INSTANCE_ROLE: 'replica' }), layout, logger()).catch((e: Error) => e);
    expect(failed)
      .to.be.instanceOf(ConfigError)
      .and.have.property('message')
      .that.matches(/SILO_PRIMARY_INSTANCE_MANAGER/);
    expect(readdirSync(layout.dataDir)).to.deep.equal([]);
    expect(readdirSync(layout.workDir)).to.deep.equal([]);
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.level === 'warn');
    expect(warning.msg).to.match(/^HALF-FILLED VOLUME/);
    expect(warning).to.include({ dataDirEntries: 1, workDirEntries: 1 });
  });

  it('init: the primary of a recovery-bootstrapped Cluster never initialises an empty volume', async () => {
    const failed = await runInit(config({ SILO_INSTANCE_ROLE: 'primary', SILO_BOOTSTRAP: 'recovery' }), layout, logger()).catch(
      (e: Error) => e,
    );
    expect(failed)
      .to.be.instanceOf(ConfigError)
      .and.have.property('message')
      .that.matches(/recovery Job fills it/);
    expect(existsSync(layout.stateFile)).to.equal(false);
  });

  it('db: refuses a volume without a state file, before writing or starting anything', async () => {
    const failed = await runDb(config(), layout, logger()).catch((e: Error) => e);
    expect(failed)
      .to.be.instanceOf(ConfigError)
      .and.have.property('message')
      .that.matches(/state\.json is missing.*mariadbd is not started/);
    expect(existsSync(layout.runDir)).to.equal(false);
  });

  it('db: the init-file takes the mounted passwords, the app user on a primary, and replication only until it is configured', () => {
    mkdirSync(layout.mounts.systemUsers, { recursive: true });
    for (const [key, value] of Object.entries({ manager: 'm\n', replication: "r'p", backup: 'b' }))
      writeFileSync(join(layout.mounts.systemUsers, key), value);
    mkdirSync(layout.mounts.appUser, { recursive: true });
    writeFileSync(join(layout.mounts.appUser, 'username'), 'app');
    writeFileSync(join(layout.mounts.appUser, 'password'), 'secret');
    const state = { origin: 'clone', completedAt: 'now', gtid: '0-1-9', clonedFrom: 'shop-1' } as const;
    const replica = config({ SILO_INSTANCE_ROLE: 'replica', SILO_PRIMARY_HOST: '10.0.0.7', SILO_APP_DATABASE: 'shop' });
    expect(initSqlInput(replica, state, layout, logger())).to.deep.equal({
      passwords: { manager: 'm', replication: "r'p", backup: 'b' },
      app: undefined,
      replication: { gtid: '0-1-9', host: '10.0.0.7', port: 3306 },
    });
    mkdirSync(layout.dataDir, { recursive: true });
    writeFileSync(join(layout.dataDir, 'master.info'), '');
    expect(initSqlInput(replica, state, layout, logger()).replication).to.equal(undefined);
    const primary = config({ SILO_INSTANCE_ROLE: 'primary', SILO_APP_DATABASE: 'shop' });
    expect(initSqlInput(primary, { origin: 'initdb', completedAt: 'now' }, layout, logger()).app).to.deep.equal({
      database: 'shop',
      user: 'app',
      password: 'secret',
    });
    rmSync(join(layout.mounts.systemUsers, 'backup'));
    expect(() => initSqlInput(primary, state, layout, logger())).to.throw(
      ConfigError,
      /silo_backup password .*backup cannot be read \(ENOENT\)/,
    );
  });

  it("db: mariadbd's options bind the pod IP and make a replica read-only with GTIDs and binary logs", () => {
    const replica = serverConfig({ layout, role: 'replica', serverId: 7, bindAddress: '127.1.0.9', reportHost: 'shop-2', user: 'mysql' });
    expect(replica.split('\n')).to.include.members([
      '[mariadbd]',
      `datadir=${layout.dataDir}`,
      `socket=${layout.socket}`,
      'bind-address=127.1.0.9',
      'port=3306',
      'server-id=7',
      'report-host=shop-2',
      'log-bin=mysql-bin',
      'log-slave-updates',
      'binlog-format=ROW',
      'gtid-strict-mode=ON',
      'read-only=ON',
      `tmpdir=${join(layout.runDir, 'tmp')}`,
      `init-file=${join(layout.runDir, 'init.sql')}`,
      'user=mysql',
    ]);
    expect(serverConfig({ layout, role: 'primary', serverId: 1, bindAddress: '0.0.0.0', reportHost: 'shop-1' })).to.contain(
      'read-only=OFF',
    );
  });

  it('env: the pod IP comes from the process kubelet or POD_IP, and bad values are named', () => {
    expect(decodeInstanceEnv({ KUBELET_POD_IP: '127.1.0.4', POD_IP: '10.0.0.1' }).bindAddress).to.equal('127.1.0.4');
    expect(decodeInstanceEnv({ POD_IP: '10.0.0.1' }).bindAddress).to.equal('10.0.0.1');
    expect(decodeInstanceEnv({}).bindAddress).to.equal('0.0.0.0');
    expect(() => decodeInstanceEnv({ SILO_MARIADB_ARGS: '--x' })).to.throw(ConfigError, /SILO_MARIADB_ARGS must be a JSON array/);
    expect(() => decodeInstanceEnv({ SILO_MARIADB_ARGS: '["x"]' })).to.throw(ConfigError, /starting with --/);
    expect(() => decodeInstanceEnv({ SILO_SERVER_ID: '0' })).to.throw(ConfigError, /SILO_SERVER_ID must be an integer/);
    expect(() => decodeInstanceEnv({ SILO_INSTANCE_ROLE: 'leader' })).to.throw(
      ConfigError,
      /SILO_INSTANCE_ROLE must be primary or replica/,
    );
  });

  it('the state file is written whole and read back; a foreign one is an error, not "no state"', () => {
    writeVolumeState(layout.stateFile, { origin: 'clone', completedAt: 'now', gtid: '0-1-3', clonedFrom: 'shop-1' });
    expect(readVolumeState(layout.stateFile)).to.deep.equal({ origin: 'clone', completedAt: 'now', gtid: '0-1-3', clonedFrom: 'shop-1' });
    expect(readdirSync(layout.workDir)).to.deep.equal(['state.json']);
    writeFileSync(layout.stateFile, '{"origin":"magic"}');
    expect(() => readVolumeState(layout.stateFile)).to.throw(ConfigError, /not written by Silo/);
    expect(readFileSync(layout.stateFile, 'utf8')).to.contain('magic');
  });

  it("clone: the GTID comes from mariabackup's binlog info (file, position, GTID)", () => {
    expect(binlogInfoGtid('mysql-bin.000002\t1234\t0-1-42\n')).to.equal('0-1-42');
    expect(binlogInfoGtid('mysql-bin.000002\t1234\t0-1-42,1-2-7\n')).to.equal('0-1-42,1-2-7');
    expect(binlogInfoGtid('mysql-bin.000001\t329\t\n')).to.equal('');
    expect(binlogInfoGtid('mysql-bin.000001\t329\n')).to.equal('');
    expect(binlogInfoGtid('')).to.equal(undefined);
  });
});
