import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect } from 'chai';
import { AgeKeyError, generateAgeKeyPair, parseIdentities, parseRecipient } from '../../../runtime/datapath/age/age-keys.js';
import { AgeDecryptStream, AgeEncryptStream } from '../../../runtime/datapath/age/age-stream.js';

async function collect(source: Readable, ...stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  await (pipeline as any)(source, ...stages, async function (input: AsyncIterable<Buffer>) {
    for await (const part of input) parts.push(part);
  });
  return Buffer.concat(parts);
}

/** Feeds data in uneven slices, as a network would. */
function sliced(data: Buffer, sizes = [1, 7, 4096, 65535, 65537, 100_000]): Readable {
  const slices: Buffer[] = [];
  for (let offset = 0, i = 0; offset < data.length; i++) {
    const size = sizes[i % sizes.length];
    slices.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return Readable.from(slices);
}

const alice = generateAgeKeyPair();
const bob = generateAgeKeyPair();
const encrypt = (data: Buffer, recipients = [alice.recipient]) => collect(sliced(data), new AgeEncryptStream(recipients));
const decrypt = (data: Buffer, identity = alice.identity) => collect(sliced(data), new AgeDecryptStream(identity));

describe('age streams (node:crypto)', () => {
  for (const size of [0, 1, 65535, 65536, 65537, 131072, 300_001]) {
    it(`round-trips ${size} bytes, at and around the 64 KiB chunk boundary`, async () => {
      const data = randomBytes(size);
      const sealed = await encrypt(data);
      expect(sealed.subarray(0, 21).toString()).to.equal('age-encryption.org/v1');
      expect((await decrypt(sealed)).equals(data)).to.equal(true);
    });
  }

  it('encrypts to several recipients, any of whom can decrypt', async () => {
    const data = randomBytes(1000);
    const sealed = await encrypt(data, [alice.recipient, bob.recipient]);
    expect((await decrypt(sealed, bob.identity)).equals(data)).to.equal(true);
    expect((await decrypt(sealed, alice.identity)).equals(data)).to.equal(true);
  });

  it('refuses the wrong key with a clear error', async () => {
    const sealed = await encrypt(randomBytes(1000));
    try {
      await decrypt(sealed, bob.identity);
      expect.fail('decrypted with the wrong key');
    } catch (error) {
      expect((error as Error).message).to.equal('no age identity matches this file: it was encrypted to other recipients');
    }
  });

  it('detects one flipped byte in the payload', async () => {
    const sealed = await encrypt(randomBytes(200_000));
    sealed[sealed.length - 70_000] ^= 0x01;
    await decrypt(sealed).then(
      () => expect.fail('accepted a corrupted payload'),
      (error) => expect(error.message).to.match(/failed authentication/),
    );
  });

  it('detects a flipped byte in the header MAC', async () => {
    const sealed = await encrypt(randomBytes(10));
    const macAt = sealed.indexOf('--- ') + 6;
    sealed[macAt] = sealed[macAt] === 0x41 ? 0x42 : 0x41;
    await decrypt(sealed).then(
      () => expect.fail('accepted a modified header'),
      (error) => expect(error.message).to.match(/MAC does not match|invalid base64/),
    );
  });

  it('detects truncation at a chunk boundary', async () => {
    const sealed = await encrypt(randomBytes(3 * 65536 + 10));
    const headerEnd = sealed.indexOf('\n', sealed.indexOf('--- ')) + 1 + 16;
    const truncated = sealed.subarray(0, headerEnd + 2 * (65536 + 16));
    await decrypt(truncated).then(
      () => expect.fail('accepted a truncated file'),
      (error) => expect(error.message).to.match(/truncated/),
    );
  });

  it('rejects input that is not age', async () => {
    await decrypt(Buffer.from('x'.repeat(100))).then(
      () => expect.fail('accepted garbage'),
      (error) => expect(error.message).to.match(/not an age file/),
    );
  });

  it('rejects a malformed recipient before any byte moves, without echoing it whole', () => {
    expect(() => new AgeEncryptStream(['age1notarealrecipientatall'])).to.throw(
      AgeKeyError,
      /^age recipient "age1nota…" is not an X25519 recipient/,
    );
  });

  it('rejects a malformed identity without echoing the secret', () => {
    const secret = 'AGE-SECRET-KEY-1NOTAREALKEYBUTSECRET';
    try {
      parseIdentities(`# created: today\n${secret}\n`);
      expect.fail('parsed a bad identity');
    } catch (error) {
      expect((error as Error).message).to.equal('age identity line 1 is not an X25519 identity (AGE-SECRET-KEY-1…)');
      expect((error as Error).message).to.not.include('SECRET-KEY-1N');
    }
  });

  it("generates keys in age's text forms", () => {
    expect(alice.recipient).to.match(/^age1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]{58}$/);
    expect(alice.identity).to.match(/^AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}$/);
    expect(parseRecipient(alice.recipient)).to.have.length(32);
  });
});
