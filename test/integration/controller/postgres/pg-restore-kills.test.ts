/**
 * Kills during a restore, on the real stack (issue 15): the operator as a process, real PostgreSQL 15 and
 * pgBackRest 2.45 under the process kubelet, MinIO over TLS behind a valve proxy. One source cluster with about
 * 70 MB in its newest full backup and about as much WAL after it; the valve then passes 2 MB/s, so a restore
 * copies for half a minute and replays for as long. Each case is a new PGCluster restored to the end of the
 * archive, and something is killed at a known moment (the valve holds every byte while the kill happens):
 *   - the restore init container (its whole process group) mid-copy: RestoreInterrupted, then it finishes;
 *   - postgres in the restoring primary mid-replay: RestoreInterrupted, the replay resumes and finishes;
 *   - the store cut for 20 s mid-replay: the replay does not end early (every row of the source), it resumes;
 *   - the source's repo host Pod deleted mid-copy: the copy starts again once the repo host is back;
 *   - the operator killed mid-copy and started again: the restore goes on and is seen through.
 * Each ends with the source's rows, never loops and needs no hand edit; afterwards `pgbackrest verify` of the
 * source repository is clean. Each case prints how long it took.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { kubeletStateDir } from '../../../stack/components/kubelet.js';
import { useStack } from '../../../stack/mocha.js';
import { waitFor } from '../../kube/fixture.js';
import { createSource, restoredSpec, useRestoreSource, writeRowsArchived, type PGClusterObj } from './pg-restore-source.js';

const stack = useStack('kube', 'kubelet', 'minio');
const ROWS = 600_000;
const RATE = 2 * 1024 * 1024;
/** A digest of 1.8 M rows that does not build a string of them all. */
const DIGEST = "SELECT count(*) || ':' || sum(hashtext(id || note)::bigint) FROM orders";

/** pid, parent pid and command name of every process. */
function processes(): Array<{ pid: number; ppid: number; comm: string }> {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return [{ pid: Number(d), ppid, comm }];
      } catch {
        return [];
      }
    });
}

describe('PGCluster restore under kills: the restore container, postgres, the source repo host, the operator', function () {
  this.timeout(2_400_000);
  const s = useRestoreSource(stack, 'pg-rkill');
  const ns = () => s.fx.namespace;
  let sourceDigest = '';
  const timings: string[] = [];

  /** The restore container's process (the group leader the process kubelet recorded) of a cluster's primary. */
  async function restoreContainerPid(cluster: string): Promise<number> {
    const pod = await s.fx.core.readNamespacedPod({ namespace: ns(), name: `${cluster}-1` });
    const file = join(kubeletStateDir(stack.ctx), 'pids', `${pod.metadata!.uid}.restore`);
    return Number(readFileSync(file, 'utf8').split(' ')[0]);
  }

  /** Creates a restored cluster and waits until its restore is at `step` with bytes moving; the valve then holds. */
  async function restoreHeldAt(cluster: string, step: 'copying' | 'recovering'): Promise<number> {
    await s.api.create(KINDS.PGCluster, { metadata: { name: cluster, namespace: ns() }, spec: restoredSpec() });
    await s.phase(cluster, (c) => c?.status?.restore?.step === step, 600_000);
    const moved = s.valve.forwarded();
    await waitFor('bytes moving through the valve', async () => s.valve.forwarded() > moved + 2 * 1024 * 1024, 120_000);
    expect((await s.getCluster(cluster))!.status!.restore!.step, 'still at the step').to.equal(step);
    s.valve.pause();
    return Date.now();
  }

  /** To the end: restored, the primary accepting connections with the source's rows; the reasons seen on the way. */
  async function restoredWithSourceRows(cluster: string): Promise<{ seen: Set<string>; restored: PGClusterObj }> {
    const seen = new Set<string>();
    const restored = await s.phase(
      cluster,
      (c) => {
        if (c?.status?.restore?.reason) seen.add(c.status.restore.reason);
        return !!c?.status?.restore?.readyAt && !!c.status.primary?.ready;
      },
      900_000,
    );
    expect(restored.status!.restore!.phase).to.equal('Restored');
    expect(await s.psql(cluster, DIGEST)).to.equal(sourceDigest);
    return { seen, restored };
  }

  async function done(cluster: string, t0: number, what: string, seen: Set<string>): Promise<void> {
    const restarts =
      (await s.fx.core.readNamespacedPod({ namespace: ns(), name: `${cluster}-1` })).status?.initContainerStatuses?.find(
        (c) => c.name === 'restore',
      )?.restartCount ?? 0;
    const line = `${what}: restored in ${Math.round((Date.now() - t0) / 1000)} s, restore container restarts ${restarts}, reasons ${[...seen].join(' → ')}`;
    timings.push(line);
    console.log(`      ${line}`);
    await s.api.delete(KINDS.PGCluster, { namespace: ns(), name: cluster });
  }

  after(() => console.log(timings.map((t) => `      ${t}`).join('\n')));

  it('the source: 70 MB in a full backup, as much WAL after it, all archived; then the valve passes 2 MB/s', async () => {
    const t0 = Date.now();
    await createSource(s);
    await writeRowsArchived(s, 1, ROWS);
    await s.backup('src-big');
    await writeRowsArchived(s, ROWS + 1, 2 * ROWS);
    sourceDigest = await s.psql('src', DIGEST);
    s.valve.rate(RATE);
    console.log(`      source ready in ${Math.round((Date.now() - t0) / 1000)} s: ${sourceDigest}`);
  });

  it('the restore container killed mid-copy: RestoreInterrupted, then the copy starts over and finishes', async () => {
    const t0 = Date.now();
    await restoreHeldAt('kjob', 'copying');
    process.kill(-(await restoreContainerPid('kjob')), 'SIGKILL');
    s.valve.resume();
    const { seen } = await restoredWithSourceRows('kjob');
    expect([...seen]).to.include('RestoreInterrupted');
    await done('kjob', t0, 'restore container killed mid-copy', seen);
  });

  it('postgres killed mid-replay: RestoreInterrupted, the replay resumes and finishes', async () => {
    const t0 = Date.now();
    await restoreHeldAt('kdb', 'recovering');
    const container = await restoreContainerPid('kdb');
    const postmaster = processes().find((p) => p.ppid === container && p.comm === 'postgres');
    expect(postmaster, 'the replaying postmaster, a child of the restore container').to.not.equal(undefined);
    process.kill(postmaster!.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    s.valve.resume();
    const { seen, restored } = await restoredWithSourceRows('kdb');
    expect([...seen]).to.include('RestoreInterrupted');
    expect(restored.status!.restore!.reachedTimeline).to.equal(2);
    await done('kdb', t0, 'postgres killed mid-replay', seen);
  });

  it('the store cut for 20 s mid-replay: the replay never ends early (all the rows), it resumes once the store answers', async () => {
    const t0 = Date.now();
    await restoreHeldAt('kstore', 'recovering');
    s.valve.refuse();
    s.valve.resume();
    await new Promise((r) => setTimeout(r, 20_000));
    s.valve.accept();
    // Without a target, a restore_command failure taken for "no more WAL" would promote here, short of the source's rows.
    const { seen, restored } = await restoredWithSourceRows('kstore');
    expect(restored.status!.restore!.reachedTimeline).to.equal(2);
    await done('kstore', t0, 'store cut 20 s mid-replay', seen);
  });

  it('the source’s repo host Pod deleted mid-copy: the copy starts again once it is back, and finishes', async () => {
    const t0 = Date.now();
    await restoreHeldAt('khost', 'copying');
    await s.fx.core.deleteNamespacedPod({ namespace: ns(), name: 'src-repo-host', gracePeriodSeconds: 0 });
    s.valve.resume();
    const { seen } = await restoredWithSourceRows('khost');
    expect([...seen]).to.include('RestoreInterrupted');
    await done('khost', t0, 'source repo host deleted mid-copy', seen);
  });

  it('the operator killed mid-copy and started again: the restore goes on and is seen through', async () => {
    const t0 = Date.now();
    await restoreHeldAt('kop', 'copying');
    await s.operator!.kill();
    s.valve.resume();
    await new Promise((r) => setTimeout(r, 10_000));
    s.operator = await s.startOperator();
    const { seen } = await restoredWithSourceRows('kop');
    await done('kop', t0, 'operator killed mid-copy', seen);
  });

  it('afterwards `pgbackrest verify` of the source repository is clean, and the source still archives', async () => {
    s.valve.rate(undefined);
    const r = await s.verify();
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/verify command end: completed successfully/);
    await s.phase('src', (c) => c?.status?.phase === 'Ready', 300_000);
  });
});
