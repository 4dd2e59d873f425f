import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AgeKeyError, parseIdentities, parseRecipient, type AgeIdentity } from './age-keys.js';
import { buildHeader, parseHeader, payloadKey } from './age-header.js';

/**
 * age v1 STREAM encryption on node:crypto's ChaCha20-Poly1305, which runs at
 * native speed (the pure-JS age-encryption package manages about 56 MB/s here).
 * See docs/decisions/0007-age-on-node-crypto.md.
 */
const CHUNK = 64 * 1024;
const TAG = 16;

/** Collects bytes and hands out exact-size slices without copying when it can. */
class ByteQueue {
  private parts: Buffer[] = [];
  length = 0;
  push(part: Buffer): void {
    if (part.length) { this.parts.push(part); this.length += part.length; }
  }
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.length -= n;
    const first = this.parts[0];
    if (first.length === n) return this.parts.shift()!;
    if (first.length > n) { this.parts[0] = first.subarray(n); return first.subarray(0, n); }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const part = this.parts[0];
      const used = Math.min(part.length, n - filled);
      part.copy(out, filled, 0, used);
      filled += used;
      if (used === part.length) this.parts.shift(); else this.parts[0] = part.subarray(used);
    }
    return out;
  }
}

function chunkNonce(counter: number, last: boolean): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(counter, 5, 6); // 11-byte big-endian counter; 2^48 chunks is 16 EiB
  nonce[11] = last ? 1 : 0;
  return nonce;
}

export class AgeEncryptStream extends Transform {
  private readonly queue = new ByteQueue();
  private key?: Buffer;
  private counter = 0;

  constructor(private readonly recipients: string[]) {
    super({ writableHighWaterMark: CHUNK * 4, readableHighWaterMark: CHUNK * 4 });
    // Parse recipients now so a bad one fails before any byte moves.
    if (!recipients.length) throw new AgeKeyError('age encryption needs at least one recipient');
    recipients.forEach(parseRecipient);
  }

  private start(): void {
    const { header, fileKey } = buildHeader(this.recipients);
    const nonce = randomBytes(16);
    this.key = payloadKey(fileKey, nonce);
    this.push(header);
    this.push(nonce);
  }

  private seal(plaintext: Buffer, last: boolean): void {
    const cipher = createCipheriv('chacha20-poly1305', this.key!, chunkNonce(this.counter++, last), { authTagLength: TAG });
    this.push(cipher.update(plaintext));
    cipher.final();
    this.push(cipher.getAuthTag());
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    if (!this.key) this.start();
    this.queue.push(data);
    // Hold back a full chunk until more data proves it is not the last one.
    while (this.queue.length > CHUNK) this.seal(this.queue.take(CHUNK), false);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (!this.key) this.start();
    this.seal(this.queue.take(this.queue.length), true);
    done();
  }
}

export class AgeDecryptStream extends Transform {
  private readonly queue = new ByteQueue();
  private readonly identities: AgeIdentity[];
  private fileKey?: Buffer;
  private key?: Buffer;
  private counter = 0;
  private header = Buffer.alloc(0);

  /** @param identityText contents of an age identity file; never logged. */
  constructor(identityText: string) {
    super({ writableHighWaterMark: CHUNK * 4, readableHighWaterMark: CHUNK * 4 });
    this.identities = parseIdentities(identityText);
  }

  private open(sealed: Buffer, last: boolean): void {
    const decipher = createDecipheriv('chacha20-poly1305', this.key!, chunkNonce(this.counter++, last), { authTagLength: TAG });
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG));
    const plaintext = decipher.update(sealed.subarray(0, sealed.length - TAG));
    try {
      decipher.final();
    } catch {
      throw new AgeKeyError(last
        ? 'age payload failed authentication at its end: the file was truncated or modified'
        : 'age payload failed authentication: the file was modified');
    }
    if (plaintext.length) this.push(plaintext);
  }

  override _transform(data: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      if (!this.fileKey) {
        this.header = Buffer.concat([this.header, data]);
        const parsed = parseHeader(this.header, this.identities);
        if (!parsed.complete) return done();
        this.fileKey = parsed.fileKey;
        data = this.header.subarray(parsed.length);
        this.header = Buffer.alloc(0);
      }
      this.queue.push(data);
      if (!this.key) {
        if (this.queue.length < 16) return done();
        this.key = payloadKey(this.fileKey, this.queue.take(16));
      }
      while (this.queue.length > CHUNK + TAG) this.open(this.queue.take(CHUNK + TAG), false);
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.key) throw new AgeKeyError('age file ends before its payload: it was truncated');
      if (this.queue.length < TAG) throw new AgeKeyError('age payload is truncated');
      this.open(this.queue.take(this.queue.length), true);
      done();
    } catch (error) {
      done(error as Error);
    }
  }
}
