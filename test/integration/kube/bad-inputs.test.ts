/**
 * The Foundation's bad-input table against the real API server: every input
 * the CRD schemas or their CEL rules can catch is refused by
 * `kubectl apply --dry-run=server` with the expected text, and the valid base
 * objects are accepted.
 */
import { expect } from 'chai';
import { ApiextensionsV1Api, type KubernetesObject } from '@kubernetes/client-node';
import { useKube, waitFor } from './fixture.js';
import { kubectlApply, splitDist } from './manifests.js';
import {
  BAD_INPUTS,
  VALID_BACKUP,
  VALID_CLUSTER,
  VALID_RUN,
  VALID_SCHEDULE,
  VALID_SCHEDULED_BACKUP,
  VALID_STORAGE,
} from '../../support/bad-inputs.js';

describe('kube: bad inputs are refused by the real API server (CRD schemas and CEL)', function () {
  this.timeout(120_000);
  const fx = useKube('bad-inputs', { withKubelet: false });
  const inNamespace = (o: Record<string, any>): KubernetesObject =>
    o.kind === 'BackupStorage' ? o : { ...o, metadata: { ...o.metadata, namespace: fx.namespace } };

  before(async () => {
    const ext = fx.kc.makeApiClient(ApiextensionsV1Api);
    for (const crd of splitDist().crds) kubectlApply(fx.ctx, crd, 'apply');
    for (const crd of splitDist().crds) {
      await waitFor(`CRD ${crd.metadata!.name} Established`, async () =>
        (await ext.readCustomResourceDefinition({ name: crd.metadata!.name! })).status?.conditions?.some(
          (c) => c.type === 'Established' && c.status === 'True',
        ),
      );
    }
  });

  it('accepts the valid base objects', () => {
    for (const base of [VALID_BACKUP, VALID_CLUSTER, VALID_RUN, VALID_SCHEDULE, VALID_SCHEDULED_BACKUP, VALID_STORAGE]) {
      expect(() => kubectlApply(fx.ctx, inNamespace(base), 'dry-run'), `${base.kind} ${base.metadata.name}`).to.not.throw();
    }
  });

  const serverSide = BAD_INPUTS.filter((b) => b.server !== undefined);
  it('the table has cases the API server must catch', () => expect(serverSide.length).to.be.greaterThan(0));

  for (const input of serverSide) {
    it(`${input.kind}: ${input.name} → "${input.server}"`, () => {
      let message = '';
      try {
        kubectlApply(fx.ctx, inNamespace(input.object), 'dry-run');
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, 'the API server accepted it').to.not.equal('');
      expect(message).to.contain(input.server!);
    });
  }
});
