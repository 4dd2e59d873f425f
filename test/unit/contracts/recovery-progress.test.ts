import { expect } from 'chai';
import {
  parseRecoveryProgress,
  RECOVERY_PROGRESS_MESSAGE,
  recoveryProgressFields,
  type RecoveryProgress,
} from '../../../runtime/contracts/recovery-progress.js';
import { RecoveryProgressTracker } from '../../../runtime/datapath/recovery/progress.js';
import { createLogger } from '../../../runtime/logging/logger.js';

describe('contracts/recovery-progress', () => {
  it("reads back the newest line the worker's logger wrote, among other log lines and cut ones", () => {
    const lines: string[] = [];
    const logger = createLogger({ component: 'silo', pod: 'db-recovery-x' }, { write: (line) => lines.push(line) });
    const first: RecoveryProgress = { phase: 'downloading', bytesDone: 10, bytesTotal: 100, rate: 5, etaSeconds: 18, link: 0, links: 2 };
    const second: RecoveryProgress = { phase: 'preparing', bytesDone: 100, bytesTotal: 100, rate: 0, etaSeconds: null, link: 1, links: 2 };
    logger.info(RECOVERY_PROGRESS_MESSAGE, recoveryProgressFields(first));
    logger.info('backup verified and extracted', { backupId: 'b' });
    logger.info(RECOVERY_PROGRESS_MESSAGE, recoveryProgressFields(second));
    logger.info('restore stderr', { line: 'mariabackup: recovery progress 50%' });
    expect(lines.every((l) => !l.includes('\n'))).to.equal(true);
    const log = [...lines, '{"ts":"x","level":"info","msg":"recovery progress","progress":{"phase":"mov'].join('\n');
    expect(parseRecoveryProgress(log)).to.deep.equal(second);
    expect(parseRecoveryProgress(lines.slice(0, 2).join('\n'))).to.deep.equal(first);
  });

  it('skips lines whose progress is not one, and has nothing to say before the first line', () => {
    const bad = (progress: unknown) => JSON.stringify({ msg: RECOVERY_PROGRESS_MESSAGE, progress });
    expect(parseRecoveryProgress(bad({ phase: 'teleporting', bytesDone: 1, bytesTotal: 2, rate: 0, etaSeconds: null }))).to.equal(
      undefined,
    );
    expect(parseRecoveryProgress(bad({ phase: 'moving', bytesDone: -1, bytesTotal: 2, rate: 0, etaSeconds: null }))).to.equal(undefined);
    expect(parseRecoveryProgress(bad({ phase: 'moving', bytesDone: 1, bytesTotal: 2, rate: 0, etaSeconds: 'soon' }))).to.equal(undefined);
    expect(parseRecoveryProgress(bad(null))).to.equal(undefined);
    expect(parseRecoveryProgress('')).to.equal(undefined);
    expect(parseRecoveryProgress(undefined)).to.equal(undefined);
  });
});

describe('recovery progress tracker', () => {
  it('reports each phase change, the rate and ETA of this run, links skipped as done, and the seconds per phase', () => {
    let now = 1_000_000;
    const seen: RecoveryProgress[] = [];
    const tracker = new RecoveryProgressTracker((p) => seen.push(p), 1000, 3, { now: () => now });
    tracker.skipped(200); // link 0, verified by an earlier run
    tracker.phase('downloading', 1);
    expect(seen[0]).to.deep.equal({ phase: 'downloading', bytesDone: 200, bytesTotal: 1000, rate: 0, etaSeconds: null, link: 1, links: 3 });
    now += 2000;
    tracker.linkBytes(300);
    tracker.report();
    expect(seen[1]).to.deep.include({ bytesDone: 500, rate: 150, etaSeconds: 4 });
    tracker.linkDone(400);
    tracker.phase('downloading', 2);
    now += 2000;
    tracker.linkBytes(400);
    tracker.report();
    expect(seen[3]).to.deep.include({ phase: 'downloading', bytesDone: 1000, rate: 200, etaSeconds: 0, link: 2 });
    tracker.linkDone(400);
    tracker.phase('preparing', 0);
    expect(seen[4]).to.deep.include({ phase: 'preparing', bytesDone: 1000, rate: 0, etaSeconds: null });
    now += 1500;
    tracker.phase('moving');
    now += 250;
    tracker.phase('finalizing');
    now += 50;
    expect(tracker.stop()).to.deep.equal({ downloading: 4, preparing: 1.5, moving: 0.25, finalizing: 0.05 });
  });

  it('beats at least every interval while a phase lasts', async () => {
    const seen: RecoveryProgress[] = [];
    const tracker = new RecoveryProgressTracker((p) => seen.push(p), 10, 1, { intervalMs: 20 });
    tracker.start();
    tracker.phase('preparing', 0);
    await new Promise((resolve) => setTimeout(resolve, 110));
    tracker.stop();
    expect(seen.length).to.be.greaterThanOrEqual(4);
    expect(seen.every((p) => p.phase === 'preparing')).to.equal(true);
  });
});
