/**
 * The Pod's long-running children (postgres, `pgbackrest server`, the agent): if one ends, the
 * others are stopped and the container exits, so the kubelet restarts it as a whole. SIGTERM stops
 * them all, each with its own signal (postgres: SIGINT, a fast shutdown).
 */
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../logging/logger.js';

export interface Supervised {
  readonly name: string;
  readonly child: ChildProcess;
  readonly stopSignal?: NodeJS.Signals;
}

export function superviseUntilExit(children: readonly Supervised[], log: Logger, extraStop?: () => void): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    let remaining = children.length;
    let firstCode = 0;
    const stopAll = () => {
      if (stopping) return;
      stopping = true;
      extraStop?.();
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill(c.stopSignal ?? 'SIGTERM');
    };
    process.once('SIGTERM', () => {
      log.info('SIGTERM: stopping', { children: children.map((c) => c.name) });
      stopAll();
    });
    for (const c of children) {
      let ended = false;
      const end = (code: number | null, signal: NodeJS.Signals | null, error?: string) => {
        if (ended) return;
        ended = true;
        if (!stopping) {
          log.error(error ?? `${c.name} exited; stopping the others`, { code, signal });
          firstCode = code ?? 1;
        }
        stopAll();
        if (--remaining === 0) resolve(firstCode || (stopping ? 0 : 1));
      };
      c.child.once('exit', (code, signal) => end(code, signal));
      // A program that cannot start (not in the image: ENOENT) emits 'error' and no 'exit': said, not a crash.
      c.child.once('error', (error: NodeJS.ErrnoException) =>
        end(error.code === 'ENOENT' ? 127 : 126, null, `${c.name} could not start (${error.message}); stopping the others`),
      );
    }
  });
}
