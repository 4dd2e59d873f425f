/**
 * Informers that fail are restarted with backoff and the manager keeps going:
 * the operator process runs as a ServiceAccount that at first may not list or
 * watch anything Silo reconciles (every list is a 403, so client-node's
 * informer stops), then is granted the operator ClusterRole. The informers
 * recover on their own, the operator becomes ready, and it reconciles.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { CustomObjectsApi, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { kubeconfigForServiceAccount } from '../../stack/kube/service-account.js';
import { OPERATOR_SERVICE_ACCOUNT, startOperator, type OperatorProcess } from '../../support/operator-process.js';
import { useKube, waitFor } from '../kube/fixture.js';
import { scrape, scrapeSum } from './leases.js';

describe('controller: informers restart after errors', function () {
  this.timeout(240_000);
  const fx = useKube('ctl-inf', { withKubelet: false });
  const sa = 'informer-probe';
  const bindingName = `silo-test-informer-${randomBytes(3).toString('hex')}`;
  let operator: OperatorProcess | undefined;

  after(async () => {
    await operator?.kill();
    if (fx.kc)
      await fx.kc
        .makeApiClient(RbacAuthorizationV1Api)
        .deleteClusterRoleBinding({ name: bindingName })
        .catch(() => undefined);
  });

  it('keeps restarting informers that get 403s, recovers once access is granted, then reconciles', async () => {
    const rbac = fx.kc.makeApiClient(RbacAuthorizationV1Api);
    await fx.core.createNamespacedServiceAccount({ namespace: fx.namespace, body: { metadata: { name: sa } } });
    // Leases in its own namespace only, so it can lead while it can read nothing else.
    await rbac.createNamespacedRole({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'leases' },
        rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: fx.namespace,
      body: {
        metadata: { name: 'leases' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'leases' },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: fx.namespace }],
      },
    });
    const kubeconfig = (await kubeconfigForServiceAccount(fx.ctx, fx.namespace, sa)).path;

    operator = await startOperator({ kubeconfig, leaderElectionNamespace: fx.namespace, watchNamespaces: [fx.namespace] });
    const o = operator;
    await waitFor('the operator to lead', async () => (await scrape(o.metricsUrl, 'silo_leader')) === 1, 30_000);
    const restartLines = () =>
      o
        .logs()
        .split('\n')
        .filter((l) => l.includes('"informer failed; restarting after backoff"'));
    // The Backup informer fails at least twice: the first failure and one after a restart.
    await waitFor(
      'a restarted informer to fail again',
      async () =>
        restartLines().filter((l) => l.includes(`"informer":"mysql.cloudnative-mysql.io/v1alpha1/backups in ${fx.namespace}"`)).length >= 2,
      30_000,
    );
    expect(restartLines()[0]).to.include('403');
    expect((await fetch(o.readyUrl)).status, 'ready before its informers listed').to.equal(503);
    expect((await fetch(o.healthUrl)).status, 'a few seconds of failures are not wedged').to.equal(200);
    expect(await scrapeSum(o.metricsUrl, 'silo_informer_restarts_total')).to.be.greaterThan(0);

    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: bindingName },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: OPERATOR_SERVICE_ACCOUNT },
        subjects: [{ kind: 'ServiceAccount', name: sa, namespace: fx.namespace }],
      },
    });
    const granted = Date.now();
    await waitFor('/readyz 200 after access is granted', async () => (await fetch(o.readyUrl)).status === 200, 90_000);
    console.log(`      informers recovered ${((Date.now() - granted) / 1000).toFixed(1)} s after the ClusterRoleBinding`);
    expect(o.logs()).to.include('"informer recovered"');

    await fx.kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'mysql.cloudnative-mysql.io',
      version: 'v1alpha1',
      plural: 'backups',
      namespace: fx.namespace,
      body: {
        apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
        kind: 'Backup',
        metadata: { name: 'after-recovery' },
        spec: { cluster: { name: 'absent' }, method: 'xtrabackup' },
      },
    });
    await waitFor(
      'a reconcile of the new Backup',
      async () => (await scrapeSum(o.metricsUrl, 'silo_reconcile_total', 'controller="backup"')) > 0,
      30_000,
    );
    await o.stop();
    expect((await o.exited).code).to.equal(0);
  });
});
