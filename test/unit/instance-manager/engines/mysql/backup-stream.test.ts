// The backup tool's stderr line that explains a failure, as the error trailer carries it (narrow: a shell
// script stands in for mariabackup; the real tool failing is in test/integration/controller/mysql/backup.test.ts).
import { expect } from 'chai';
import { startBackupStream } from '../../../../../runtime/instance-manager/engines/mysql/backup-stream.js';
import { createLogger } from '../../../../../runtime/logging/logger.js';

const log = createLogger({}, { write: () => undefined });

async function run(script: string, zstdCli?: string) {
  const stream = startBackupStream({
    tool: { name: 'mariabackup', path: 'sh' },
    args: ['-c', script],
    compression: { algorithm: zstdCli ? 'zstd' : 'none' },
    zstdCli,
    log,
  });
  stream.output.resume();
  return stream.done;
}

describe('instance manager: the backup tool stream', () => {
  const failing = [
    'echo "[00] 2026-12-06 07:59:01 Connecting to MariaDB server host: localhost, user: root, password: set" >&2',
    'echo "[00] 2026-12-06 07:59:03 FATAL ERROR: 2026-12-06 07:59:03 failed to execute query BACKUP STAGE START: Lock wait timeout exceeded" >&2',
    'echo "[00] 2026-12-06 07:59:03 Streaming done" >&2',
    'echo "" >&2',
    'exit 1',
  ].join('; ');

  for (const zstdCli of [undefined, 'zstd']) {
    it(`keeps the last line that reads as an error, without mariabackup's prefix (${zstdCli ?? 'in process'})`, async () => {
      const outcome = await run(failing, zstdCli);
      expect(outcome.code).to.equal(1);
      expect(outcome.errorLine).to.equal(
        'FATAL ERROR: 2026-12-06 07:59:03 failed to execute query BACKUP STAGE START: Lock wait timeout exceeded',
      );
    });
  }

  it('falls back to the last line when none reads as an error, and cuts it at 300 characters', async () => {
    const outcome = await run(`echo "[01] 2026-12-06 07:59:03 $(printf 'x%.0s' $(seq 400))" >&2; exit 2`);
    expect(outcome.code).to.equal(2);
    expect(outcome.errorLine).to.equal('x'.repeat(300));
  });

  it('has no error line from a tool that wrote nothing to stderr', async () => {
    expect((await run('exit 3')).errorLine).to.equal(undefined);
  });
});
