import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { generateAgeKeyPair } from '../runtime/datapath/age/age-keys.js';
import { AgeDecryptStream, AgeEncryptStream } from '../runtime/datapath/age/age-stream.js';

/**
 * age alone, in process: `bytes` of incompressible data from memory through
 * AgeEncryptStream (and back through AgeDecryptStream) in 1 MiB writes, into a
 * sink that keeps nothing. Returns MB/s for each direction.
 */
export async function ageThroughput(bytes = 1024 ** 3): Promise<{ encryptMBps: number; decryptMBps: number }> {
  const keys = generateAgeKeyPair();
  const block = randomBytes(1024 * 1024);
  const source = (n: number) =>
    Readable.from(
      (function* () {
        for (let sent = 0; sent < n; sent += block.length) yield block.subarray(0, Math.min(block.length, n - sent));
      })(),
    );
  const discard = new Writable({
    write(_chunk, _e, done) {
      done();
    },
  });
  let started = process.hrtime.bigint();
  await pipeline(source(bytes), new AgeEncryptStream([keys.recipient]), discard);
  const encryptSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Decrypt a 64 MiB sealed file as many times as it takes to cover `bytes`.
  const sample: Buffer[] = [];
  await pipeline(
    source(64 * 1024 * 1024),
    new AgeEncryptStream([keys.recipient]),
    new Writable({
      write(c: Buffer, _e, d) {
        sample.push(c);
        d();
      },
    }),
  );
  const file = Buffer.concat(sample);
  const rounds = Math.max(1, Math.round(bytes / file.length));
  started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    const chunks = (function* () {
      for (let o = 0; o < file.length; o += block.length) yield file.subarray(o, o + block.length);
    })();
    await pipeline(
      Readable.from(chunks),
      new AgeDecryptStream(keys.identity),
      new Writable({
        write(_c, _e, d) {
          d();
        },
      }),
    );
  }
  const decryptSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { encryptMBps: bytes / 1e6 / encryptSeconds, decryptMBps: (rounds * file.length) / 1e6 / decryptSeconds };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await ageThroughput(Number(process.env.SILO_BENCH_AGE_MB ?? 1024) * 1024 * 1024);
  process.stdout.write(`age encrypt ${result.encryptMBps.toFixed(0)} MB/s, decrypt ${result.decryptMBps.toFixed(0)} MB/s\n`);
}
