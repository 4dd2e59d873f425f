import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { createLogger } from '../../../runtime/logging/logger.js';
import { superviseUntilExit } from '../../../runtime/pg/supervise.js';

/** postgres (a long sleep, stopped with SIGINT) beside `other`, under the supervisor: its exit code, its lines, postgres. */
async function supervise(other: ChildProcess): Promise<{ code: number; lines: string[]; postgres: ChildProcess }> {
  const lines: string[] = [];
  const log = createLogger({ component: 'test' }, { write: (l: string) => lines.push(l) });
  const postgres = spawn('sleep', ['30']);
  const code = await superviseUntilExit(
    [
      { name: 'postgres', child: postgres, stopSignal: 'SIGINT' },
      { name: 'pgbackrest server', child: other },
    ],
    log,
  );
  return { code, lines, postgres };
}

describe('superviseUntilExit (the database and repo host containers)', () => {
  it('a program missing from the image ends the container with 127 and a line naming it, and stops the others', async () => {
    const { code, lines, postgres } = await supervise(spawn('silo-no-such-program-here', ['server']));
    expect(code).to.equal(127);
    expect(postgres.signalCode).to.equal('SIGINT');
    const said = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).find((l) => l.level === 'error');
    expect(said?.msg).to.match(/^pgbackrest server could not start \(spawn silo-no-such-program-here ENOENT\)/);
  });

  it('a child that exits ends the container with its code and stops the others', async () => {
    const { code, postgres } = await supervise(spawn('sh', ['-c', 'exit 3']));
    expect(code).to.equal(3);
    expect(postgres.signalCode).to.equal('SIGINT');
  });
});
