// PostgreSQL 15 with WAL archiving to a pgBackRest posix repository.
import { expect } from 'chai';
import { pgbackrest, psql } from '../../stack/components/postgres.js';
import { useStack } from '../../stack/mocha.js';

const stack = useStack('postgres');

describe('PostgreSQL 15 + pgBackRest', function () {
  this.timeout(180_000);

  it('runs with archive_mode on and archives through pgBackRest', async () => {
    expect((await psql(stack.ctx, 'SHOW archive_mode')).stdout.trim()).to.equal('on');
    expect((await psql(stack.ctx, 'SHOW archive_command')).stdout).to.contain('archive-push');
    expect((await psql(stack.ctx, 'SELECT version()')).stdout).to.match(/PostgreSQL 15\./);
  });

  it('passes `pgbackrest check` (a WAL segment reaches the repository)', async () => {
    const r = await pgbackrest(stack.ctx, ['check']);
    expect(r.stdout + r.stderr).to.match(/check command end: completed successfully/);
  });

  it('takes a full backup into the posix repository', async () => {
    await psql(stack.ctx, `CREATE TABLE IF NOT EXISTS backup_probe AS SELECT g AS id, md5(g::text) AS v
      FROM generate_series(1, 10000) g`);
    await pgbackrest(stack.ctx, ['backup', '--type=full']);
    const info = JSON.parse((await pgbackrest(stack.ctx, ['info', '--output=json'])).stdout);
    const backups = info[0].backup as { type: string; error?: boolean }[];
    expect(backups.some((b) => b.type === 'full' && !b.error)).to.equal(true);
    expect(info[0].status.message).to.equal('ok');
  });
});
