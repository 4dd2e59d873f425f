import { expect } from 'chai';
import type { BackupMetadata } from '../../../../../src/api/metadata/types.js';
import { completedPatch, failedPatch, humanSize } from '../../../../../runtime/controller/mysql/backup/backup-status.js';
import { setCondition } from '../../../../../runtime/controller/kube/conditions.js';
import { unsupportedSpec } from '../../../../../runtime/controller/mysql/backup/backup-spec-check.js';
import { resolveObjectStore, unsupportedStoreOption } from '../../../../../runtime/controller/mysql/backup/backup-store.js';
import { backup, cluster, store } from './fixtures.js';

const now = new Date('2026-11-22T05:10:00Z');

describe('Backup status', () => {
  it('completed fills every seed 003 field plus size and throughput from metadata.json', () => {
    const metadata: BackupMetadata = {
      formatVersion: 1,
      kind: 'physical',
      backupId: 'id',
      type: 'full',
      method: 'xtrabackup',
      objectKey: 'k',
      sourceInstance: 'db-2',
      codec: { compression: 'zstd', encryption: 'none', recipientFingerprints: [] },
      sizes: { storedBytes: 3 * 1024 * 1024, sourceBytes: 9 },
      sha256: 'b'.repeat(64),
      startedAt: '2026-11-22T05:00:00Z',
      stoppedAt: '2026-11-22T05:00:02Z',
      gtid: { begin: '0-1-5', end: '0-1-7' },
      binlog: { begin: 'mysql-bin.000001:300', end: 'mysql-bin.000001:900' },
      lsn: { to: '123' },
    };
    const patch = completedPatch({ startedAt: '2026-11-22T04:59:59Z' }, metadata, 1, now);
    expect(patch).to.deep.include({
      phase: 'completed',
      reason: 'BackupCompleted',
      sha256: 'b'.repeat(64),
      beginGTID: '0-1-5',
      endGTID: '0-1-7',
      beginBinlog: 'mysql-bin.000001:300',
      endBinlog: 'mysql-bin.000001:900',
      toLSN: '123',
      instanceName: 'db-2',
      startedAt: '2026-11-22T04:59:59Z',
      stoppedAt: '2026-11-22T05:00:02Z',
      sizeBytes: 3 * 1024 * 1024,
      size: '3.00 MiB',
      throughputBytesPerSecond: 1.5 * 1024 * 1024,
      method: 'xtrabackup',
      observedGeneration: 1,
    });
    expect(patch.conditions).to.deep.equal([
      {
        type: 'Completed',
        status: 'True',
        reason: 'BackupCompleted',
        message: `stored 3.00 MiB with SHA256 ${'b'.repeat(64)}`,
        lastTransitionTime: now.toISOString(),
        observedGeneration: 1,
      },
    ]);
  });

  it('failed carries the reason in phase, condition and one-sentence error', () => {
    const patch = failedPatch(undefined, { reason: 'ClusterNotFound', message: 'Cluster x does not exist' }, 2, now);
    expect(patch).to.deep.include({
      phase: 'failed',
      reason: 'ClusterNotFound',
      error: 'Cluster x does not exist',
      stoppedAt: now.toISOString(),
    });
    expect(patch.conditions![0]).to.include({ type: 'Completed', status: 'False', reason: 'ClusterNotFound' });
  });

  it('conditions keep lastTransitionTime while the status does not change', () => {
    const first = setCondition(
      undefined,
      { type: 'Started', status: 'False', reason: 'WaitingForRunningBackup', message: 'a' },
      new Date(0),
    );
    const second = setCondition(first, { type: 'Started', status: 'False', reason: 'WaitingForRunningBackup', message: 'b' }, now);
    expect(second[0].lastTransitionTime).to.equal(new Date(0).toISOString());
    const third = setCondition(second, { type: 'Started', status: 'True', reason: 'BackupStarted', message: 'c' }, now);
    expect(third[0].lastTransitionTime).to.equal(now.toISOString());
  });

  it('human sizes', () => {
    expect(humanSize(512)).to.equal('512 B');
    expect(humanSize(1536)).to.equal('1.50 KiB');
    expect(humanSize(5 * 1024 ** 4)).to.equal('5.00 TiB');
  });

  it('UnsupportedMethod for anything but xtrabackup, and for online: false', () => {
    expect(unsupportedSpec(backup('b', { method: 'mysqldump' as never }))).to.have.property('reason', 'UnsupportedMethod');
    expect(unsupportedSpec(backup('b', { online: false }))).to.have.property('reason', 'UnsupportedMethod');
    expect(unsupportedSpec(backup('b'))).to.equal(undefined);
  });

  it("the Backup's own store wins over the Cluster's; neither is ObjectStoreMissing", () => {
    const own = { ...store, bucket: 'own' };
    expect(resolveObjectStore(backup('b', { objectStore: own }), cluster({ backup: { objectStore: store } }))).to.deep.equal({
      store: own,
      from: 'Backup.spec.objectStore',
    });
    expect(resolveObjectStore(backup('b'), cluster({ backup: { objectStore: store } }))).to.deep.equal({
      store,
      from: 'Cluster.spec.backup.objectStore',
    });
    expect(resolveObjectStore(backup('b'), cluster())).to.have.property('reason', 'ObjectStoreMissing');
  });

  it('store options the worker cannot honour fail instead of being ignored', () => {
    expect(unsupportedStoreOption({ store: { ...store, signatureVersion: 'v2' }, from: 'Backup.spec.objectStore' })).to.have.property(
      'reason',
      'UnsupportedObjectStoreOption',
    );
    expect(
      unsupportedStoreOption({ store: { ...store, serverSideEncryption: { type: 'AES256' } }, from: 'Backup.spec.objectStore' }),
    ).to.have.property('reason', 'UnsupportedObjectStoreOption');
    expect(unsupportedStoreOption({ store, from: 'Backup.spec.objectStore' })).to.equal(undefined);
  });
});
