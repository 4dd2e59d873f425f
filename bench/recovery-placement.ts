/**
 * `npx tsx bench/recovery-placement.ts`: how the recovery step should put a prepared mariabackup
 * base into the data directory on the same filesystem (docs/decisions/0040). A throwaway mariadbd
 * (its own datadir and port, not the stack's) is seeded with SILO_BENCH_MB (default 400) of data,
 * backed up and prepared once; then SILO_BENCH_ROUNDS (default 3) interleaved rounds of:
 *   copy-back:        mariabackup --copy-back (the base stays)
 *   move-back:        mariabackup --move-back of a full copy of the base (made before the clock starts)
 *   link + move-back: hard-link the base into a new tree, mariabackup --move-back that (Silo's way)
 * Time includes `sync -f` of the filesystem afterwards (the data is on disk, as STATE_FILE requires).
 * SILO_BENCH_DROP_CACHES=1 drops the page cache before each timed step (root only): a cold read of the base.
 * Peak extra disk is sampled from statfs(2) every 2 ms against the free space before the round;
 * other writers on the machine add noise, so the datadir's own size is printed beside it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkTree } from '../runtime/datapath/recovery/volume.js';
import { mariadbInstance, startMariadb, stopMariadb } from '../test/stack/components/mariadb.js';
import { createContext } from '../test/stack/context.js';
import { seedDataset } from '../test/stack/datasets/mariadb-seed.js';
import { median, table } from './measure.js';

const megabytes = Number(process.env.SILO_BENCH_MB ?? 400);
const rounds = Number(process.env.SILO_BENCH_ROUNDS ?? 3);
const work = mkdtempSync(join(process.env.SILO_BENCH_DIR ?? tmpdir(), 'silo-bench-placement-'));
const MiB = 1024 * 1024;

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args[0]} failed: ${stderr.slice(-500)}`))));
  });
}

const freeBytes = () => {
  const s = statfsSync(work);
  return s.bavail * s.bsize;
};
const duBytes = (path: string) => Number(execFileSync('du', ['-sb', path]).toString().split('\t')[0]);
const sync = () => execFileSync('sync', ['-f', work]);

/** Runs `step`, sampling the filesystem's free space; returns seconds (sync included) and the peak extra bytes used. */
async function measured(step: () => Promise<void>): Promise<{ seconds: number; peakExtra: number }> {
  sync();
  if (process.env.SILO_BENCH_DROP_CACHES === '1') writeFileSync('/proc/sys/vm/drop_caches', '3\n');
  const before = freeBytes();
  let lowest = before;
  const sampler = setInterval(() => (lowest = Math.min(lowest, freeBytes())), 2);
  const started = process.hrtime.bigint();
  await step();
  sync();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  clearInterval(sampler);
  lowest = Math.min(lowest, freeBytes());
  return { seconds, peakExtra: Math.max(before - lowest, 0) };
}

const ctx = createContext();
const db = mariadbInstance(ctx, 'bench-placement', 19190, { datadir: join(work, 'source') });
await startMariadb(ctx, db);
try {
  await seedDataset(db, { megabytes, database: 'bench' });
  await run('mariabackup', ['--backup', '--user=root', `--socket=${db.socket}`, `--target-dir=${join(work, 'base')}`]);
} finally {
  await stopMariadb(db);
  rmSync(db.dir, { recursive: true, force: true });
  rmSync(join(work, 'source'), { recursive: true, force: true });
}
await run('mariabackup', ['--prepare', `--target-dir=${join(work, 'base')}`]);
const base = join(work, 'base');
const size = duBytes(base);

const methods: Record<string, { before?: () => Promise<void>; step: (datadir: string) => Promise<void> }> = {
  'copy-back': { step: (d) => run('mariabackup', ['--copy-back', `--target-dir=${base}`, `--datadir=${d}`]) },
  'move-back': {
    before: () => run('cp', ['-a', base, join(work, 'copy')]),
    step: (d) => run('mariabackup', ['--move-back', `--target-dir=${join(work, 'copy')}`, `--datadir=${d}`]),
  },
  'link + move-back': {
    step: async (d) => {
      linkTree(base, join(work, 'links'));
      await run('mariabackup', ['--move-back', `--target-dir=${join(work, 'links')}`, `--datadir=${d}`]);
    },
  },
};

const results: Record<string, Array<{ seconds: number; peakExtra: number }>> = {};
for (let round = 0; round < rounds; round++) {
  for (const [name, method] of Object.entries(methods)) {
    const datadir = join(work, 'datadir');
    mkdirSync(datadir);
    await method.before?.();
    (results[name] ??= []).push(await measured(() => method.step(datadir)));
    for (const leftover of ['datadir', 'copy', 'links']) rmSync(join(work, leftover), { recursive: true, force: true });
    sync();
  }
}
rmSync(work, { recursive: true, force: true });

const cold = process.env.SILO_BENCH_DROP_CACHES === '1' ? ', page cache dropped before each step' : '';
console.log(`prepared base: ${(size / MiB).toFixed(0)} MiB (du -sb), ${rounds} rounds${cold}, medians:\n`);
console.log(
  table(
    Object.entries(results).map(([method, r]) => ({
      method,
      'seconds (incl. sync)': median(r.map((x) => x.seconds)),
      'per round': r.map((x) => x.seconds.toFixed(2)).join(' / '),
      'peak extra disk MiB': median(r.map((x) => x.peakExtra)) / MiB,
    })),
  ),
);
