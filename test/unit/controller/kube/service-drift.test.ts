import type { V1Service } from '@kubernetes/client-node';
import { expect } from 'chai';
import type { Service } from '../../../../runtime/controller/kube/client.js';
import { serviceDrifted } from '../../../../runtime/controller/kube/service-drift.js';

describe('serviceDrifted', () => {
  const desired: V1Service = {
    metadata: { name: 'db-rw', labels: { app: 'db' } },
    spec: { selector: { app: 'db', role: 'primary' }, ports: [{ name: 'postgres', port: 5432, targetPort: 5432 }] },
  };
  /** What the API server hands back for `desired`: defaults filled in, other people's labels kept. */
  const served = (): Service => ({
    metadata: { name: 'db-rw', labels: { app: 'db', team: 'payments' }, resourceVersion: '7' },
    spec: {
      selector: { app: 'db', role: 'primary' },
      ports: [{ name: 'postgres', port: 5432, targetPort: 5432, protocol: 'TCP' }],
      type: 'ClusterIP',
      clusterIP: '10.96.0.12',
    },
  });

  it('is false for the served form of the same Service (defaults and extra labels)', () => {
    expect(serviceDrifted(served(), desired)).to.equal(false);
  });

  it('is false when a port without a targetPort is served with the same number', () => {
    const want: V1Service = { ...desired, spec: { ...desired.spec, ports: [{ name: 'postgres', port: 5432 }] } };
    expect(serviceDrifted(served(), want)).to.equal(false);
  });

  it('is true for a changed or missing label, selector key, port or port count', () => {
    const cases: Array<(s: Service) => void> = [
      (s) => (s.metadata!.labels = { team: 'payments' }),
      (s) => (s.spec!.selector = { app: 'db', role: 'replica' }),
      (s) => (s.spec!.selector = { app: 'db' }),
      (s) => (s.spec!.ports![0].port = 6432),
      (s) => (s.spec!.ports![0].targetPort = 6432),
      (s) => (s.spec!.ports![0].name = 'pg'),
      (s) => s.spec!.ports!.push({ name: 'metrics', port: 9187 }),
      (s) => (s.spec!.ports = []),
    ];
    for (const change of cases) {
      const s = served();
      change(s);
      expect(serviceDrifted(s, desired), change.toString()).to.equal(true);
    }
  });
});
