/**
 * ScheduledBackup end to end on the real kube-apiserver (RBAC on, garbage
 * collector running): children, their labels and owners, immediate, suspend,
 * the concurrency guard, catch-up after missed slots, and unusable schedules.
 * No Backup reconciler runs here: the tests move children through their phases
 * by patching the status subresource, as the Backup reconciler would.
 */
import { expect } from 'chai';
import { ApiextensionsV1Api, CoreV1Api, type CoreV1Event } from '@kubernetes/client-node';
import { useKube, waitFor } from '../../kube/fixture.js';
import { kubectlApply, splitDist } from '../../kube/manifests.js';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { scheduledBackupReconciler } from '../../../../runtime/controller/mysql/scheduled-backup/scheduled-backup-reconciler.js';
import { childBackupName, slotStamp } from '../../../../runtime/controller/mysql/scheduled-backup/child-backup.js';
import type { KubeObject } from '../../../../runtime/controller/reconciler.js';
import type { ScheduledBackupSpec, ScheduledBackupStatus } from '../../../../src/api/mysql.cloudnative-mysql.io/types.js';
import { ReconcileDriver } from './scheduled-backup-driver.js';
import { UNMANAGED_CLUSTER } from './support/unmanaged-cluster.js';

type Schedule = KubeObject & { spec: ScheduledBackupSpec; status?: ScheduledBackupStatus };

/** Applies Silo's mysql CRDs from dist/ and waits until they serve. */
export async function installMysqlCrds(fx: ReturnType<typeof useKube>): Promise<void> {
  const ext = fx.kc.makeApiClient(ApiextensionsV1Api);
  const crds = splitDist().crds.filter((crd) => crd.metadata?.name?.endsWith('.mysql.cloudnative-mysql.io'));
  expect(crds.map((crd) => crd.metadata?.name)).to.include.members([
    'backups.mysql.cloudnative-mysql.io',
    'scheduledbackups.mysql.cloudnative-mysql.io',
    'clusters.mysql.cloudnative-mysql.io',
  ]);
  for (const crd of crds) kubectlApply(fx.ctx, crd, 'apply');
  for (const crd of crds) {
    await waitFor(`${crd.metadata!.name} Established`, async () =>
      (await ext.readCustomResourceDefinition({ name: crd.metadata!.name! })).status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      ),
    );
  }
}

describe('ScheduledBackup on the real API server', function () {
  this.timeout(180_000);
  const fx = useKube('sched-backup', { withKubelet: false });
  let api: CustomObjects;
  let driver: ReconcileDriver | undefined;

  before(async () => {
    await installMysqlCrds(fx);
    api = new CustomObjects(fx.kc);
  });

  afterEach(async () => {
    await driver?.stop();
    if (driver?.errors.length) throw new Error(`reconcile errors: ${driver.errors.join('; ')}`);
    driver = undefined;
    for (const sb of await api.list(KINDS.ScheduledBackup, fx.namespace))
      await api.delete(KINDS.ScheduledBackup, { namespace: fx.namespace, name: sb.metadata!.name! });
  });

  const newDriver = (now?: () => Date) =>
    new ReconcileDriver({
      kubeConfig: fx.kc,
      reconciler: scheduledBackupReconciler(),
      namespace: fx.namespace,
      cacheKinds: [KINDS.Backup],
      now,
    });
  const createSchedule = (name: string, spec: Partial<ScheduledBackupSpec>, annotations?: Record<string, string>) =>
    api.create<Schedule>(KINDS.ScheduledBackup, {
      metadata: { name, namespace: fx.namespace, ...(annotations ? { annotations } : {}) },
      spec: { cluster: { name: 'db' }, ...spec },
    });
  const getSchedule = async (name: string) => (await api.get<Schedule>(KINDS.ScheduledBackup, { namespace: fx.namespace, name }))!;
  const children = async (name: string) =>
    (await api.list(KINDS.Backup, fx.namespace, `mysql.cloudnative-mysql.io/scheduled-backup=${name}`)).sort((a, b) =>
      a.metadata!.name!.localeCompare(b.metadata!.name!),
    );
  const setPhase = (backup: string, phase: string) => api.patchStatus(KINDS.Backup, { namespace: fx.namespace, name: backup }, { phase });
  const events = async (name: string): Promise<CoreV1Event[]> =>
    (await fx.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: fx.namespace, fieldSelector: `involvedObject.name=${name}` }))
      .items;
  const creationSecond = (object: KubeObject) => new Date(String(object.metadata!.creationTimestamp));

  it('immediate: true with "*/20 * * * * *" creates a child at once and one per slot, labelled and owned by the ScheduledBackup (self)', async () => {
    const sb = await createSchedule('every20', {
      schedule: '*/20 * * * * *',
      immediate: true,
      backupOwnerReference: 'self',
      target: 'primary',
      type: 'full',
    });
    driver = newDriver();
    driver.start();
    const first = childBackupName('every20', creationSecond(sb));
    await waitFor(`child ${first}`, async () => (await children('every20')).some((c) => c.metadata?.name === first), 15_000);
    const [child] = await children('every20');
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
        uid: sb.metadata!.uid,
        controller: true,
      },
    ]);
    expect(child.spec).to.deep.include({ cluster: { name: 'db' }, target: 'primary', type: 'full', method: 'xtrabackup', online: true });
    const status = await waitFor(
      'status after the immediate backup',
      async () => (await getSchedule('every20')).status?.lastBackupName === first && (await getSchedule('every20')).status,
    );
    expect(status.lastScheduleTime).to.equal(creationSecond(sb).toISOString());
    expect(new Date(status.nextScheduleTime!).getUTCSeconds() % 20).to.equal(0);
    expect(status.lastCheckTime).to.be.a('string');
    expect(status.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'True', reason: 'Scheduled' });

    await setPhase(first, 'completed');
    const second = await waitFor(
      'a child for the next */20 slot',
      async () => (await children('every20')).find((c) => c.metadata?.name !== first),
      25_000,
    );
    expect(Number(second.metadata!.name!.slice(-2)) % 20).to.equal(0);
    expect(second.metadata?.ownerReferences?.[0]).to.include({ kind: 'ScheduledBackup', uid: sb.metadata!.uid });
    expect(second.metadata?.labels?.['mysql.cloudnative-mysql.io/scheduled-backup']).to.equal('every20');
    // The Event follows the child's creation: wait for it rather than read once (a loaded machine lost that race).
    const created = async () => (await events('every20')).filter((e) => e.reason === 'BackupCreated').length;
    await waitFor('two BackupCreated Events', async () => ((await created()) >= 2 ? true : undefined), 30_000).catch(async () =>
      expect(await created()).to.be.at.least(2),
    );

    // Owned by the schedule: the garbage collector removes the children with it.
    await driver.stop();
    await api.delete(KINDS.ScheduledBackup, { namespace: fx.namespace, name: 'every20' });
    await waitFor('children garbage-collected with their ScheduledBackup', async () => (await children('every20')).length === 0, 30_000);
  });

  it('backupOwnerReference: cluster makes the Cluster the owner, so children go with the Cluster', async () => {
    const cluster = await api.create(KINDS.Cluster, {
      metadata: { annotations: UNMANAGED_CLUSTER, name: 'owner-db', namespace: fx.namespace },
      spec: { storage: { size: '1Gi' } },
    });
    await createSchedule('by-cluster', {
      schedule: '0 0 0 * * *',
      immediate: true,
      backupOwnerReference: 'cluster',
      cluster: { name: 'owner-db' },
    });
    driver = newDriver();
    driver.start();
    const child = await waitFor('the immediate child', async () => (await children('by-cluster'))[0], 15_000);
    expect(child.metadata?.ownerReferences).to.deep.equal([
      {
        apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
        kind: 'Cluster',
        name: 'owner-db',
        uid: cluster.metadata!.uid,
        controller: false,
      },
    ]);
    expect(child.metadata?.labels?.['mysql.cloudnative-mysql.io/cluster']).to.equal('owner-db');
    await api.delete(KINDS.Cluster, { namespace: fx.namespace, name: 'owner-db' });
    await waitFor('children garbage-collected with their Cluster', async () => (await children('by-cluster')).length === 0, 30_000);
  });

  it('backupOwnerReference: cluster without the Cluster skips the slot and says so', async () => {
    await createSchedule('no-cluster', {
      schedule: '0 0 0 * * *',
      immediate: true,
      backupOwnerReference: 'cluster',
      cluster: { name: 'absent-db' },
    });
    driver = newDriver();
    await driver.once('no-cluster');
    const ready = (await getSchedule('no-cluster')).status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).to.include({ status: 'False', reason: 'ClusterNotFound' });
    expect(ready?.message).to.match(/spec\.cluster\.name "absent-db" does not name a Cluster .* set backupOwnerReference to none or self/);
    expect(await children('no-cluster')).to.have.length(0);
    expect((await events('no-cluster')).map((e) => e.reason)).to.include('BackupSkipped');
  });

  it('backupOwnerReference: none leaves children without owners; they outlive their ScheduledBackup', async () => {
    await createSchedule('ownerless', { schedule: '0 0 0 * * *', immediate: true, backupOwnerReference: 'none' });
    driver = newDriver();
    await driver.once('ownerless');
    const [child] = await children('ownerless');
    expect(child.metadata?.ownerReferences).to.equal(undefined);
    await api.delete(KINDS.ScheduledBackup, { namespace: fx.namespace, name: 'ownerless' });
    await waitFor(
      'the ScheduledBackup to go',
      async () => !(await api.get(KINDS.ScheduledBackup, { namespace: fx.namespace, name: 'ownerless' })),
    );
    await new Promise((resolve) => setTimeout(resolve, 3000)); // give the garbage collector its chance
    expect((await children('ownerless')).map((c) => c.metadata?.name)).to.deep.equal([child.metadata?.name]);
  });

  it('suspend: true creates nothing; resuming takes exactly one catch-up backup for the missed slots', async () => {
    await createSchedule('paused', { schedule: '*/2 * * * * *', suspend: true });
    driver = newDriver();
    driver.start();
    await waitFor(
      'Suspended condition',
      async () => (await getSchedule('paused')).status?.conditions?.find((c) => c.type === 'Ready' && c.reason === 'Suspended'),
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 5000)); // two or three slots pass
    expect(await children('paused')).to.have.length(0);
    expect((await getSchedule('paused')).status?.nextScheduleTime).to.equal(undefined);
    expect((await events('paused')).map((e) => e.reason)).to.include('Suspended');

    const resumedAt = new Date();
    await api.patch(KINDS.ScheduledBackup, { namespace: fx.namespace, name: 'paused' }, { spec: { suspend: false } });
    const [child] = await waitFor(
      'one catch-up child',
      async () => {
        const list = await children('paused');
        return list.length ? list : undefined;
      },
      10_000,
    );
    expect(child.metadata!.name! <= `paused-${slotStamp(new Date(resumedAt.getTime() + 2000))}`).to.equal(true);
    // The child stays pending (no Backup reconciler here): later slots are skipped, not queued.
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect(await children('paused')).to.have.length(1);
    expect((await getSchedule('paused')).status?.conditions?.find((c) => c.type === 'Ready')).to.include({
      status: 'True',
      reason: 'Scheduled',
    });
  });

  it('a slot that comes while a child is pending or running is skipped with an Event, and the next free slot runs', async () => {
    await createSchedule('guarded', { schedule: '*/2 * * * * *', immediate: true, backupOwnerReference: 'self' });
    driver = newDriver();
    driver.start();
    const first = await waitFor('the immediate child', async () => (await children('guarded'))[0]?.metadata?.name, 10_000);
    await setPhase(first, 'running');
    const skipped = await waitFor(
      'a BackupSkipped Event naming the running child',
      async () =>
        (await events('guarded')).find((e) => e.reason === 'BackupSkipped' && e.message?.includes(`Backup ${first} is still running`)),
      10_000,
    );
    expect(skipped.type).to.equal('Warning');
    expect(await children('guarded')).to.have.length(1);
    // The skipped slot is consumed (lastScheduleTime moved past the first child's slot), not queued.
    const firstSlot = (await children('guarded'))[0].metadata?.annotations?.['mysql.cloudnative-mysql.io/scheduled-slot'];
    expect(((await getSchedule('guarded')).status?.lastScheduleTime ?? '') > firstSlot!).to.equal(true);

    await setPhase(first, 'failed'); // terminal frees the guard as well as completed does
    await waitFor('a second child once the first is terminal', async () => (await children('guarded')).length === 2, 10_000);
  });

  it('missed slots collapse into one catch-up backup, named for the latest missed slot', async () => {
    const sb = await createSchedule('missed', { schedule: '*/20 * * * * *' });
    // The operator "was down" for three hours: its clock is three hours ahead of the creation.
    const later = new Date(creationSecond(sb).getTime() + 3 * 3600_000 + 5000);
    driver = newDriver(() => later);
    await driver.once('missed');
    await driver.once('missed');
    const names = (await children('missed')).map((c) => c.metadata?.name);
    const latest = new Date(later);
    latest.setUTCSeconds(Math.floor(latest.getUTCSeconds() / 20) * 20, 0);
    expect(names).to.deep.equal([childBackupName('missed', latest)]);
    expect((await getSchedule('missed')).status?.lastScheduleTime).to.equal(latest.toISOString());
  });

  it('a schedule that never fires or does not parse is a ScheduleNeverFires / InvalidSchedule condition and Event, not a crash loop', async () => {
    await createSchedule('never', { schedule: '0 0 0 31 2 *', immediate: false });
    driver = newDriver();
    const result = await driver.once('never');
    expect(result?.requeueAfterMs).to.equal(undefined);
    const ready = (await getSchedule('never')).status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).to.include({ status: 'False', reason: 'ScheduleNeverFires' });
    expect(ready?.message).to.match(/spec\.schedule "0 0 0 31 2 \*" never fires/);
    expect((await events('never')).map((e) => e.reason)).to.include('ScheduleNeverFires');
    expect(await children('never')).to.have.length(0);

    // The CRD's pattern lets a reversed range through; the reconciler names it.
    await createSchedule('reversed', { schedule: '59-0 * * * * *', immediate: true });
    expect((await driver.once('reversed'))?.requeueAfterMs).to.equal(undefined);
    const invalid = (await getSchedule('reversed')).status?.conditions?.find((c) => c.type === 'Ready');
    expect(invalid).to.include({ status: 'False', reason: 'InvalidSchedule' });
    expect(invalid?.message).to.match(
      /spec\.schedule "59-0 \* \* \* \* \*" is not a valid cron expression \(Invalid range: 59-0.*\); use 6 fields with seconds first/,
    );
    expect(await children('reversed')).to.have.length(0);
  });

  it('a 100-character schedule name still gives 63-character child names and label values the API server accepts', async () => {
    const name = `long-${'x'.repeat(95)}`;
    await createSchedule(name, { schedule: '0 0 0 * * *', immediate: true });
    driver = newDriver();
    await driver.once(name);
    const all = await api.list(KINDS.Backup, fx.namespace, 'mysql.cloudnative-mysql.io/cluster=db');
    const child = all.find((c) => c.metadata?.annotations?.['mysql.cloudnative-mysql.io/scheduled-backup-name'] === name);
    expect(child, 'child of the long-named schedule').to.not.equal(undefined);
    expect(child!.metadata!.name!.length).to.be.at.most(63);
    expect(child!.metadata!.labels!['mysql.cloudnative-mysql.io/scheduled-backup'].length).to.be.at.most(63);
  });
});
