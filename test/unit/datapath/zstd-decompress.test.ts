import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { expect } from 'chai';
import { compress } from 'zstd-napi';
import { ZstdDecompressStream } from '../../../runtime/datapath/stages/zstd-decompress.js';

const MiB = 1024 * 1024;

async function drain(stream: ZstdDecompressStream): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += (chunk as Buffer).length;
    hash.update(chunk as Buffer);
  }
  return { bytes, sha256: hash.digest('hex') };
}

describe('ZstdDecompressStream', () => {
  it('buffers about one output chunk while its reader waits, however far the input expands', async () => {
    // 512 MiB of zeros compresses to a few KiB: one written chunk that used to expand completely in memory.
    const zeros = Buffer.alloc(512 * MiB);
    const packed = compress(zeros);
    expect(packed.length).to.be.lessThan(64 * 1024);
    const stream = new ZstdDecompressStream();
    stream.end(packed);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(stream.readableLength).to.be.at.most(2 * MiB);
    const result = await drain(stream);
    expect(result.bytes).to.equal(zeros.length);
    expect(result.sha256).to.equal(createHash('sha256').update(zeros).digest('hex'));
  });

  it('decompresses concatenated frames written in odd-sized pieces', async () => {
    const first = randomBytes(3 * MiB + 17);
    const second = Buffer.alloc(5 * MiB, 'silo');
    const packed = Buffer.concat([compress(first), compress(second)]);
    const stream = new ZstdDecompressStream();
    const result = drain(stream);
    for (let offset = 0; offset < packed.length; offset += 65_537) {
      if (!stream.write(packed.subarray(offset, offset + 65_537))) await once(stream, 'drain');
    }
    stream.end();
    const expected = Buffer.concat([first, second]);
    expect(await result).to.deep.equal({ bytes: expected.length, sha256: createHash('sha256').update(expected).digest('hex') });
  });

  it('fails on a truncated frame instead of ending cleanly', async () => {
    const packed = compress(randomBytes(2 * MiB));
    const stream = new ZstdDecompressStream();
    stream.end(packed.subarray(0, packed.length - 100));
    await drain(stream).then(
      () => expect.fail('a truncated frame ended cleanly'),
      (error: Error) => expect(error.message).to.match(/truncated/),
    );
  });

  it('fails on bytes that are not zstd', async () => {
    const stream = new ZstdDecompressStream();
    stream.end(Buffer.from('this is not a zstd frame at all, just text'));
    await drain(stream).then(
      () => expect.fail('accepted text as zstd'),
      (error: Error) => expect(error).to.be.instanceOf(Error),
    );
  });
});
