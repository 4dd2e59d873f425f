/**
 * ensureClusterPki against the real API server, as the operator's ServiceAccount (so its RBAC is
 * what is tested): the Secrets are created owned by the Cluster, renewed in place with `update`,
 * and garbage-collected with the Cluster (decision 0260).
 */
import { X509Certificate } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { KubeClient, type Secret } from '../../../../runtime/controller/kube/client.js';
import { CustomObjects } from '../../../../runtime/controller/kube/custom-objects.js';
import { KINDS } from '../../../../runtime/controller/kube/kinds.js';
import { ensureClusterPki, type ClusterObject } from '../../../../runtime/controller/mysql/cluster/cluster-pki-reconcile.js';
import { installOperatorPrerequisites } from '../../../support/operator-process.js';
import { useKube, waitFor } from '../../kube/fixture.js';

const DAY = 86_400_000;
const SECRETS = ['db-ca', 'db-server-ca', 'db-client-ca', 'db-server-tls', 'db-client-tls', 'db-replication-tls'];

describe('Cluster PKI Secrets on the real API server (operator ServiceAccount)', function () {
  this.timeout(240_000);
  const fx = useKube('cluster-pki', { withKubelet: false });
  let operator: KubeClient;
  let cluster: ClusterObject;
  const now = new Date();
  const read = (name: string): Promise<Secret> => operator.readSecret(fx.namespace, name);
  const pem = (secret: Secret, key: string) => Buffer.from(secret.data![key], 'base64').toString('utf8');

  before(async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(await installOperatorPrerequisites());
    operator = new KubeClient(kc);
    cluster = await new CustomObjects(fx.kc).create<ClusterObject>(KINDS.Cluster, {
      apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
      kind: 'Cluster',
      metadata: { name: 'db', namespace: fx.namespace },
      spec: { instances: 1, storage: { size: '1Gi' } },
    });
  });

  it('creates the six Secrets owned by the Cluster; the server certificate verifies against server-ca', async () => {
    const result = await ensureClusterPki(operator, cluster, { now });
    expect(result.ok && result.written).to.deep.equal(SECRETS);
    for (const name of SECRETS) {
      const secret = await read(name);
      expect(secret.metadata?.ownerReferences?.[0]).to.include({
        kind: 'Cluster',
        name: 'db',
        uid: cluster.metadata!.uid,
        controller: true,
      });
      expect(secret.metadata?.labels).to.include({ 'mysql.cloudnative-mysql.io/cluster': 'db' });
    }
    const server = new X509Certificate(pem(await read('db-server-tls'), 'tls.crt'));
    expect(server.checkIssued(new X509Certificate(pem(await read('db-server-ca'), 'ca.crt')))).to.equal(true);
    expect((await read('db-client-tls')).type).to.equal('kubernetes.io/tls');
  });

  it('renews the due leaves in place (update under resourceVersion) and leaves the CA alone', async () => {
    const before = Object.fromEntries(await Promise.all(SECRETS.map(async (n) => [n, (await read(n)).metadata!.resourceVersion])));
    const result = await ensureClusterPki(operator, cluster, { now: new Date(now.getTime() + 61 * DAY) });
    expect(result.ok && result.written).to.deep.equal(['db-server-tls', 'db-client-tls', 'db-replication-tls']);
    for (const name of SECRETS) {
      const changed = (await read(name)).metadata!.resourceVersion !== before[name];
      expect(changed, name).to.equal(name.endsWith('-tls'));
    }
    const again = await ensureClusterPki(operator, cluster, { now: new Date(now.getTime() + 61 * DAY) });
    expect(again.ok && again.written).to.deep.equal([]);
  });

  it('the Secrets go with the Cluster', async () => {
    await new CustomObjects(fx.kc).delete(KINDS.Cluster, { namespace: fx.namespace, name: 'db' });
    await waitFor(
      'the PKI Secrets to be garbage-collected',
      async () =>
        (await fx.core.listNamespacedSecret({ namespace: fx.namespace, labelSelector: 'mysql.cloudnative-mysql.io/cluster=db' })).items
          .length === 0,
      // The garbage collector notices a new CRD's objects only after its next discovery (about 40 s here).
      150_000,
    );
  });
});
