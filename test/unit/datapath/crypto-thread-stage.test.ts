import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect } from 'chai';
import { AgeDataDamagedError, AgeKeyError, generateAgeKeyPair } from '../../../runtime/datapath/age/age-keys.js';
import { CryptoThreadStage, threadsAhead, withThreadsAhead } from '../../../runtime/datapath/threads/crypto-thread-stage.js';
import { READ_BUFFER_BYTES, ReadBufferPool } from '../../../runtime/objectstore/read-buffer-pool.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function slices(data: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) parts.push(data.subarray(offset, offset + size));
  return Readable.from(parts);
}

async function run(source: Readable, stage: CryptoThreadStage): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(
    source,
    stage,
    new Writable({
      write(chunk, _e, done) {
        parts.push(chunk);
        done();
      },
    }),
  );
  return Buffer.concat(parts);
}

describe('crypto thread stage (age and SHA256 on a worker thread)', () => {
  const keys = generateAgeKeyPair();

  it('digest only: passes bytes through unchanged and hashes exactly them', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const stage = new CryptoThreadStage({ digest: 'output' });
    const out = await run(slices(data, 16 * 1024 + 3), stage);
    expect(out.equals(data)).to.equal(true);
    expect(stage.sha256).to.equal(sha256(data));
    expect(stage.bytes).to.equal(data.length);
  });

  it('seals with the SHA256 of the sealed bytes, and opens with the SHA256 of the same stored bytes', async () => {
    const data = randomBytes(2 * 1024 * 1024 + 5);
    const seal = new CryptoThreadStage({ recipients: [keys.recipient], digest: 'output' });
    const sealed = await run(slices(data, 100_000), seal);
    expect(seal.sha256).to.equal(sha256(sealed));
    expect(seal.bytes).to.equal(sealed.length);
    const open = new CryptoThreadStage({ identity: keys.identity, digest: 'input' });
    const opened = await run(slices(sealed, 7_001), open);
    expect(opened.equals(data)).to.equal(true);
    expect(open.sha256).to.equal(sha256(sealed));
    expect(open.bytes).to.equal(sealed.length);
  });

  it('with a pool, takes the input’s whole pool buffers by transfer and gives them back; without one, takes nothing', async () => {
    const plain = randomBytes(3 * READ_BUFFER_BYTES + 999);
    const sealed = await run(slices(plain, 100_000), new CryptoThreadStage({ recipients: [keys.recipient] }));
    // The stored bytes as a bulk read hands them on: the header's first buffer, then whole pooled buffers.
    const pool = new ReadBufferPool();
    const buffers: Buffer[] = [];
    for (let at = 0; at < sealed.length; at += READ_BUFFER_BYTES) {
      const piece = sealed.subarray(at, at + READ_BUFFER_BYTES);
      const buffer = piece.length === READ_BUFFER_BYTES ? pool.take() : Buffer.from(piece);
      piece.copy(buffer);
      buffers.push(buffer);
    }
    const given: Buffer[] = [];
    const give = pool.give.bind(pool);
    pool.give = (buffer) => {
      given.push(buffer);
      give(buffer);
    };
    const open = new CryptoThreadStage({ identity: keys.identity, digest: 'input', buffers: pool });
    expect((await run(Readable.from(buffers), open)).equals(plain)).to.equal(true);
    expect(open.sha256).to.equal(sha256(sealed));
    // The whole buffers after the header's went to the thread by transfer (detached here) and came back to the pool.
    expect(buffers.map((b) => b.byteLength)).to.deep.equal([READ_BUFFER_BYTES, 0, 0, sealed.length - 3 * READ_BUFFER_BYTES]);
    expect(given.filter((b) => b.length === READ_BUFFER_BYTES).length).to.be.at.least(3);
    // Without a pool, the stage takes nothing: a caller may reuse the buffer it wrote (a whole 1 MiB one too).
    const reused = Buffer.from(plain.subarray(0, READ_BUFFER_BYTES));
    await run(Readable.from([reused, reused]), new CryptoThreadStage({ recipients: [keys.recipient] }));
    expect(reused.equals(plain.subarray(0, READ_BUFFER_BYTES))).to.equal(true);
  });

  it('reports a damaged payload as damaged data (an AgeDataDamagedError, still an AgeKeyError) from the thread', async () => {
    const sealed = await run(slices(randomBytes(500_000), 65_536), new CryptoThreadStage({ recipients: [keys.recipient] }));
    sealed[sealed.length - 100_000] ^= 1;
    const error = await run(slices(sealed, 65_536), new CryptoThreadStage({ identity: keys.identity })).catch((e) => e);
    expect(error).to.be.instanceOf(AgeDataDamagedError);
    expect(error).to.be.instanceOf(AgeKeyError);
    expect((error as Error).message).to.equal('age payload failed authentication: the file was modified');
  });

  it('holds a fast writer back when the reader is slow: the stage buffers a few MiB, not the stream', async () => {
    const total = 48 * 1024 * 1024;
    const chunk = randomBytes(64 * 1024);
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    const source = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        if (produced >= total) return void this.push(null);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const slow = new Writable({
      highWaterMark: 64 * 1024,
      write(part: Buffer, _e, done) {
        consumed += part.length;
        maxAhead = Math.max(maxAhead, produced - consumed);
        setTimeout(done, 1);
      },
    });
    const stage = new CryptoThreadStage({ recipients: [keys.recipient], digest: 'output' });
    await pipeline(source, stage, slow);
    expect(consumed).to.be.greaterThan(total);
    // Batches in the thread, the readable buffer and the stream buffers: well under the 48 MiB stream.
    expect(maxAhead).to.be.lessThan(8 * 1024 * 1024);
  });

  it('a destroyed stage stops its thread, so nothing keeps the process alive', async () => {
    const stage = new CryptoThreadStage({ recipients: [keys.recipient], digest: 'output' });
    stage.write(randomBytes(3 * 1024 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const errors: Error[] = [];
    stage.on('error', (error) => errors.push(error));
    stage.destroy(new Error('stop'));
    await new Promise((resolve) => stage.once('close', resolve));
    expect(errors.map((e) => e.message)).to.deep.equal(['stop']);
  });

  it('threads started ahead are taken by the next stages, which work as with their own; the stop ends the rest', async () => {
    await withThreadsAhead(3, async () => {
      expect(threadsAhead()).to.equal(3);
      const data = randomBytes(1024 * 1024 + 3);
      const seal = new CryptoThreadStage({ recipients: [keys.recipient], digest: 'output' });
      const sealed = await run(slices(data, 50_000), seal);
      expect(threadsAhead()).to.equal(2);
      const open = new CryptoThreadStage({ identity: keys.identity, digest: 'input' });
      expect((await run(slices(sealed, 9_999), open)).equals(data)).to.equal(true);
      expect(open.sha256).to.equal(seal.sha256);
      expect(threadsAhead()).to.equal(1);
    });
    expect(threadsAhead()).to.equal(0);
    // With none left ahead, a stage starts its own thread.
    const digest = new CryptoThreadStage({ digest: 'output' });
    expect((await run(Readable.from([Buffer.from('abc')]), digest)).toString()).to.equal('abc');
  });

  it('refuses to both encrypt and decrypt', () => {
    expect(() => new CryptoThreadStage({ recipients: [keys.recipient], identity: keys.identity })).to.throw(/either encrypts or decrypts/);
  });
});
