/**
 * The install bundle's operator Deployment, as synthesized, running as a pod on
 * the process kubelet: in-cluster config from the projected ServiceAccount
 * token, POD_IP/POD_NAMESPACE/POD_NAME from the downward API, servers on the pod
 * IP, probes on the health port, the Lease held under the pod's name, and a
 * graceful stop that releases it. Only test-specific changes are made: a unique
 * name and selector label, one replica, this file's scheduler, one watched
 * namespace and a unique Lease name. The bundle's /tmp emptyDir stays: the
 * process kubelet binds every volume from a descriptor opened beforehand, so a
 * volume at /tmp no longer hides its state directory (/tmp/silo-stack/…).
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { KubernetesObject, V1Deployment } from '@kubernetes/client-node';
import { installOperatorPrerequisites, OPERATOR_NAMESPACE } from '../../support/operator-process.js';
import { useKube, waitFor } from '../kube/fixture.js';
import { kubectlApply, splitDist } from '../kube/manifests.js';
import { deleteLease, readLease, scrape } from './leases.js';

describe('controller: the bundle Deployment on the process kubelet', function () {
  this.timeout(300_000);
  const fx = useKube('ctl-deploy', { withKubelet: true });
  const suffix = randomBytes(3).toString('hex');
  const name = `silo-operator-e2e-${suffix}`;
  const leaseName = `silo-test-deploy-${suffix}`;

  after(async () => {
    if (!fx.apps) return;
    await fx.apps.deleteNamespacedDeployment({ name, namespace: OPERATOR_NAMESPACE }).catch(() => undefined);
    await waitFor(
      'the operator pod to go',
      async () =>
        (await fx.core.listNamespacedPod({ namespace: OPERATOR_NAMESPACE, labelSelector: `silo-test=${suffix}` })).items.length === 0,
      60_000,
    ).catch(() => undefined);
    await deleteLease(fx.kc, leaseName);
  });

  it('becomes Ready on its pod IP, leads under its pod name, serves metrics there, and releases the Lease when deleted', async () => {
    await installOperatorPrerequisites();
    const original = splitDist().bundle.find((o) => o.kind === 'Deployment') as V1Deployment;
    const deployment = structuredClone(original);
    deployment.metadata!.name = name;
    deployment.spec!.replicas = 1;
    deployment.spec!.selector.matchLabels = { ...deployment.spec!.selector.matchLabels, 'silo-test': suffix };
    deployment.spec!.template.metadata!.labels = { ...deployment.spec!.template.metadata!.labels, 'silo-test': suffix };
    const pod = deployment.spec!.template.spec!;
    pod.schedulerName = fx.scheduler;
    const container = pod.containers[0];
    container.args = [
      ...container.args!.map((a) => (a.startsWith('--leader-election-id=') ? `--leader-election-id=${leaseName}` : a)),
      `--watch-namespace=${fx.namespace}`,
    ];
    kubectlApply(fx.ctx, deployment as KubernetesObject, 'apply');

    const ready = await waitFor(
      'the operator pod Ready',
      async () => {
        const pods = (await fx.core.listNamespacedPod({ namespace: OPERATOR_NAMESPACE, labelSelector: `silo-test=${suffix}` })).items;
        return pods.find((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      },
      120_000,
    );
    const podIP = ready.status!.podIP!;
    expect(podIP).to.match(/^127\./);
    const lease = await waitFor(
      'the Lease held by the pod',
      async () => {
        const l = await readLease(fx.kc, leaseName);
        return l?.spec?.holderIdentity === ready.metadata!.name ? l : undefined;
      },
      30_000,
    );
    expect(lease.metadata!.namespace).to.equal(OPERATOR_NAMESPACE);
    expect(await scrape(`http://${podIP}:8080/metrics`, 'silo_leader')).to.equal(1);
    expect((await fetch(`http://${podIP}:8081/readyz`)).status).to.equal(200);

    await fx.apps.deleteNamespacedDeployment({ name, namespace: OPERATOR_NAMESPACE });
    await waitFor(
      'the Lease released on SIGTERM',
      async () => {
        const l = await readLease(fx.kc, leaseName);
        return !!l && !l.spec?.holderIdentity;
      },
      60_000,
    );
  });
});
