/** Bytes in each buffer a bulk read fills before handing it on: large enough that per-buffer work costs nothing per byte. */
export const READ_BUFFER_BYTES = 1024 * 1024;

/**
 * 1 MiB buffers that a bulk read fills and its consumer hands back once spent (decision 0024). A restore moves a
 * gigabyte through a handful of them instead of allocating a thousand: each fresh buffer costs its pages' first-touch
 * faults, which on a busy virtual machine cost more than the bytes' copy did.
 */
export class ReadBufferPool {
  private readonly free: Buffer[] = [];

  constructor(private readonly keep = 16) {}

  /** A buffer that owns its whole ArrayBuffer (so it can be transferred to a thread), of READ_BUFFER_BYTES. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  }

  /** Returns a spent buffer; one of another size, or one over the pool's bound, is left to the collector. */
  give(buffer: Buffer): void {
    if (buffer.byteLength === READ_BUFFER_BYTES && buffer.byteOffset === 0 && this.free.length < this.keep) this.free.push(buffer);
  }
}

/** Whether `chunk` owns its whole ArrayBuffer: a thread can then take it by transfer, without a copy. */
export const ownsItsMemory = (chunk: Buffer): boolean => chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
