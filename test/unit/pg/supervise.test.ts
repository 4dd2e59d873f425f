import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { createLogger } from '../../../runtime/logging/logger.js';
import { superviseUntilExit } from '../../../runtime/pg/supervise.js';

describe('superviseUntilExit (the database and repo host containers)', () => {
  it('a program missing from the image ends the container with 127 and a line naming it, and stops the others', async () => {
    const lines: string[] = [];
    const log = createLogger({ component: 'test' }, { write: (l: string) => lines.push(l) });
    const sleeper = spawn('sleep', ['30']);
    const missing = spawn('silo-no-such-program-here', ['server']);
    const code = await superviseUntilExit(
      [
        { name: 'postgres', child: sleeper, stopSignal: 'SIGINT' },
        { name: 'pgbackrest server', child: missing },
      ],
      log,
    );
    expect(code).to.equal(127);
    expect(sleeper.signalCode).to.equal('SIGINT');
    const said = lines.map((l) => JSON.parse(l) as { level: string; msg: string }).find((l) => l.level === 'error');
    expect(said?.msg).to.match(/^pgbackrest server could not start \(spawn silo-no-such-program-here ENOENT\)/);
  });

  it('a child that exits ends the container with its code and stops the others', async () => {
    const log = createLogger({ component: 'test' }, { write: () => undefined });
    const sleeper = spawn('sleep', ['30']);
    const quitter = spawn('sh', ['-c', 'exit 3']);
    const code = await superviseUntilExit(
      [
        { name: 'postgres', child: sleeper, stopSignal: 'SIGINT' },
        { name: 'pgbackrest server', child: quitter },
      ],
      log,
    );
    expect(code).to.equal(3);
    expect(sleeper.signalCode).to.equal('SIGINT');
  });
});
