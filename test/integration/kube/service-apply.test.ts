/**
 * KubeClient.applyService against the real API server: it creates a Service, leaves one that already says what it
 * should alone (no write: the resourceVersion stays), and puts back a selector, label or port someone changed.
 */
import type { V1Service } from '@kubernetes/client-node';
import { expect } from 'chai';
import { KubeClient } from '../../../runtime/controller/kube/client.js';
import { useKube } from './fixture.js';

describe('kube: KubeClient.applyService', function () {
  this.timeout(60_000);
  const fx = useKube('service-apply', { withKubelet: false });
  const desired = (): V1Service => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db-rw', namespace: fx.namespace, labels: { app: 'db' } },
    spec: { selector: { app: 'db', role: 'primary' }, ports: [{ name: 'postgres', port: 5432, targetPort: 5432 }] },
  });
  const read = () => fx.core.readNamespacedService({ namespace: fx.namespace, name: 'db-rw' });

  it('creates the Service, then writes nothing while it is as wanted', async () => {
    const client = new KubeClient(fx.kc);
    await client.applyService(desired());
    const created = await read();
    expect(created.spec?.selector).to.deep.equal({ app: 'db', role: 'primary' });
    await client.applyService(desired());
    await client.applyService(desired());
    expect((await read()).metadata?.resourceVersion, 'no write when nothing differs').to.equal(created.metadata?.resourceVersion);
  });

  it('puts back a changed selector, label and port, and keeps what others added', async () => {
    const client = new KubeClient(fx.kc);
    const edited = await read();
    edited.spec!.selector = { app: 'db', role: 'replica' };
    edited.metadata!.labels = { app: 'other', team: 'payments' };
    edited.spec!.ports = [{ name: 'postgres', port: 6432, targetPort: 6432, protocol: 'TCP' }];
    await fx.core.replaceNamespacedService({ namespace: fx.namespace, name: 'db-rw', body: edited });
    await client.applyService(desired());
    const applied = await read();
    expect(applied.spec?.selector).to.deep.equal({ app: 'db', role: 'primary' });
    expect(applied.metadata?.labels).to.deep.equal({ app: 'db', team: 'payments' });
    expect(applied.spec?.ports?.map((p) => [p.name, p.port, p.targetPort])).to.deep.equal([['postgres', 5432, 5432]]);
  });
});
