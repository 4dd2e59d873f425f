/**
 * runAsPostgres stopped through its signal: the command and every process under it end before the result comes.
 * pgBackRest's main process exits at once on SIGTERM (exitOnSignal calls exit()) and leaves its `local` processes to
 * finish the file they copy; a shell script stands in for it here, a background loop for its local.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { descendants, runAsPostgres } from '../../../runtime/pg/pgbackrest-process.js';

/** A main process that exits on SIGTERM at once, and a local under it that appends to `out` until it is stopped. */
const MAIN = (local: string) => `
out="$1"
( ${local} while :; do echo x >> "$out"; sleep 0.05; done ) >/dev/null 2>&1 &
echo "local $!"
trap 'exit 63' TERM
while :; do sleep 0.05; done
`;

describe('runAsPostgres stopped through its signal', () => {
  let dir: string;
  let out: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'silo-pgbackrest-process-'));
    chmodSync(dir, 0o777); // the commands run as postgres when the tests run as root
    out = join(dir, 'local-writes');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const started = async (local = '') => {
    const stop = new AbortController();
    let localPid = 0;
    const run = runAsPostgres('sh', ['-c', MAIN(local), 'main', out], {
      signal: stop.signal,
      stopGraceMs: 1_000,
      onLine: (line) => (localPid = Number(/^local (\d+)$/.exec(line)?.[1] ?? localPid)),
    });
    while (!localPid || !existsSync(out)) await sleep(20);
    return { stop, run, localPid };
  };
  const alive = (pid: number) => {
    try {
      return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  const writesAfter = async () => {
    const size = statSync(out).size;
    await sleep(300);
    return statSync(out).size - size;
  };

  it('ends the local processes too before it answers: nothing is written after the result', async () => {
    const { stop, run, localPid } = await started();
    expect(descendants(process.pid)).to.include(localPid);
    stop.abort();
    const r = await run;
    expect(r.code, 'the main process ended on its SIGTERM').to.equal(63);
    expect(alive(localPid), 'the local process is gone').to.equal(false);
    expect(await writesAfter()).to.equal(0);
  });

  it('kills a process that ignores SIGTERM once the grace has passed', async () => {
    const { stop, run, localPid } = await started("trap '' TERM;");
    const stoppedAt = Date.now();
    stop.abort();
    await run;
    expect(Date.now() - stoppedAt, 'it waited out the grace').to.be.at.least(900);
    expect(alive(localPid)).to.equal(false);
    expect(await writesAfter()).to.equal(0);
  });

  it('a command that ends by itself answers at once, with its output', async () => {
    const stop = new AbortController();
    const lines: string[] = [];
    const r = await runAsPostgres('sh', ['-c', 'echo one; echo two >&2; exit 3'], { signal: stop.signal, onLine: (l) => lines.push(l) });
    expect(r.code).to.equal(3);
    expect(lines).to.have.members(['one', 'two']);
    expect(r.stdout).to.equal('one\n');
    stop.abort(); // after the end: nothing to stop, and no error
  });
});
