import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { SourceFailedError } from './process-source.js';

/**
 * A named pipe written by a sibling container (the user's backup command in a
 * BackupRun Pod), plus a status file the sibling writes after the command exits:
 * `sh -c 'cmd > /silo/data; echo $? > /silo/status'`. The stream ends only when
 * the status says 0, so a failed dump is never stored as a success.
 */
export class FifoSource extends Readable {
  private readonly fifo: Readable;

  constructor(private readonly dataPath: string, private readonly statusPath: string, private readonly statusWaitMs = 30_000) {
    super({ highWaterMark: 1024 * 1024 });
    this.fifo = createReadStream(dataPath, { highWaterMark: 1024 * 1024 });
    this.fifo.on('data', (chunk) => { if (!this.push(chunk)) this.fifo.pause(); });
    this.fifo.on('error', (error) => this.destroy(new SourceFailedError(`cannot read the data pipe ${dataPath}: ${error.message}`, null, null)));
    this.fifo.on('end', () => void this.awaitStatus());
  }

  private async awaitStatus(): Promise<void> {
    const deadline = Date.now() + this.statusWaitMs;
    while (!existsSync(this.statusPath) || readFileSync(this.statusPath, 'utf8').trim() === '') {
      if (Date.now() > deadline) {
        return void this.destroy(new SourceFailedError(`the backup command closed ${this.dataPath} but wrote no exit status to ${this.statusPath} within ${this.statusWaitMs / 1000} s; its output was not stored`, null, null));
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
