/**
 * The operator's RBAC for real: the install bundle's RBAC objects are applied,
 * then SelfSubjectAccessReviews are asked *as* the silo-operator
 * ServiceAccount, with a token from the TokenRequest API.
 */
import { expect } from 'chai';
import { AuthorizationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { useKube } from './fixture.js';
import { installOrder, kubectlApply, splitDist } from './manifests.js';
import { kubeconfigForServiceAccount } from '../../stack/kube/service-account.js';

const OPERATOR_NS = 'silo-system';
const OPERATOR_SA = 'silo-operator';

interface Ask {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

const crdGroups: Record<string, string[]> = {
  'backup-operator.io': ['backupstorages', 'backupschedules', 'backupruns'],
  'mysql.cloudnative-mysql.io': ['clusters', 'backups', 'scheduledbackups'],
};

function allowedAsks(): Ask[] {
  const asks: Ask[] = [];
  for (const [group, resources] of Object.entries(crdGroups)) {
    for (const resource of resources) {
      for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'])
        asks.push({ verb, group, resource, namespace: 'team-a' });
      for (const verb of ['get', 'update', 'patch']) asks.push({ verb, group, resource, subresource: 'status', namespace: 'team-a' });
      asks.push({ verb: 'update', group, resource, subresource: 'finalizers', namespace: 'team-a' });
    }
  }
  for (const verb of ['get', 'list', 'watch', 'create', 'delete']) {
    asks.push({ verb, group: 'batch', resource: 'jobs', namespace: 'team-a' }, { verb, group: 'batch', resource: 'jobs' });
    asks.push({ verb, group: '', resource: 'pods', namespace: 'team-a' }, { verb, group: '', resource: 'pods' });
  }
  for (const verb of ['create', 'patch']) {
    asks.push(
      { verb, group: '', resource: 'events', namespace: 'team-a' },
      { verb, group: 'events.k8s.io', resource: 'events', namespace: 'team-a' },
    );
  }
  asks.push({ verb: 'get', group: '', resource: 'secrets', namespace: 'team-a' }, { verb: 'get', group: '', resource: 'secrets' });
  // A Cluster's PKI Secrets are renewed in place (decision 0260).
  asks.push({ verb: 'update', group: '', resource: 'secrets', namespace: 'team-a' });
  for (const verb of ['get', 'create', 'update'])
    asks.push({ verb, group: 'coordination.k8s.io', resource: 'leases', namespace: OPERATOR_NS });
  return asks;
}

function deniedAsks(): Ask[] {
  const asks: Ask[] = [
    { verb: 'list', group: '', resource: 'secrets', namespace: 'team-a' },
    { verb: 'list', group: '', resource: 'secrets' },
    { verb: 'watch', group: '', resource: 'secrets', namespace: 'team-a' },
    { verb: 'create', group: '', resource: 'namespaces' },
    { verb: 'delete', group: '', resource: 'namespaces' },
    { verb: 'delete', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
    { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: 'team-a' },
    { verb: '*', group: '*', resource: '*' },
    { verb: '*', group: '', resource: 'pods', namespace: 'team-a' },
  ];
  for (const verb of ['get', 'create', 'update'])
    asks.push({ verb, group: 'coordination.k8s.io', resource: 'leases', namespace: 'default' });
  for (const resource of ['clusterroles', 'clusterrolebindings', 'roles']) {
    for (const verb of ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'escalate', 'bind']) {
      asks.push({ verb, group: 'rbac.authorization.k8s.io', resource, ...(resource === 'roles' ? { namespace: OPERATOR_NS } : {}) });
    }
  }
  return asks;
}

const show = (a: Ask) =>
  `${a.verb} ${a.group || 'core'}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.namespace ? ` in ${a.namespace}` : ' (cluster-wide)'}`;

describe('kube: RBAC matrix of the silo-operator ServiceAccount', function () {
  this.timeout(120_000);
  const fx = useKube('rbac', { withKubelet: false });
  let authz: AuthorizationV1Api;
  let saCore: CoreV1Api;

  before(async () => {
    const rbacKinds = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    for (const obj of installOrder(splitDist().bundle.filter((o) => rbacKinds.has(o.kind!)))) kubectlApply(fx.ctx, obj, 'apply');
    const sa = await kubeconfigForServiceAccount(fx.ctx, OPERATOR_NS, OPERATOR_SA);
    authz = sa.kubeConfig.makeApiClient(AuthorizationV1Api);
    saCore = sa.kubeConfig.makeApiClient(CoreV1Api);
  });

  it('real requests with the minted kubeconfig: listing pods works, listing secrets is Forbidden', async () => {
    await saCore.listPodForAllNamespaces();
    const err = await saCore.listSecretForAllNamespaces().then(
      () => undefined,
      (e) => e,
    );
    expect(err?.code, 'list secrets must be refused').to.equal(403);
  });

  async function can(a: Ask): Promise<boolean> {
    const review = await authz.createSelfSubjectAccessReview({
      body: {
        spec: {
          resourceAttributes: { verb: a.verb, group: a.group, resource: a.resource, subresource: a.subresource, namespace: a.namespace },
        },
      },
    });
    return review.status?.allowed === true;
  }

  it('the token really authenticates as the ServiceAccount', async () => {
    const review = await authz.createSelfSubjectAccessReview({ body: { spec: { nonResourceAttributes: { verb: 'get', path: '/api' } } } });
    expect(review.status?.allowed).to.equal(true); // system:discovery, granted to every authenticated user
    expect(await can({ verb: 'get', group: '', resource: 'secrets', namespace: 'team-a' })).to.equal(true);
  });

  it('allows everything the reconcilers need', async () => {
    const wrong: string[] = [];
    for (const a of allowedAsks()) if (!(await can(a))) wrong.push(`expected ALLOWED: ${show(a)}`);
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });

  it('denies everything else that matters', async () => {
    const wrong: string[] = [];
    for (const a of deniedAsks()) if (await can(a)) wrong.push(`expected DENIED: ${show(a)}`);
    expect(wrong, wrong.join('\n')).to.deep.equal([]);
  });
});
