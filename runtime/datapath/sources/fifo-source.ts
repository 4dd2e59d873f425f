import { constants, existsSync, openSync, readFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { SourceFailedError } from './process-source.js';

/**
 * A named pipe written by a sibling container (the user's backup command in a
 * BackupRun Pod), plus a status file the sibling writes after the command exits:
 * `sh -c 'cmd > /silo/data; echo $? > /silo/status'`. The stream ends only when
 * the status says 0, so a failed dump is never stored as a success.
 *
 * The pipe is opened non-blocking and read through libuv's event loop (a
 * net.Socket), not fs streams: an fs read of a pipe whose writer has gone quiet
 * blocks a threadpool thread, and Node joins those threads at exit, so a
 * worker past its deadline could not exit until the writer spoke again. A
 * non-blocking reader sees no end-of-file before a writer has connected.
 */
export class FifoSource extends Readable {
  private readonly fifo: Socket;

  constructor(
    private readonly dataPath: string,
    private readonly statusPath: string,
    private readonly statusWaitMs = 30_000,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    let fd: number;
    try {
      fd = openSync(dataPath, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (error) {
      throw new SourceFailedError(`cannot open the data pipe ${dataPath}: ${(error as Error).message}`, null, null);
    }
    this.fifo = new Socket({ fd, readable: true, writable: false });
    this.fifo.on('data', (chunk) => {
      if (!this.push(chunk)) this.fifo.pause();
    });
    this.fifo.on('error', (error) =>
      this.destroy(new SourceFailedError(`cannot read the data pipe ${dataPath}: ${error.message}`, null, null)),
    );
    this.fifo.on('end', () => void this.awaitStatus());
  }

  private async awaitStatus(): Promise<void> {
    const deadline = Date.now() + this.statusWaitMs;
    while (!existsSync(this.statusPath) || readFileSync(this.statusPath, 'utf8').trim() === '') {
      if (Date.now() > deadline) {
        return void this.destroy(
          new SourceFailedError(
            `the backup command closed ${this.dataPath} but wrote no exit status to ${this.statusPath} within ${this.statusWaitMs / 1000} s; its output was not stored`,
            null,
            null,
          ),
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const status = readFileSync(this.statusPath, 'utf8').trim();
    if (status === '0') return void this.push(null);
    this.destroy(new SourceFailedError(`the backup command exited with status ${status}; its output was not stored`, Number(status), null));
  }

  override _read(): void {
    this.fifo.resume();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.fifo.destroy();
    done(error);
  }
}
