/**
 * `npm run bench:datapath`: Silo's worker against the equivalent shell pipeline,
 * in the same run, on a real mariabackup stream of a generated dataset.
 *   backup:  mariabackup | zstd -1 -T0 | age -r R | mc pipe   vs  silo backup physical (via the instance manager)
 *   restore: mc cat | age -d | zstd -d | mbstream -x          vs  silo restore command -- mbstream -x
 *            and again with the shell also checking the SHA256 of the stored bytes (tee | sha256sum), as Silo does
 *   memory:  silo backup of 1 GiB and of SILO_BENCH_MEMORY_GIB (default 20) GiB of synthetic data: peak RSS.
 *   age:     the age stage alone, in process, against the age CLI.
 * Sizes: SILO_BENCH_MB (dataset, default 1024), SILO_BENCH_MEMORY_GIB; SILO_BENCH_ROUNDS (default 3)
 * interleaved rounds of each backup and restore comparison, after one untimed run of each side, compared by their medians.
 * SILO_BENCH_SAME_OBJECT=1: the shell restores Silo's stored object (age over zstd, as the shell's own is), so the
 * restore rows compare the two restore paths on identical bytes rather than each side's backup's output.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateAgeKeyPair } from '../runtime/datapath/age/age-keys.js';
import { createContext } from '../test/stack/context.js';
import { MINIO_ACCESS_KEY, MINIO_BUCKET, MINIO_SECRET_KEY, mcPath, minioEndpoint } from '../test/stack/components/minio.js';
import { mariadbInstance, startMariadb, stopMariadb } from '../test/stack/components/mariadb.js';
import { seedDataset } from '../test/stack/datasets/mariadb-seed.js';
import { createPki } from '../test/support/pki.js';
import { minioWorkerEnv, workerProcessEnv } from '../test/support/worker-store-env.js';
import { encodeInstanceManagerEnv, toProcessEnv } from '../runtime/contracts/worker-env.js';
import { containerEnv, mbps, measure, median, must, settle, table, type Measured } from './measure.js';
import { ageThroughput } from './age-throughput.js';

const ROOT = resolve(import.meta.dirname, '..');
// The image's `silo` command that `npm run build:runtime` makes (bench:datapath builds it first): the
// bundle with the launcher's memory settings (decision 0016), as a Job runs it, without tsx compiling at startup.
// SILO_BENCH_SILO runs another command in its place (an A/B of launcher settings, for instance).
const CLI = [process.env.SILO_BENCH_SILO ?? join(ROOT, 'build/silo')];
const datasetMb = Number(process.env.SILO_BENCH_MB ?? 1024);
const memoryGib = Number(process.env.SILO_BENCH_MEMORY_GIB ?? 20);
const rounds = Number(process.env.SILO_BENCH_ROUNDS ?? 3);
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`SILO_BENCH_ROUNDS must be a positive integer (got ${JSON.stringify(process.env.SILO_BENCH_ROUNDS)})`);

execFileSync('npm', ['run', '--silent', 'stack', '--', 'up', 'minio', 'mariadb'], { cwd: ROOT, stdio: 'inherit' });
const ctx = createContext();
// A server of its own, kept between runs for its dataset: seeded into the stack's server, the gigabyte went into
// every physical backup the integration tests take of that server afterwards.
const db = mariadbInstance(ctx, 'bench-datapath', 19195);
await startMariadb(ctx, db);
const work = mkdtempSync(join(tmpdir(), 'silo-bench-'));
const keys = generateAgeKeyPair();
writeFileSync(join(work, 'identity.txt'), keys.identity + '\n');
const minio = minioEndpoint(ctx, false);
const mc = mcPath(ctx);
// Both sides run with a container's environment, not this shell's (containerEnv).
const mcEnv = containerEnv({
  MC_HOST_bench: minio.endpoint.replace('://', `://${MINIO_ACCESS_KEY}:${MINIO_SECRET_KEY}@`),
  MC_CONFIG_DIR: join(work, 'mc'),
});
const storeEnv = { ...minioWorkerEnv(ctx), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', SILO_LOG_LEVEL: 'warn' };
const prefix = `bench/${Date.now()}`;
const rows: Array<Record<string, string | number>> = [];

interface Interleaved {
  baseline: Measured[];
  silo: Measured[];
}

/**
 * Runs both sides `rounds` times, alternating which goes first, after one untimed run of each (round 0): the first
 * restore of a run was always the slowest (the shell's, 5.4–6.0 s against 3.6–4.8 s in later rounds, three runs of
 * three in the twenty-third session), and ABBA puts the baseline first in round 1, so that cost went to one side.
 */
async function interleaved(
  what: string,
  baseline: (round: number) => Promise<Measured>,
  silo: (round: number) => Promise<Measured>,
): Promise<Interleaved> {
  const result: Interleaved = { baseline: [], silo: [] };
  for (const side of [baseline, silo]) {
    must(await side(0), `${what} warm-up`);
    await settle();
  }
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? (['baseline', 'silo'] as const) : (['silo', 'baseline'] as const);
    for (const side of order) {
      const run = must(await (side === 'baseline' ? baseline : silo)(round), `${side} ${what} (round ${round})`);
      result[side].push(run);
      // Untimed, as in the PostgreSQL benchmarks: the next side does not pay for this one's writeback (a backup's
      // objects in MinIO's directory, a restore's extracted files).
      await settle();
    }
    const [b, s] = [result.baseline[round - 1].seconds, result.silo[round - 1].seconds];
    process.stdout.write(`${what} round ${round}: baseline ${b.toFixed(2)} s, silo ${s.toFixed(2)} s, ratio ${(b / s).toFixed(2)}\n`);
  }
  return result;
}

function comparisonRow(run: string, bytes: number, runs: Interleaved): Record<string, string | number> {
  const baselineSeconds = median(runs.baseline.map((r) => r.seconds));
  const siloSeconds = median(runs.silo.map((r) => r.seconds));
  return {
    run,
    'silo MB/s': mbps(bytes, siloSeconds),
    'baseline MB/s': mbps(bytes, baselineSeconds),
    ratio: baselineSeconds / siloSeconds,
    'ratio per round': runs.silo.map((r, i) => (runs.baseline[i].seconds / r.seconds).toFixed(2)).join(' / '),
    'silo peak RSS MiB': Math.max(...runs.silo.map((r) => r.peakRssMiB)),
    'baseline peak RSS MiB': Math.max(...runs.baseline.map((r) => r.peakRssMiB)),
    // CPU is what two cores run out of: a side that spends more of it loses wall time once the machine is busy.
    'silo CPU-s': median(runs.silo.map((r) => r.cpuSeconds)),
    'baseline CPU-s': median(runs.baseline.map((r) => r.cpuSeconds)),
  };
}

// Reseeding 1 GB takes minutes; reuse the dataset when an earlier run left it (SILO_BENCH_RESEED=1 forces it).
const seeded = execFileSync('mariadb', [
  '--no-defaults',
  `--socket=${db.socket}`,
  '-uroot',
  '-N',
  '-B',
  '-e',
  "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='silo_bench'",
])
  .toString()
  .trim();
if (seeded === '0' || process.env.SILO_BENCH_RESEED === '1') {
  process.stdout.write(`seeding ${datasetMb} MB into MariaDB…\n`);
  await seedDataset(db, { megabytes: datasetMb, database: 'silo_bench' });
}

// The instance manager runs as its own process, as the sidecar would.
const pki = createPki(join(work, 'pki'));
for (const [name, value] of Object.entries({
  ca: pki.ca,
  cert: pki.serverCert,
  key: pki.serverKey,
  ccert: pki.clientCert,
  ckey: pki.clientKey,
}))
  writeFileSync(join(work, name), value);
const imPort = 19190;
const imEnv = toProcessEnv(
  encodeInstanceManagerEnv({
    port: imPort,
    host: '127.0.0.1',
    tls: { keyFile: join(work, 'key'), certFile: join(work, 'cert'), clientCaFile: join(work, 'ca') },
    connection: { socket: db.socket, user: 'root' },
  }),
);
const im = spawn(CLI[0], [...CLI.slice(1), 'instance-manager'], {
  env: containerEnv({ ...imEnv, SILO_LOG_LEVEL: 'warn' }),
  stdio: 'inherit',
});
await new Promise((r) => setTimeout(r, 3000));

try {
  // Backup and restore, each side SILO_BENCH_ROUNDS times, interleaved with the order alternating (ABBA…),
  // so a machine that gets busier or quieter during the run, and the page cache left by the side before,
  // weigh on both sides alike. Medians are compared; every round's ratio is printed too.
  const mariabackup = `mariabackup --backup --stream=xbstream --target-dir=${join(work, 't')} --socket=${db.socket} --user=root --parallel=2`;
  const baselineBackup = (round: number) => {
    rmSync(join(work, 't'), { recursive: true, force: true });
    return measure(
      [
        'bash',
        '-o',
        'pipefail',
        '-c',
        `${mariabackup} 2>/dev/null | zstd -1 -T0 -q | age -r ${keys.recipient} | ${mc} pipe -q bench/${MINIO_BUCKET}/${prefix}/${round}/baseline.xb.zst.age`,
      ],
      mcEnv,
    );
  };
  const siloBackup = (round: number) =>
    measure(
      [...CLI, 'backup', 'physical', '--instance-manager', `https://127.0.0.1:${imPort}`],
      containerEnv({
        ...storeEnv,
        ...workerProcessEnv({
          dataKey: `${prefix}/${round}/silo/backup.xbstream`,
          metadataKey: `${prefix}/${round}/silo/metadata.json`,
          backupId: '20261122T000000Z',
          compression: { algorithm: 'zstd' },
          ageRecipients: [keys.recipient],
          tls: { caFile: join(work, 'ca'), certFile: join(work, 'ccert'), keyFile: join(work, 'ckey') },
        }),
      }),
    );
  const backups = await interleaved('backup', baselineBackup, siloBackup);
  const metadata = JSON.parse(backups.silo[0].stdout.trim().split('\n').pop()!).metadata;
  const sourceBytes = metadata.sizes.sourceBytes;
  rows.push(comparisonRow(`backup ${(sourceBytes / 1e6).toFixed(0)} MB xbstream`, sourceBytes, backups));

  // Restore round 1's objects into an extracted xbstream directory, both ways; each run starts from an empty directory.
  const target = join(work, 'restored');
  const sameObject = process.env.SILO_BENCH_SAME_OBJECT === '1';
  const emptyTarget = () => {
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target);
  };
  const baselineObject = `bench/${MINIO_BUCKET}/${prefix}/1/${sameObject ? 'silo/backup.xbstream' : 'baseline.xb.zst.age'}`;
  const shellRestore = `age -d -i ${join(work, 'identity.txt')} | zstd -d -q -T0 | mbstream -x -C ${target}`;
  const baselineRestore = () => {
    emptyTarget();
    return measure(['bash', '-o', 'pipefail', '-c', `${mc} cat ${baselineObject} | ${shellRestore}`], mcEnv);
  };
  // What Silo does and the shell above does not: check the SHA256 of every stored byte against a recorded one. A
  // runbook that does it on the way (tee into sha256sum, compared at the end) is the shell at its fastest.
  const baselineSha256 = sameObject
    ? metadata.sha256
    : execFileSync('bash', ['-o', 'pipefail', '-c', `${mc} cat ${baselineObject} | sha256sum`], { env: mcEnv })
        .toString()
        .split(' ')[0];
  const verifyingBaselineRestore = () => {
    emptyTarget();
    const digest = join(work, 'sha256.txt');
    return measure(
      [
        'bash',
        '-o',
        'pipefail',
        '-c',
        `${mc} cat ${baselineObject} | tee >(sha256sum > ${digest}) | ${shellRestore}; s=$?; wait $!; ` +
          `[ "$s" = 0 ] && [ "$(cut -d' ' -f1 ${digest})" = ${baselineSha256} ]`,
      ],
      mcEnv,
    );
  };
  const siloRestore = () => {
    emptyTarget();
    return measure(
      [...CLI, 'restore', 'command', '--', 'mbstream', '-x', '-C', target],
      containerEnv({
        ...storeEnv,
        ...workerProcessEnv({ metadataKey: `${prefix}/1/silo/metadata.json`, ageIdentity: { file: join(work, 'identity.txt') } }),
      }),
    );
  };
  rows.push(
    comparisonRow(
      `restore ${(sourceBytes / 1e6).toFixed(0)} MB xbstream${sameObject ? ", both from Silo's object" : ''}`,
      sourceBytes,
      await interleaved('restore', baselineRestore, siloRestore),
    ),
  );
  rows.push(
    comparisonRow(
      `restore ${(sourceBytes / 1e6).toFixed(0)} MB xbstream, the shell also checking SHA256 (tee into sha256sum)`,
      sourceBytes,
      await interleaved('restore, the shell checking SHA256', verifyingBaselineRestore, siloRestore),
    ),
  );
  rmSync(target, { recursive: true, force: true });

  // Memory: the same worker over 1 GiB and over memoryGib GiB of incompressible synthetic data, each backed up and
  // restored, and a restore of zeros, which zstd stores at about 32,000 to 1 (decision 0018).
  // SILO_BENCH_MEMORY_GIB=0 skips the memory runs.
  const memoryRun = async (label: string, key: string, bytes: number, generator: string) => {
    const backup = must(
      await measure(
        [...CLI, 'backup', 'command', '--', 'sh', '-c', generator],
        containerEnv({
          ...storeEnv,
          ...workerProcessEnv({
            dataKey: key,
            backupId: '20261122T000000Z',
            compression: { algorithm: 'zstd' },
            ageRecipients: [keys.recipient],
          }),
        }),
      ),
      `memory run: backup ${label}`,
    );
    const restore = must(
      await measure(
        [...CLI, 'restore', 'command', '--', 'sh', '-c', 'cat > /dev/null'],
        containerEnv({
          ...storeEnv,
          ...workerProcessEnv({ metadataKey: `${key}.metadata.json`, ageIdentity: { file: join(work, 'identity.txt') } }),
        }),
      ),
      `memory run: restore ${label}`,
    );
    for (const [verb, run] of [
      ['backup', backup],
      ['restore', restore],
    ] as const) {
      rows.push({
        run: `memory: ${verb} ${label}`,
        'silo MB/s': mbps(bytes, run.seconds),
        'baseline MB/s': '-',
        ratio: '-',
        'ratio per round': '-',
        'silo peak RSS MiB': run.peakRssMiB,
        'baseline peak RSS MiB': '-',
        'silo CPU-s': '-',
        'baseline CPU-s': '-',
      });
    }
    execFileSync(mc, ['rm', '--quiet', `bench/${MINIO_BUCKET}/${key}`, `bench/${MINIO_BUCKET}/${key}.metadata.json`], { env: mcEnv });
  };
  for (const gib of memoryGib > 0 ? [...new Set([1, memoryGib])] : []) {
    const bytes = gib * 1024 ** 3;
    await memoryRun(
      `${gib} GiB synthetic`,
      `${prefix}/mem-${gib}`,
      bytes,
      `openssl enc -aes-128-ctr -nosalt -pass pass:silo-bench -pbkdf2 -in /dev/zero 2>/dev/null | head -c ${bytes}`,
    );
  }
  if (memoryGib > 0) await memoryRun('4 GiB of zeros', `${prefix}/mem-zeros`, 4 * 1024 ** 3, `head -c ${4 * 1024 ** 3} /dev/zero`);
  // age alone: Silo's stage in this process (1 GiB from memory) against the age CLI on a 512 MiB cached file.
  const age = await ageThroughput(1024 ** 3);
  const ageFile = join(work, 'age-input');
  execFileSync('sh', ['-c', `head -c ${512 * 1024 ** 2} /dev/urandom > ${ageFile}`]);
  const ageCli = must(await measure(['sh', '-c', `age -r ${keys.recipient} < ${ageFile} > /dev/null`]), 'age CLI');
  const ageCliMbps = mbps(512 * 1024 ** 2, ageCli.seconds);
  rows.push({
    run: 'age encrypt (in process)',
    'silo MB/s': age.encryptMBps,
    'baseline MB/s': ageCliMbps,
    ratio: age.encryptMBps / ageCliMbps,
    'ratio per round': '-',
    'silo peak RSS MiB': '-',
    'baseline peak RSS MiB': '-',
    'silo CPU-s': '-',
    'baseline CPU-s': '-',
  });
  rows.push({
    run: 'age decrypt (in process)',
    'silo MB/s': age.decryptMBps,
    'baseline MB/s': '-',
    ratio: '-',
    'ratio per round': '-',
    'silo peak RSS MiB': '-',
    'baseline peak RSS MiB': '-',
    'silo CPU-s': '-',
    'baseline CPU-s': '-',
  });
} finally {
  im.kill('SIGTERM');
  await stopMariadb(db);
  execFileSync(mc, ['rm', '--recursive', '--force', '--quiet', `bench/${MINIO_BUCKET}/${prefix}`], { env: mcEnv, stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}

process.stdout.write(
  `\n${table(rows)}\n\nratio = median baseline seconds / median silo seconds over ${rounds} interleaved rounds (≥ 1.0 means Silo is at least as fast). ${new Date().toISOString()}, ${readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length} cores\n`,
);
