import { expect } from 'chai';
import {
  planInstances,
  serialOf,
  type ObservedInstance,
  type PlanInput,
} from '../../../../../runtime/controller/mysql/cluster/instance-plan.js';

const ready = { ready: true, deleting: false, failed: false };
const starting = { ready: false, deleting: false, failed: false };
const inst = (serial: number, pod?: ObservedInstance['pod'], hasPvc = true): ObservedInstance => ({
  name: `db-${serial}`,
  serial,
  hasPvc,
  ...(pod ? { pod } : {}),
});
const plan = (over: Partial<PlanInput>) =>
  planInstances({ cluster: 'db', desired: 3, primary: 'db-1', latestSerial: 0, instances: [], primaryVolumeByRecovery: false, ...over });

describe('cluster instance plan', () => {
  it('a new Cluster starts with the primary volume and Pod only', () => {
    const p = plan({});
    expect(p.actions).to.deep.equal([
      { kind: 'createPvc', name: 'db-1', serial: 1 },
      { kind: 'createPod', name: 'db-1', serial: 1, role: 'primary' },
    ]);
    expect(p.latestSerial).to.equal(1);
    expect(p.waiting).to.match(/primary db-1/);
  });

  it('waits for the recovery step to fill the primary volume', () => {
    const p = plan({ primaryVolumeByRecovery: true });
    expect(p.actions).to.deep.equal([]);
    expect(p.waiting).to.match(/recovery/);
  });

  it('creates no replica before the primary is Ready, then one clone at a time', () => {
    expect(plan({ latestSerial: 1, instances: [inst(1, starting)] }).actions).to.deep.equal([]);
    const first = plan({ latestSerial: 1, instances: [inst(1, ready)] });
    expect(first.actions).to.deep.equal([
      { kind: 'createPvc', name: 'db-2', serial: 2 },
      { kind: 'createPod', name: 'db-2', serial: 2, role: 'replica' },
    ]);
    expect(first.latestSerial).to.equal(2);
    const cloning = plan({ latestSerial: 2, instances: [inst(1, ready), inst(2, starting)] });
    expect(cloning.actions).to.deep.equal([]);
    expect(cloning.waiting).to.match(/db-2 is still joining/);
    const second = plan({ latestSerial: 2, instances: [inst(1, ready), inst(2, ready)] });
    expect(second.actions.map((a) => `${a.kind}:${a.name}`)).to.deep.equal(['createPvc:db-3', 'createPod:db-3']);
  });

  it('never reuses a serial: a lost replica is replaced by a new one', () => {
    // db-2 lost its PVC (deleted with its Pod): the next replica is db-4, not db-2.
    const p = plan({ latestSerial: 3, instances: [inst(1, ready), inst(3, ready)] });
    expect(p.actions.map((a) => `${a.kind}:${a.name}`)).to.deep.equal(['createPvc:db-4', 'createPod:db-4']);
    expect(p.latestSerial).to.equal(4);
  });

  it('deletes the Pod of a replica whose PVC is gone', () => {
    const p = plan({ latestSerial: 3, instances: [inst(1, ready), inst(2, ready, false), inst(3, ready)] });
    expect(p.actions[0]).to.deep.equal({ kind: 'deletePod', name: 'db-2', why: 'its PVC is gone' });
  });

  it('re-creates a missing Pod on its existing PVC', () => {
    const p = plan({ latestSerial: 3, instances: [inst(1, ready), inst(2), inst(3, ready)] });
    expect(p.actions).to.deep.include({ kind: 'createPod', name: 'db-2', serial: 2, role: 'replica' });
    expect(p.actions.some((a) => a.kind === 'createPvc')).to.equal(false);
  });

  it('scales down by deleting the newest replicas, never the primary', () => {
    const p = plan({ desired: 1, latestSerial: 3, primary: 'db-3', instances: [inst(1, ready), inst(2, ready), inst(3, ready)] });
    const deleted = p.actions.filter((a) => a.kind === 'deletePvc').map((a) => a.name);
    expect(deleted).to.have.members(['db-1', 'db-2']);
    expect(deleted).to.not.include('db-3');
    const two = plan({ desired: 2, latestSerial: 3, instances: [inst(1, ready), inst(2, ready), inst(3, ready)] });
    expect(two.actions.filter((a) => a.kind === 'deletePvc').map((a) => a.name)).to.deep.equal(['db-3']);
  });

  it('reports a primary whose PVC is gone instead of creating an empty one', () => {
    expect(plan({ latestSerial: 2, instances: [inst(2, ready)] }).primaryLost).to.equal(true);
    expect(plan({ latestSerial: 1, instances: [inst(1, ready, false)] }).primaryLost).to.equal(true);
  });

  it('parses serials only from <cluster>-<n>', () => {
    expect(serialOf('db', 'db-12')).to.equal(12);
    expect(serialOf('db', 'db-1-recovery-1-abcde')).to.equal(undefined);
    expect(serialOf('db', 'db-2x')).to.equal(undefined);
    expect(serialOf('db', 'dbx-1')).to.equal(undefined);
    expect(serialOf('db', 'db-0')).to.equal(undefined);
  });
});
