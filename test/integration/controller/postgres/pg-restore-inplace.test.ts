/**
 * In-place restore (PGRestore), end to end: the operator as a process, real PostgreSQL 15 and pgBackRest under the
 * process kubelet, one PGCluster with 2 instances and its repository on MinIO over TLS. Write A, back up, note T,
 * write B. A target past the archive is refused before any Pod stops. Restored in place to T: A and not B, a new
 * timeline, WAL archived again into the same stanza, the replica rebuilt and streaming; a second PGRestore meanwhile
 * waits with AnotherRestoreRunning. Then restored in place to the backup (by PGBackup name, target immediate), with
 * the operator killed mid-restore and a new one finishing it. Then to a time after B on the first timeline, which
 * the first restore left behind (target.timeline): B is back. Each restore's RTO is printed.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { expect } from 'chai';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { PGBackupStatus, PGClusterStatus, PGInPlaceRestoreStatus, PGRestoreSpec } from '../../../../src/api/postgres.silo.io/types.js';
import { pgBin } from '../../../stack/components/postgres.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';

const stack = useStack('kube', 'kubelet', 'minio');
type PGClusterObj = KubeObject & { status?: PGClusterStatus };
type PGBackupObj = KubeObject & { status?: PGBackupStatus };
type PGRestoreObj = KubeObject & { status?: PGInPlaceRestoreStatus };

describe('PGRestore: a PGCluster restored in place, to a time and to a backup', function () {
  this.timeout(1_800_000);
  const fx = useKube('pg-inplace', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  let target = '';
  /** A time after B on the first timeline, with a commit (C) after it so replay can stop there. */
  let afterB = '';
  let timeline = 0;
  let firstTimeline = 0;
  const repo1 = () => ({
    name: 'repo1' as const,
    s3: {
      bucket: stack.env().MINIO_BUCKET,
      endpoint: stack.env().MINIO_TLS_ENDPOINT,
      region: 'us-east-1',
      uriStyle: 'path' as const,
      caSecret: { name: 'minio-ca', key: 'ca.crt' },
      credentials: { accessKeyId: { name: 'minio-creds', key: 'accessKey' }, secretAccessKey: { name: 'minio-creds', key: 'secretKey' } },
    },
  });
  const key = (name: string) => ({ namespace: fx.namespace, name });
  const getCluster = () => api.get<PGClusterObj>(KINDS.PGCluster, key('ip'));
  const getRestore = (name: string) => api.get<PGRestoreObj>(KINDS.PGRestore, key(name));
  const createRestore = (name: string, spec: Omit<PGRestoreSpec, 'cluster' | 'repoName'>) =>
    api.create(KINDS.PGRestore, {
      metadata: { name, namespace: fx.namespace },
      spec: { cluster: { name: 'ip' }, repoName: 'repo1', ...spec },
    });
  const primaryPod = () => fx.core.readNamespacedPod({ namespace: fx.namespace, name: 'ip-1' });

  async function psql(sql: string): Promise<string> {
    const c = (await getCluster())!;
    const secret = await fx.core.readNamespacedSecret({ namespace: fx.namespace, name: 'ip-pguser-postgres' });
    const password = Buffer.from(secret.data!.password, 'base64').toString('utf8');
    return execFileSync(
      pgBin('psql'),
      ['-X', '-A', '-t', '-h', c.status!.primary!.podIP!, '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-c', sql],
      { env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' }, encoding: 'utf8' },
    ).trim();
  }

  async function restorePhase(name: string, phases: string[], timeoutMs: number): Promise<PGInPlaceRestoreStatus> {
    const r = await waitFor(
      `PGRestore ${name} in ${phases.join('/')}`,
      async () => {
        const got = await getRestore(name);
        const phase = got?.status?.phase ?? '';
        if (['Failed', 'Refused'].includes(phase) && !phases.includes(phase)) throw new Error(JSON.stringify(got!.status));
        return phases.includes(phase) ? got : undefined;
      },
      timeoutMs,
    );
    return r.status!;
  }

  /** A and B as counted on the primary, and the primary's timeline. */
  const rows = () => psql("SELECT count(*) FILTER (WHERE note = 'A') || '/' || count(*) FILTER (WHERE note = 'B') FROM orders");
  const currentTimeline = async () => Number(await psql('SELECT timeline_id FROM pg_control_checkpoint()'));

  /** WAL of the new timeline reaches the repository, and the replica streams from the restored primary. */
  async function archivingAndReplica(newTimeline: number): Promise<void> {
    // The restore's recovery settings are gone: a replica cloned from this primary must not stop and promote at the target.
    expect(await psql("SELECT count(*) FROM pg_file_settings WHERE name = 'restore_command' OR name LIKE 'recovery_target%'")).to.equal(
      '0',
    );
    const archived = Number(await psql('SELECT archived_count FROM pg_stat_archiver'));
    await psql('SELECT pg_switch_wal()');
    await waitFor(
      'a switched WAL archived',
      async () => Number(await psql('SELECT archived_count FROM pg_stat_archiver')) > archived,
      120_000,
    );
    const last = await psql('SELECT last_archived_wal FROM pg_stat_archiver');
    // A WAL segment, not the timeline's history file pushed over and over (its marker once unrenamable by postgres).
    expect(last).to.match(/^[0-9A-F]{24}$/);
    expect(parseInt(last.slice(0, 8), 16), last).to.equal(newTimeline);
    expect(await psql("SELECT count(*) FROM pg_ls_dir('pg_wal/archive_status') f WHERE f LIKE '%.history.ready'")).to.equal('0');
    const c = (await getCluster())!;
    expect(c.status!.conditions!.find((x) => x.type === 'ContinuousArchiving')).to.include({ status: 'True' });
    const streaming = await waitFor(
      'the replica streams from the restored primary',
      async () => (await psql("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) === '1' || undefined,
      300_000,
    );
    expect(streaming).to.equal(true);
    const archiveMax = await waitFor(
      'status.repos archiveMax on the new timeline',
      async () => {
        const max = (await getCluster())!.status!.repos?.[0]?.archiveMax;
        return max && parseInt(max.slice(0, 8), 16) === newTimeline ? max : undefined;
      },
      120_000,
    );
    expect(archiveMax).to.match(/^[0-9A-F]{24}$/);
  }

  before(async function () {
    this.timeout(300_000);
    api = new CustomObjects(fx.kc);
    const secret = (name: string, stringData: Record<string, string>) =>
      fx.core.createNamespacedSecret({ namespace: fx.namespace, body: { metadata: { name }, stringData } });
    await secret('minio-creds', { accessKey: stack.env().MINIO_ACCESS_KEY, secretKey: stack.env().MINIO_SECRET_KEY });
    await secret('minio-ca', { 'ca.crt': readFileSync(stack.env().MINIO_CA_FILE, 'utf8') });
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `pg-inplace-e2e-${fx.namespace}` });
  });

  after(async function () {
    this.timeout(120_000);
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-15000));
    await operator?.stop();
  });

  it('the cluster: 2 instances, A, a full backup, T, B, all archived', async () => {
    await api.create(KINDS.PGCluster, {
      metadata: { name: 'ip', namespace: fx.namespace },
      spec: { instances: 2, storage: { size: '1Gi' }, backups: { pgbackrest: { repos: [repo1()] } } },
    });
    await waitFor(
      'PGCluster ip Ready with its replica',
      async () => {
        const c = await getCluster();
        return c?.status?.phase === 'Ready' && c.status.readyInstances === 2 ? c : undefined;
      },
      600_000,
    );
    await psql("CREATE TABLE orders (id int primary key, note text); INSERT INTO orders SELECT g, 'A' FROM generate_series(1, 100) g");
    await api.create(KINDS.PGBackup, {
      metadata: { name: 'ip-full', namespace: fx.namespace },
      spec: { cluster: { name: 'ip' }, repoName: 'repo1', type: 'full' },
    });
    const b = await waitFor(
      'PGBackup ip-full finished',
      async () => {
        const got = await api.get<PGBackupObj>(KINDS.PGBackup, key('ip-full'));
        return ['completed', 'failed'].includes(got?.status?.phase ?? '') ? got : undefined;
      },
      300_000,
    );
    expect(b.status!.phase, b.status!.message).to.equal('completed');
    await new Promise((r) => setTimeout(r, 1500));
    target = await psql(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await new Promise((r) => setTimeout(r, 1500));
    await psql("INSERT INTO orders SELECT g, 'B' FROM generate_series(101, 150) g");
    await new Promise((r) => setTimeout(r, 1500));
    afterB = await psql(`SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    await new Promise((r) => setTimeout(r, 1500));
    await psql("INSERT INTO orders VALUES (1000, 'C')");
    const archived = Number(await psql('SELECT archived_count FROM pg_stat_archiver'));
    await psql('SELECT pg_switch_wal()');
    await waitFor('B archived', async () => Number(await psql('SELECT archived_count FROM pg_stat_archiver')) > archived, 120_000);
    expect(await rows()).to.equal('100/50');
    timeline = firstTimeline = await currentTimeline();
  });

  it('a target past the archive is refused before any Pod stops, naming the window', async () => {
    const uid = (await primaryPod()).metadata!.uid;
    await createRestore('too-late', { target: { time: new Date(Date.now() + 3_600_000).toISOString() } });
    const s = await restorePhase('too-late', ['Refused'], 120_000);
    expect(s.reason).to.equal('TargetOutsideRecoveryWindow');
    expect(s.message).to.contain(s.window!.from).and.contain(s.window!.to);
    expect(s.startedAt).to.equal(undefined);
    expect((await primaryPod()).metadata!.uid).to.equal(uid);
    expect((await getCluster())!.metadata?.annotations?.['postgres.silo.io/restore']).to.equal(undefined);
  });

  it('restored in place to T: A and not B, a new timeline, archiving into the same stanza, the replica rebuilt; a second PGRestore waits', async () => {
    await createRestore('to-t', { target: { time: target } });
    await restorePhase('to-t', ['Stopping', 'Restoring', 'Recovering', 'Rebuilding', 'Succeeded'], 300_000);
    await createRestore('queued', { backup: { pgBackup: 'ip-full' } });
    const queued = await restorePhase('queued', ['Pending'], 60_000);
    expect(queued.reason).to.equal('AnotherRestoreRunning');
    expect(queued.message).to.contain('PGRestore to-t');
    await api.delete(KINDS.PGRestore, key('queued'));
    const s = await restorePhase('to-t', ['Succeeded'], 420_000);
    console.log(
      `      in-place restore to ${s.target!.value}: backup ${s.backupLabel}, reached timeline ${s.reachedTimeline} at ${s.reachedLsn}, RTO ${s.rtoSeconds} s`,
    );
    expect(s).to.include({ stanza: 'db', backupLabel: (await api.get<PGBackupObj>(KINDS.PGBackup, key('ip-full')))!.status!.label });
    expect(s.target).to.deep.include({ type: 'time' });
    expect(s.rtoSeconds).to.be.greaterThan(0);
    // The copy's figures, as a new-cluster restore shows them: the set's size, all of it done once past the copy.
    expect(s.bytesTotal).to.be.greaterThan(1_000_000);
    expect(s).to.include({ percent: 100, bytesDone: s.bytesTotal, etaSeconds: 0 });
    // No commit lies between the backup's end and T here (A was written before the backup): nothing replayed, no reachedTime.
    if (s.reachedTime !== undefined) expect(Date.parse(s.reachedTime)).to.be.at.most(Date.parse(target));
    expect(await rows()).to.equal('100/0');
    const now = await currentTimeline();
    expect(now).to.be.greaterThan(timeline);
    expect(s.reachedTimeline).to.equal(now);
    timeline = now;
    await archivingAndReplica(now);
    expect((await getCluster())!.metadata?.annotations?.['postgres.silo.io/restore']).to.equal(undefined);
  });

  it('restored in place to the backup (by PGBackup name, target immediate), the operator killed mid-restore: A and not B, again a new timeline', async () => {
    await psql("INSERT INTO orders SELECT g, 'B' FROM generate_series(101, 120) g");
    await createRestore('to-backup', { backup: { pgBackup: 'ip-full' } });
    const killedIn = (await restorePhase('to-backup', ['Stopping', 'Restoring', 'Recovering', 'Rebuilding', 'Succeeded'], 300_000)).phase;
    await operator!.kill();
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `pg-inplace-e2e-${fx.namespace}` });
    console.log(`      the operator was killed while the restore was ${killedIn}`);
    const s = await restorePhase('to-backup', ['Succeeded'], 420_000);
    console.log(
      `      in-place restore to backup ${s.backupLabel} (${s.target!.type}): timeline ${s.reachedTimeline}, RTO ${s.rtoSeconds} s`,
    );
    expect(s.target).to.deep.include({ type: 'immediate' });
    expect(await rows()).to.equal('100/0');
    const now = await currentTimeline();
    expect(now).to.be.greaterThan(timeline);
    await archivingAndReplica(now);
    timeline = now;
  });

  it('restored in place to a time on the timeline the first restore left behind (target.timeline): B is back', async () => {
    // Without the timeline, replay would follow the newest timeline from where it branched (before B): A only.
    await createRestore('old-timeline', { target: { time: afterB, timeline: String(firstTimeline) } });
    const s = await restorePhase('old-timeline', ['Succeeded'], 600_000);
    console.log(`      in-place restore to ${afterB} on timeline ${firstTimeline}: timeline ${s.reachedTimeline}, RTO ${s.rtoSeconds} s`);
    expect(s.target).to.deep.include({ type: 'time', timeline: String(firstTimeline) });
    expect(await rows()).to.equal('100/50');
    const now = await currentTimeline();
    expect(now).to.be.greaterThan(timeline);
    expect(s.reachedTimeline).to.equal(now);
  });
});
