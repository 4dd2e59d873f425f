/**
 * `npm run bench:recovery`: a recovery of about 1 GiB of datadir to a primary that answers
 * `SELECT 1`, Silo against the manual runbook, in the same run (bench/recovery-sides.ts says what
 * each side runs). A throwaway mariadbd (not the stack's) is seeded with generated data
 * (test/stack/datasets/mariadb-seed.ts) and backed up once by `silo backup physical` through its
 * instance manager (mariabackup → zstd → mTLS → age → MinIO); both sides recover that one object.
 * After an untimed warm-up of each side, whose servers are checked with CHECKSUM TABLE against the
 * source, SILO_BENCH_ROUNDS (default 3) rounds, the side that goes first alternating, each followed
 * by a replica clone of the same source (`silo instance init`).
 *
 * Printed per side: total and per-phase seconds (medians; the ratio is baseline / Silo), the disk
 * its tree held at peak against the final datadir (each inode once, sampled every 100 ms; the
 * filesystem's statfs drop beside it), the worker's peak RSS (GNU time, as bench/datapath.ts, and
 * the node process's own VmHWM), CPU seconds, and the clone's time, disk and RSS.
 *
 * SILO_BENCH_MB: seeded data (default 800: about 1 GiB of datadir; 50 for a quick run).
 * SILO_BENCH_DIR: parent of the work directory (default the OS tmpdir); the trees need about three
 * times the datadir free. SILO_BENCH_RESEED=1 seeds again (otherwise a source seeded with the same
 * size is reused from <stack root>/mariadb/bench-recovery). SILO_BENCH_CPU_PROF=<dir>: the worker
 * of `restore physical` writes a V8 CPU profile (.cpuprofile) there. SILO_BENCH_TRACE=<file>: the
 * start, wall and CPU time of every mbstream, mariabackup and sync either side runs is appended there.
 * SILO_BENCH_WARMUP=0: no untimed warm-up of each side before the rounds (the first round then checks the data).
 * SILO_BENCH_SILO: another `silo` command instead of build/silo.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { encodeInstanceManagerEnv, toProcessEnv } from '../runtime/contracts/worker-env.js';
import { generateAgeKeyPair } from '../runtime/datapath/age/age-keys.js';
import { MINIO_ACCESS_KEY, MINIO_BUCKET, MINIO_SECRET_KEY, mcPath, minioEndpoint } from '../test/stack/components/minio.js';
import { mariadbInstance, startMariadb, stopMariadb, type MariadbInstance } from '../test/stack/components/mariadb.js';
import { createContext } from '../test/stack/context.js';
import { checksumTables, seedDataset, type SeedResult } from '../test/stack/datasets/mariadb-seed.js';
import { createPki } from '../test/support/pki.js';
import { minioWorkerEnv, workerProcessEnv } from '../test/support/worker-store-env.js';
import { containerEnv } from './measure.js';
import { ok, startDaemon, timed, traceCommands } from './recovery-support.js';
import { runBaseline, runClone, runSilo, type BenchSetup, type CloneRun, type SideRun } from './recovery-sides.js';
import { report } from './recovery-report.js';

const ROOT = resolve(import.meta.dirname, '..');
const SILO = [process.env.SILO_BENCH_SILO ?? join(ROOT, 'build/silo')];
const megabytes = Number(process.env.SILO_BENCH_MB ?? 800);
const rounds = Number(process.env.SILO_BENCH_ROUNDS ?? 3);
const warmup = process.env.SILO_BENCH_WARMUP !== '0';
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`SILO_BENCH_ROUNDS must be a positive integer`);
const SOURCE_PORT = 19193;
const IM_PORT = 19194;
const DATABASE = 'silo_bench_recovery';
const BACKUP_ID = '20261205T000000Z';

execFileSync('npm', ['run', '--silent', 'stack', '--', 'up', 'minio', 'mariadb'], { cwd: ROOT, stdio: 'inherit' });
const ctx = createContext();
const work = mkdtempSync(join(process.env.SILO_BENCH_DIR ?? tmpdir(), 'silo-bench-recovery-'));
const keys = generateAgeKeyPair();
const prefix = `bench-recovery/${Date.now()}/${BACKUP_ID}`;
const mc = mcPath(ctx);
// SILO_BENCH_TRACE=<file>: every mbstream, mariabackup and sync of both sides, the clone and the source's backups is logged there with its times.
if (process.env.SILO_BENCH_TRACE)
  process.env.PATH = `${traceCommands(join(work, 'trace'), resolve(process.env.SILO_BENCH_TRACE), ['mbstream', 'mariabackup', 'sync'])}:${process.env.PATH}`;
const mcEnv = {
  ...process.env,
  MC_HOST_bench: minioEndpoint(ctx, false).endpoint.replace('://', `://${MINIO_ACCESS_KEY}:${MINIO_SECRET_KEY}@`),
  MC_CONFIG_DIR: join(work, 'mc'),
};

/** The source, seeded once per size and kept for the next run (seeding 800 MB takes about a minute here). */
async function seededSource(): Promise<{ source: MariadbInstance; seed: SeedResult }> {
  const source = mariadbInstance(ctx, 'bench-recovery', SOURCE_PORT);
  await startMariadb(ctx, source);
  const marker = join(source.dir, 'seeded.json');
  const previous = existsSync(marker) ? (JSON.parse(readFileSync(marker, 'utf8')) as { megabytes: number; seed: SeedResult }) : undefined;
  if (previous?.megabytes === megabytes && process.env.SILO_BENCH_RESEED !== '1') return { source, seed: previous.seed };
  process.stdout.write(`seeding ${megabytes} MB into the source mariadbd…\n`);
  const seed = await seedDataset(source, { megabytes, database: DATABASE });
  writeFileSync(marker, JSON.stringify({ megabytes, seed }) + '\n');
  return { source, seed };
}

/** The Cluster's PKI as the Pods mount it: server CA, the replication client certificate, the system users' passwords. */
function mounts() {
  const pki = join(work, 'pki');
  createPki(pki);
  const serverCaDir = join(work, 'server-ca');
  const replicationTlsDir = join(work, 'replication-tls');
  const systemUsersDir = join(work, 'system-users');
  for (const dir of [serverCaDir, replicationTlsDir, systemUsersDir]) mkdirSync(dir);
  writeFileSync(join(serverCaDir, 'ca.crt'), readFileSync(join(pki, 'cluster-ca.crt')));
  writeFileSync(join(replicationTlsDir, 'tls.crt'), readFileSync(join(pki, 'silo-replication.crt')));
  writeFileSync(join(replicationTlsDir, 'tls.key'), readFileSync(join(pki, 'silo-replication.key')));
  for (const user of ['manager', 'replication', 'backup']) writeFileSync(join(systemUsersDir, user), `bench-${user}-password`);
  return { pki, serverCaDir, replicationTlsDir, systemUsersDir };
}

async function listening(port: number): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    const up = await new Promise<boolean>((r) => {
      const socket = connect(port, '127.0.0.1', () => r(true)).on('error', () => r(false));
      socket.unref();
      setTimeout(() => socket.destroy(), 1000);
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

/**
 * The launcher with `node --cpu-prof` (Node 20 refuses --cpu-prof in NODE_OPTIONS), written beside
 * it so that it finds silo-cli.mjs; the launcher's memory settings stay as they are.
 */
function profiledLauncher(dir: string): string[] {
  const text = readFileSync(SILO[0], 'utf8');
  if (!text.includes('exec node ')) throw new Error(`SILO_BENCH_CPU_PROF needs the launcher script build/silo; ${SILO[0]} is not one`);
  const path = join(dirname(SILO[0]), 'silo-cpu-prof');
  writeFileSync(path, text.replaceAll('exec node ', `exec node --cpu-prof --cpu-prof-dir=${dir} `), { mode: 0o755 });
  return [path];
}

const jobEnv = (extra: Record<string, string>): NodeJS.ProcessEnv =>
  containerEnv({
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    SILO_LOG_LEVEL: 'warn',
    SILO_TERMINATION_LOG: join(work, 'termination-log'),
    ...minioWorkerEnv(ctx),
    ...extra,
  });

const { source, seed } = await seededSource();
const paths = mounts();
const instanceManager = startDaemon([...SILO, 'instance-manager'], {
  ...process.env,
  SILO_LOG_LEVEL: 'warn',
  ...toProcessEnv(
    encodeInstanceManagerEnv({
      port: IM_PORT,
      host: '127.0.0.1',
      tls: {
        keyFile: join(paths.pki, 'instance.key'),
        certFile: join(paths.pki, 'instance.crt'),
        clientCaFile: join(paths.pki, 'cluster-ca.crt'),
      },
      connection: { socket: source.socket, user: 'root' },
    }),
  ),
});
const runs: { baseline: SideRun[]; silo: SideRun[]; clone: CloneRun[] } = { baseline: [], silo: [], clone: [] };
try {
  await listening(IM_PORT);
  const expected = await checksumTables(source, seed);
  const backup = ok(
    await timed(
      [...SILO, 'backup', 'physical', '--instance-manager', `https://127.0.0.1:${IM_PORT}`],
      jobEnv(
        workerProcessEnv({
          dataKey: `${prefix}/backup.xbstream`,
          metadataKey: `${prefix}/metadata.json`,
          backupId: BACKUP_ID,
          compression: { algorithm: 'zstd' },
          ageRecipients: [keys.recipient],
          tls: {
            caFile: join(paths.pki, 'cluster-ca.crt'),
            certFile: join(paths.pki, 'backup-job.crt'),
            keyFile: join(paths.pki, 'backup-job.key'),
          },
        }),
      ),
    ),
    'silo backup physical',
  );
  const metadata = JSON.parse(backup.stdout.trim().split('\n').pop()!).metadata;
  process.stdout.write(
    `backup: ${(metadata.sizes.sourceBytes / 2 ** 20).toFixed(0)} MiB xbstream stored as ${(metadata.sizes.storedBytes / 2 ** 20).toFixed(0)} MiB (zstd + age) in ${backup.seconds.toFixed(1)} s\n`,
  );
  writeFileSync(join(work, 'identity.txt'), keys.identity + '\n');
  const setup: BenchSetup = {
    work,
    silo: SILO,
    mcCat: `${mc} cat bench/${MINIO_BUCKET}/${prefix}/backup.xbstream`,
    mcEnv,
    identityFile: join(work, 'identity.txt'),
    restoreEnv: jobEnv(
      workerProcessEnv({
        metadataKeys: [`${prefix}/metadata.json`],
        chainSha256s: [metadata.sha256],
        backupId: BACKUP_ID,
        ageIdentity: { file: join(work, 'identity.txt') },
      }),
    ),
    systemUsersDir: paths.systemUsersDir,
    serverCaDir: paths.serverCaDir,
    replicationTlsDir: paths.replicationTlsDir,
    instanceManager: `https://127.0.0.1:${IM_PORT}`,
    restoreSilo: process.env.SILO_BENCH_CPU_PROF ? profiledLauncher(resolve(process.env.SILO_BENCH_CPU_PROF)) : SILO,
  };
  const checked = { ...setup, checksum: (socket: string) => checksumTables({ ...source, socket }, seed) };
  const run = async (side: 'baseline' | 'silo', check: boolean) => {
    const result = await (side === 'baseline' ? runBaseline : runSilo)(check ? checked : setup);
    if (result.checksums && JSON.stringify(result.checksums) !== JSON.stringify(expected))
      throw new Error(`${side}: CHECKSUM TABLE ${JSON.stringify(result.checksums)} differs from the source's ${JSON.stringify(expected)}`);
    return result;
  };
  // In every run without it, the first side of the first round (the baseline) was the slowest of the run: its mbstream
  // spent 2-2.8 s of system time against 0.5 s afterwards (first writes into new page cache on this VM, as the datapath
  // benchmark saw). A warm-up of each side, not counted, keeps that out of the rounds; it also checks the data.
  if (warmup) {
    const [b, s] = [await run('baseline', true), await run('silo', true)];
    process.stdout.write(`warm-up (not counted, CHECKSUM TABLE checked): baseline ${b.total.toFixed(2)} s, silo ${s.total.toFixed(2)} s\n`);
  }
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? (['baseline', 'silo'] as const) : (['silo', 'baseline'] as const);
    for (const side of order) runs[side].push(await run(side, !warmup && round === 1));
    const [b, s] = [runs.baseline[round - 1], runs.silo[round - 1]];
    process.stdout.write(
      `round ${round}: baseline ${b.total.toFixed(2)} s, silo ${s.total.toFixed(2)} s, ratio ${(b.total / s.total).toFixed(2)}`,
    );
    runs.clone.push(await runClone(setup));
    process.stdout.write(`; clone ${runs.clone[round - 1].seconds.toFixed(2)} s\n`);
  }
  process.stdout.write(`\n${report(runs, { sourceBytes: metadata.sizes.sourceBytes, storedBytes: metadata.sizes.storedBytes })}\n`);
} finally {
  await instanceManager.stop();
  await stopMariadb(source);
  execFileSync(mc, ['rm', '--recursive', '--force', '--quiet', `bench/${MINIO_BUCKET}/${prefix.split('/').slice(0, 2).join('/')}`], {
    env: mcEnv,
    stdio: 'ignore',
  });
  rmSync(work, { recursive: true, force: true });
}
