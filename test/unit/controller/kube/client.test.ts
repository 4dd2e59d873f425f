import { expect } from 'chai';
import { toWire } from '../../../../runtime/controller/kube/client.js';
import { reasonsOf } from '../../../../runtime/controller/kube/reasons.js';

describe('controller kit: one shape for timestamps, reasons by name', () => {
  it("toWire turns client-node Dates into the API server's RFC 3339 strings, deeply", () => {
    const pod = {
      metadata: { name: 'p', creationTimestamp: new Date('2026-12-04T10:00:00Z'), labels: { a: 'b' } },
      status: {
        containerStatuses: [{ name: 'w', state: { running: { startedAt: new Date('2026-12-04T10:00:01.250Z') } } }],
        phase: undefined,
      },
    };
    const wire = toWire(pod);
    expect(wire).to.deep.equal({
      metadata: { name: 'p', creationTimestamp: '2026-12-04T10:00:00Z', labels: { a: 'b' } },
      status: { containerStatuses: [{ name: 'w', state: { running: { startedAt: '2026-12-04T10:00:01.250Z' } } }] },
    });
  });

  it('reasonsOf names each reason by itself', () => {
    const R = reasonsOf({ StorageNotFound: { sentence: 's', fix: 'f' }, Ready: { sentence: 'r' } });
    expect(R).to.deep.equal({ StorageNotFound: 'StorageNotFound', Ready: 'Ready' });
  });
});
