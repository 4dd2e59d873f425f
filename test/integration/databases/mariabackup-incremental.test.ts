// The incremental-LSN chain Silo's MySQL incremental backups will use
// (mariabackup --incremental-basedir's recipe): a full stream and three incrementals, each based on
// the to_lsn recorded by the previous one, restored into a fresh mariadbd.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { mariadbInstance, mariadbSql, startMariadb, stopMariadb } from '../../stack/components/mariadb.js';
import { checksumTables, seedDataset, type SeedResult } from '../../stack/datasets/mariadb-seed.js';
import { run, sh } from '../../stack/lib/run.js';
import { useStack } from '../../stack/mocha.js';

const stack = useStack('mariadb');

/** to_lsn from an --extra-lsndir: the checkpoint LSN the next incremental must start from. */
const toLsn = (lsnDir: string) => /^to_lsn = (\d+)$/m.exec(readFileSync(join(lsnDir, 'xtrabackup_checkpoints'), 'utf8'))![1];

describe('mariabackup: full + three incremental streams restore exactly', function () {
  this.timeout(300_000);
  const main = () => mariadbInstance(stack.ctx);
  const work = () => join(stack.ctx.root, 'mariadb', 'test-incremental');
  let seed: SeedResult;

  /** Streams one backup through mbstream into dir/x, recording LSNs in dir/lsn. */
  async function streamBackup(dir: string, baseLsn?: string): Promise<void> {
    const m = main();
    mkdirSync(join(dir, 'x'), { recursive: true });
    const inc = baseLsn ? `--incremental-lsn=${baseLsn}` : '';
    await sh(
      `mariabackup --backup --stream=xbstream ${inc} --user=root --socket='${m.socket}' ` +
        `--datadir='${m.datadir}' --target-dir='${dir}/tmp' --tmpdir='${dir}' --extra-lsndir='${dir}/lsn' ` +
        `2>'${dir}/backup.log' | mbstream -x -C '${dir}/x'`,
    );
  }

  before(async () => {
    rmSync(work(), { recursive: true, force: true });
    seed = await seedDataset(main(), { rows: 5000, database: 'silo_incr' });
  });

  it('restores the chain and matches CHECKSUM TABLE of the source', async () => {
    const dirs = ['full', 'inc1', 'inc2', 'inc3'].map((n) => join(work(), n));
    await streamBackup(dirs[0]);
    for (let i = 1; i < dirs.length; i++) {
      // Change data between backups so every incremental carries pages.
      await mariadbSql(
        main(),
        `UPDATE customers SET balance = balance + ${i} WHERE id % ${i + 2} = 0;
        INSERT INTO orders (customer_id, amount, status, note) SELECT customer_id, amount * 2, 'paid', 'inc${i}'
        FROM orders LIMIT 500;`,
        seed.database,
      );
      await streamBackup(dirs[i], toLsn(join(dirs[i - 1], 'lsn')));
    }
    const expected = await checksumTables(main(), seed);

    const target = join(dirs[0], 'x');
    await run('mariabackup', ['--prepare', `--target-dir=${target}`]);
    for (const d of dirs.slice(1)) {
      await run('mariabackup', ['--prepare', `--target-dir=${target}`, `--incremental-dir=${join(d, 'x')}`]);
    }
    const datadir = join(work(), 'restored');
    await run('mariabackup', ['--copy-back', `--target-dir=${target}`, `--datadir=${datadir}`]);
    const fresh = mariadbInstance(stack.ctx, 'test-incremental', 19062, { datadir });
    try {
      await startMariadb(stack.ctx, fresh);
      expect(await checksumTables(fresh, seed)).to.deep.equal(expected);
      const orders = await mariadbSql(fresh, 'SELECT COUNT(*) FROM orders', seed.database);
      expect(Number(orders.stdout.trim())).to.equal(5000 + 3 * 500);
    } finally {
      await stopMariadb(fresh);
      await mariadbSql(main(), `DROP DATABASE ${seed.database}`);
    }
  });
});
