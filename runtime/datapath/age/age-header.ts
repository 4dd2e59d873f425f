import { createCipheriv, createDecipheriv, createHmac, generateKeyPairSync, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  AgeDataDamagedError,
  AgeIdentityMismatchError,
  AgeKeyError,
  parseRecipient,
  recipientFingerprint,
  recipientOf,
  publicKeyFromRaw,
  rawPublicKey,
  x25519,
  type AgeIdentity,
} from './age-keys.js';

const VERSION_LINE = 'age-encryption.org/v1';
const X25519_INFO = 'age-encryption.org/v1/X25519';
const ZERO_NONCE = Buffer.alloc(12);
const MAX_HEADER_BYTES = 64 * 1024;

/** Unpadded standard base64, as the age format requires. */
const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
function unb64(text: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) throw new AgeDataDamagedError('age header has invalid base64: the file was modified');
  return Buffer.from(text, 'base64');
}

const hkdf = (ikm: Buffer, salt: Buffer, info: string) => Buffer.from(hkdfSync('sha256', ikm, salt, info, 32));

function chacha(key: Buffer, plaintext: Buffer): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

function unchacha(key: Buffer, sealed: Buffer): Buffer | undefined {
  if (sealed.length < 16) return undefined;
  const decipher = createDecipheriv('chacha20-poly1305', key, ZERO_NONCE, { authTagLength: 16 });
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    return undefined;
  }
}

function wrapBody(body: Buffer): string {
  const text = b64(body);
  const lines: string[] = [];
  for (let i = 0; i <= text.length; i += 64) lines.push(text.slice(i, i + 64));
  // A body whose length is a multiple of 64 columns ends with an empty line, so the reader knows it ended.
  return lines.join('\n');
}

function headerMac(fileKey: Buffer, headerUpToDashes: string): Buffer {
  return createHmac('sha256', hkdf(fileKey, Buffer.alloc(0), 'header'))
    .update(headerUpToDashes)
    .digest();
}

/** Builds the header for X25519 recipients and returns it with the fresh file key. */
export function buildHeader(recipients: string[]): { header: Buffer; fileKey: Buffer } {
  if (!recipients.length) throw new AgeKeyError('age encryption needs at least one recipient');
  const fileKey = randomBytes(16);
  let text = `${VERSION_LINE}\n`;
  for (const recipient of recipients) {
    const recipientRaw = parseRecipient(recipient);
    const ephemeral = generateKeyPairSync('x25519');
    const share = rawPublicKey(ephemeral.publicKey);
    const shared = x25519(ephemeral.privateKey, publicKeyFromRaw(recipientRaw));
    const wrapKey = hkdf(shared, Buffer.concat([share, recipientRaw]), X25519_INFO);
    text += `-> X25519 ${b64(share)}\n${wrapBody(chacha(wrapKey, fileKey))}\n`;
  }
  text += '---';
  return { header: Buffer.from(`${text} ${b64(headerMac(fileKey, text))}\n`), fileKey };
}

export type HeaderParse = { complete: false } | { complete: true; fileKey: Buffer; length: number };

/** While the header is not fully buffered: fails early on input that cannot become an age header. */
function checkPartialHeader(data: Buffer): void {
  if (data.length > MAX_HEADER_BYTES) throw new AgeDataDamagedError('input is not an age file: no header end within 64 KiB');
  if (data.length >= VERSION_LINE.length && !data.subarray(0, VERSION_LINE.length).equals(Buffer.from(VERSION_LINE))) {
    throw new AgeDataDamagedError('input is not an age file (it does not start with age-encryption.org/v1)');
  }
}

/** Unwraps the file key from one X25519 stanza with the first identity it was sealed to, if any. */
function unwrapX25519(shareText: string, bodyText: string, identities: AgeIdentity[]): Buffer | undefined {
  const share = unb64(shareText);
  const sealed = unb64(bodyText);
  if (share.length !== 32 || sealed.length !== 32) throw new AgeDataDamagedError('age X25519 stanza is malformed: the header was modified');
  for (const identity of identities) {
    const shared = x25519(identity.privateKey, publicKeyFromRaw(share));
    if (shared.every((b) => b === 0)) throw new AgeDataDamagedError('age X25519 stanza has a low-order share: the header was modified');
    const key = unchacha(hkdf(shared, Buffer.concat([share, identity.publicKey]), X25519_INFO), sealed);
    if (key) return key;
  }
  return undefined;
}

/** Reads the recipient stanzas between the version line and the MAC line; returns the file key one of them yields. */
function fileKeyFromStanzas(lines: string[], identities: AgeIdentity[]): Buffer | undefined {
  let fileKey: Buffer | undefined;
  for (let i = 1; i < lines.length - 1;) {
    const args = lines[i].split(' ');
    if (args[0] !== '->') throw new AgeDataDamagedError('age header is malformed: the file was modified');
    const body: string[] = [];
    for (i += 1; i < lines.length - 1; i += 1) {
      body.push(lines[i]);
      if (lines[i].length < 64) {
        i += 1;
        break;
      }
    }
    if (fileKey || args[1] !== 'X25519' || args.length !== 3) continue;
    fileKey = unwrapX25519(args[2], body.join(''), identities);
  }
  return fileKey;
}

/**
 * Parses a header at the start of `data` and unwraps the file key with one of the
 * identities. Returns complete: false while the header is not fully buffered.
 */
export function parseHeader(data: Buffer, identities: AgeIdentity[]): HeaderParse {
  const end = data.indexOf('\n---', 0, 'latin1');
  const macEnd = end === -1 ? -1 : data.indexOf('\n', end + 4);
  if (macEnd === -1) {
    checkPartialHeader(data);
    return { complete: false };
  }
  const text = data.subarray(0, macEnd).toString('latin1');
  const lines = text.split('\n');
  if (lines[0] !== VERSION_LINE) throw new AgeDataDamagedError('input is not an age file (it does not start with age-encryption.org/v1)');
  const macLine = lines[lines.length - 1];
  if (!macLine.startsWith('--- ')) throw new AgeDataDamagedError('age header is malformed: the file was modified');
  const fileKey = fileKeyFromStanzas(lines, identities);
  if (!fileKey) throw new AgeIdentityMismatchError();
  const expected = headerMac(fileKey, text.slice(0, text.length - macLine.length + 3));
  const given = unb64(macLine.slice(4));
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new AgeDataDamagedError('age header MAC does not match: the file was modified');
  return { complete: true, fileKey, length: macEnd + 1 };
}

/**
 * parseHeader, telling a wrong key from a damaged header where the backup names its recipients
 * (metadata.json's recipientFingerprints): a header that does not open although it was sealed to the
 * identity's own recipient was modified. With `ended`, `data` is the whole file: a header that does
 * not end in it is damaged too.
 */
export function parseHeaderFor(
  data: Buffer,
  identities: AgeIdentity[],
  recipientFingerprints: readonly string[] | undefined,
  options: { ended?: boolean } = {},
): HeaderParse {
  let parsed: HeaderParse;
  try {
    parsed = parseHeader(data, identities);
  } catch (error) {
    const fingerprints = recipientFingerprints ?? [];
    const ours = identities.some((identity) => fingerprints.includes(recipientFingerprint(recipientOf(identity))));
    if (error instanceof AgeIdentityMismatchError && ours)
      throw new AgeDataDamagedError(
        "the age header does not open with the identity although the backup was encrypted to this identity's recipient: the header was modified",
      );
    throw error;
  }
  if (!parsed.complete && options.ended) throw new AgeDataDamagedError('age file ends before its payload: it was truncated');
  return parsed;
}

export function payloadKey(fileKey: Buffer, nonce: Buffer): Buffer {
  return hkdf(fileKey, nonce, 'payload');
}
