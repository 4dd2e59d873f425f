/**
 * `npm run bench:pg-restore`: a restore of about 1 GiB of PostgreSQL data into a NEW cluster through Silo, against what
 * a user runs by hand, in the same run, interleaved (decision 0279).
 *   silo:     a PGCluster with spec.dataSource.postgresCluster (no target: the end of the archive), from creating it
 *             until its primary accepts connections and is out of recovery: resolve from the source's repository, the
 *             primary Pod, its `restore` init container (`pgbackrest restore` through the source's repo host over TLS,
 *             replay, promote, stop), the database container's start
 *   baseline: `pgbackrest restore` on this host into an empty data directory from the same repository (MinIO over
 *             TLS, the same stanza and set, a config made by the operator's own builder), then `pg_ctl start` until
 *             the server accepts connections and is out of recovery (the same check as Silo's side); pgBackRest's
 *             default process-max of 1, as the runbook runs it. A third side, the copy alone with the process-max
 *             Silo's restore picks here (decision 0043), shows what tuning by hand would give.
 * Settings: SILO_BENCH_ROUNDS (default 3), SILO_BENCH_PG_SCALE (pgbench scale, default 68: about 1 GiB).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPLICATION_LIMITS } from '../runtime/pg/pg-access.js';
import { defaultRestoreProcessMax } from '../runtime/pg/restore.js';
import type { PGClusterSpec } from '../src/api/postgres.silo.io/types.js';
import { pgBin } from '../test/stack/components/postgres.js';
import { BASELINE_MARK, PodMemorySampler, type GroupPeak } from './pg-support.js';
import { PgBench } from './pg-cluster.js';
import { mbps, median, settle, table } from './measure.js';
import { COPY_PHASE, inPlacePhases, restorePhases, watchRestore, type RestoreWatch } from './pg-restore-watch.js';

const rounds = Number(process.env.SILO_BENCH_ROUNDS ?? 3);
const scale = Number(process.env.SILO_BENCH_PG_SCALE ?? 68);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`SILO_BENCH_ROUNDS must be a positive integer (got ${JSON.stringify(process.env.SILO_BENCH_ROUNDS)})`);
if (!Number.isInteger(scale) || scale < 1)
  throw new Error(`SILO_BENCH_PG_SCALE must be a positive integer (got ${JSON.stringify(process.env.SILO_BENCH_PG_SCALE)})`);

const SOURCE = 'src';
const BASELINE_PORT = 25_987;
const bench = await PgBench.start();
const work = mkdtempSync(join(tmpdir(), 'silo-bench-pg-restore-'));
const sampler = new PodMemorySampler();
const silo: Array<RestoreWatch & { peaks: Map<string, GroupPeak> }> = [];
const baseline: Array<{ seconds: number; restoreSeconds: number; peaks: Map<string, GroupPeak> }> = [];
/** The copy by hand with the process-max Silo's restore picks here (decision 0043): what tuning by hand would give. */
const baselineParallel: number[] = [];
const siloProcessMax = defaultRestoreProcessMax(availableParallelism());
let inPlace: { silo: { rto: number; seconds: number }; baseline: number; phases: ReturnType<typeof inPlacePhases> } | undefined;
const ids = {
  uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
  gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
};
const asPostgres = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], {
    env: { ...process.env, ...env, [BASELINE_MARK]: 'baseline' },
    encoding: 'utf8',
  });

try {
  const spec: PGClusterSpec = {
    storage: { size: '20Gi' },
    backups: { pgbackrest: { initialBackup: false, repos: [bench.s3Repo('repo1')] } },
  };
  const source = await bench.createCluster(SOURCE, spec);
  const sourceIps = { primary: source.status!.primary!.podIP!, repoHost: source.status!.repoHost!.podIP! };
  process.stdout.write(`loading pgbench scale ${scale} into ${SOURCE}-1…\n`);
  await bench.pgbench(SOURCE, sourceIps.primary, ['-i', '-s', String(scale), '-I', 'dtGvp', '-q']);
  await bench.waitArchived(SOURCE, sourceIps.primary);
  const dbBytes = Number(await bench.psql(SOURCE, sourceIps.primary, "SELECT pg_database_size('postgres')"));
  const full = await bench.backup(SOURCE, 'src-full', 'full');
  if (full.phase !== 'completed') throw new Error(`PGBackup src-full ${full.phase}: ${full.reason}: ${full.message}`);
  process.stdout.write(`loaded ${(dbBytes / 2 ** 20).toFixed(0)} MiB; full backup ${full.label} (${full.databaseSizeBytes} bytes)\n`);
  const conf = writeBaselineConfig(spec);

  const siloRound = async (round: number) => {
    const name = `copy-${round}`;
    const copySpec: PGClusterSpec = {
      storage: { size: '20Gi' },
      dataSource: { postgresCluster: { clusterName: SOURCE, repoName: 'repo1' } },
      backups: { pgbackrest: { initialBackup: false, repos: [bench.s3Repo('repo1', `/${name}`)] } },
    };
    sampler.start();
    const watch = await watchRestore(bench, name, copySpec);
    silo.push({ ...watch, peaks: sampler.stop() });
    await bench.deleteCluster(name, { volumes: true });
  };
  const baselineRound = async (round: number) => {
    const data = join(work, `data-${round}`);
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, ids.uid, ids.gid);
    sampler.start();
    const started = process.hrtime.bigint();
    const restore = asPostgres('pgbackrest', [`--config=${conf}`, '--stanza=db', `--pg1-path=${data}`, 'restore']);
    if (restore.status !== 0) throw new Error(`baseline pgbackrest restore (round ${round}): ${restore.stderr}${restore.stdout}`);
    const restoreSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    await startUntilPrimary(data, round);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    baseline.push({ seconds, restoreSeconds, peaks: sampler.stop() });
    asPostgres(pgBin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    rmSync(data, { recursive: true, force: true });
  };

  const baselineParallelRound = async (round: number) => {
    const data = join(work, `data-parallel-${round}`);
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, ids.uid, ids.gid);
    const started = process.hrtime.bigint();
    const args = [`--config=${conf}`, '--stanza=db', `--pg1-path=${data}`, `--process-max=${siloProcessMax}`, 'restore'];
    const restore = asPostgres('pgbackrest', args);
    if (restore.status !== 0)
      throw new Error(`baseline pgbackrest restore --process-max (round ${round}): ${restore.stderr}${restore.stdout}`);
    baselineParallel.push(Number(process.hrtime.bigint() - started) / 1e9);
    rmSync(data, { recursive: true, force: true });
  };

  await settle(); // the load and the backup, before the first side
  for (let round = 1; round <= rounds; round++) {
    // ABBA…: a machine getting busier or quieter, and the page cache the side before left, weigh on both alike.
    const order = round % 2 === 1 ? [baselineRound, baselineParallelRound, siloRound] : [siloRound, baselineParallelRound, baselineRound];
    for (const side of order) {
      await side(round);
      // Untimed: the next side does not pay for this one's writeback or its teardown (a deleted cluster's Pods and
      // volumes, a baseline's directory).
      const quiet = await settle();
      if (quiet.busiest) process.stdout.write(`  settled in ${quiet.seconds.toFixed(1)} s; busiest: ${quiet.busiest}\n`);
    }
    const [b, s] = [baseline[round - 1].seconds, silo[round - 1].seconds];
    process.stdout.write(`restore round ${round}: baseline ${b.toFixed(2)} s, silo ${s.toFixed(2)} s, ratio ${(b / s).toFixed(2)}\n`);
  }
  inPlace = await inPlaceRound(full.label!, conf);
  report(dbBytes, sourceIps.repoHost);
} finally {
  rmSync(work, { recursive: true, force: true });
  await bench.stop();
}

/** The baseline's pgbackrest.conf (the source's repository read directly, as bench:pg's) and the hba file its server uses. */
function writeBaselineConfig(spec: PGClusterSpec): string {
  const conf = bench.writeBaselineConf(SOURCE, spec, work, ids);
  writeFileSync(join(work, 'hba.conf'), 'local all all trust\n');
  chownSync(join(work, 'hba.conf'), ids.uid, ids.gid);
  return conf;
}

/**
 * pg_ctl start on the restored directory, as a user would: archiving off (the copy never writes into the source's
 * stanza, as Silo's restore), the socket only, limits not below the source's; then until it promoted at the archive's end.
 */
async function startUntilPrimary(data: string, round: number): Promise<void> {
  const settings = {
    port: String(BASELINE_PORT),
    listen_addresses: '',
    unix_socket_directories: work,
    archive_mode: 'off',
    hba_file: join(work, 'hba.conf'),
    ...REPLICATION_LIMITS,
  };
  const options = Object.entries(settings)
    .map(([k, v]) => `-c ${k}=${v === '' ? "''" : v}`)
    .join(' ');
  const start = asPostgres(pgBin('pg_ctl'), ['-D', data, '-l', join(work, `pg-${round}.log`), '-o', options, 'start']);
  if (start.status !== 0) throw new Error(`baseline pg_ctl start (round ${round}): ${start.stderr}${start.stdout}`);
  const deadline = Date.now() + 600_000;
  for (;;) {
    const q = asPostgres(pgBin('psql'), [
      '-X',
      '-A',
      '-t',
      '-h',
      work,
      '-p',
      String(BASELINE_PORT),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-c',
      'SELECT pg_is_in_recovery()',
    ]);
    if (q.status === 0 && q.stdout.trim() === 'f') return;
    if (Date.now() > deadline)
      throw new Error(
        `baseline round ${round}: not a primary after 600 s: ${readFileSync(join(work, `pg-${round}.log`), 'utf8').slice(-2000)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * One in-place round after the new-cluster rounds: a PGRestore of the source to its full backup (target immediate)
 * until the primary takes writes again (status.rtoSeconds) and until Succeeded (nothing to rebuild: one instance),
 * against the runbook by hand on a copy restored beforehand: pg_ctl stop, `pgbackrest restore --delta` to the same
 * set and target, pg_ctl start until it is a primary.
 */
async function inPlaceRound(label: string, conf: string): Promise<NonNullable<typeof inPlace>> {
  const data = join(work, 'data-in-place');
  mkdirSync(data, { mode: 0o700 });
  chownSync(data, ids.uid, ids.gid);
  const prepared = asPostgres('pgbackrest', [`--config=${conf}`, '--stanza=db', `--pg1-path=${data}`, 'restore']);
  if (prepared.status !== 0) throw new Error(`baseline in-place: the first restore: ${prepared.stderr}${prepared.stdout}`);
  await startUntilPrimary(data, 0);
  const started = process.hrtime.bigint();
  asPostgres(pgBin('pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  const args = [
    `--config=${conf}`,
    '--stanza=db',
    `--pg1-path=${data}`,
    '--delta',
    `--set=${label}`,
    '--type=immediate',
    '--target-action=promote',
  ];
  const delta = asPostgres('pgbackrest', [...args, 'restore']);
  if (delta.status !== 0) throw new Error(`baseline in-place restore --delta: ${delta.stderr}${delta.stdout}`);
  await startUntilPrimary(data, 0);
  const baselineSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  asPostgres(pgBin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
  rmSync(data, { recursive: true, force: true });
  const run = await bench.restoreInPlace('in-place', { cluster: { name: SOURCE }, repoName: 'repo1', backup: { label } });
  process.stdout.write(
    `in-place: baseline ${baselineSeconds.toFixed(2)} s, silo RTO ${run.status.rtoSeconds} s (Succeeded after ${run.seconds.toFixed(2)} s)\n`,
  );
  const phases = inPlacePhases({
    createdAt: run.createdAt,
    resolvedAt: Date.parse(run.status.resolvedAt ?? ''),
    stoppedAt: Date.parse(run.status.startedAt ?? ''),
    readyAt: Date.parse(run.status.readyAt ?? ''),
    log: await bench.podLog(`${SOURCE}-1`, 'restore'),
  });
  return { silo: { rto: run.status.rtoSeconds ?? NaN, seconds: run.seconds }, baseline: baselineSeconds, phases };
}

/** The in-place restore's row: the PGRestore's RTO against the runbook by hand. */
function inPlaceRow(): Record<string, string | number> | undefined {
  if (!inPlace) return undefined;
  return {
    run: 'restore in place to the full backup (PGRestore): created → primary takes writes (RTO) / by hand: stop, restore --delta, start',
    'silo MB/s': '',
    'baseline MB/s': '',
    'silo s': inPlace.silo.rto,
    'baseline s': inPlace.baseline,
    ratio: inPlace.baseline / inPlace.silo.rto,
    'ratio per round': `one round; Succeeded after ${inPlace.silo.seconds.toFixed(1)} s`,
  };
}

function report(bytes: number, sourceRepoHostIp: string): void {
  const s = median(silo.map((r) => r.seconds));
  const b = median(baseline.map((r) => r.seconds));
  const peak = <T>(runs: T[], pick: (r: T) => number) => Math.max(...runs.map(pick));
  const size = `${(bytes / 1e6).toFixed(0)} MB`;
  const rows = [
    {
      run: `restore ${size} into a new cluster: created → primary accepts connections`,
      'silo MB/s': mbps(bytes, s),
      'baseline MB/s': mbps(bytes, b),
      'silo s': s,
      'baseline s': b,
      ratio: b / s,
      'ratio per round': silo.map((r, i) => (baseline[i].seconds / r.seconds).toFixed(2)).join(' / '),
    },
    {
      run: `restore ${size}: the copy alone (pgbackrest restore)`,
      'silo MB/s': mbps(bytes, median(silo.map((r) => r.phases[COPY_PHASE]))),
      'baseline MB/s': mbps(bytes, median(baseline.map((r) => r.restoreSeconds))),
      'silo s': median(silo.map((r) => r.phases[COPY_PHASE])),
      'baseline s': median(baseline.map((r) => r.restoreSeconds)),
      ratio: median(baseline.map((r) => r.restoreSeconds)) / median(silo.map((r) => r.phases[COPY_PHASE])),
      'ratio per round': silo.map((r, i) => (baseline[i].restoreSeconds / r.phases[COPY_PHASE]).toFixed(2)).join(' / '),
    },
    {
      run: `restore ${size}: the copy alone, silo against pgbackrest restore --process-max=${siloProcessMax} by hand (as Silo runs it)`,
      'silo MB/s': mbps(bytes, median(silo.map((r) => r.phases[COPY_PHASE]))),
      'baseline MB/s': mbps(bytes, median(baselineParallel)),
      'silo s': median(silo.map((r) => r.phases[COPY_PHASE])),
      'baseline s': median(baselineParallel),
      ratio: median(baselineParallel) / median(silo.map((r) => r.phases[COPY_PHASE])),
      'ratio per round': silo.map((r, i) => (baselineParallel[i] / r.phases[COPY_PHASE]).toFixed(2)).join(' / '),
    },
    ...[inPlaceRow()].filter((r) => r !== undefined),
  ];
  const memory = [
    [
      'restoring primary Pod, all processes (silo pg restore, pgbackrest, postgres)',
      peak(silo, (r) => r.peaks.get(r.primaryIp)?.allMiB ?? 0),
    ],
    ['restoring primary Pod, pgBackRest processes', peak(silo, (r) => r.peaks.get(r.primaryIp)?.pgbackrestMiB ?? 0)],
    ["source's repo host, all processes (it serves the repository)", peak(silo, (r) => r.peaks.get(sourceRepoHostIp)?.allMiB ?? 0)],
    ['baseline, all processes (pgbackrest, postgres)', peak(baseline, (r) => r.peaks.get('baseline')?.allMiB ?? 0)],
    ['baseline, pgBackRest processes', peak(baseline, (r) => r.peaks.get('baseline')?.pgbackrestMiB ?? 0)],
  ].map(([what, mib]) => ({ 'peak RSS (summed over the processes, sampled every 100 ms)': what as string, MiB: mib as number }));
  const where = restorePhases(silo);
  const progress = silo.map((r, i) => ({ round: i + 1, 'status.restore seen while copying (operator passes every 5 s)': r.progressSeen }));
  process.stdout.write(
    `\n${table(rows)}\n\n${table(where)}\n\n${inPlace ? `${table(inPlace.phases)}\n\n` : ''}${table(memory)}\n\n${table(progress)}\n\nratio = median baseline seconds / median silo seconds over ${rounds} interleaved rounds (≥ 0.9 is the target). ` +
      `${new Date().toISOString()}, ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length} cores, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}\n`,
  );
}
