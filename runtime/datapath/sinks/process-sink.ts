import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync, write } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

export interface ProcessSinkOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /**
   * `pipe` (default): the command reads a libuv socket pair written through Node streams.
   * `fifo`: the command reads a blocking kernel pipe whose write end is `pipeFd`, so a worker
   * thread can write to it directly (decision 0042). Falls back to `pipe` where no FIFO can be made.
   */
  readonly stdin?: 'pipe' | 'fifo';
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
  /** The write end of the command's stdin pipe, in `fifo` mode. Blocking; closed by end() or destroy(). */
  pipeFd?: number;
  /**
   * In `fifo` mode, the capacity the pipe was given (bytes) once that is done, or undefined where it keeps the
   * kernel's 64 KiB (decision 0025). Nothing waits for it: the first writes only come after the restore's first GET.
   */
  readonly pipeWidened: Promise<number | undefined>;
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(command: string, args: string[], options: ProcessSinkOptions) {
    super({ highWaterMark: 1024 * 1024 });
    const fifo = options.stdin === 'fifo' ? openFifo(options.logger) : undefined;
    this.pipeWidened = fifo ? widenPipe(fifo.readFd, options.logger) : Promise.resolve(undefined);
    this.child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: [fifo?.readFd ?? 'pipe', 'ignore', 'pipe'],
      detached: true,
    });
    // The command holds the read end now (libuv makes a child's stdin blocking); ours would keep the pipe open.
    if (fifo) closeSync(fifo.readFd);
    this.pipeFd = fifo?.writeFd;
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      options.logger.info('restore stderr', { line: line.slice(0, 4096) });
      this.stderrTail.push(line.slice(0, 1024));
      if (this.stderrTail.length > 5) this.stderrTail.shift();
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
    this.child.on('error', (error) => this.destroy(new RestoreCommandError(`could not start ${command}: ${error.message}`, null)));
    this.child.stdin?.on('error', () => undefined); // EPIPE surfaces through the exit status instead
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.child.exitCode !== null) return done(this.exitedEarly(this.child.exitCode));
    if (this.pipeFd !== undefined) {
      // Blocking writes on libuv's thread pool; EPIPE when the command has gone.
      writeAll(this.pipeFd, chunk, (error) => (error ? void this.exitStatusError().then(done) : done()));
      return;
    }
    if (this.child.stdin!.write(chunk)) return done();
    // The command may exit instead of draining (e.g. it rejected its input): never wait forever.
    const stdin = this.child.stdin!;
    const onDrain = () => {
      this.child.off('close', onClose);
      done();
    };
    const onClose = (code: number | null) => {
      stdin.off('drain', onDrain);
      done(this.exitedEarly(code));
    };
    stdin.once('drain', onDrain);
    this.child.once('close', onClose);
  }

  override _final(done: (error?: Error | null) => void): void {
    this.closeAndWait().then(() => done(), done);
  }

  /** Ends the command's input (EOF) and resolves when it exits 0; used directly when a thread wrote to pipeFd. */
  async closeAndWait(): Promise<void> {
    this.closePipe();
    this.child.stdin?.end();
    const { code, signal } = await this.exited;
    if (code !== 0)
      throw new RestoreCommandError(`restore command ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`, code);
  }

  /** The error for a command that stopped reading: its exit status, once it has exited. */
  async exitStatusError(): Promise<RestoreCommandError> {
    const { code } = await this.exited;
    return this.exitedEarly(code);
  }

  private exitedEarly(code: number | null): RestoreCommandError {
    return new RestoreCommandError(`restore command exited with status ${code} before reading all data`, code);
  }

  private closePipe(): void {
    if (this.pipeFd === undefined) return;
    closeSync(this.pipeFd);
    this.pipeFd = undefined;
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    if (error && this.child.exitCode === null && this.child.pid) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    // After the kill: a thread blocked writing to the pipe gets EPIPE, not a reader that never comes.
    this.closePipe();
    done(error);
  }
}

function writeAll(fd: number, chunk: Buffer, done: (error?: Error | null) => void): void {
  write(fd, chunk, (error, written) => {
    if (error || written === chunk.length) return done(error);
    writeAll(fd, chunk.subarray(written), done);
  });
}

/** As much as an unprivileged process may give a pipe by default (/proc/sys/fs/pipe-max-size); a delivery write's size. */
export const RESTORE_PIPE_BYTES = 1024 * 1024;
const F_SETPIPE_SZ = 1031;

/**
 * Gives the pipe behind `fd` RESTORE_PIPE_BYTES of capacity instead of 64 KiB: mbstream then reads whole
 * megabytes and sleeps 16 times less often (decision 0025). Node has no fcntl, so perl (Debian's perl-base, in
 * every image) sets it on a copy of the descriptor; the copy is made when spawn returns, so the caller may close
 * its own at once. Without perl, or on another kernel, the pipe keeps its size and the restore works as before.
 */
function widenPipe(fd: number, logger: Logger): Promise<number | undefined> {
  if (process.platform !== 'linux') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const perl = spawn('perl', ['-e', `print fcntl(STDIN, ${F_SETPIPE_SZ}, ${RESTORE_PIPE_BYTES}) || 0`], {
      stdio: [fd, 'pipe', 'ignore'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    });
    let out = '';
    perl.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const kept = (why: string) => {
      logger.debug("the restore command's pipe keeps the kernel's default size", { why });
      resolve(undefined);
    };
    perl.once('error', (error) => kept(error.message));
    perl.once('close', (code) => {
      const size = Number(out);
      if (code === 0 && size > 0) resolve(size);
      else kept(`perl exited with status ${code}`);
    });
  });
}

/**
 * A named pipe opened at both ends, then unlinked: the read end (non-blocking, so opening it does not
 * wait for a writer) becomes the command's stdin, the write end stays blocking for the writer.
 */
function openFifo(logger: Logger): { readFd: number; writeFd: number } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'silo-restore-'));
  try {
    const path = join(dir, 'stdin');
    execFileSync('mkfifo', ['-m', '600', path], { stdio: 'ignore' });
    const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    return { readFd, writeFd: openSync(path, constants.O_WRONLY) };
  } catch (error) {
    logger.warn('no FIFO for the restore command; writing through a socket pair instead', { error: (error as Error).message });
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
