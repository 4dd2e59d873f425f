/**
 * The operator is SIGKILLed while a BackupRun's Pod is streaming; a new
 * operator process (same Lease, new identity) takes over and finishes the run:
 * one Pod, one stored object, no second start.
 */
import { expect } from 'chai';
import { startOperator } from '../../../support/operator-process.js';
import {
  createMinioStorage,
  createRun,
  createSecret,
  eventsFor,
  listKeys,
  shellRunSpec,
  useBackupOperator,
  waitForPhase,
} from './support.js';

describe('backup-operator.io: an operator killed mid-run', function () {
  this.timeout(300_000);
  const fx = useBackupOperator('borestart');

  it('the next leader completes the run without a second Pod or object', async () => {
    await createSecret(fx, 'minio-credentials', { accessKeyId: fx.minio.accessKey, secretAccessKey: fx.minio.secretKey });
    const storage = await createMinioStorage(fx, 'minio', 'minio-credentials');
    await createRun(fx, 'survivor', shellRunSpec(fx, storage, 'echo part one; sleep 12; echo part two'));
    const running = await waitForPhase(fx, 'survivor', ['Running']);
    const podUid = (await fx.kube.core.readNamespacedPod({ namespace: fx.kube.namespace, name: 'survivor-backup' })).metadata!.uid;
    await fx.operator.kill();
    fx.operator = await startOperator({ watchNamespaces: [fx.kube.namespace], leaderElectionId: `${fx.prefix}-leader` });
    const run = await waitForPhase(fx, 'survivor', ['Completed', 'Failed'], 120_000);
    expect(run.status.phase, JSON.stringify(run.status)).to.equal('Completed');
    expect(run.status.path).to.equal(running.status.path);
    expect(run.status.startedAt).to.equal(running.status.startedAt);
    const key = run.status.path.slice(1);
    expect(await listKeys(fx, `${fx.prefix}/`)).to.deep.equal([key, `${key}.metadata.json`]);
    const events = await eventsFor(fx, 'survivor');
    expect(events.filter((e) => e.reason === 'Started')).to.have.length(1);
    const podEvents = await fx.kube.core.listNamespacedEvent({
      namespace: fx.kube.namespace,
      fieldSelector: 'involvedObject.name=survivor-backup,reason=Scheduled',
    });
    expect(podEvents.items.map((e) => e.involvedObject.uid)).to.deep.equal([podUid]);
  });
});
