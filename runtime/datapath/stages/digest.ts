import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

/**
 * Pass-through that computes SHA256 and counts bytes of exactly what flows
 * through it. Placed last before the sink, it checksums the stored bytes
 * (principle 3, docs/decisions/README.md); it never copies a chunk.
 */
export class DigestCounter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private digestHex?: string;

  constructor(private readonly onProgress?: (bytes: number) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.digestHex = this.hash.digest('hex');
    done();
  }

  /** Hex SHA256 of every byte seen; available once the stream has ended. */
  get sha256(): string {
    if (!this.digestHex) throw new Error('sha256 requested before the stream ended');
    return this.digestHex;
  }
}
