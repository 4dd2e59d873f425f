import { expect } from 'chai';
import { clusterPhase } from '../../../../../runtime/controller/mysql/cluster/cluster-phase.js';
import type { InstanceHealth } from '../../../../../runtime/controller/mysql/cluster/instance-health.js';

const serving = (name: string, role: 'primary' | 'replica' = 'replica'): InstanceHealth => ({ name, role, ready: true, serving: true });
const primary = serving('db-1', 'primary');
const input = { primaryName: 'db-1', primaryReady: true, leaving: [] as string[], desired: 3 };

describe('cluster phase', () => {
  it('Healthy when every desired instance is ready and serving', () => {
    expect(clusterPhase({ ...input, instances: [primary, serving('db-2'), serving('db-3')] })).to.deep.equal({
      phase: 'Healthy',
      reason: 'Healthy',
      message: '3 instances ready, replicating',
    });
  });

  it('Initializing until the primary is ready; Degraded with the first troubled instance’s reason', () => {
    expect(clusterPhase({ ...input, primaryReady: false, instances: [] }).phase).to.equal('Initializing');
    const stopped = { ...serving('db-2'), serving: false, reason: 'ReplicationStopped' as const, message: 'db-2 stopped' };
    expect(clusterPhase({ ...input, instances: [primary, stopped, serving('db-3')] })).to.deep.include({
      phase: 'Degraded',
      reason: 'ReplicationStopped',
      message: 'db-2 stopped',
    });
  });

  it('ScalingDown while removed instances are still going, then Healthy; a lost replica leaves one short: Cloning', () => {
    const two = [primary, serving('db-2')];
    expect(clusterPhase({ ...input, desired: 2, instances: two, leaving: ['db-3'] })).to.deep.equal({
      phase: 'ScalingDown',
      reason: 'ScalingDown',
      message: 'removing db-3 down to 2 instances; 2 ready',
    });
    expect(clusterPhase({ ...input, desired: 1, instances: [primary], leaving: ['db-2'] }).message).to.equal(
      'removing db-2 down to 1 instance; 1 ready',
    );
    expect(clusterPhase({ ...input, desired: 2, instances: two }).phase).to.equal('Healthy');
    expect(clusterPhase({ ...input, desired: 3, instances: two, leaving: ['db-3'] }).phase).to.equal('Cloning');
  });
});
