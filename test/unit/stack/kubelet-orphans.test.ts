/**
 * The process kubelet's sweep of containers left by a run that was killed hard (pid-files.ts killMarked): it finds
 * them by the mark in their environment, so it works when the pid files went with the state directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { KUBELET_MARK_VAR, killMarked } from '../../stack/kubelet/pid-files.js';
import { isAlive } from '../../stack/lib/proc.js';
import { waitUntil } from '../../stack/lib/wait.js';

const exited = (child: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.signalCode);
    child.once('exit', (_code, signal) => resolve(signal));
  });

describe('process kubelet: containers left by an earlier run', () => {
  const ours = `/tmp/silo-stack/kubelet-tests/orphans-${randomBytes(4).toString('hex')}`;
  const children: ChildProcess[] = [];
  const start = (command: string, args: string[], mark?: string) => {
    const child = spawn(command, args, { env: { ...process.env, ...(mark ? { [KUBELET_MARK_VAR]: mark } : {}) }, stdio: 'ignore' });
    children.push(child);
    return child;
  };
  after(() => children.forEach((c) => c.kill('SIGKILL')));

  it('kills every process marked with its state directory, children included, and nothing else', async () => {
    const server = start('sleep', ['30'], ours);
    // An entrypoint that forked its server: the child inherits the mark and goes too.
    const entrypoint = spawn('sh', ['-c', 'sleep 31 & echo $! ; wait'], {
      env: { ...process.env, [KUBELET_MARK_VAR]: ours },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(entrypoint);
    const forked = await new Promise<number>((resolve) =>
      entrypoint.stdout!.once('data', (c: Buffer) => resolve(Number(c.toString().trim()))),
    );
    const another = start('sleep', ['30'], `${ours}-other`);
    const unmarked = start('sleep', ['30']);
    await new Promise((r) => setTimeout(r, 100));

    const killed = killMarked(ours);

    expect(await exited(server)).to.equal('SIGKILL');
    expect(await exited(entrypoint)).to.equal('SIGKILL');
    expect(killed.map((k) => Number(k.split(' ')[0]))).to.include.members([server.pid!, entrypoint.pid!]);
    expect(forked).to.be.above(1);
    expect(killed.map((k) => Number(k.split(' ')[0]))).to.include(forked);
    expect(another.exitCode === null && another.signalCode === null).to.equal(true);
    expect(unmarked.exitCode === null && unmarked.signalCode === null).to.equal(true);
    // SIGKILL is delivered when the process next runs: on a busy machine the orphaned `sleep 31` can still be
    // there, environment readable, a moment after the call. Once dead (a zombie or reaped) it is never matched.
    await waitUntil('the SIGKILLed orphan to die', () => !isAlive(forked), 5000, { intervalMs: 10 });
    expect(killMarked(ours)).to.deep.equal([]);
  });
});
