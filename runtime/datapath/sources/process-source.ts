import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { Logger } from '../../logging/logger.js';

/** The backup command failed: its data must never be stored as a success. */
export class SourceFailedError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
  ) {
    super(message);
    this.name = 'SourceFailedError';
  }
}

export interface ProcessSourceOptions {
  readonly command: string;
  readonly args?: string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly logger: Logger;
}

/**
 * A child process's stdout as a Readable that ends only after the process has
 * exited with status 0. A non-zero exit or a signal turns into an error on the
 * stream, before end, so the sink aborts instead of completing the upload.
 * stderr becomes structured log lines and is never stored.
 */
export class ProcessSource extends Readable {
  readonly child: ChildProcess;
  private stdoutEnded = false;
  private exit?: { code: number | null; signal: NodeJS.Signals | null };

  constructor(private readonly options: ProcessSourceOptions) {
    super({ highWaterMark: 1024 * 1024 });
    this.child = spawn(options.command, options.args ?? [], {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const stdout = this.child.stdout!;
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    stdout.on('end', () => {
      this.stdoutEnded = true;
      this.settle();
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) =>
      options.logger.info('source stderr', { line: line.slice(0, 4096) }),
    );
    this.child.on('error', (error) =>
      this.destroy(new SourceFailedError(`could not start ${options.command}: ${error.message}`, null, null)),
    );
    this.child.on('close', (code, signal) => {
      this.exit = { code, signal };
      this.settle();
    });
  }

  private settle(): void {
    if (!this.stdoutEnded || !this.exit || this.destroyed) return;
    const { code, signal } = this.exit;
    if (code === 0) return void this.push(null);
    const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
    this.destroy(new SourceFailedError(`backup command ${this.options.command} ${how}; its output was not stored`, code, signal));
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (this.exit === undefined && this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    done(error);
  }
}
