import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { copyFailure, recoveryEnd, restoreCommand } from '../../../runtime/pg/restore.js';
import { useTempDirs } from '../../support/temp-dirs.js';

describe('silo pg restore: an interruption is resumed, a failure is kept (decision 0282)', () => {
  const tempDir = useTempDirs();

  it('a copy that lost the repo host or was killed is interrupted; refused credentials and passphrases are kept', () => {
    const lost = copyFailure(104, 'ERROR: [104]: HostConnectError: unable to connect to src-repo-host.src-pgbackrest:8432');
    expect(lost).to.include({ ok: false, reason: 'RepoHostUnreachable', interrupted: true });
    expect(copyFailure(null, 'P00 DETAIL: restore file ...')).to.include({ interrupted: true });
    expect(copyFailure(103, 'ERROR: [103]: ProtocolError: unexpected eof')).to.include({ reason: 'PgBackRestFailed', interrupted: true });
    // The source's repo host Pod deleted mid-copy (pgBackRest 2.45, captured by pg-restore-kills.test.ts).
    const deleted =
      "ERROR: [039]: client state is 'data-get' but expected 'idle'\nWARN: unable to wait on child process: [10] No child processes";
    expect(copyFailure(39, deleted)).to.include({ reason: 'PgBackRestFailed', interrupted: true });
    // The same from a bundled repository: 2.45's local process crashes on the cut connection (decision 0288).
    const crashed = 'ERROR: [102]: local-1 process terminated unexpectedly on signal 11';
    expect(copyFailure(102, crashed)).to.include({ reason: 'PgBackRestFailed', interrupted: true });
    for (const [output, reason] of [
      ['ERROR: [039]: HTTP request failed with 403 (Forbidden): InvalidAccessKeyId', 'StorageAuthFailed'],
      ['ERROR: [095]: CryptoError: cipher header invalid', 'CipherMismatch'],
      ['ERROR: [028]: backup and archive info files exist but do not match the database', 'StanzaMismatch'],
      ['ERROR: [075]: no backup set found to restore', 'PgBackRestFailed'],
    ]) {
      const kept = copyFailure(39, output);
      expect(kept, output).to.include({ ok: false, reason });
      expect(kept, output).to.not.have.property('interrupted');
    }
  });

  it('a replay ended by a kill or a start too soon after it is interrupted; the target not reached and other FATALs are kept', () => {
    expect(recoveryEnd('SIGKILL', false, '')).to.include({ reason: 'RestoreInterrupted', interrupted: true });
    const soon = recoveryEnd(null, false, 'FATAL:  pre-existing shared memory block (key 5432001, ID 7) is still in use');
    expect(soon).to.include({ reason: 'RestoreInterrupted', interrupted: true });
    expect(recoveryEnd(null, true, 'FATAL:  recovery ended before configured recovery target was reached')).to.deep.equal({
      ok: false,
      reason: 'TargetNotReached',
      error: 'PostgreSQL: recovery ended before configured recovery target was reached',
    });
    // The target is the user's choice: a kill at the same moment does not turn it into a retry.
    expect(recoveryEnd('SIGKILL', true, '')).to.include({ reason: 'TargetNotReached' });
    const broken = recoveryEnd(null, false, 'FATAL:  could not locate required checkpoint record');
    expect(broken).to.include({ reason: 'RestoreFailed' }).and.not.have.property('interrupted');
  });

  it('restore_command: a segment not in the archive stays 1 (the end of WAL), any other pgBackRest failure becomes fatal (255)', () => {
    // A stand-in pgbackrest on PATH that exits with FAKE_RC: the shell around archive-get is what is tested.
    const bin = tempDir('silo-fake-pgbackrest-');
    writeFileSync(join(bin, 'pgbackrest'), '#!/bin/sh\nexit $FAKE_RC\n');
    chmodSync(join(bin, 'pgbackrest'), 0o755);
    const command = restoreCommand(2).replace('%f', '000000010000000000000003').replace('%p', 'pg_wal/RECOVERYXLOG');
    expect(command).to.contain('--repo=2').and.contain('archive-get 000000010000000000000003 "pg_wal/RECOVERYXLOG"');
    const rc = (fake: number) =>
      spawnSync('/bin/sh', ['-c', command], { env: { PATH: `${bin}:${process.env.PATH}`, FAKE_RC: String(fake) } }).status;
    expect([0, 1, 104, 39].map(rc)).to.deep.equal([0, 1, 255, 255]);
    const lost = recoveryEnd(
      null,
      false,
      'FATAL:  could not restore file "000000010000000000000003" from archive: child process exited with exit code 255',
    );
    expect(lost).to.include({ reason: 'RestoreInterrupted', interrupted: true });
  });
});
