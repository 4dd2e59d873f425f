/**
 * A status patch carrying the resourceVersion its writer read lands only on that object: after a delete and a
 * re-create under the same name, the real API server refuses it (409), so a reconcile that began
 * before the delete cannot write its status onto the new object.
 */
import { expect } from 'chai';
import { CustomObjects } from '../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../runtime/controller/kube/kinds.js';
import type { KubeObject } from '../../../runtime/controller/reconciler.js';
import { useStack } from '../../stack/mocha.js';
import { ApiextensionsV1Api } from '@kubernetes/client-node';
import { useKube, waitFor } from './fixture.js';
import { kubectlApply, splitDist } from './manifests.js';

useStack('kube');

describe('kube: a status patch with a resourceVersion precondition', function () {
  this.timeout(120_000);
  const fx = useKube('status-uid', { withKubelet: false });

  it('is refused on a re-created object of the same name, and applied on the object it names', async () => {
    const ext = fx.kc.makeApiClient(ApiextensionsV1Api);
    const crd = splitDist().crds.find((c) => c.metadata!.name === 'clusters.mysql.cloudnative-mysql.io')!;
    kubectlApply(fx.ctx, crd, 'apply');
    await waitFor('the Cluster CRD Established', async () =>
      (await ext.readCustomResourceDefinition({ name: crd.metadata!.name! })).status?.conditions?.some(
        (c) => c.type === 'Established' && c.status === 'True',
      ),
    );
    const api = new CustomObjects(fx.kc);
    const key = { namespace: fx.namespace, name: 'db' };
    const body = {
      metadata: { ...key, annotations: { 'mysql.cloudnative-mysql.io/reconciliation': 'disabled' } },
      spec: { storage: { size: '1Gi' } },
    };
    const first = await api.create<KubeObject>(KINDS.Cluster, body);
    await api.delete(KINDS.Cluster, key);
    const second = await api.create<KubeObject>(KINDS.Cluster, body);
    const error = await api.patchStatus(KINDS.Cluster, key, { phase: 'Failed' }, first.metadata!.resourceVersion).then(
      () => undefined,
      (e: { code?: number }) => e,
    );
    expect(error?.code).to.equal(409);
    const patched = await api.patchStatus<KubeObject & { status?: { phase?: string } }>(
      KINDS.Cluster,
      key,
      { phase: 'Healthy' },
      second.metadata!.resourceVersion,
    );
    expect(patched.status?.phase).to.equal('Healthy');
  });
});
