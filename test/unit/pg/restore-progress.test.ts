/**
 * The copy's progress in `silo pg restore` (runtime/pg/restore-progress.ts, decision 0278) replayed over pgBackRest
 * 2.45's real restore output (test/fixtures/pgbackrest/restore-detail.out, capture-restore.sh: 620 MB, its largest
 * file a 512 MB segment whose line says 82.59 %), and the operator's side of the contract.
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parsePgRestoreProgress } from '../../../runtime/contracts/pg-restore.js';
import { restoreProgressStatus } from '../../../runtime/controller/postgres/shared/pg-restore-progress.js';
import { CopyProgress, dirBytes, pgbackrestSize, restoredFile, WalkPacer } from '../../../runtime/pg/restore-progress.js';

const capture = readFileSync(new URL('../../fixtures/pgbackrest/restore-detail.out', import.meta.url), 'utf8').split('\n');
const MB = 2 ** 20;
/** pgBackRest's own total, from its last lines: `restore size = 620.3MB, file total = 977`. */
const restoreSize = pgbackrestSize(/restore size = (\S+),/.exec(capture.join('\n'))![1])!;

describe('pg restore progress from pgBackRest output', () => {
  it("reads pgBackRest's sizes (powers of 1024) and its per-file lines, and nothing else", () => {
    expect(pgbackrestSize('0B')).to.equal(0);
    expect(pgbackrestSize('768KB')).to.equal(768 * 1024);
    expect(pgbackrestSize('512.3MB')).to.equal(Math.round(512.3 * MB));
    expect(pgbackrestSize('1GB')).to.equal(2 ** 30);
    expect(pgbackrestSize('12 MB')).to.equal(undefined);
    const first = capture.find((l) => l.includes('restore file'))!;
    expect(restoredFile(first)).to.deep.equal({ bytes: Math.round(512.3 * MB), percent: 82.59 });
    expect(restoredFile('P01 DETAIL: restore file /pgdata/pg15/base/5/1249 (440KB, 12.71%) checksum 3e1b')).to.deep.equal({
      bytes: 440 * 1024,
      percent: 12.71,
    });
    // From a bundled repository (pgBackRest 2.45, repo1-bundle=y).
    expect(
      restoredFile('P01 DETAIL: restore file /pgdata/pg_multixact/members/0000 (bundle 1/91, 8KB, 0.04%) checksum 0631457264ff'),
    ).to.deep.equal({ bytes: 8 * 1024, percent: 0.04 });
    expect(capture.filter((l) => restoredFile(l)).length).to.equal(977);
    for (const line of capture.filter((l) => !l.includes('restore file'))) expect(restoredFile(line), line).to.equal(undefined);
  });

  it('the whole capture replayed: the total from the first line on, within 0.5 % of pgBackRest’s restore size; 100 % only at the end', () => {
    const progress = new CopyProgress(0);
    let first: ReturnType<CopyProgress['snapshot']> | undefined;
    for (const line of capture) if (progress.line(line)) first ??= progress.snapshot(4000);
    expect(first!.bytesTotal! / restoreSize).to.be.within(0.995, 1.005);
    expect(first!.percent).to.equal(82);
    expect(first!.etaSeconds).to.equal(1);
    const last = progress.snapshot(5000);
    expect(last.percent).to.equal(99);
    expect(last.bytesTotal! / restoreSize).to.be.within(0.995, 1.005);
    progress.end();
    const ended = progress.snapshot(5000);
    expect(ended).to.include({ step: 'copying', percent: 100, etaSeconds: 0 });
    expect(ended.bytesDone).to.equal(ended.bytesTotal);
  });

  it('before any line: the bytes on the volume against the resolved set’s size give percent, rate and ETA', () => {
    const progress = new CopyProgress(10_000, 600 * MB);
    expect(progress.snapshot(10_000)).to.deep.equal({ step: 'copying', percent: 0, bytesDone: 0, bytesTotal: 600 * MB, bytesPerSecond: 0 });
    progress.onDisk(300 * MB);
    expect(progress.snapshot(12_000)).to.deep.equal({
      step: 'copying',
      percent: 50,
      bytesDone: 300 * MB,
      bytesTotal: 600 * MB,
      bytesPerSecond: 150 * MB,
      etaSeconds: 2,
    });
    // A smaller walk (a file removed and rewritten) never takes the bytes back.
    progress.onDisk(100 * MB);
    expect(progress.snapshot(12_000).bytesDone).to.equal(300 * MB);
  });

  it('with neither lines nor a resolved size: bytes and rate, no total and no ETA', () => {
    const progress = new CopyProgress(0);
    progress.onDisk(64 * MB);
    expect(progress.snapshot(2000)).to.deep.equal({ step: 'copying', percent: 0, bytesDone: 64 * MB, bytesPerSecond: 32 * MB });
  });

  it("a resolved size far from what pgBackRest's lines say (a newer set restored) gives way to pgBackRest's", () => {
    const agrees = new CopyProgress(0, restoreSize + 1000);
    const differs = new CopyProgress(0, Math.round(restoreSize * 0.7));
    for (const line of capture) {
      agrees.line(line);
      differs.line(line);
    }
    expect(agrees.snapshot(1000).bytesTotal).to.equal(restoreSize + 1000);
    expect(differs.snapshot(1000).bytesTotal! / restoreSize).to.be.within(0.995, 1.005);
  });

  it('dirBytes sums regular files under PGDATA, not directories or what a symlink points to', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'silo-dirbytes-'));
    try {
      mkdirSync(join(dir, 'base/5'), { recursive: true });
      writeFileSync(join(dir, 'base/5/16418'), Buffer.alloc(70_000));
      writeFileSync(join(dir, 'PG_VERSION'), '15\n');
      symlinkSync(join(dir, 'base'), join(dir, 'link'));
      expect(await dirBytes(dir)).to.equal(70_003);
      expect(await dirBytes(join(dir, 'missing'))).to.equal(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a walk of PGDATA takes at most a twentieth of the time: a slow walk makes the next one wait longer', () => {
    const pacer = new WalkPacer();
    expect(pacer.due(0)).to.equal(true);
    pacer.walked(0, 30); // a thousand files
    expect([pacer.due(600), pacer.due(630)]).to.deep.equal([false, true]);
    pacer.walked(2000, 3500); // a hundred thousand
    expect([pacer.due(4000), pacer.due(33_500)]).to.deep.equal([false, true]);
  });

  it('the operator reads the newest progress line; past the copy, status says the copy ended', () => {
    const log = [
      '{"level":"info","msg":"restore progress","step":"copying","percent":40,"bytesDone":400,"bytesTotal":1000,"bytesPerSecond":100,"etaSeconds":6}',
      '{"level":"info","msg":"pgbackrest restore","step":"copying"}',
      '{"level":"info","msg":"restore progress","step":"copying","percent":41,"bytesDone":-5,"etaSeconds":"soon"}',
      '{"level":"info","msg":"restore progress","ste',
    ].join('\n');
    expect(parsePgRestoreProgress(log)).to.deep.equal({ step: 'copying', percent: 41 });
    const copying = parsePgRestoreProgress(log.split('\n')[0]);
    expect(restoreProgressStatus(copying, undefined)).to.deep.equal({
      percent: 40,
      bytesDone: 400,
      bytesTotal: 1000,
      bytesPerSecond: 100,
      etaSeconds: 6,
    });
    expect(restoreProgressStatus({ step: 'recovering' }, { bytesTotal: 1000, bytesDone: 990, etaSeconds: 1 })).to.deep.equal({
      percent: 100,
      etaSeconds: 0,
      bytesDone: 1000,
      bytesTotal: 1000,
    });
    // Restored before any pass saw the copy: the resolved set's size.
    expect(restoreProgressStatus({ step: 'done' }, { backupSizeBytes: 2000 })).to.deep.equal({
      percent: 100,
      etaSeconds: 0,
      bytesDone: 2000,
      bytesTotal: 2000,
    });
    expect(restoreProgressStatus(undefined, undefined)).to.deep.equal({});
  });
});
