import { expect } from 'chai';
import { classOfExitCode, EXIT, formatResultLine, isFailureClass, parseResultLine } from '../../../runtime/contracts/worker-result.js';

describe('contracts/worker-result', () => {
  it('keeps the released exit codes and gives busy, interrupted and unreachable their own', () => {
    expect(EXIT).to.include({
      ok: 0,
      other: 1,
      config: 2,
      auth: 3,
      network: 4,
      sourceFailed: 5,
      checksumMismatch: 6,
      storageFull: 7,
      deadline: 8,
      restoreFailed: 9,
      notFound: 10,
      tls: 11,
      decryption: 12,
    });
    expect(EXIT).to.include({ busy: 13, interrupted: 14, unreachable: 15 });
    expect(EXIT).to.include({ prepareFailed: 16, copyBackFailed: 17, volumeFull: 18 });
    expect(new Set(Object.values(EXIT)).size).to.equal(Object.keys(EXIT).length);
    expect(classOfExitCode(13)).to.equal('busy');
    expect(classOfExitCode(0)).to.equal(undefined);
    expect(isFailureClass('tls')).to.equal(true);
    expect(isFailureClass('ok')).to.equal(false);
    expect(isFailureClass('toString')).to.equal(false);
  });

  it('parses what the worker writes, also at the end of a log tail, and skips foreign or cut lines', () => {
    const line = formatResultLine({ outcome: 'failed', reason: 'busy', error: 'the instance manager is busy: x' });
    expect(parseResultLine(line)).to.deep.equal({ outcome: 'failed', reason: 'busy', error: 'the instance manager is busy: x' });
    expect(parseResultLine(`{"level":"info","msg":"backup started"}\n${line}\n`)).to.deep.include({ reason: 'busy' });
    expect(parseResultLine(`${line}\n{"level":"info","msg":"later log line"}`)).to.deep.include({ reason: 'busy' });
    expect(parseResultLine('{"outcome": "comp')).to.equal(undefined);
    expect(parseResultLine('plain text')).to.equal(undefined);
    expect(parseResultLine(undefined)).to.equal(undefined);
  });

  it("carries the recovery's outcome in the result line, and the parser reads it back", () => {
    const line = formatResultLine({
      outcome: 'restored',
      recovery: {
        backupId: '20261121T000000Z',
        gtid: '0-1-42',
        alreadyRecovered: false,
        placement: 'move-back',
        reusedLinks: 1,
        durations: { downloading: 3.2, preparing: 1.5, moving: 0.1, finalizing: 0.05 },
      },
    });
    expect(parseResultLine(`{"level":"info","msg":"recovery completed"}\n${line}`)).to.deep.equal(JSON.parse(line));
    expect(parseResultLine(line)?.recovery).to.include({ backupId: '20261121T000000Z', gtid: '0-1-42', placement: 'move-back' });
    const failed = parseResultLine(formatResultLine({ outcome: 'failed', reason: 'prepareFailed', error: 'mariabackup --prepare failed' }));
    expect(classOfExitCode(EXIT.prepareFailed)).to.equal('prepareFailed');
    expect(isFailureClass(failed?.reason)).to.equal(true);
  });
});
