/**
 * BackupRun and BackupStorage failure surfaces, end to end: the operator as a
 * process, Pods on the process kubelet, MinIO. Each failure has its own reason
 * in status, the Succeeded condition and an Event, and nothing is stored.
 */
import { expect } from 'chai';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import {
  createMinioStorage,
  createRun,
  createSecret,
  eventsFor,
  waitForEvent,
  getRun,
  listKeys,
  metricSamples,
  shellRunSpec,
  useBackupOperator,
  waitFor,
  waitForPhase,
} from './support.js';

describe('backup-operator.io: failures are visible and distinct', function () {
  this.timeout(300_000);
  const fx = useBackupOperator('bofail');
  let storage = '';

  const storageReady = (name: string, reason: string) =>
    waitFor(
      `BackupStorage ${name} Ready reason ${reason}`,
      async () => {
        const s = await fx.objects.get<any>(KINDS.BackupStorage, { name });
        const ready = s?.status?.conditions?.find((c: any) => c.type === 'Ready');
        if (ready?.reason === reason) return s;
        throw new Error(`Ready: ${JSON.stringify(ready)}`);
      },
      60_000,
    );

  const noSecretsIn = (text: string) => {
    expect(text).to.not.include(fx.minio.secretKey);
    expect(text).to.not.include('wrong-secret-value');
  };

  before(async () => {
    await createSecret(fx, 'minio-credentials', { accessKeyId: fx.minio.accessKey, secretAccessKey: fx.minio.secretKey });
    storage = await createMinioStorage(fx, 'ok', 'minio-credentials');
  });

  it('a storage with a good Secret and bucket becomes Ready (HeadBucket), with the in-use finalizer', async () => {
    const s = await storageReady(storage, 'Ready');
    expect(s.status.phase).to.equal('Ready');
    expect(s.metadata.finalizers).to.include('backup-operator.io/storage-in-use');
  });

  it('storage checks name the Secret problem or the store problem, never a value', async () => {
    await createSecret(fx, 'wrong-secret', { accessKeyId: fx.minio.accessKey, secretAccessKey: 'wrong-secret-value' });
    await createSecret(fx, 'no-keys', { username: 'x' });
    const denied = await createMinioStorage(fx, 'denied', 'wrong-secret');
    const missing = await createMinioStorage(fx, 'missing', 'does-not-exist');
    const keyless = await createMinioStorage(fx, 'keyless', 'no-keys');
    const nobucket = await createMinioStorage(fx, 'nobucket', 'minio-credentials', { bucket: 'no-such-bucket-here' });
    const unreachable = await createMinioStorage(fx, 'unreachable', 'minio-credentials', { endpoint: 'http://127.0.0.1:1' });
    const expectations: Array<[string, string, RegExp]> = [
      [denied, 'AccessDenied', /credentials were refused/],
      [missing, 'SecretNotFound', /does-not-exist.*does not exist/],
      [keyless, 'SecretKeyMissing', /"accessKeyId" and "secretAccessKey".*it has "username"/],
      [nobucket, 'BucketNotFound', /no-such-bucket-here.*does not exist/],
      [unreachable, 'EndpointUnreachable', /could not be reached/],
    ];
    for (const [name, reason, message] of expectations) {
      const s = await storageReady(name, reason);
      const ready = s.status.conditions.find((c: any) => c.type === 'Ready');
      expect(s.status.phase).to.equal('NotReady');
      expect(ready.status).to.equal('False');
      expect(ready.message).to.match(message);
      noSecretsIn(JSON.stringify(s.status));
      await waitForEvent(fx, name, reason, 'default');
      for (const e of await eventsFor(fx, name, 'default')) noSecretsIn(e.message);
    }
    // A run against a storage whose credentials are refused fails before any Pod starts.
    await createRun(fx, 'on-denied', shellRunSpec(fx, denied, 'echo hi'));
    const run = await waitForPhase(fx, 'on-denied', ['Failed']);
    expect(run.status.reason).to.equal('StorageNotReady');
    expect(run.status.error).to.match(/AccessDenied/);
    noSecretsIn(JSON.stringify(run.status));
  });

  it('a run naming a storage that does not exist fails StorageNotFound', async () => {
    await createRun(fx, 'no-storage', shellRunSpec(fx, `${fx.prefix}-nope`, 'echo hi'));
    const run = await waitForPhase(fx, 'no-storage', ['Failed']);
    expect(run.status.reason).to.equal('StorageNotFound');
    expect(run.status.error).to.match(/does not exist; create it or fix spec.storage.name/);
    expect(run.status.conditions.find((c: any) => c.type === 'Succeeded')).to.include({ status: 'False', reason: 'StorageNotFound' });
    await waitForEvent(fx, 'no-storage', 'StorageNotFound');
  });

  it('a simple run completes: the stored object is gzip, the size is recorded, the Pod is removed', async () => {
    await createRun(fx, 'hello', shellRunSpec(fx, storage, 'echo hello from a backup run'));
    const run = await waitForPhase(fx, 'hello', ['Completed', 'Failed']);
    expect(run.status.phase, JSON.stringify(run.status)).to.equal('Completed');
    expect(run.status.path).to.match(new RegExp(`^/${fx.prefix}/hello-\\d{4}\\.\\d{2}\\.\\d{2}-\\d{2}:\\d{2}:\\d{2}\\.txt$`));
    const key = run.status.path.slice(1);
    expect(await listKeys(fx, key)).to.deep.equal([key, `${key}.metadata.json`]);
    expect(run.status.sizeInBytes).to.be.greaterThan(0);
    expect(run.status.sha256).to.match(/^[a-f0-9]{64}$/);
    const cond = (t: string) => run.status.conditions.find((c: any) => c.type === t);
    expect(cond('Compressed')).to.include({ status: 'True', reason: 'Gzip' });
    expect(cond('Encrypted')).to.include({ status: 'False', reason: 'NotEncrypted' });
    expect(cond('Restorable')).to.include({ status: 'False', reason: 'NoRestoreCommand' });
    await waitForEvent(fx, 'hello', 'Started');
    await waitForEvent(fx, 'hello', 'Completed');
    await waitFor(
      'the backup Pod removed',
      async () =>
        (await fx.kube.core.listNamespacedPod({ namespace: fx.kube.namespace, labelSelector: 'backup-operator.io/run=hello' })).items
          .length === 0,
      60_000,
    );
  });

  it('a failing backup command fails the run with CommandFailed and its exit status, and nothing is stored', async () => {
    await createRun(fx, 'bad-command', shellRunSpec(fx, storage, 'echo partial output; echo oops >&2; exit 3'));
    const run = await waitForPhase(fx, 'bad-command', ['Completed', 'Failed']);
    expect(run.status.phase).to.equal('Failed');
    expect(run.status.reason).to.equal('CommandFailed');
    expect(run.status.error).to.match(/exited with status 3/);
    expect(await listKeys(fx, `${fx.prefix}/bad-command-`)).to.deep.equal([]);
    await waitForEvent(fx, 'bad-command', 'CommandFailed');
    expect(await metricSamples(fx, 'silo_backups_total', { kind: 'BackupRun', outcome: 'failed', reason: 'CommandFailed' })).to.deep.equal([
      1,
    ]);
  });

  it('a command slower than deadlineSeconds fails DeadlineExceeded, and nothing is stored', async () => {
    const spec = shellRunSpec(fx, storage, 'echo start; sleep 60; echo never');
    (spec.backup as any).deadlineSeconds = 3;
    await createRun(fx, 'too-slow', spec);
    const started = Date.now();
    const run = await waitForPhase(fx, 'too-slow', ['Completed', 'Failed'], 90_000);
    expect(run.status.reason).to.equal('DeadlineExceeded');
    // The worker's deadline (3 s) plus the controller's 15 s grace, not the Pod's 63 s activeDeadlineSeconds.
    expect(Date.now() - started).to.be.lessThan(45_000);
    expect(run.status.error).to.match(/deadline of 3 s/);
    expect(await listKeys(fx, `${fx.prefix}/too-slow-`)).to.deep.equal([]);
  });

  it('credentials rotated to wrong ones after the storage check: the worker is refused and the run fails AccessDenied', async () => {
    await createSecret(fx, 'rotating', { accessKeyId: fx.minio.accessKey, secretAccessKey: fx.minio.secretKey });
    const rotating = await createMinioStorage(fx, 'rotating', 'rotating');
    await storageReady(rotating, 'Ready');
    await fx.kube.core.replaceNamespacedSecret({
      namespace: fx.kube.namespace,
      name: 'rotating',
      body: { metadata: { name: 'rotating' }, stringData: { accessKeyId: fx.minio.accessKey, secretAccessKey: 'wrong-secret-value' } },
    });
    await createRun(fx, 'refused', shellRunSpec(fx, rotating, 'echo refused data'));
    const run = await waitForPhase(fx, 'refused', ['Completed', 'Failed']);
    expect(run.status.phase).to.equal('Failed');
    expect(run.status.reason).to.equal('AccessDenied');
    expect(run.status.error).to.match(/check the access key and secret in the credentials Secret/);
    noSecretsIn(JSON.stringify(run.status));
    noSecretsIn((await waitForEvent(fx, 'refused', 'AccessDenied')).message);
    expect(await listKeys(fx, `${fx.prefix}/refused-`)).to.deep.equal([]);
  });

  it('a storage in use cannot be deleted: the finalizer holds it and names the runs, until they are gone', async () => {
    const held = await createMinioStorage(fx, 'held', 'minio-credentials');
    await storageReady(held, 'Ready');
    await createRun(fx, 'holder', shellRunSpec(fx, held, 'echo keep me'));
    await waitForPhase(fx, 'holder', ['Completed']);
    await fx.objects.delete(KINDS.BackupStorage, { name: held });
    const blocked = await waitFor(
      'DeletionBlocked condition',
      async () => {
        const s = await fx.objects.get<any>(KINDS.BackupStorage, { name: held });
        return s?.status?.conditions?.find((c: any) => c.type === 'DeletionBlocked' && c.status === 'True') ? s : undefined;
      },
      60_000,
    );
    expect(blocked.metadata.deletionTimestamp).to.be.a('string');
    expect(blocked.status.conditions.find((c: any) => c.type === 'DeletionBlocked').message).to.include(`${fx.kube.namespace}/holder`);
    await waitForEvent(fx, held, 'InUseByBackupRuns', 'default');
    await fx.objects.delete(KINDS.BackupRun, { namespace: fx.kube.namespace, name: 'holder' });
    await waitFor(
      'the storage to go once its last run is gone',
      async () => !(await fx.objects.get(KINDS.BackupStorage, { name: held })),
      60_000,
    );
    expect(await getRun(fx, 'holder')).to.equal(undefined);
  });
});
