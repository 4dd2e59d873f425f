/**
 * A PGBackup survives its operator: the operator is SIGKILLed while the backup Job runs, a new one
 * takes over, and the PGBackup ends completed with its fields from `pgbackrest info` (the Job and
 * the repo host never needed the operator), never a success without the set in the repository. And the other way
 * round: a Job that goes away mid-backup stops pgBackRest on the repo host, so the cluster's next backup runs.
 */
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { PGBackupStatus, PGClusterSpec, PGClusterStatus } from '../../../../src/api/postgres.silo.io/types.js';
import { pgBin } from '../../../stack/components/postgres.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';

useStack('kube', 'kubelet');
type PGClusterObj = KubeObject & { status?: PGClusterStatus };
type PGBackupObj = KubeObject & { status?: PGBackupStatus };

describe('PGBackup: the operator or the Job killed mid-backup', function () {
  this.timeout(600_000);
  const fx = useKube('pg-restart', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;
  let fullLabel = '';
  const start = () => startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `pg-restart-${fx.namespace}` });

  before(async () => {
    api = new CustomObjects(fx.kc);
    operator = await start();
  });
  after(async function () {
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-6000));
    await operator?.stop();
  });

  it('a full backup started under one operator completes under the next, with its status from pgbackrest info', async () => {
    const spec: PGClusterSpec = {
      storage: { size: '2Gi' },
      backups: { pgbackrest: { initialBackup: false, repos: [{ name: 'repo1', volume: { volumeClaimSpec: { size: '2Gi' } } }] } },
    };
    await api.create(KINDS.PGCluster, { metadata: { name: 'ledger', namespace: fx.namespace }, spec });
    const c = await waitFor(
      'PGCluster ledger Ready',
      async () => {
        const got = await api.get<PGClusterObj>(KINDS.PGCluster, { namespace: fx.namespace, name: 'ledger' });
        return got?.status?.phase === 'Ready' ? got : undefined;
      },
      300_000,
    );
    // Enough data that the backup runs for a while: about 400 MB of incompressible rows.
    const secret = await fx.core.readNamespacedSecret({ namespace: fx.namespace, name: 'ledger-pguser-postgres' });
    const password = Buffer.from(secret.data!.password, 'base64').toString('utf8');
    execFileSync(
      pgBin('psql'),
      [
        '-X',
        '-q',
        '-h',
        c.status!.primary!.podIP!,
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-c',
        'CREATE TABLE entries AS SELECT g AS id, md5(random()::text) || md5(random()::text) || md5(random()::text) AS note FROM generate_series(1, 3000000) g',
      ],
      { env: { ...process.env, PGPASSWORD: password }, timeout: 300_000 },
    );
    await api.create(KINDS.PGBackup, {
      metadata: { name: 'ledger-full', namespace: fx.namespace },
      spec: { cluster: { name: 'ledger' }, repoName: 'repo1', type: 'full', options: ['--process-max=1', '--compress-level=6'] },
    });
    await waitFor(
      'ledger-full running',
      async () =>
        (await api.get<PGBackupObj>(KINDS.PGBackup, { namespace: fx.namespace, name: 'ledger-full' }))?.status?.phase === 'running',
      120_000,
    );
    await operator!.kill();
    const killedWhileRunning = !(await fx.batch.readNamespacedJob({ namespace: fx.namespace, name: 'ledger-full-pgbackrest' })).status
      ?.succeeded;
    operator = await start();
    const b = await waitFor(
      'ledger-full finished under the new operator',
      async () => {
        const got = await api.get<PGBackupObj>(KINDS.PGBackup, { namespace: fx.namespace, name: 'ledger-full' });
        return got?.status?.phase === 'completed' || got?.status?.phase === 'failed' ? got : undefined;
      },
      300_000,
    );
    console.log(`      the operator was killed ${killedWhileRunning ? 'while the Job ran' : 'after the Job had already succeeded'}`);
    expect(b.status!.phase, b.status!.message).to.equal('completed');
    expect(b.status).to.include({ type: 'full', repo: 'repo1' });
    expect(b.status!.label).to.match(/^\d{8}-\d{6}F$/);
    expect(b.status!.databaseSizeBytes).to.be.greaterThan(300_000_000);
    // The lock was released: the cluster holds no backup lock.
    const cluster = await api.get<PGClusterObj>(KINDS.PGCluster, { namespace: fx.namespace, name: 'ledger' });
    expect(cluster!.metadata!.annotations?.['postgres.silo.io/backup-lock']).to.equal(undefined);
    fullLabel = b.status!.label!;
  });

  const get = (name: string) => api.get<PGBackupObj>(KINDS.PGBackup, { namespace: fx.namespace, name });
  const finished = (name: string, ms: number) =>
    waitFor(
      `${name} finished`,
      async () => {
        const got = await get(name);
        return got?.status?.phase === 'completed' || got?.status?.phase === 'failed' ? got : undefined;
      },
      ms,
    );
  /** A slow full backup whose worker Pod runs, and pgBackRest has been copying for two seconds (the first full took far longer). */
  const copying = async (name: string) => {
    await api.create(KINDS.PGBackup, {
      metadata: { name, namespace: fx.namespace },
      spec: { cluster: { name: 'ledger' }, repoName: 'repo1', type: 'full', options: ['--process-max=1', '--compress-level=6'] },
    });
    const pod = await waitFor(
      `${name}'s worker Pod running`,
      async () => {
        const pods = await fx.core.listNamespacedPod({ namespace: fx.namespace, labelSelector: `job-name=${name}-pgbackrest` });
        return pods.items.find((p) => p.status?.phase === 'Running');
      },
      120_000,
    );
    await sleep(2_000);
    return pod;
  };
  /** An incremental backup that must complete; its status. */
  const incremental = async (name: string) => {
    await api.create(KINDS.PGBackup, {
      metadata: { name, namespace: fx.namespace },
      spec: { cluster: { name: 'ledger' }, repoName: 'repo1', type: 'incremental' },
    });
    const b = await finished(name, 300_000);
    expect(b.status!.phase, b.status!.message).to.equal('completed');
    return b.status!;
  };
  let nextLabel = '';

  // Its Pod deleted (a drain, a lost node) closes the Job's connection to the repo host agent.
  it("a backup whose Job's Pod is deleted mid-copy stops on the repo host: the PGBackup fails, the next backup runs at once", async () => {
    expect(fullLabel, 'the first test took the full backup').to.match(/F$/);
    const pod = await copying('ledger-cut');
    const cutAt = Date.now();
    await fx.core.deleteNamespacedPod({ namespace: fx.namespace, name: pod.metadata!.name!, gracePeriodSeconds: 5 });
    const cut = await finished('ledger-cut', 120_000);
    console.log(
      `      ledger-cut ${cut.status!.phase} ${((Date.now() - cutAt) / 1000).toFixed(1)} s after its Pod was deleted: ${cut.status!.message}`,
    );
    expect(cut.status, cut.status!.message).to.include({ phase: 'failed', reason: 'WorkerLost' });
    // The next backup runs now, not after pgBackRest finished copying for ledger-cut, and its incremental builds on the
    // first full: the stopped one never became a set.
    const next = await incremental('ledger-next');
    expect(next).to.include({ type: 'incremental', prior: fullLabel });
    nextLabel = next.label!;
  });

  it('deleting a running PGBackup cancels its backup on the repo host', async () => {
    expect(nextLabel, 'the test before took an incremental').to.match(/I$/);
    await copying('ledger-cancel');
    await api.delete(KINDS.PGBackup, { namespace: fx.namespace, name: 'ledger-cancel' });
    // The Job and its Pod go with it (garbage collection); the stopped full never becomes a set, so the next
    // incremental builds on the last one.
    const after = await incremental('ledger-after');
    expect(after).to.include({ type: 'incremental', prior: nextLabel });
  });
});
