import { expect } from 'chai';
import { blockingBackup, findParent } from '../../../../../runtime/controller/mysql/backup/backup-guard.js';
import { backup } from './fixtures.js';

describe('Backup per-cluster guard and parent lookup', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 10, 22, 5, 0, s)).toISOString();

  it('waits for a running Backup of the same Cluster, not for other Clusters or finished ones', () => {
    const self = backup('b', {}, { created: t(10) });
    const running = backup('a', {}, { created: t(20), status: { phase: 'running' } });
    expect(blockingBackup(self, [self, running])).to.equal(running);
    const otherCluster = backup('c', { cluster: { name: 'other' } }, { created: t(0), status: { phase: 'running' } });
    const done = backup('d', {}, { created: t(0), status: { phase: 'completed' } });
    const failed = backup('e', {}, { created: t(0), status: { phase: 'failed' } });
    expect(blockingBackup(self, [self, otherCluster, done, failed])).to.equal(undefined);
  });

  it('two pending Backups agree that the older one goes first (then by name)', () => {
    const older = backup('z', {}, { created: t(1) });
    const younger = backup('a', {}, { created: t(2) });
    expect(blockingBackup(older, [older, younger])).to.equal(undefined);
    expect(blockingBackup(younger, [older, younger])).to.equal(older);
    const twinA = backup('a', {}, { created: t(3) });
    const twinB = backup('b', {}, { created: t(3) });
    expect(blockingBackup(twinA, [twinA, twinB])).to.equal(undefined);
    expect(blockingBackup(twinB, [twinA, twinB])).to.equal(twinA);
  });

  it('incremental takes the latest completed backup with an LSN in the same store; differential the latest full', () => {
    const full = backup(
      'f',
      {},
      {
        status: {
          phase: 'completed',
          type: 'full',
          backupId: '20261122T010000Z',
          toLSN: '100',
          destinationPath: 's3://b/p/db/f/20261122T010000Z/',
        },
      },
    );
    const inc = backup(
      'i',
      {},
      {
        status: {
          phase: 'completed',
          type: 'incremental',
          backupId: '20261122T020000Z',
          toLSN: '200',
          destinationPath: 's3://b/p/db/i/20261122T020000Z/',
        },
      },
    );
    const elsewhere = backup(
      'x',
      {},
      {
        status: {
          phase: 'completed',
          type: 'full',
          backupId: '20261122T030000Z',
          toLSN: '300',
          destinationPath: 's3://other/p/db/x/20261122T030000Z/',
        },
      },
    );
    const self = backup('n');
    const same = (b: typeof full) => String(b.status?.destinationPath).startsWith('s3://b/p/db/');
    expect(findParent(self, [full, inc, elsewhere, self], 'incremental', same)).to.deep.equal({
      backupId: '20261122T020000Z',
      toLSN: '200',
    });
    expect(findParent(self, [full, inc, elsewhere, self], 'differential', same)).to.deep.equal({
      backupId: '20261122T010000Z',
      toLSN: '100',
    });
    expect(findParent(self, [elsewhere, self], 'incremental', same)).to.equal(undefined);
    expect(findParent(self, [full], 'full', same)).to.equal(undefined);
  });
});
