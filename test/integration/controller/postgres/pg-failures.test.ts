/**
 * PGBackup failure surfaces for real, end to end with the operator as a process, PostgreSQL 15 and
 * pgBackRest 2.45 under the process kubelet. One PGCluster serves every case; its repo1 is a volume whose
 * PersistentVolume is a 64 MiB tmpfs the test mounts, so the repository can be filled and its archive
 * made unwritable from outside:
 *   - the backup Job's TLS to the repo host agent, with the cluster's own Secrets: not authorised, unknown CA,
 *     no client certificate, unreachable;
 *   - pgBackRest's lock held by someone else (a backup started by hand): LockBusy;
 *   - the repository volume full: RepoVolumeFull;
 *   - WAL archiving broken on purpose: the backup waits archive-timeout and fails with ArchiveTimeout.
 * Each is the PGBackup's reason, in its phase, its Ready condition and an Event, with pgBackRest's cause line.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { CLIENT_AUTH, issueCa, issueLeaf } from '../../../../runtime/controller/pki/x509.js';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import { PG_CN, PG_VAR, REPO_AGENT_PORT, pgNames, podDnsName } from '../../../../runtime/contracts/pg-pods.js';
import { createLogger } from '../../../../runtime/logging/logger.js';
import { runPgBackupJob } from '../../../../runtime/pg/backup-job.js';
import type { PGBackupStatus, PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { kubeletStateDir } from '../../../stack/components/kubelet.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';

const stack = useStack('kube', 'kubelet');
type PGClusterObj = KubeObject & { status?: PGClusterStatus };
type PGBackupObj = KubeObject & { status?: PGBackupStatus };
const quiet = createLogger({ component: 'test' }, { write: () => undefined });
const sink = () => new Writable({ write: (_c, _e, done) => done() });
const postgresId = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());

describe('PGBackup failure surfaces on the real stack: the TLS matrix, a held lock, broken archiving, a full repository', function () {
  this.timeout(900_000);
  const fx = useKube('pg-failures', { withKubelet: false });
  const names = pgNames('fail');
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  const volume = mkdtempSync(join(tmpdir(), 'silo-pg-repo-'));
  const tlsRoot = mkdtempSync(join(tmpdir(), 'silo-pg-tls-'));
  const pvName = () => `silo-pgfail-${fx.namespace}`;
  const repoDir = () => join(volume, 'silo', fx.namespace, 'fail');
  let holder: ChildProcess | undefined;

  const getCluster = () => api.get<PGClusterObj>(KINDS.PGCluster, { namespace: fx.namespace, name: 'fail' });
  const getBackup = (name: string) => api.get<PGBackupObj>(KINDS.PGBackup, { namespace: fx.namespace, name });

  /** A full PGBackup with extra options, to its end; it must fail with `reason`. */
  async function backupFails(name: string, reason: string, options: string[] = []): Promise<PGBackupStatus> {
    await api.create(KINDS.PGBackup, {
      metadata: { name, namespace: fx.namespace },
      spec: { cluster: { name: 'fail' }, repoName: 'repo1', type: 'full', options },
    });
    const b = await waitFor(
      `PGBackup ${name} finished`,
      async () => {
        const got = await getBackup(name);
        return got?.status?.phase === 'completed' || got?.status?.phase === 'failed' ? got : undefined;
      },
      300_000,
    );
    const s = b.status!;
    expect(s.phase, JSON.stringify(s)).to.equal('failed');
    expect(s.reason, s.message).to.equal(reason);
    expect(s.conditions!.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason });
    // The Event is recorded just after the status is written: wait for it rather than read once.
    const reasons = async () =>
      (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: `involvedObject.name=${name}` })).items.map(
        (e) => e.reason,
      );
    await waitFor(
      `a ${reason} Event on PGBackup ${name}`,
      async () => ((await reasons()).includes(reason) ? true : undefined),
      30_000,
    ).catch(async () => expect(await reasons()).to.include(reason));
    return s;
  }

  /** The host path of a path inside the repo host's container: its emptyDir under the process kubelet's state. */
  async function repoHostHostPath(containerPath: string): Promise<string> {
    const pod = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: names.repoHost });
    const mount = pod.spec!.containers[0].volumeMounts!.find((m) => containerPath.startsWith(`${m.mountPath}/`))!;
    const rest = containerPath.slice(mount.mountPath.length);
    return join(kubeletStateDir(stack.ctx), 'pods', pod.metadata!.uid!, 'volumes', mount.name, rest);
  }

  before(async function () {
    this.timeout(300_000);
    api = new CustomObjects(fx.kc);
    // The repository volume: a PV on a tmpfs, bound ahead to the claim the operator would otherwise create.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', volume]);
    await fx.core.createPersistentVolume({
      body: {
        metadata: { name: pvName() },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: '',
          hostPath: { path: volume, type: 'Directory' },
          claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: fx.namespace, name: names.repoVolume('repo1') },
        },
      },
    });
    await fx.core.createNamespacedPersistentVolumeClaim({
      namespace: fx.namespace,
      body: {
        metadata: { name: names.repoVolume('repo1') },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: '', volumeName: pvName(), resources: { requests: { storage: '1Gi' } } },
      },
    });
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `pg-failures-e2e-${fx.namespace}` });
    await api.create(KINDS.PGCluster, {
      metadata: { name: 'fail', namespace: fx.namespace },
      spec: {
        storage: { size: '1Gi' },
        backups: { pgbackrest: { initialBackup: false, repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '1Gi' } } }] } },
      },
    });
    await waitFor(
      'PGCluster fail Ready',
      async () => {
        const got = await getCluster();
        if (got?.status?.phase === 'Failed') throw new Error(JSON.stringify(got.status));
        return got?.status?.phase === 'Ready' ? got : undefined;
      },
      420_000,
    );
  });

  after(async function () {
    this.timeout(180_000);
    if (holder?.pid) holder.kill();
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-8000));
    await api?.delete(KINDS.PGCluster, { namespace: fx.namespace, name: 'fail' }).catch(() => undefined);
    // The repo host must be gone before its volume is unmounted.
    await waitFor(
      'repo host gone',
      async () => !(await fx.core.readNamespacedPod({ namespace: fx.namespace, name: names.repoHost }).catch(() => undefined)),
      120_000,
    ).catch(() => undefined);
    await operator?.stop();
    await fx.core.deletePersistentVolume({ name: pvName() }).catch(() => undefined);
    execFileSync('umount', ['-l', volume]);
    rmSync(volume, { recursive: true, force: true });
    rmSync(tlsRoot, { recursive: true, force: true });
  });

  it('the backup Job’s TLS to the repo host agent: each failure of the matrix is its own reason', async () => {
    const secret = async (name: string) =>
      (await fx.core.readNamespacedSecret({ namespace: fx.namespace, name })).data as Record<string, string>;
    const dirOf = (label: string, files: Record<string, string>) => {
      const dir = join(tlsRoot, label);
      mkdirSync(dir, { recursive: true });
      for (const [file, pem] of Object.entries(files)) writeFileSync(join(dir, file), pem);
      return dir;
    };
    const pem = (data: Record<string, string>, key: string) => Buffer.from(data[key], 'base64').toString('utf8');
    const backup = await secret(names.backupTlsSecret);
    const instance = await secret(names.instanceTlsSecret);
    const ca = pem(backup, 'ca.crt');
    const foreignCa = await issueCa({ cluster: 'elsewhere', now: new Date() });
    const foreign = await issueLeaf(foreignCa, { cn: PG_CN.backup, usages: [CLIENT_AUTH] }, new Date());
    const repoHost = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: names.repoHost });
    const ip = repoHost.status!.podIP!;
    // repo 9 is refused by the agent after TLS and authorisation: nothing runs even if a case got through.
    const request = JSON.stringify({ repo: 9, type: 'full', annotation: `${fx.namespace}/x/y`, options: [] });
    const job = (dir: string, port = REPO_AGENT_PORT) =>
      runPgBackupJob(
        {
          [PG_VAR.agentUrl]: `https://${ip}:${port}`,
          [PG_VAR.agentServerName]: podDnsName(names.repoHost, names.repoService, fx.namespace),
          [PG_VAR.backupRequest]: request,
        },
        quiet,
        sink(),
        dir,
      );
    const own = dirOf('own', { 'tls.crt': pem(backup, 'tls.crt'), 'tls.key': pem(backup, 'tls.key'), 'ca.crt': ca });
    expect((await job(own)).message, 'the cluster backup certificate is served').to.match(/HTTP 400.*repo must be 1 to 4/);
    const cases: Array<[string, Record<string, string>, string, number?]> = [
      ['instance-cn', { 'tls.crt': pem(instance, 'tls.crt'), 'tls.key': pem(instance, 'tls.key'), 'ca.crt': ca }, 'ClientNotAuthorized'],
      ['foreign-ca', { 'tls.crt': foreign.cert, 'tls.key': foreign.key, 'ca.crt': ca }, 'UnknownCA'],
      ['wrong-trust', { 'tls.crt': pem(backup, 'tls.crt'), 'tls.key': pem(backup, 'tls.key'), 'ca.crt': foreignCa.cert }, 'UnknownCA'],
      ['no-certificate', { 'ca.crt': ca }, 'NoClientCertificate'],
      ['unreachable', { 'tls.crt': pem(backup, 'tls.crt'), 'tls.key': pem(backup, 'tls.key'), 'ca.crt': ca }, 'RepoHostUnreachable', 1],
    ];
    for (const [label, files, reason, port] of cases) {
      const r = await job(dirOf(label, files), port);
      expect(r, label).to.include({ ok: false, reason });
      expect(r.message, label).to.not.contain('PRIVATE KEY');
    }
  });

  it('a backup started by hand holds pgBackRest’s lock: LockBusy, with pgBackRest’s cause', async () => {
    // The repo host's lock path from its own pgbackrest.conf, as the process kubelet lays out its emptyDir.
    const pod = await fx.core.readNamespacedPod({ namespace: fx.namespace, name: names.repoHost });
    const conf = pod.spec!.containers[0].env!.find((e) => e.name === PG_VAR.pgbackrestConf)!.value!;
    const lockPath = /^lock-path=(.+)$/m.exec(conf)![1];
    const lockFile = join(await repoHostHostPath(lockPath), 'db-backup.lock');
    if (!existsSync(lockFile)) writeFileSync(lockFile, '');
    chownSync(lockFile, postgresId('-u'), postgresId('-g'));
    // --no-fork: the holder is the sleep itself, so killing it releases the lock.
    holder = spawn('flock', ['--nonblock', '--no-fork', lockFile, 'sleep', '600'], { stdio: 'ignore' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(holder.exitCode, 'flock holds the lock').to.equal(null);
    const s = await backupFails('fail-locked', 'LockBusy');
    expect(s.message).to.match(/unable to acquire lock/);
    const exited = new Promise((resolve) => holder!.once('exit', resolve));
    holder.kill();
    await exited;
    holder = undefined;
  });

  it('the repository volume full: RepoVolumeFull', async () => {
    const ballast = join(volume, 'ballast');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${ballast}`, 'bs=1M'], { stdio: 'ignore' });
    } catch {
      /* dd stops at "No space left on device": the volume is full */
    }
    // 1 MiB left: a backup first waits for its start WAL segment (compressed, a few KiB) to be archived, so a volume
    // with no room at all fails as ArchiveTimeout before any file is copied; this one fails copying the data files.
    truncateSync(ballast, Math.max(0, statSync(ballast).size - 1024 * 1024));
    try {
      // Before the archive case: a backup that failed after copying every file would be resumed here, copying nothing.
      const s = await backupFails('fail-full', 'RepoVolumeFull', ['--archive-timeout=10']);
      // pgBackRest 2.45 names the file it could not write into the repository volume, not the errno.
      expect(s.message).to.match(/unable to write '\/pgbackrest\/repo1\//);
    } finally {
      rmSync(ballast, { force: true });
    }
  });

  it('WAL archiving broken on purpose: the backup waits archive-timeout and fails with ArchiveTimeout', async () => {
    // The archive of the repository becomes unwritable for pgBackRest (it runs as postgres); the backup's own files are not.
    const archive = join(repoDir(), 'archive', 'db');
    const dirs = (root: string): string[] => [
      root,
      ...readdirSync(root)
        .map((n) => join(root, n))
        .filter((p) => statSync(p).isDirectory())
        .flatMap(dirs),
    ];
    for (const d of dirs(archive)) chmodSync(d, 0o555);
    try {
      const s = await backupFails('fail-archive', 'ArchiveTimeout', ['--archive-timeout=10']);
      expect(s.message).to.match(/was not archived before the 10000ms timeout/);
    } finally {
      for (const d of dirs(archive)) chmodSync(d, 0o750);
    }
  });
});
