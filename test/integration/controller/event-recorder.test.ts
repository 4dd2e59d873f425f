/**
 * The manager's EventRecorder against the real API server, with the operator
 * ServiceAccount's token: a repeat is counted on one Event, a different message
 * is a new Event, and a failure to write never throws into the reconciler.
 */
import { expect } from 'chai';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../../../runtime/logging/logger.js';
import { KubeEventRecorder } from '../../../runtime/controller/manager/event-recorder.js';
import { installOperatorPrerequisites } from '../../support/operator-process.js';
import { useKube } from '../kube/fixture.js';

describe('controller: Events', function () {
  this.timeout(120_000);
  const fx = useKube('ctl-events', { withKubelet: false });

  it('counts repeats on one Event, keeps distinct messages apart, and never throws', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(await installOperatorPrerequisites());
    const warnings: string[] = [];
    const log = createLogger({}, { write: (line) => warnings.push(line) });
    const recorder = new KubeEventRecorder(kc, log, { instance: 'events-test' });
    const regarding = {
      apiVersion: 'mysql.cloudnative-mysql.io/v1alpha1',
      kind: 'Backup',
      metadata: { name: 'b1', namespace: fx.namespace, uid: '1b9e0f4e-0000-4000-8000-000000000001' },
    };
    await recorder.record(regarding, 'Warning', 'ClusterNotFound', 'Cluster x does not exist');
    await recorder.record(regarding, 'Warning', 'ClusterNotFound', 'Cluster x does not exist');
    await recorder.record(regarding, 'Warning', 'ClusterNotFound', 'Cluster x does not exist');
    await recorder.record(regarding, 'Normal', 'Started', 'backup started');
    const events = (await fx.core.listNamespacedEvent({ namespace: fx.namespace })).items;
    const repeated = events.filter((e) => e.reason === 'ClusterNotFound');
    expect(repeated).to.have.length(1);
    expect(repeated[0]).to.deep.include({
      type: 'Warning',
      count: 3,
      reportingComponent: 'silo-operator',
      reportingInstance: 'events-test',
    });
    expect(repeated[0].involvedObject).to.deep.include({ kind: 'Backup', name: 'b1', namespace: fx.namespace });
    expect(events.filter((e) => e.reason === 'Started')).to.have.length(1);

    // A namespace that does not exist: the write fails, the recorder logs and returns.
    await recorder.record({ ...regarding, metadata: { ...regarding.metadata, namespace: 'no-such-namespace-h2' } }, 'Warning', 'X', 'y');
    expect(warnings.some((l) => l.includes('could not record Event'))).to.equal(true);
  });
});
