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
});
