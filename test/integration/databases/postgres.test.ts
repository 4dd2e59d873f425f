// PostgreSQL 15 with WAL archiving to a pgBackRest posix repository.
import { expect } from 'chai';
import { MINIO_ACCESS_KEY, MINIO_BUCKET, MINIO_SECRET_KEY } from '../../stack/components/minio.js';
import { pgbackrest, psql } from '../../stack/components/postgres.js';
import { ports } from '../../stack/lib/ports.js';
import { testCaPaths } from '../../stack/tls/ca.js';
import { useStack } from '../../stack/mocha.js';

const stack = useStack('postgres', 'minio');

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
    await psql(
      stack.ctx,
      `CREATE TABLE IF NOT EXISTS backup_probe AS SELECT g AS id, md5(g::text) AS v
      FROM generate_series(1, 10000) g`,
    );
    await pgbackrest(stack.ctx, ['backup', '--type=full']);
    const info = JSON.parse((await pgbackrest(stack.ctx, ['info', '--output=json'])).stdout);
    const backups = info[0].backup as { type: string; error?: boolean }[];
    expect(backups.some((b) => b.type === 'full' && !b.error)).to.equal(true);
    expect(info[0].status.message).to.equal('ok');
  });

  it('backs up to an S3 repo2 on MinIO over TLS (test CA, DNS:localhost SAN)', async () => {
    // pgBackRest's S3 storage needs TLS and a host name in the certificate: this is
    // why the stack runs a TLS MinIO. repo2 is given for these commands only, so the
    // server's archive_command keeps pushing to repo1 alone (hence --no-archive-check).
    const repo2 = {
      PGBACKREST_REPO2_TYPE: 's3',
      PGBACKREST_REPO2_PATH: `/pgbackrest-${Date.now()}`,
      PGBACKREST_REPO2_S3_BUCKET: MINIO_BUCKET,
      PGBACKREST_REPO2_S3_ENDPOINT: 'localhost',
      PGBACKREST_REPO2_STORAGE_PORT: String(ports.minioTls),
      PGBACKREST_REPO2_S3_URI_STYLE: 'path',
      PGBACKREST_REPO2_S3_REGION: 'us-east-1',
      PGBACKREST_REPO2_S3_KEY: MINIO_ACCESS_KEY,
      PGBACKREST_REPO2_S3_KEY_SECRET: MINIO_SECRET_KEY,
      PGBACKREST_REPO2_STORAGE_CA_FILE: testCaPaths(stack.ctx).caCert,
    };
    await pgbackrest(stack.ctx, ['stanza-create'], repo2);
    await pgbackrest(stack.ctx, ['--repo=2', 'backup', '--type=full', '--no-archive-check'], repo2);
    const info = JSON.parse((await pgbackrest(stack.ctx, ['--repo=2', 'info', '--output=json'], repo2)).stdout);
    expect(info[0].backup.some((b: { type: string }) => b.type === 'full')).to.equal(true);
  });
});
