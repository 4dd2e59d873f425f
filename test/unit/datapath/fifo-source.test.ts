import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { FifoSource } from '../../../runtime/datapath/sources/fifo-source.js';
import { SourceFailedError } from '../../../runtime/datapath/sources/process-source.js';
import { runSilo } from '../../support/silo-cli.js';

/** Plays the user's container in a BackupRun Pod: writes the pipe, then the exit status. */
function sibling(dir: string, script: string) {
  return spawn('sh', ['-c', `(${script}) > ${join(dir, 'data')}; echo $? > ${join(dir, 'status')}`], { stdio: 'ignore' });
}

async function drain(source: FifoSource): Promise<number> {
  let bytes = 0;
  for await (const chunk of source) bytes += (chunk as Buffer).length;
  return bytes;
}

describe('named-pipe source (sibling container hand-off)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'silo-fifo-'));
    execFileSync('mkfifo', [join(dir, 'data')]);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("streams the sibling's output and ends when its status is 0", async () => {
    sibling(dir, 'head -c 3000000 /dev/zero');
    expect(await drain(new FifoSource(join(dir, 'data'), join(dir, 'status')))).to.equal(3_000_000);
  });

  it("fails, before end, when the sibling's command failed", async () => {
    sibling(dir, 'head -c 100000 /dev/zero; exit 4');
    const error = await drain(new FifoSource(join(dir, 'data'), join(dir, 'status'))).then(
      () => undefined,
      (e) => e,
    );
    expect(error).to.be.instanceOf(SourceFailedError);
    expect(error.message).to.equal('the backup command exited with status 4; its output was not stored');
  });

  it('fails when the pipe closes but no status arrives', async () => {
    spawn('sh', ['-c', `head -c 10 /dev/zero > ${join(dir, 'data')}`], { stdio: 'ignore' });
    const error = await drain(new FifoSource(join(dir, 'data'), join(dir, 'status'), 500)).then(
      () => undefined,
      (e) => e,
    );
    expect(error.message).to.match(/wrote no exit status to .*status within 0.5 s; its output was not stored/);
  });

  it('a worker past its deadline exits at once while the writer holds the pipe open and silent', async () => {
    // The writer opens the pipe, says nothing for 20 s, then would succeed.
    const writer = sibling(dir, 'exec 3>&1; sleep 20');
    try {
      const run = await runSilo(['backup', 'fifo', '--data', join(dir, 'data'), '--status', join(dir, 'status')], {
        SILO_STORE_TYPE: 'filesystem',
        SILO_FS_ROOT: join(dir, 'store'),
        SILO_DATA_KEY: 'b/backup',
        SILO_BACKUP_ID: '1',
        SILO_DEADLINE_SECONDS: '1',
      });
      expect(run.code, run.stderr).to.equal(8);
      expect(run.seconds).to.be.below(10);
      expect(JSON.parse(run.stdout.trim().split('\n').pop()!)).to.include({ outcome: 'failed', reason: 'deadline' });
    } finally {
      writer.kill('SIGKILL');
    }
  });
});
