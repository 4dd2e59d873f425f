/**
 * Seed 002's storage names its Secret in another namespace (`namespace: minio`).
 * A Pod cannot reference it there, so the run gets a copy of just the needed
 * keys, owned by the run and deleted once the run's Pod is done (ADR 0210).
 * Needs `create`/`delete` on secrets in the operator's ClusterRole.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { createRun, getRun, listKeys, shellRunSpec, useBackupOperator, waitFor, waitForPhase } from './support.js';

describe('backup-operator.io: a storage whose credentials Secret lives in another namespace', function () {
  this.timeout(240_000);
  const fx = useBackupOperator('boxns');
  const secretNamespace = `boxns-minio-${randomBytes(3).toString('hex')}`;
  let storage = '';

  before(async () => {
    await fx.kube.core.createNamespace({ body: { metadata: { name: secretNamespace } } });
    await fx.kube.core.createNamespacedSecret({
      namespace: secretNamespace,
      body: {
        metadata: { name: 'minio-credentials' },
        stringData: { accessKeyId: fx.minio.accessKey, secretAccessKey: fx.minio.secretKey, unrelated: 'not-copied' },
      },
    });
    storage = `${fx.prefix}-minio`;
    await fx.objects.create(KINDS.BackupStorage, {
      metadata: { name: storage },
      spec: {
        type: 's3',
        parameters: { bucket: fx.minio.bucket, endpoint: fx.minio.endpoint, insecure: 'true', s3ForcePathStyle: 'true' },
        credentials: { name: 'minio-credentials', namespace: secretNamespace },
      },
    });
  });
  after(async () => {
    await fx.kube.core.deleteNamespace({ name: secretNamespace }).catch(() => undefined);
  });

  it('the run completes with a copy of only the needed keys, and the copy is gone afterwards', async () => {
    await waitFor(
      'storage Ready',
      async () => (await fx.objects.get<any>(KINDS.BackupStorage, { name: storage }))?.status?.phase === 'Ready',
      60_000,
    );
    await createRun(fx, 'xns', shellRunSpec(fx, storage, 'echo across namespaces'));
    const copyName = 'xns-storage-credentials';
    const copy = await waitFor(
      'the credentials copy',
      async () => {
        const run = await getRun(fx, 'xns');
        if (run?.status?.phase === 'Failed') throw new Error(`run failed: ${run.status.reason}: ${run.status.error}`);
        return fx.kube.core.readNamespacedSecret({ namespace: fx.kube.namespace, name: copyName });
      },
      60_000,
    ).catch(async (error) => {
      const run = await getRun(fx, 'xns');
      throw new Error(`${(error as Error).message}; run status ${JSON.stringify(run?.status)}`);
    });
    expect(Object.keys(copy.data ?? {}).sort()).to.deep.equal(['accessKeyId', 'secretAccessKey']);
    expect(copy.metadata!.ownerReferences![0]).to.include({ kind: 'BackupRun', name: 'xns' });
    const run = await waitForPhase(fx, 'xns', ['Completed', 'Failed']);
    expect(run.status.phase, JSON.stringify(run.status)).to.equal('Completed');
    expect(await listKeys(fx, run.status.path.slice(1))).to.have.length(2);
    await waitFor(
      'the copy deleted',
      async () => {
        try {
          await fx.kube.core.readNamespacedSecret({ namespace: fx.kube.namespace, name: copyName });
          return false;
        } catch {
          return true;
        }
      },
      30_000,
    );
  });
});
