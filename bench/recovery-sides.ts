/**
 * The runs bench/recovery.ts compares, each on its own directory tree in the benchmark's work
 * directory (one filesystem), each ending when the server answers `SELECT 1`:
 *   baseline: mc cat | age -d | zstd -d | mbstream -x, mariabackup --prepare, --copy-back into an
 *             empty datadir, mariadbd with the option file `silo instance db` writes (less its init-file)
 *   silo:     silo restore physical --data-dir --work-dir, then `silo instance db`, both on one tree
 *             bound at /var/lib/mysql in a private mount namespace, as in the instance Pod
 *   clone:    `silo instance init` as a replica of the source's instance manager (mTLS), timed alone
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MOUNTS, PVC_MOUNT, RUN_DIR } from '../runtime/contracts/instance-pod.js';
import type { InstanceLayout } from '../runtime/instance/layout.js';
import { serverConfig } from '../runtime/instance/server-config.js';
import type { BindMount } from '../test/stack/kubelet/container-process.js';
import { containerEnv } from './measure.js';
import { DiskSampler, inMountNamespace, ok, startDaemon, timed, treeBytes, untilSelectOne, type DiskPeak } from './recovery-support.js';

export interface BenchSetup {
  readonly work: string;
  readonly silo: string[];
  /** `mc cat` of the stored object, as a shell word list. */
  readonly mcCat: string;
  readonly mcEnv: NodeJS.ProcessEnv;
  readonly identityFile: string;
  /** The worker's env for `silo restore physical` (store, chain, identity). */
  readonly restoreEnv: NodeJS.ProcessEnv;
  /** System users' password files (what the `<cluster>-system-users` Secret mounts). */
  readonly systemUsersDir: string;
  /** ca.crt, and tls.crt + tls.key of the replication client certificate. */
  readonly serverCaDir: string;
  readonly replicationTlsDir: string;
  readonly instanceManager: string;
  /** The command that runs `restore physical`: `silo`, or a copy of its launcher with `--cpu-prof` (SILO_BENCH_CPU_PROF). */
  readonly restoreSilo: string[];
  /** Run CHECKSUM TABLE on the started server and return it (the first round checks the data). */
  readonly checksum?: (socket: string) => Promise<Record<string, string>>;
}

export interface SideRun {
  /** Wall seconds per phase, in order; their sum is the total. */
  readonly phases: Record<string, number>;
  readonly total: number;
  /** The most the tree held until the datadir was placed (before the server started), and until it answered. */
  readonly placedPeak: DiskPeak;
  readonly peak: DiskPeak;
  /** The datadir as placed, before the server started, and once it answered (disk blocks; the server adds its redo log). */
  readonly placedBytes: number;
  readonly datadirBytes: number;
  /** The worker's (or the pipeline's) peak RSS: its own process, and the largest process of its tree. */
  readonly ownPeakRssMiB?: number;
  readonly treeMaxRssMiB: number;
  /** CPU seconds (user + system) until the datadir is in place: every process of the baseline's steps, or the worker and its children. */
  readonly restoreCpuSeconds: number;
  readonly checksums?: Record<string, string>;
}

const SERVER_ID = 1;

/** A tree of its own under the work directory; removed and flushed before and after each run. */
function freshTree(setup: BenchSetup, name: string): string {
  const root = join(setup.work, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  execFileSync('sync', ['-f', setup.work]);
  return root;
}

function layoutAt(root: string, runDir: string): InstanceLayout {
  return {
    dataDir: join(root, 'data'),
    workDir: join(root, 'silo'),
    stateFile: join(root, 'silo', 'state.json'),
    runDir,
    socket: join(runDir, 'mysqld.sock'),
    mounts: { systemUsers: '', appUser: '', serverCa: '', replicationTls: '' },
  };
}

const since = (started: bigint) => Number(process.hrtime.bigint() - started) / 1e9;

interface Server {
  readonly command: string[];
  readonly env: NodeJS.ProcessEnv;
  readonly socket: string;
  readonly dataDir: string;
}

/**
 * Starts a server, waits for SELECT 1, measures the datadir (and takes a disk sample then: InnoDB's 12 MiB ibtmp1
 * exists only while the server runs), optionally checksums, stops it.
 */
async function serve(setup: BenchSetup, { command, env, socket, dataDir }: Server, sampler: DiskSampler) {
  const started = process.hrtime.bigint();
  const server = startDaemon(command, env);
  try {
    await untilSelectOne(socket, server.exited);
  } catch (error) {
    await server.stop();
    throw new Error(`${(error as Error).message}\n${server.output().slice(-3000)}`, { cause: error });
  }
  const seconds = since(started);
  const datadirBytes = treeBytes([dataDir]);
  sampler.sample();
  const checksums = await setup.checksum?.(socket);
  await server.stop();
  return { seconds, datadirBytes, checksums };
}

export async function runBaseline(setup: BenchSetup): Promise<SideRun> {
  const root = freshTree(setup, 'baseline');
  const [extract, dataDir, runDir] = ['extract', 'data', 'run'].map((d) => join(root, d));
  mkdirSync(extract);
  mkdirSync(dataDir);
  mkdirSync(join(runDir, 'tmp'), { recursive: true });
  const sampler = new DiskSampler([extract, dataDir], setup.work);
  sampler.start();
  const pipeline = ok(
    await timed(
      ['bash', '-o', 'pipefail', '-c', `${setup.mcCat} | age -d -i ${setup.identityFile} | zstd -d -q | mbstream -x -C ${extract}`],
      setup.mcEnv,
    ),
    'baseline download',
  );
  const prepare = ok(await timed(['mariabackup', '--prepare', `--target-dir=${extract}`], process.env), 'baseline prepare');
  const copyBack = ok(
    await timed(['mariabackup', '--copy-back', `--target-dir=${extract}`, `--datadir=${dataDir}`], process.env),
    'baseline copy-back',
  );
  const placedPeak = sampler.peak();
  const placedBytes = treeBytes([dataDir]);
  // The option file `silo instance db` writes, without its init-file (system users): the same server.
  const cnf = serverConfig({
    layout: layoutAt(root, runDir),
    role: 'primary',
    serverId: SERVER_ID,
    bindAddress: '127.2.0.2',
    reportHost: 'baseline',
  }).replace(/^init-file=.*\n/m, '');
  writeFileSync(join(runDir, 'my.cnf'), cnf);
  const server = {
    command: ['mariadbd', `--defaults-file=${join(runDir, 'my.cnf')}`],
    env: process.env,
    socket: join(runDir, 'mysqld.sock'),
    dataDir,
  };
  const served = await serve(setup, server, sampler);
  const peak = sampler.stop();
  rmSync(root, { recursive: true, force: true });
  const phases = {
    'download + extract': pipeline.seconds,
    prepare: prepare.seconds,
    'place datadir': copyBack.seconds,
    'start → SELECT 1': served.seconds,
  };
  return {
    phases,
    total: Object.values(phases).reduce((a, b) => a + b, 0),
    placedPeak,
    peak,
    placedBytes,
    datadirBytes: served.datadirBytes,
    treeMaxRssMiB: pipeline.treeMaxRssMiB,
    restoreCpuSeconds: pipeline.cpuSeconds + prepare.cpuSeconds + copyBack.cpuSeconds,
    checksums: served.checksums,
  };
}

const podEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => containerEnv({ SILO_LOG_LEVEL: 'warn', ...extra });

export async function runSilo(setup: BenchSetup): Promise<SideRun> {
  const root = freshTree(setup, 'silo');
  const runDir = join(root, 'run');
  const volume = join(root, 'volume');
  mkdirSync(runDir);
  mkdirSync(volume);
  const dataDir = join(volume, 'data');
  const sampler = new DiskSampler([volume], setup.work);
  sampler.start();
  const restore = ok(
    await timed([...setup.restoreSilo, 'restore', 'physical', '--data-dir', dataDir, '--work-dir', join(volume, 'silo')], setup.restoreEnv),
    'silo restore physical',
  );
  const recovery = JSON.parse(restore.stdout.trim().split('\n').pop()!).recovery as { durations: Record<string, number> };
  const placedPeak = sampler.peak();
  const placedBytes = treeBytes([dataDir]);
  const mounts: BindMount[] = [
    { source: volume, target: PVC_MOUNT, readOnly: false },
    { source: runDir, target: RUN_DIR, readOnly: false },
    { source: setup.systemUsersDir, target: MOUNTS.systemUsers, readOnly: true },
  ];
  const env = podEnv({ SILO_INSTANCE_ROLE: 'primary', SILO_SERVER_ID: String(SERVER_ID), POD_IP: '127.2.0.1', SILO_INSTANCE_NAME: 'silo' });
  const command = inMountNamespace(mounts, [...setup.silo, 'instance', 'db']);
  const served = await serve(setup, { command, env, socket: join(runDir, 'mysqld.sock'), dataDir }, sampler);
  const peak = sampler.stop();
  rmSync(root, { recursive: true, force: true });
  const d = recovery.durations;
  const inPhases = Object.values(d).reduce((a, b) => a + b, 0);
  const phases = {
    'download + extract': d.downloading ?? 0,
    prepare: d.preparing ?? 0,
    'place datadir': d.moving ?? 0,
    'sync + state file': d.finalizing ?? 0,
    'worker start, checks, exit': restore.seconds - inPhases,
    'start → SELECT 1': served.seconds,
  };
  return {
    phases,
    total: restore.seconds + served.seconds,
    placedPeak,
    peak,
    placedBytes,
    datadirBytes: served.datadirBytes,
    ownPeakRssMiB: restore.ownPeakRssMiB,
    treeMaxRssMiB: restore.treeMaxRssMiB,
    restoreCpuSeconds: restore.cpuSeconds,
    checksums: served.checksums,
  };
}

export interface CloneRun {
  readonly seconds: number;
  readonly peak: DiskPeak;
  readonly datadirBytes: number;
  readonly ownPeakRssMiB: number;
  readonly treeMaxRssMiB: number;
}

/** `silo instance init` as a replica on an empty volume: the primary's backup streamed over mTLS, extracted, prepared, moved back. */
export async function runClone(setup: BenchSetup): Promise<CloneRun> {
  const root = freshTree(setup, 'clone');
  const volume = join(root, 'volume');
  const runDir = join(root, 'run');
  mkdirSync(volume);
  mkdirSync(runDir);
  const mounts: BindMount[] = [
    { source: volume, target: PVC_MOUNT, readOnly: false },
    { source: runDir, target: RUN_DIR, readOnly: false },
    { source: setup.serverCaDir, target: MOUNTS.serverCa, readOnly: true },
    { source: setup.replicationTlsDir, target: MOUNTS.replicationTls, readOnly: true },
  ];
  const env = podEnv({
    SILO_INSTANCE_ROLE: 'replica',
    SILO_INSTANCE_NAME: 'clone',
    SILO_PRIMARY_HOST: '127.0.0.1',
    SILO_PRIMARY_INSTANCE_MANAGER: setup.instanceManager,
    SILO_PRIMARY_INSTANCE_NAME: 'source',
    SILO_TLS_SERVER_NAME: 'localhost',
  });
  const sampler = new DiskSampler([volume], setup.work);
  sampler.start();
  const init = ok(await timed(inMountNamespace(mounts, [...setup.silo, 'instance', 'init']), env), 'silo instance init (clone)');
  const peak = sampler.stop();
  const datadirBytes = treeBytes([join(volume, 'data')]);
  rmSync(root, { recursive: true, force: true });
  return { seconds: init.seconds, peak, datadirBytes, ownPeakRssMiB: init.ownPeakRssMiB, treeMaxRssMiB: init.treeMaxRssMiB };
}
