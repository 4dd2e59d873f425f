/**
 * The operator's KubeConfig keeps its connections to the API server (decision 0022): client-node 1.x
 * alone opens a new TCP connection and TLS handshake for every call. Counted at the TLS layer
 * against the real API server, with the operator ServiceAccount's token.
 */
import { Agent as HttpsAgent } from 'node:https';
import { expect } from 'chai';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { kubeRequest } from '../../../runtime/controller/manager/kube-http.js';
import { reuseConnections } from '../../../runtime/controller/kube/reused-connections.js';
import { installOperatorPrerequisites } from '../../support/operator-process.js';
import { adminKubeconfig } from '../../stack/kube/layout.js';
import { useKube } from '../kube/fixture.js';

type CreateConnection = (...args: unknown[]) => unknown;

/** How many TLS connections `calls` opens, from any https.Agent in this process. */
async function connectionsOpenedBy(calls: () => Promise<void>): Promise<number> {
  const proto = HttpsAgent.prototype as unknown as { createConnection: CreateConnection };
  const original = proto.createConnection;
  let opened = 0;
  proto.createConnection = function (this: unknown, ...args: unknown[]) {
    opened++;
    return original.apply(this, args);
  };
  try {
    await calls();
  } finally {
    proto.createConnection = original;
  }
  return opened;
}

describe('controller: connections to the API server', function () {
  this.timeout(60_000);
  const fx = useKube('kube-conns', { withKubelet: false });
  let kubeconfig: string;
  before(async () => {
    kubeconfig = await installOperatorPrerequisites();
  });

  const load = (kc: KubeConfig) => {
    kc.loadFromFile(kubeconfig);
    return kc;
  };
  /** Typed-client reads and raw requests, one after another, as a reconcile pass makes them. */
  const tenCalls = (kc: KubeConfig) => async () => {
    const core = kc.makeApiClient(CoreV1Api);
    for (let i = 0; i < 5; i++) {
      await core.listNamespacedPod({ namespace: fx.namespace });
      await kubeRequest(kc, `/api/v1/namespaces/${fx.namespace}/pods?limit=1`);
    }
  };

  it('reuses one kept-alive connection for typed clients and raw requests alike', async () => {
    expect(await connectionsOpenedBy(tenCalls(load(reuseConnections(new KubeConfig())))), 'with reuseConnections').to.equal(1);
  });

  it('where client-node alone opens one per call (what reuseConnections is for)', async () => {
    expect(await connectionsOpenedBy(tenCalls(load(new KubeConfig()))), 'client-node 1.x alone').to.equal(10);
  });

  it('keeps apart client certificates that differ: the admin (a certificate) and the operator (a token) get one connection each', async () => {
    const operator = load(reuseConnections(new KubeConfig()));
    const admin = reuseConnections(new KubeConfig());
    admin.loadFromFile(adminKubeconfig(fx.ctx));
    const opened = await connectionsOpenedBy(async () => {
      await kubeRequest(operator, `/api/v1/namespaces/${fx.namespace}/pods?limit=1`);
      await kubeRequest(admin, `/api/v1/namespaces/${fx.namespace}/pods?limit=1`);
      await kubeRequest(operator, `/api/v1/namespaces/${fx.namespace}/pods?limit=1`);
      await kubeRequest(admin, `/api/v1/namespaces/${fx.namespace}/pods?limit=1`);
    });
    expect(opened).to.equal(2);
  });
});
