import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';

export const MiB = 1024 * 1024;

/** `mib` MiB, 7/8 random per MiB: zstd shrinks it by about 1/8 only. */
export function mostlyRandom(mib: number): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < mib; i++) yield Buffer.concat([randomBytes((MiB * 7) / 8), Buffer.alloc(MiB / 8, i)]);
    })(),
  );
}

/** A sink that keeps only the SHA256 and the byte count of what it receives. */
export function hashingSink(): { sink: Writable; digest: () => string; bytes: () => number } {
  const hash = createHash('sha256');
  let bytes = 0;
  return {
    sink: new Writable({
      write(chunk, _e, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done();
      },
    }),
    digest: () => hash.digest('hex'),
    bytes: () => bytes,
  };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
