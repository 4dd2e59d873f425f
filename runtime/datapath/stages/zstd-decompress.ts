import { Transform, type TransformCallback } from 'node:stream';
import zstdBinding from 'zstd-napi/binding.js';

/**
 * Output buffer per decompression call: zstd's block size (128 KiB). Measured against 1 MiB buffers,
 * which cost the restoring worker 1.3 CPU-s more per 1.4 GB (docs/benchmarks.md).
 */
const OUTPUT_CHUNK = zstdBinding.dStreamOutSize();

/**
 * zstd decompression that honours backpressure inside a chunk.
 *
 * zstd-napi's DecompressStream decompresses each input chunk to the end before it returns, pushing
 * everything it produced. zstd compresses a run of zeros 32,000 to 1, so 1 MiB of a backup of a
 * sparse tablespace can hold 30 GiB of output, and a restore held all of it in memory (2 GiB of
 * zeros took the worker to 2.1 GiB RSS). This stage stops decompressing as soon as its readable
 * side is full and resumes from the same input position when the consumer reads again, so memory
 * stays at about one output chunk whatever the compression ratio. See docs/decisions/0018.
 */
export class ZstdDecompressStream extends Transform {
  private readonly dctx = new zstdBinding.DCtx();
  private input?: Buffer;
  private inputDone?: TransformCallback;
  private inFrame = false;
  private draining = false;
  private paused = false;

  constructor() {
    super({ readableHighWaterMark: OUTPUT_CHUNK });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.input = chunk;
    this.inputDone = done;
    this.drain();
  }

  override _read(size: number): void {
    if (this.paused) {
      this.paused = false;
      this.drain();
    }
    super._read(size);
  }

  override _flush(done: TransformCallback): void {
    if (this.inFrame) return done(new Error('zstd stream ended in the middle of a frame: the data is truncated'));
    done();
  }

  /** Decompresses the current input until it is used up or the readable side is full. */
  private drain(): void {
    if (this.draining || !this.input || !this.inputDone) return;
    this.draining = true;
    let outcome: 'paused' | 'used up' | Error;
    try {
      outcome = this.decompressInput();
    } catch (error) {
      outcome = error as Error;
    } finally {
      this.draining = false;
    }
    // Outside the guard: releasing the chunk may hand this stage the next one synchronously.
    if (outcome !== 'paused') this.finishChunk(outcome === 'used up' ? undefined : outcome);
  }

  private decompressInput(): 'paused' | 'used up' {
    for (;;) {
      const output = Buffer.allocUnsafeSlow(OUTPUT_CHUNK);
      const [remaining, produced, consumed] = this.dctx.decompressStream(output, this.input!);
      this.input = this.input!.subarray(consumed);
      this.inFrame = remaining !== 0;
      if (produced > 0) this.push(output.subarray(0, produced));
      // A full output buffer may mean zstd holds more for the same input, so only a partial one ends the chunk.
      if (this.input.length === 0 && (produced < output.length || remaining === 0)) return 'used up';
      if (this.readableLength >= this.readableHighWaterMark) {
        this.paused = true;
        return 'paused';
      }
    }
  }

  private finishChunk(error?: Error): void {
    const done = this.inputDone!;
    this.input = undefined;
    this.inputDone = undefined;
    done(error);
  }
}
