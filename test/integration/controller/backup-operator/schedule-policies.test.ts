/**
 * BackupSchedule policies end to end (operator process, process kubelet,
 * MinIO): Forbid skips, Replace replaces, failed-run history is trimmed, a bad
 * time zone is a condition, and a failing restore command is RestoreFailed.
 */
import { expect } from 'chai';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import {
  createMinioStorage,
  createSecret,
  waitForEvent,
  getRun,
  shellRunSpec,
  useBackupOperator,
  waitFor,
  waitForPhase,
} from './support.js';

describe('backup-operator.io: schedule policies and restore failures', function () {
  this.timeout(300_000);
  const fx = useBackupOperator('bopol');
  let storage = '';
  const ns = () => fx.kube.namespace;

  const createSchedule = (name: string, script: string, extra: Record<string, unknown> = {}) =>
    fx.objects.create(KINDS.BackupSchedule, {
      metadata: { name, namespace: ns() },
      spec: { schedule: '0 0 1 1 *', template: { spec: shellRunSpec(fx, storage, script) }, ...extra },
    });
  const trigger = (name: string, value: string) =>
    fx.objects.patch(
      KINDS.BackupSchedule,
      { namespace: ns(), name },
      { metadata: { annotations: { 'backup-operator.io/trigger': value } } },
    );
  const runsOf = async (name: string) =>
    (await fx.objects.list(KINDS.BackupRun, ns(), `backup-operator.io/schedule=${name}`))
      .filter((r) => !r.metadata?.deletionTimestamp)
      .map((r) => r.metadata!.name!)
      .sort();
  const triggerConsumed = (name: string) =>
    waitFor(
      `trigger on ${name} consumed`,
      async () =>
        (await fx.objects.get<any>(KINDS.BackupSchedule, { namespace: ns(), name }))?.metadata?.annotations?.[
          'backup-operator.io/trigger'
        ] === undefined,
      30_000,
    );

  before(async () => {
    await createSecret(fx, 'minio-credentials', { accessKeyId: fx.minio.accessKey, secretAccessKey: fx.minio.secretKey });
    storage = await createMinioStorage(fx, 'minio', 'minio-credentials');
    await waitFor(
      'storage Ready',
      async () => (await fx.objects.get<any>(KINDS.BackupStorage, { name: storage }))?.status?.phase === 'Ready',
      60_000,
    );
  });

  it('Forbid: a trigger while a run is active is skipped with a RunSkipped Event', async () => {
    await createSchedule('forbid', 'sleep 20; echo slow', { concurrencyPolicy: 'Forbid' });
    await trigger('forbid', '1');
    const [first] = await waitFor(
      'the first run',
      async () => {
        const r = await runsOf('forbid');
        return r.length ? r : undefined;
      },
      30_000,
    );
    await waitForPhase(fx, first, ['Running']);
    await triggerConsumed('forbid');
    await trigger('forbid', '2');
    await triggerConsumed('forbid');
    expect(await runsOf('forbid')).to.deep.equal([first]);
    await waitForEvent(fx, 'forbid', 'RunSkipped');
    await waitForPhase(fx, first, ['Completed']);
  });

  it('Replace (the default): a trigger while a run is active deletes it and starts a new one', async () => {
    await createSchedule('replace', 'sleep 30; echo slow');
    await trigger('replace', '1');
    const [first] = await waitFor(
      'the first run',
      async () => {
        const r = await runsOf('replace');
        return r.length ? r : undefined;
      },
      30_000,
    );
    await waitForPhase(fx, first, ['Running']);
    await trigger('replace', '2');
    const second = await waitFor('a replacing run', async () => (await runsOf('replace')).find((n) => n !== first), 30_000);
    await waitFor('the replaced run gone', async () => !(await getRun(fx, first)), 60_000);
    await waitForEvent(fx, 'replace', 'RunReplaced');
    await fx.objects.delete(KINDS.BackupRun, { namespace: ns(), name: second });
  });

  it('failedRunsHistoryLimit keeps only the newest failed run', async () => {
    await createSchedule('failing', 'exit 4', { failedRunsHistoryLimit: 1, concurrencyPolicy: 'Allow' });
    const failed: string[] = [];
    for (const value of ['a', 'b']) {
      await trigger('failing', value);
      const name = await waitFor(`run for ${value}`, async () => (await runsOf('failing')).find((n) => !failed.includes(n)), 30_000);
      const run = await waitForPhase(fx, name, ['Failed', 'Completed']);
      expect(run.status.reason).to.equal('CommandFailed');
      failed.push(name);
    }
    await waitFor('only the newest failed run kept', async () => (await runsOf('failing')).join() === failed[1], 60_000);
    const schedule = await fx.objects.get<any>(KINDS.BackupSchedule, { namespace: ns(), name: 'failing' });
    expect(schedule.status.conditions.find((c: any) => c.type === 'LastRunSucceeded')).to.include({
      status: 'False',
      reason: 'CommandFailed',
    });
  });

  it('missed slots (the operator was away a year): one catch-up run, or a MissedSchedule Event past startingDeadlineSeconds', async () => {
    const yearAgo = { lastScheduleTime: '2025-01-01T00:00:00Z' };
    const slot = new Date('2026-01-01T00:00:00Z');
    await createSchedule('catch-up', 'echo caught up', { concurrencyPolicy: 'Allow' });
    await createSchedule('too-late', 'echo never', { concurrencyPolicy: 'Allow', startingDeadlineSeconds: 60 });
    for (const name of ['catch-up', 'too-late']) await fx.objects.patchStatus(KINDS.BackupSchedule, { namespace: ns(), name }, yearAgo);
    const expected = `catch-up-${slot.getTime() / 60_000}`;
    await waitFor(
      'exactly one catch-up run for the latest missed slot',
      async () => (await runsOf('catch-up')).join() === expected,
      30_000,
    );
    expect((await getRun(fx, expected))!.metadata!.annotations!['backup-operator.io/scheduled-at']).to.equal(slot.toISOString());
    const missed = await waitForEvent(fx, 'too-late', 'MissedSchedule');
    expect(missed.message).to.match(/startingDeadlineSeconds \(60 s/);
    // The Event follows the status write, so by now lastScheduleTime is past the skipped slot
    // (a status write that failed would retry the slot without a second Event).
    const late = await fx.objects.get<any>(KINDS.BackupSchedule, { namespace: ns(), name: 'too-late' });
    expect(Date.parse(late.status.lastScheduleTime)).to.equal(slot.getTime());
    expect(await runsOf('too-late')).to.deep.equal([]);
    await waitForPhase(fx, expected, ['Completed']);
  });

  it('an unknown time zone is an InvalidSchedule condition and Event, and no run is made', async () => {
    await createSchedule('bad-zone', 'echo x', { schedule: '* * * * *', timeZone: 'Mars/Olympus' });
    const s = await waitFor(
      'InvalidSchedule',
      async () => {
        const obj = await fx.objects.get<any>(KINDS.BackupSchedule, { namespace: ns(), name: 'bad-zone' });
        return obj?.status?.conditions?.find((c: any) => c.type === 'Scheduled' && c.reason === 'InvalidSchedule') ? obj : undefined;
      },
      30_000,
    );
    expect(s.status.conditions.find((c: any) => c.type === 'Scheduled').message).to.match(/spec.timeZone "Mars\/Olympus"/);
    await waitForEvent(fx, 'bad-zone', 'InvalidSchedule');
    expect(await runsOf('bad-zone')).to.deep.equal([]);
  });

  it('a restore command that fails makes the run RestoreFailed with RestoreCommandFailed', async () => {
    const spec = shellRunSpec(fx, storage, 'echo restore me', {
      restore: { container: 'main', command: ['/bin/sh', '-c'], args: ['cat > /dev/null; exit 6'] },
    });
    await fx.objects.create(KINDS.BackupRun, { metadata: { name: 'restore-fails', namespace: ns() }, spec });
    await waitForPhase(fx, 'restore-fails', ['Completed']);
    await fx.objects.patch(
      KINDS.BackupRun,
      { namespace: ns(), name: 'restore-fails' },
      { metadata: { annotations: { 'backup-operator.io/restore': 'true' } } },
    );
    const run = await waitForPhase(fx, 'restore-fails', ['Restored', 'RestoreFailed']);
    expect(run.status.phase).to.equal('RestoreFailed');
    expect(run.status.reason).to.equal('RestoreCommandFailed');
    expect(run.status.error).to.match(/status 6/);
    expect(run.status.conditions.find((c: any) => c.type === 'Restored')).to.include({ status: 'False', reason: 'RestoreCommandFailed' });
  });
});
