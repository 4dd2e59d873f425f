import { randomBytes, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect } from 'chai';
import { createCompressor, createDecompressor } from '../../../runtime/datapath/stages/compression.js';
import { DigestCounter } from '../../../runtime/datapath/stages/digest.js';
import { BASE_PART_SIZE, capacityOfParts, MAX_PARTS, MiB, partSize } from '../../../runtime/objectstore/part-size.js';

async function run(data: Buffer, ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  await (pipeline as any)(Readable.from([data]), ...stages, async function (input: AsyncIterable<Buffer>) {
    for await (const part of input) parts.push(part);
  });
  return Buffer.concat(parts);
}

const compressible = Buffer.from(
  Array.from(
    { length: 40_000 },
    (_, i) =>
      `{"id":${i},"name":"customer-${(i * 7919) % 10007}","balance":${((i * 104729) % 1000003) / 100},"tags":["a${i % 13}","b${i % 17}"]}\n`,
  ).join(''),
);

describe('compression stages', () => {
  for (const algorithm of ['none', 'gzip', 'zstd'] as const) {
    it(`${algorithm} round-trips`, async () => {
      const packed = await run(compressible, createCompressor({ algorithm }));
      if (algorithm !== 'none') expect(packed.length).to.be.lessThan(compressible.length / 4);
      expect((await run(packed, createDecompressor(algorithm))).equals(compressible)).to.equal(true);
    });
  }
  it('zstd honours the level (19 packs tighter than 1)', async () => {
    // 512 KiB, not the 3.5 MB above: level 19 took 5 CPU-s on all of it and timed out on a loaded CI machine.
    const sample = compressible.subarray(0, 512 * 1024);
    const fast = await run(sample, createCompressor({ algorithm: 'zstd', level: 1 }));
    const tight = await run(sample, createCompressor({ algorithm: 'zstd', level: 19 }));
    expect(tight.length).to.be.lessThan(fast.length);
  });
  it('a corrupted zstd stream fails to decompress', async () => {
    const packed = await run(compressible, createCompressor({ algorithm: 'zstd' }));
    packed[Math.floor(packed.length / 2)] ^= 0xff;
    await run(packed, createDecompressor('zstd')).then(
      () => expect.fail('accepted corrupted zstd'),
      (e) => expect(e).to.be.instanceOf(Error),
    );
  });
  it('rejects an unknown algorithm naming the choices', () => {
    expect(() => createCompressor({ algorithm: 'lz4' as never })).to.throw(/use none, gzip or zstd/);
  });
});

describe('digest and counters', () => {
  it('DigestCounter hashes and counts exactly the bytes that pass', async () => {
    const data = randomBytes(1_000_003);
    const digest = new DigestCounter();
    const out = await run(data, digest);
    expect(out.equals(data)).to.equal(true);
    expect(digest.bytes).to.equal(data.length);
    expect(digest.sha256).to.equal(createHash('sha256').update(data).digest('hex'));
  });
});

describe('multipart part sizing', () => {
  it('keeps 8 MiB parts up to 31.25 GiB', () => {
    expect(BASE_PART_SIZE).to.equal(8 * MiB);
    expect(partSize(1)).to.equal(BASE_PART_SIZE);
    expect(partSize(4000)).to.equal(BASE_PART_SIZE);
    expect(partSize(4001)).to.be.greaterThan(BASE_PART_SIZE);
  });
  it('fits a 5 TiB stream of unknown size in 10,000 parts', () => {
    expect(capacityOfParts(MAX_PARTS)).to.be.greaterThan(5 * 1024 * 1024 * MiB);
  });
  it('with a size hint, uses one even size that fits in 9,500 parts', () => {
    const fiveTiB = 5 * 1024 * 1024 * MiB;
    expect(partSize(1, fiveTiB)).to.equal(partSize(9000, fiveTiB));
    expect(partSize(1, fiveTiB) * 9500).to.be.greaterThan(fiveTiB);
    expect(partSize(1, 1024 * MiB)).to.equal(BASE_PART_SIZE);
    const hundredGiB = 100 * 1024 * MiB;
    expect(partSize(1, hundredGiB)).to.equal(12 * MiB);
  });
  it('a stream that outgrows its hint still fits in 10,000 parts', () => {
    const hint = 100 * 1024 * MiB;
    expect(partSize(9500, hint)).to.equal(partSize(1, hint));
    expect(partSize(9501, hint)).to.equal(2 * partSize(1, hint));
    expect(capacityOfParts(MAX_PARTS, hint)).to.be.greaterThan(1.6 * hint);
    expect(partSize(MAX_PARTS, 4 * 1024 * 1024 * MiB)).to.equal(5 * 1024 * MiB);
  });
  it('never exceeds the 5 GiB part limit', () => {
    expect(partSize(MAX_PARTS)).to.be.at.most(5 * 1024 * MiB);
  });
});
