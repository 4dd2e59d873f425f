/**
 * `silo pg restore` (the restoring init container of a PGCluster made from spec.dataSource) against
 * real PostgreSQL 15 and pgBackRest 2.45 on this host, without the stack: a source database archives
 * into a local repository; the command runs in a private mount namespace with the Pod's paths bound
 * to scratch directories, as the process kubelet would. To a time between two commits it restores
 * the first and not the second, promotes on timeline 2 with this cluster's password and the history
 * file ready for the cluster's own archive; to a time past the archive it fails once with
 * TargetNotReached, and a restart repeats that failure instead of replaying again.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { pgBin } from '../../stack/components/postgres.js';

const asPostgres = (script: string): string => execFileSync('su', ['postgres', '-c', script], { encoding: 'utf8' }).trim();

describe('silo pg restore: pgbackrest restore, replay with archiving off, promote, and TargetNotReached once', function () {
  this.timeout(240_000);
  const root = mkdtempSync('/tmp/silo-pg-restore-');
  // The postgres user walks into it.
  chmodSync(root, 0o755);
  const dir = (name: string, owned = true) => {
    const path = join(root, name);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    if (owned) chownSync(path, Number(execFileSync('id', ['-u', 'postgres'])), Number(execFileSync('id', ['-g', 'postgres'])));
    return path;
  };
  const port = 55000 + (process.pid % 400);
  let sock = '';
  let conf = '';
  let label = '';
  let target = '';
  const psql = (sql: string) => asPostgres(`${pgBin('psql')} -X -A -t -q -h ${sock} -p ${port} -U postgres -d postgres -c "${sql}"`);

  before(() => {
    const repo = dir('repo');
    sock = dir('sock');
    const src = dir('src');
    conf = join(dir('conf'), 'pgbackrest.conf');
    writeFileSync(
      conf,
      `[global]\nrepo1-path=${repo}\nlock-path=${dir('lock')}\nlog-level-file=off\nlog-level-console=warn\nrepo1-retention-full=9\n` +
        `[db]\npg1-path=${src}\npg1-port=${port}\npg1-socket-path=${sock}\n`,
    );
    chownSync(conf, Number(execFileSync('id', ['-u', 'postgres'])), 0);
    asPostgres(`${pgBin('initdb')} -D ${src} -U postgres --auth-local=peer >/dev/null 2>&1`);
    const settings = `-c port=${port} -c listen_addresses='' -c unix_socket_directories=${sock} -c archive_mode=on -c wal_level=replica -c archive_command='pgbackrest --config=${conf} --stanza=db archive-push %p'`;
    asPostgres(`${pgBin('pg_ctl')} -D ${src} -l ${src}/log -o "${settings}" start >/dev/null`);
    asPostgres(
      `pgbackrest --config=${conf} --stanza=db stanza-create && pgbackrest --config=${conf} --stanza=db --type=full --start-fast backup`,
    );
    label = JSON.parse(asPostgres(`pgbackrest --config=${conf} --stanza=db --output=json info`))[0].backup[0].label;
    psql('CREATE TABLE t (x int)');
    psql('INSERT INTO t VALUES (1)');
    execFileSync('sleep', ['1.2']);
    target = psql(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'`);
    execFileSync('sleep', ['1.2']);
    psql('INSERT INTO t VALUES (2)');
    psql('SELECT pg_switch_wal()');
    execFileSync('sleep', ['3']);
    asPostgres(`${pgBin('pg_ctl')} -D ${src} stop -m fast >/dev/null`);
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  /** Runs `silo pg restore` with the Pod's paths bound to this run's directories; returns its result line. */
  function restore(name: string, plan: object): { outcome: string; reason?: string; reachedTimeline?: number; reachedTime?: string } {
    const pgdata = dir(`${name}-pgdata`);
    const run = dir(`${name}-run`);
    const su = dir(`${name}-su`, false);
    const tls = dir(`${name}-tls`, false);
    writeFileSync(join(su, 'password'), 'this-cluster-password\n');
    for (const f of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(tls, f), 'unused: the repository is local here\n');
    const script = [
      'set -e',
      `mount --bind ${pgdata} /pgdata`,
      `mount --bind ${run} /var/run/silo-pg`,
      'mount -t tmpfs tmpfs /etc/silo',
      'mkdir -p /etc/silo/pg-superuser /etc/silo/pgbackrest-restore-tls',
      `mount --bind ${su} /etc/silo/pg-superuser`,
      `mount --bind ${tls} /etc/silo/pgbackrest-restore-tls`,
      `${process.execPath} --import tsx runtime/cli.ts pg restore || true`,
    ].join('\n');
    const out = execFileSync('unshare', ['-m', '--propagation', 'private', 'bash', '-c', script], {
      env: { ...process.env, SILO_PG_RESTORE_PLAN: JSON.stringify(plan), SILO_TERMINATION_LOG: join(root, `${name}-termination`) },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const line = out
      .split('\n')
      .filter((l) => l.startsWith('{"outcome"'))
      .pop();
    return JSON.parse(line!);
  }

  const restoreConf = () =>
    readFileSync(conf, 'utf8')
      .replace(/pg1-path=.*/, 'pg1-path=/pgdata/pg15')
      .replace(/pg1-port=.*/, 'pg1-port=5432')
      .replace(/pg1-socket-path=.*/, 'pg1-socket-path=/var/run/silo-pg')
      .replace(/lock-path=.*/, 'lock-path=/var/run/silo-pg/lock');

  it('to a time between two commits: the first, not the second; timeline 2, this cluster’s password, the history file ready', () => {
    const result = restore('to-t', { id: 'u1', repo: 1, set: label, type: 'time', target, conf: restoreConf() });
    expect(result.outcome).to.equal('pg-restored');
    expect(result.reachedTimeline).to.equal(2);
    expect(Date.parse(result.reachedTime!)).to.be.below(Date.parse(target.replace(' ', 'T').replace('+00', 'Z')));
    const pgdata = join(root, 'to-t-pgdata', 'pg15');
    expect(readFileSync(join(root, 'to-t-pgdata', 'silo-restore.json'), 'utf8')).to.contain('"step":"done"');
    expect(execFileSync('ls', [join(pgdata, 'pg_wal', 'archive_status')], { encoding: 'utf8' })).to.contain('00000002.history.ready');
    const s = dir('check-sock');
    asPostgres(
      `${pgBin('pg_ctl')} -D ${pgdata} -l ${s}/check.log -o "-c port=${port} -c listen_addresses='' -c unix_socket_directories=${s} -c archive_mode=off" start >/dev/null`,
    );
    try {
      const q = (sql: string) => asPostgres(`${pgBin('psql')} -X -A -t -q -h ${s} -p ${port} -U postgres -d postgres -c "${sql}"`);
      expect(q("SELECT string_agg(x::text, ',') FROM t")).to.equal('1');
      expect(q("SELECT rolpassword LIKE 'SCRAM-SHA-256%' FROM pg_authid WHERE rolname = 'postgres'")).to.equal('t');
      expect(q('SELECT pg_is_in_recovery()')).to.equal('f');
    } finally {
      asPostgres(`${pgBin('pg_ctl')} -D ${pgdata} stop -m fast >/dev/null`);
    }
  });

  it('to a time past the archive: TargetNotReached, kept on the volume; a restart repeats it without replaying', () => {
    const future = new Date(Date.now() + 60_000).toISOString().replace('T', ' ').replace('Z', '+00');
    const plan = { id: 'u2', repo: 1, set: label, type: 'time', target: future, conf: restoreConf() };
    expect(restore('past-end', plan)).to.include({ outcome: 'failed', reason: 'TargetNotReached' });
    const state = readFileSync(join(root, 'past-end-pgdata', 'silo-restore.json'), 'utf8');
    expect(state).to.contain('"step":"failed"');
    const started = Date.now();
    expect(restore('past-end', plan)).to.include({ outcome: 'failed', reason: 'TargetNotReached' });
    expect(readFileSync(join(root, 'past-end-pgdata', 'silo-restore.json'), 'utf8')).to.equal(state);
    expect(Date.now() - started).to.be.below(20_000);
  });
});
