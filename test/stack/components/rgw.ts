import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Component, StackContext } from '../component.js';
import { aptInstallIfMissing } from '../lib/apt.js';
import { LOOPBACK, ports } from '../lib/ports.js';
import { logTail, pidFileAlive, spawnDaemon, stopByPidFile } from '../lib/proc.js';
import { run } from '../lib/run.js';
import { ensureBucket, type S3Endpoint } from '../lib/s3.js';
import { httpStatus, waitForHttp, waitUntil } from '../lib/wait.js';
import { versions } from '../versions.js';

export const RGW_ACCESS_KEY = 'SILORGWKEY';
export const RGW_SECRET_KEY = 'silo-rgw-secret';
export const RGW_BUCKET = 'silo-test';
const endpoint = `http://${LOOPBACK}:${ports.rgw}`;

export const rgwEndpoint = (): S3Endpoint => ({
  endpoint,
  accessKeyId: RGW_ACCESS_KEY,
  secretAccessKey: RGW_SECRET_KEY,
});

const dir = (ctx: StackContext) => join(ctx.root, 'rgw');
const conf = (ctx: StackContext) => join(dir(ctx), 'ceph.conf');
/** Our own PID files, separate from the ones Ceph writes, so `down` signals exactly what `up` spawned. */
const pid = (ctx: StackContext, daemon: 'mon' | 'osd' | 'rgw') => join(dir(ctx), 'pids', `${daemon}.pid`);
const log = (ctx: StackContext, daemon: string) => join(ctx.logDir, `ceph-${daemon}.log`);

/**
 * One mon, one memstore OSD and RGW from Debian's packages (decision 0114):
 * auth none, pool size 1, every messenger bound to 127.0.0.1 within our port range.
 */
function cephConf(ctx: StackContext, fsid: string): string {
  const d = dir(ctx);
  const monAddr = `[v2:${LOOPBACK}:${ports.cephMonV2},v1:${LOOPBACK}:${ports.cephMonV1}]`;
  return `[global]
fsid = ${fsid}
mon host = ${monAddr}
public network = 127.0.0.0/8
cluster network = 127.0.0.0/8
public addr = ${LOOPBACK}
cluster addr = ${LOOPBACK}
ms bind port min = ${ports.cephBindMin}
ms bind port max = ${ports.cephBindMax}
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
ms client mode = crc secure
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = ${d}/run
admin socket = ${d}/run/$cluster-$name.asok
log file = ${ctx.logDir}/ceph-$name.daemon.log
pid file = ${d}/run/$cluster-$name.pid
mon data = ${d}/mon/$cluster-$id
osd data = ${d}/osd/$cluster-$id
osd objectstore = memstore
memstore device bytes = 4294967296
[client.rgw.a]
# Without crc here RGW loops on "get_initial_auth_request returned -13" for 300 s.
ms mon client mode = crc
ms client mode = crc
rgw frontends = beast endpoint=${LOOPBACK}:${ports.rgw}
rgw data = ${d}/rgw
`;
}

const ceph = (ctx: StackContext, args: string[]) => run('ceph', ['-c', conf(ctx), '--connect-timeout', '5', ...args]);

export const rgw: Component = {
  name: 'rgw',
  async install(ctx) {
    await aptInstallIfMissing(ctx, ['ceph-mon', 'ceph-osd', 'radosgw', 'ceph-common'], {
      radosgw: versions.debian.ceph,
      'ceph-osd': versions.debian.ceph,
    });
  },
  async up(ctx) {
    if (await rgw.status(ctx)) return;
    // In one CI run (fifth session), ceph-mon exited silently right after its mkfs, with nothing in its
    // logs, and a fresh cluster started at once in the next worker. Retry once, saying so; a second failure fails the run.
    try {
      await startFreshCluster(ctx);
    } catch (error) {
      ctx.log(`rgw: ${(error as Error).message.split('\n')[0]}; starting a fresh cluster once more`);
      await startFreshCluster(ctx);
    }
  },
  async down(ctx) {
    // Order matters: with the mon gone first, RGW ignores SIGTERM.
    await stopByPidFile(pid(ctx, 'rgw'), 30_000);
    await stopByPidFile(pid(ctx, 'osd'), 30_000);
    await stopByPidFile(pid(ctx, 'mon'), 30_000);
  },
  async status(ctx) {
    if (!(['mon', 'osd', 'rgw'] as const).every((n) => pidFileAlive(pid(ctx, n)))) return false;
    return (await httpStatus(`${endpoint}/`).catch(() => 0)) === 200;
  },
  env(ctx) {
    return {
      RGW_ENDPOINT: endpoint,
      RGW_ACCESS_KEY,
      RGW_SECRET_KEY,
      RGW_BUCKET,
      CEPH_CONF: conf(ctx),
    };
  },
};

/** A new single-node cluster (mon, OSD, RGW) with the test user and bucket. */
async function startFreshCluster(ctx: StackContext): Promise<void> {
  // The OSD keeps data in RAM, so a restart is a new cluster anyway: start clean.
  await rgw.down(ctx);
  // Daemons of an attempt that failed half-way, or of a run that was killed, may outlive their pid files
  // (a later attempt overwrote them): a stray OSD or RGW then holds the ports and the next cluster hangs
  // in radosgw-admin for good. Every daemon of this stack names this conf on its command line.
  await run('pkill', ['-KILL', '-f', '--', `-c ${conf(ctx)} `], { allowFailure: true });
  const d = dir(ctx);
  rmSync(d, { recursive: true, force: true });
  for (const sub of ['run', 'mon', 'osd', 'rgw', 'pids']) mkdirSync(join(d, sub), { recursive: true });
  const fsid = randomUUID();
  writeFileSync(conf(ctx), cephConf(ctx, fsid));
  const c = ['-c', conf(ctx)];
  const monmap = join(d, 'monmap');
  await run('monmaptool', [
    '--create',
    '--fsid',
    fsid,
    '--addv',
    'a',
    `[v2:${LOOPBACK}:${ports.cephMonV2},v1:${LOOPBACK}:${ports.cephMonV1}]`,
    monmap,
  ]);
  await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', monmap]);
  try {
    // -f keeps each daemon in the foreground, so the PID we record is the daemon.
    spawnDaemon({ cmd: 'ceph-mon', args: [...c, '-i', 'a', '-f'], pidFile: pid(ctx, 'mon'), logFile: log(ctx, 'mon') });
    await waitUntil('ceph-mon to answer', async () => (await ceph(ctx, ['mon', 'stat'])).code === 0, 60_000, {
      pidFile: pid(ctx, 'mon'),
      intervalMs: 500,
    });
    const osdUuid = randomUUID();
    const osdId = (await ceph(ctx, ['osd', 'new', osdUuid])).stdout.trim();
    mkdirSync(join(d, 'osd', `ceph-${osdId}`), { recursive: true });
    await run('ceph-osd', [...c, '-i', osdId, '--mkfs', '--osd-uuid', osdUuid]);
    spawnDaemon({ cmd: 'ceph-osd', args: [...c, '-i', osdId, '-f'], pidFile: pid(ctx, 'osd'), logFile: log(ctx, 'osd') });
    spawnDaemon({ cmd: 'radosgw', args: [...c, '-n', 'client.rgw.a', '-f'], pidFile: pid(ctx, 'rgw'), logFile: log(ctx, 'rgw') });
    await waitForHttp(`${endpoint}/`, 120_000, { pidFile: pid(ctx, 'rgw'), ok: (s) => s === 200, intervalMs: 500 });
    await run(
      'radosgw-admin',
      [...c, 'user', 'create', '--uid=silo', '--display-name=silo', `--access-key=${RGW_ACCESS_KEY}`, `--secret-key=${RGW_SECRET_KEY}`],
      { timeout: 60_000 },
    ); // it waits for good on a cluster that never forms; fail, and let up() retry
    await ensureBucket(rgwEndpoint(), RGW_BUCKET);
  } catch (e) {
    const logs = ['mon', 'osd', 'rgw'].map((n) => logTail(log(ctx, n), 10)).join('\n');
    throw new Error(`rgw did not start: ${(e as Error).message}\n${logs}\n(daemon logs: ${ctx.logDir}/ceph-*.daemon.log)`, { cause: e });
  }
}
