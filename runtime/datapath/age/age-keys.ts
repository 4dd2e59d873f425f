import { createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { bech32 } from '@scure/base';

/**
 * age X25519 keys (https://age-encryption.org/v1) on node:crypto. Raw 32-byte
 * keys are wrapped in fixed DER prefixes so OpenSSL does the curve arithmetic.
 */
const SPKI_X25519_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const RECIPIENT_HRP = 'age';
const IDENTITY_HRP = 'age-secret-key-';

/** Any age failure: a key that does not parse, or a file that does not open. */
export class AgeKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgeKeyError';
  }
}

/**
 * The header does not open with the identities given: none of its recipient stanzas was sealed to
 * them (a wrong key). The data may be intact; nothing says otherwise.
 */
export class AgeIdentityMismatchError extends AgeKeyError {
  constructor(message = 'no age identity matches this file: it was encrypted to other recipients') {
    super(message);
    this.name = 'AgeIdentityMismatchError';
  }
}

/**
 * The age data itself is damaged, not the key: a payload chunk failed authentication after the
 * header opened, the payload is truncated, or the header no longer parses or its MAC does not match.
 */
export class AgeDataDamagedError extends AgeKeyError {
  constructor(message: string) {
    super(message);
    this.name = 'AgeDataDamagedError';
  }
}

export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_X25519_PREFIX, raw]), format: 'der', type: 'spki' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' }).subarray(-32);
}

export function privateKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

/** Parses `age1…`; the error never echoes more than the prefix of what it was given. */
export function parseRecipient(recipient: string): Buffer {
  try {
    const { prefix, words } = bech32.decode(recipient.trim() as `${string}1${string}`, 200);
    const raw = Buffer.from(bech32.fromWords(words));
    if (prefix !== RECIPIENT_HRP || raw.length !== 32) throw new Error('wrong prefix or length');
    return raw;
  } catch {
    throw new AgeKeyError(`age recipient "${recipient.slice(0, 8)}…" is not an X25519 recipient (age1 followed by 58 bech32 characters)`);
  }
}

export interface AgeIdentity {
  readonly privateKey: KeyObject;
  /** Raw public key, used to recognise our stanza's salt. */
  readonly publicKey: Buffer;
}

/** Parses `AGE-SECRET-KEY-1…`. Comment lines and blank lines (age-keygen output) are skipped. */
export function parseIdentities(text: string): AgeIdentity[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (!lines.length) throw new AgeKeyError('age identity file holds no AGE-SECRET-KEY-1… line');
  return lines.map((line, index) => {
    try {
      const { prefix, words } = bech32.decode(line.toLowerCase() as `${string}1${string}`, 200);
      const raw = Buffer.from(bech32.fromWords(words));
      if (prefix !== IDENTITY_HRP || raw.length !== 32) throw new Error('wrong prefix or length');
      const privateKey = privateKeyFromRaw(raw);
      return { privateKey, publicKey: rawPublicKey(createPublicKey(privateKey)) };
    } catch {
      // Never include the line: it is a secret.
      throw new AgeKeyError(`age identity line ${index + 1} is not an X25519 identity (AGE-SECRET-KEY-1…)`);
    }
  });
}

/** The recipient (`age1…`) an identity opens: what a backup was encrypted to, if it is this key's. */
export function recipientOf(identity: AgeIdentity): string {
  return bech32.encode(RECIPIENT_HRP, bech32.toWords(identity.publicKey), 200);
}

/** SHA256 of an age recipient string: tells which key decrypts, without storing the key list verbatim. */
export function recipientFingerprint(recipient: string): string {
  return createHash('sha256').update(recipient.trim()).digest('hex');
}

/** Generates a key pair in age's text forms, as `age-keygen` would. */
export function generateAgeKeyPair(): { identity: string; recipient: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const rawPrivate = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32);
  return {
    identity: bech32.encode(IDENTITY_HRP, bech32.toWords(rawPrivate), 200).toUpperCase(),
    recipient: bech32.encode(RECIPIENT_HRP, bech32.toWords(rawPublicKey(publicKey)), 200),
  };
}

export function x25519(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  return diffieHellman({ privateKey, publicKey });
}
