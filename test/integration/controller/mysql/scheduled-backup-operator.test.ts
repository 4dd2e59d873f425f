/**
 * The ScheduledBackup flow with the operator running as a process
 * (its own ServiceAccount token, bound by the synthesized ClusterRole):
 * "every 20 seconds" (`*\/20 * * * * *`) with immediate: true produces children with the right
 * owners and labels. The Backup reconciler runs too and fails each child at
 * once (the Cluster has no instances), which frees the concurrency guard, so
 * every slot gets its child.
 */
import { expect } from 'chai';
import type { CoreV1Event } from '@kubernetes/client-node';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { childBackupName } from '../../../../runtime/controller/mysql/scheduled-backup/child-backup.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { ScheduledBackupSpec, ScheduledBackupStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { useStack } from '../../../stack/mocha.js';
import { startOperator, type OperatorProcess } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';
import { UNMANAGED_CLUSTER } from './support/unmanaged-cluster.js';

type Schedule = KubeObject & { spec: ScheduledBackupSpec; status?: ScheduledBackupStatus };

useStack('kube');

describe('ScheduledBackup end to end (operator process)', function () {
  this.timeout(180_000);
  const fx = useKube('sched-backup-op', { withKubelet: false });
  let api: CustomObjects;
  let operator: OperatorProcess | undefined;

  before(async function () {
    this.timeout(120_000);
    api = new CustomObjects(fx.kc);
    operator = await startOperator({ watchNamespaces: [fx.namespace], leaderElectionId: `sched-backup-e2e-${fx.namespace}` });
  });

  after(async function () {
    if (operator && this.currentTest?.state === 'failed') console.log(operator.logs().slice(-6000));
    await operator?.stop();
  });

  const children = async (schedule: string) =>
    (await api.list(KINDS.Backup, fx.namespace, `mysql.cloudnative-mysql.io/scheduled-backup=${schedule}`)).sort((a, b) =>
      a.metadata!.name!.localeCompare(b.metadata!.name!),
    );
  const events = async (name: string): Promise<CoreV1Event[]> =>
    (await fx.core.listNamespacedEvent({ namespace: fx.namespace, fieldSelector: `involvedObject.name=${name}` })).items;

  it('"*/20 * * * * *" with immediate: true creates children with the right owners and labels, one per slot', async () => {
    const cluster = await api.create(KINDS.Cluster, {
      metadata: { annotations: UNMANAGED_CLUSTER, name: 'db', namespace: fx.namespace },
      spec: { storage: { size: '1Gi' } },
    });
    const bySelf = await api.create<Schedule>(KINDS.ScheduledBackup, {
      metadata: { name: 'every20', namespace: fx.namespace },
      spec: { schedule: '*/20 * * * * *', immediate: true, backupOwnerReference: 'self', cluster: { name: 'db' }, target: 'primary' },
    });
    await api.create<Schedule>(KINDS.ScheduledBackup, {
      metadata: { name: 'every20-cluster', namespace: fx.namespace },
      spec: { schedule: '*/20 * * * * *', immediate: true, backupOwnerReference: 'cluster', cluster: { name: 'db' } },
    });
    await api.create<Schedule>(KINDS.ScheduledBackup, {
      metadata: { name: 'every20-none', namespace: fx.namespace },
      spec: { schedule: '*/20 * * * * *', immediate: true, cluster: { name: 'db' } },
    });

    const immediate = childBackupName('every20', new Date(String(bySelf.metadata!.creationTimestamp)));
    await waitFor(
      `the immediate child ${immediate}`,
      async () => (await children('every20')).some((c) => c.metadata?.name === immediate),
      20_000,
    );
    // The immediate child plus at least one */20 slot, for each schedule.
    for (const schedule of ['every20', 'every20-cluster', 'every20-none']) {
      await waitFor(`two children of ${schedule}`, async () => (await children(schedule)).length >= 2, 45_000);
    }

    for (const child of await children('every20')) {
      expect(child.metadata?.labels).to.deep.equal({
        'mysql.cloudnative-mysql.io/scheduled-backup': 'every20',
        'mysql.cloudnative-mysql.io/cluster': 'db',
        'app.kubernetes.io/managed-by': 'silo',
      });
      expect(child.metadata?.ownerReferences).to.deep.equal([
        {
          apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
          kind: 'ScheduledBackup',
          name: 'every20',
          uid: bySelf.metadata!.uid,
          controller: true,
        },
      ]);
      expect(child.spec).to.deep.include({ cluster: { name: 'db' }, target: 'primary' });
    }
    const slotChildren = (await children('every20')).filter((c) => c.metadata?.name !== immediate);
    for (const child of slotChildren) expect(Number(child.metadata!.name!.slice(-2)) % 20, child.metadata!.name).to.equal(0);
    // Start lag: slot → child created (creationTimestamp has whole seconds only).
    const lags = slotChildren.map(
      (c) =>
        new Date(String(c.metadata!.creationTimestamp)).getTime() -
        new Date(c.metadata!.annotations!['mysql.cloudnative-mysql.io/scheduled-slot']).getTime(),
    );
    console.log(`      slot → child lag (s, whole seconds): ${lags.map((l) => l / 1000).join(', ')}`);
    for (const lag of lags) expect(lag).to.be.below(5000);
    for (const child of await children('every20-cluster')) {
      expect(child.metadata?.ownerReferences).to.deep.equal([
        { apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1', kind: 'Cluster', name: 'db', uid: cluster.metadata!.uid, controller: false },
      ]);
    }
    for (const child of await children('every20-none')) expect(child.metadata?.ownerReferences).to.equal(undefined);

    const status = (await api.get<Schedule>(KINDS.ScheduledBackup, { namespace: fx.namespace, name: 'every20' }))!.status!;
    expect(status.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'True', reason: 'Scheduled' });
    expect(new Date(status.nextScheduleTime!).getTime()).to.be.greaterThan(new Date(status.lastScheduleTime!).getTime());
    expect(new Date(status.nextScheduleTime!).getUTCSeconds() % 20).to.equal(0);
    expect((await events('every20')).filter((e) => e.reason === 'BackupCreated').length).to.be.at.least(2);

    // Suspending stops new children.
    await api.patch(KINDS.ScheduledBackup, { namespace: fx.namespace, name: 'every20' }, { spec: { suspend: true } });
    await waitFor(
      'Suspended',
      async () =>
        (await api.get<Schedule>(KINDS.ScheduledBackup, { namespace: fx.namespace, name: 'every20' }))?.status?.conditions?.find(
          (c) => c.reason === 'Suspended',
        ),
      10_000,
    );
    const count = (await children('every20')).length;
    await new Promise((resolve) => setTimeout(resolve, 21_000));
    expect((await children('every20')).length).to.equal(count);
  });
});
