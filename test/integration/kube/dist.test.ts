/**
 * dist/ on a real API server: the CRDs become Established, the whole install
 * bundle applies, and every example object passes server-side dry-run apply.
 */
import { expect } from 'chai';
import { ApiextensionsV1Api, type KubernetesObject, type V1CustomResourceDefinition, type V1Deployment } from '@kubernetes/client-node';
import { seedExamples } from '../../support/seed-examples.js';
import { useKube, waitFor } from './fixture.js';
import { describeObject, installOrder, kubectlApply, splitDist } from './manifests.js';

describe('kube: dist/ manifests on the real API server', function () {
  this.timeout(120_000);
  const fx = useKube('dist', { withKubelet: false });
  const { crds, bundle, examples } = splitDist();

  // The bundle's operator Deployment is applied as written but with replicas: 0
  // (below): a running copy would be a second operator watching every namespace
  // (on the kubelet component) during other test files. The CRDs and RBAC stay.
  after(async () => {
    for (const d of bundle.filter((o) => o.kind === 'Deployment')) {
      await fx.apps.deleteNamespacedDeployment({ name: d.metadata!.name!, namespace: d.metadata!.namespace! }).catch(() => undefined);
    }
  });

  it('dist/ holds CRDs for both API groups and example objects', () => {
    const groups = new Set(crds.map((c) => (c as V1CustomResourceDefinition).spec.group));
    expect([...groups]).to.include.members(['backup-operator.io', 'mysql.cloudnative-mysql.io']);
    expect(examples.length).to.be.greaterThan(0);
  });

  it('every CRD applies and becomes Established', async () => {
    const ext = fx.kc.makeApiClient(ApiextensionsV1Api);
    for (const crd of crds) kubectlApply(fx.ctx, crd, 'apply');
    for (const crd of crds) {
      await waitFor(
        `CRD ${crd.metadata!.name} Established`,
        async () => {
          const live = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
          const cond = (t: string) => live.status?.conditions?.find((c) => c.type === t)?.status === 'True';
          return cond('Established') && cond('NamesAccepted');
        },
        30_000,
      );
    }
  });

  it('the whole install bundle applies cleanly', async () => {
    const failures: string[] = [];
    for (const original of installOrder(bundle)) {
      const obj = original.kind === 'Deployment' ? withoutReplicas(original as V1Deployment) : original;
      try {
        kubectlApply(fx.ctx, obj, 'apply');
      } catch (err) {
        failures.push(`${describeObject(obj)}: ${(err as Error).message}`);
      }
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('every example object passes `kubectl apply --dry-run=server`', async () => {
    // Like `kubectl apply`, examples expect their namespaces to exist already.
    for (const ns of new Set(examples.map((o) => o.metadata?.namespace).filter((n): n is string => !!n))) {
      await fx.core.createNamespace({ body: { metadata: { name: ns } } }).catch((err) => {
        if (err.code !== 409) throw err;
      });
    }
    const failures: string[] = [];
    for (const obj of examples) {
      try {
        kubectlApply(fx.ctx, obj, 'dry-run');
      } catch (err) {
        failures.push(`${describeObject(obj)}: ${(err as Error).message}`);
      }
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('every seed YAML example, as written in the seeds, passes `kubectl apply --dry-run=server`', () => {
    const whole = seedExamples().filter((e) => e.object.kind);
    expect(whole.length).to.be.greaterThan(0);
    const failures: string[] = [];
    for (const example of whole) {
      try {
        kubectlApply(fx.ctx, example.object as KubernetesObject, 'dry-run');
      } catch (err) {
        failures.push(`${example.id}: ${(err as Error).message}`);
      }
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });
});

/** The Deployment unchanged but for replicas: 0, so the API server validates all of it and no pod starts. */
function withoutReplicas(deployment: V1Deployment): KubernetesObject {
  const copy = structuredClone(deployment);
  copy.spec!.replicas = 0;
  return copy as KubernetesObject;
}
