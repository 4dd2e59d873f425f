import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Logger } from '../../logging/logger.js';

export class RestoreCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
  ) {
    super(message);
    this.name = 'RestoreCommandError';
  }
}

/**
 * A restore command's stdin. It closes stdin (EOF) only in _final, which the
 * restore pipeline reaches only after the checksum has matched; on any error the
 * command is killed instead, so it never sees a clean end of a bad stream.
 */
export class ProcessSink extends Writable {
  readonly child: ChildProcess;
  /** The command's last few stderr lines (a failure's cause, e.g. a full disk). */
  readonly stderrTail: string[] = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; logger: Logger }) {
    super({ highWaterMark: 1024 * 1024 });
    this.child = spawn(command, args, { env: options.env ?? process.env, stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      options.logger.info('restore stderr', { line: line.slice(0, 4096) });
      this.stderrTail.push(line.slice(0, 1024));
      if (this.stderrTail.length > 5) this.stderrTail.shift();
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
    this.child.on('error', (error) => this.destroy(new RestoreCommandError(`could not start ${command}: ${error.message}`, null)));
    this.child.stdin!.on('error', () => undefined); // EPIPE surfaces through the exit status instead
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.child.exitCode !== null)
      return done(
        new RestoreCommandError(`restore command exited with status ${this.child.exitCode} before reading all data`, this.child.exitCode),
      );
    if (this.child.stdin!.write(chunk)) return done();
    // The command may exit instead of draining (e.g. it rejected its input): never wait forever.
    const stdin = this.child.stdin!;
    const onDrain = () => {
      this.child.off('close', onClose);
      done();
    };
    const onClose = (code: number | null) => {
      stdin.off('drain', onDrain);
      done(new RestoreCommandError(`restore command exited with status ${code} before reading all data`, code));
    };
    stdin.once('drain', onDrain);
    this.child.once('close', onClose);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.child.stdin!.end();
    this.exited.then(({ code, signal }) => {
      if (code === 0) return done();
      done(new RestoreCommandError(`restore command ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`, code));
    });
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (error && this.child.exitCode === null && this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    done(error);
  }
}
