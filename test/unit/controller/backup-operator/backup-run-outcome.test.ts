import { expect } from 'chai';
import type { Pod } from '../../../../runtime/controller/kube/client.js';
import {
  outcomeFromTerminated,
  parseResultLine,
  workerOutcome,
  BACKUP_FAILURE_REASONS,
  RESTORE_FAILURE_REASONS,
} from '../../../../runtime/controller/backup-operator/backup-run/backup-run-outcome.js';
import { podStuck, nextLookMs } from '../../../../runtime/controller/backup-operator/backup-run/backup-run-reconciler.js';
import { newBackupId } from '../../../../runtime/objectstore/object-layout.js';
import { completedStatus, failedStatus, restorable } from '../../../../runtime/controller/backup-operator/backup-run/backup-run-status.js';
import { EXIT } from '../../../../runtime/contracts/worker-result.js';

const run = {
  apiVersion: 'backup-operator.io/v1',
  kind: 'BackupRun',
  metadata: {},
  spec: {
    storage: { name: 's', path: 'p' },
    backup: { container: 'c', command: ['x'], deadlineSeconds: 10 },
    template: { spec: { containers: [{ name: 'c' }] } },
  },
} as any;

describe('BackupRun outcome from the worker termination message', () => {
  it('reads the completed result line, sizes and codec', () => {
    const line = JSON.stringify({
      outcome: 'completed',
      metadata: {
        sizes: { storedBytes: 42, sourceBytes: 100 },
        sha256: 'a'.repeat(64),
        codec: { compression: 'gzip', encryption: 'age', recipientFingerprints: ['x'] },
      },
    });
    expect(outcomeFromTerminated({ exitCode: 0, message: `noise\n${line}\n` })).to.deep.include({
      state: 'completed',
      storedBytes: 42,
      sha256: 'a'.repeat(64),
      compression: 'gzip',
      encryption: 'age',
      recipients: 1,
    });
  });

  it('reads failures with their worker reason; a kill without a line is still a failure with the exit code', () => {
    expect(
      outcomeFromTerminated({
        exitCode: 5,
        message:
          '{"outcome":"failed","reason":"sourceFailed","error":"the backup command exited with status 3; its output was not stored"}',
      }),
    ).to.deep.include({ state: 'failed', workerReason: 'sourceFailed' });
    const killed = outcomeFromTerminated({ exitCode: 137, reason: 'OOMKilled' });
    expect(killed).to.deep.include({ state: 'failed', workerReason: 'other' });
    expect((killed as any).error).to.match(/exited with code 137 \(OOMKilled\) without a result line/);
    expect(parseResultLine('{"outcome": "comp')).to.equal(undefined);
  });

  it('a completed line with a non-zero exit code is not a success', () => {
    expect(outcomeFromTerminated({ exitCode: 1, message: '{"outcome":"completed","metadata":{}}' }).state).to.equal('failed');
  });

  it('every worker failure class maps to a distinct, named reason', () => {
    for (const reason of Object.keys(EXIT).filter((r) => r !== 'ok')) {
      expect(BACKUP_FAILURE_REASONS[reason] ?? RESTORE_FAILURE_REASONS[reason], reason).to.be.a('string');
    }
    expect(BACKUP_FAILURE_REASONS.sourceFailed).to.equal('CommandFailed');
    expect(BACKUP_FAILURE_REASONS.deadline).to.equal('DeadlineExceeded');
    expect(RESTORE_FAILURE_REASONS.checksumMismatch).to.equal('ChecksumMismatch');
  });

  it('a Pod still running reports running; the worker status decides, not the Pod phase', () => {
    const pod: Pod = {
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'silo-worker',
            image: '',
            imageID: '',
            ready: true,
            restartCount: 0,
            state: { running: { startedAt: new Date().toISOString() } },
          },
        ],
      },
    };
    expect(workerOutcome(pod).state).to.equal('running');
  });

  it('stuck Pods: kubelet DeadlineExceeded, worker past its deadline plus grace, failed init container', () => {
    const now = new Date('2026-11-22T06:00:00Z');
    expect(podStuck({ status: { reason: 'DeadlineExceeded', phase: 'Failed' } }, run, 'backup', now)?.reason).to.equal('DeadlineExceeded');
    const started = new Date(now.getTime() - 26_000);
    const running: Pod = {
      metadata: { creationTimestamp: started.toISOString() },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'silo-worker',
            image: '',
            imageID: '',
            ready: true,
            restartCount: 0,
            state: { running: { startedAt: started.toISOString() } },
          },
        ],
      },
    };
    expect(podStuck(running, run, 'backup', now)?.message).to.match(/deadline of 10 s/);
    expect(podStuck(running, run, 'backup', new Date(now.getTime() - 2000))).to.equal(undefined);
    expect(nextLookMs(running, run, 'backup', new Date(now.getTime() - 5000))).to.be.within(1000, 15_000);
    const init: Pod = {
      status: {
        phase: 'Pending',
        initContainerStatuses: [
          { name: 'silo-prepare', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 1 } } },
        ],
      },
    };
    expect(podStuck(init, run, 'backup', now)?.reason).to.equal('PodFailed');
  });

  it('conditions: Compressed/Encrypted from the worker facts, Restorable needs a restore command', () => {
    const s = completedStatus(run, { storedBytes: 5, compression: 'none', encryption: 'none' }, 'ok.', new Date());
    const c = (t: string) => s.conditions!.find((x) => x.type === t)!;
    expect(s).to.include({ phase: 'Completed', sizeInBytes: 5 });
    expect(c('Compressed')).to.include({ status: 'False', reason: 'NotCompressed' });
    expect(c('Encrypted')).to.include({ status: 'False', reason: 'NotEncrypted' });
    expect(c('Restorable')).to.include({ status: 'False', reason: 'NoRestoreCommand' });
    expect(
      restorable({ ...run, spec: { ...run.spec, restore: run.spec.backup, encryption: { age: { recipients: ['r'] } } } }, true).reason,
    ).to.equal('NoDecryptionKey');
    const f = failedStatus(run, 'CommandFailed', 'the backup command exited with status 3.', new Date());
    expect(f).to.include({ phase: 'Failed', reason: 'CommandFailed' });
    expect(f.conditions!.find((x) => x.type === 'Succeeded')).to.include({ status: 'False', reason: 'CommandFailed' });
  });

  it('backup IDs are time-ordered UTC stamps', () => {
    expect(newBackupId(new Date('2026-11-22T05:21:21.123Z'))).to.equal('20261122T052121Z');
  });
});
