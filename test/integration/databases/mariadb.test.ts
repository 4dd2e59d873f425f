// MariaDB from Debian: the seeded dataset, and a mariabackup xbstream that
// mbstream extracts and that restores into a fresh throwaway mariadbd.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { mariadbInstance, mariadbSql, startMariadb, stopMariadb } from '../../stack/components/mariadb.js';
import { checksumTables, seedDataset, type SeedResult } from '../../stack/datasets/mariadb-seed.js';
import { run, sh } from '../../stack/lib/run.js';
import { useStack } from '../../stack/mocha.js';

const stack = useStack('mariadb');
const ROWS = 20_000;

describe('MariaDB (Debian mariadbd + mariabackup)', function () {
  this.timeout(180_000);
  const main = () => mariadbInstance(stack.ctx);
  const work = () => join(stack.ctx.root, 'mariadb', 'test-work');
  let seed: SeedResult;
  let sourceChecksums: Record<string, string>;

  before(() => {
    rmSync(work(), { recursive: true, force: true });
    mkdirSync(work(), { recursive: true });
  });

  it('answers over TCP on loopback as the test user', async () => {
    const env = stack.env();
    const r = await run('mariadb', [
      '--no-defaults',
      '-h',
      env.MARIADB_HOST,
      '-P',
      env.MARIADB_PORT,
      '-u',
      env.MARIADB_USER,
      `-p${env.MARIADB_PASSWORD}`,
      '-N',
      '-B',
      '-e',
      'SELECT VERSION()',
    ]);
    expect(r.stdout).to.match(/^10\.11\./);
  });

  it(`seeds a dataset of exactly ${ROWS} rows per table`, async () => {
    seed = await seedDataset(main(), { rows: ROWS });
    for (const table of seed.tables) {
      const r = await mariadbSql(main(), `SELECT COUNT(*) FROM ${table}`, seed.database);
      expect(Number(r.stdout.trim()), table).to.equal(ROWS);
    }
  });

  it('sizes a dataset by megabytes (for benchmarks)', async () => {
    const sized = await seedDataset(main(), { megabytes: 16, database: 'silo_seed_mb' });
    // Fresh statistics first: information_schema sizes lag behind bulk inserts.
    await mariadbSql(main(), `ANALYZE TABLE ${sized.tables.join(', ')}`, sized.database);
    const r = await mariadbSql(
      main(),
      `SELECT SUM(data_length + index_length) FROM information_schema.tables
      WHERE table_schema = 'silo_seed_mb'`,
    );
    const mb = Number(r.stdout.trim()) / (1024 * 1024);
    // InnoDB pages and indexes add overhead; the generator aims at the payload size.
    expect(mb).to.be.within(12, 48);
    expect(sized.rows).to.be.greaterThan(10_000);
    await mariadbSql(main(), 'DROP DATABASE silo_seed_mb');
  });

  it('computes CHECKSUM TABLE for every seeded table', async () => {
    sourceChecksums = await checksumTables(main(), seed);
    expect(Object.keys(sourceChecksums)).to.have.length(seed.tables.length);
    for (const v of Object.values(sourceChecksums)) expect(v).to.match(/^[1-9]\d*$/);
  });

  it('streams a backup with mariabackup --stream=xbstream that mbstream extracts', async () => {
    const m = main();
    const extracted = join(work(), 'extracted');
    mkdirSync(extracted);
    // One pipe, no intermediate file: the shape Silo's instance manager uses.
    await sh(
      `mariabackup --backup --stream=xbstream --user=root --socket='${m.socket}' ` +
        `--datadir='${m.datadir}' --target-dir='${work()}/tmp' --tmpdir='${work()}' --extra-lsndir='${work()}/lsn' 2>'${work()}/backup.log' ` +
        `| mbstream -x -C '${extracted}'`,
    );
    expect(existsSync(join(extracted, 'xtrabackup_checkpoints'))).to.equal(true);
    // Tables whose CREATE is still in the copied redo range arrive as .new and
    // become .ibd during --prepare; either way the tablespace must be there.
    const ts = ['payloads.ibd', 'payloads.new'].map((f) => join(extracted, seed.database, f));
    expect(
      ts.some((f) => existsSync(f)),
      ts.join(' or '),
    ).to.equal(true);
  });

  it('restores the extracted backup into a fresh mariadbd with equal checksums', async () => {
    const extracted = join(work(), 'extracted');
    const datadir = join(work(), 'restored-data');
    await run('mariabackup', ['--prepare', `--target-dir=${extracted}`]);
    expect(existsSync(join(extracted, seed.database, 'payloads.ibd'))).to.equal(true);
    await run('mariabackup', ['--copy-back', `--target-dir=${extracted}`, `--datadir=${datadir}`]);
    const fresh = mariadbInstance(stack.ctx, 'test-restore', 19061, { datadir });
    try {
      await startMariadb(stack.ctx, fresh);
      expect(await checksumTables(fresh, seed)).to.deep.equal(sourceChecksums);
    } finally {
      await stopMariadb(fresh);
    }
  });
});
