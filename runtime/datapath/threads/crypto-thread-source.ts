/**
 * Source of the crypto worker thread: age STREAM sealing or opening (64 KiB
 * ChaCha20-Poly1305 chunks, the last one flagged) and SHA256 of the bytes going
 * in or out. It runs as `new Worker(CRYPTO_THREAD_SOURCE, { eval: true })`, so it
 * works unchanged from the esbuild bundle and from the TypeScript sources under
 * tsx; it is plain CommonJS with no imports but node builtins.
 * See docs/decisions/0012-age-and-sha256-on-a-worker-thread.md.
 *
 * Protocol (parent → thread):
 *   { t: 'init', mode: 'seal' | 'open' | 'none', key?: Buffer, hashInput: boolean, hashOutput: boolean }
 *   { t: 'emit', buf }   bytes output unchanged (the age header going out), hashed if hashOutput
 *   { t: 'skip', buf }   bytes only hashed if hashInput (the age header coming in)
 *   { t: 'data', buf, length }  transformed; `buf` (an ArrayBuffer) is transferred back for reuse
 *   { t: 'end' }         seals or opens the last chunk, replies with the digest
 * Replies (thread → parent): { t: 'out', out?: Uint8Array, back?: ArrayBuffer },
 *   { t: 'end', out?: Uint8Array, sha256?: string }, { t: 'error', message: string, age: boolean }.
 */
export const CRYPTO_THREAD_SOURCE = String.raw`
'use strict';
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createDecipheriv, createHash } = require('node:crypto');
const CHUNK = 64 * 1024;
const TAG = 16;
const EMPTY = Buffer.alloc(0);
let mode = 'none';
let key;
let counter = 0;
let hash;
let hashInput = false;
let leftover = EMPTY;

class AgeError extends Error {}

// node:crypto returns every sealed or opened chunk in a fresh buffer. This thread allocates almost no
// JavaScript objects, so V8 would let tens of MiB of those dead buffers pile up before it collects.
// A scavenge every few MiB (about a millisecond) keeps the thread's memory flat.
let collect = () => {};
try {
  require('node:v8').setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc');
  if (typeof gc === 'function') collect = () => gc({ type: 'minor' });
} catch {}
const COLLECT_EVERY = 2 * 1024 * 1024;
let sinceCollect = 0;

function nonce(last) {
  const n = Buffer.alloc(12);
  n.writeUIntBE(counter++, 5, 6);
  n[11] = last ? 1 : 0;
  return n;
}

function seal(chunk, last, pieces) {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce(last), { authTagLength: TAG });
  pieces.push(cipher.update(chunk));
  cipher.final();
  pieces.push(cipher.getAuthTag());
}

function open(chunk, last, pieces) {
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce(last), { authTagLength: TAG });
  decipher.setAuthTag(chunk.subarray(chunk.length - TAG));
  const plaintext = decipher.update(chunk.subarray(0, chunk.length - TAG));
  try {
    decipher.final();
  } catch {
    throw new AgeError(last
      ? 'age payload failed authentication at its end: the file was truncated or modified'
      : 'age payload failed authentication: the file was modified');
  }
  if (plaintext.length) pieces.push(plaintext);
}

const size = () => (mode === 'open' ? CHUNK + TAG : CHUNK);
const step = (chunk, last, pieces) => (mode === 'open' ? open(chunk, last, pieces) : seal(chunk, last, pieces));

/** Processes every whole chunk that more bytes follow; keeps the rest (a copy) for the next call or the end. */
function feed(input, pieces) {
  const n = size();
  let offset = 0;
  if (leftover.length) {
    if (leftover.length + input.length <= n) { leftover = Buffer.concat([leftover, input]); return; }
    offset = n - leftover.length;
    step(Buffer.concat([leftover, input.subarray(0, offset)]), false, pieces);
  }
  for (; input.length - offset > n; offset += n) step(input.subarray(offset, offset + n), false, pieces);
  leftover = Buffer.from(input.subarray(offset));
}

/** One buffer per reply: fewer messages and fewer, larger chunks downstream. */
function join(pieces) {
  if (pieces.length === 1 && pieces[0].byteOffset === 0 && pieces[0].byteLength === pieces[0].buffer.byteLength) return pieces[0];
  let total = 0;
  for (const piece of pieces) total += piece.length;
  const out = Buffer.allocUnsafeSlow(total);
  let at = 0;
  for (const piece of pieces) { piece.copy(out, at); at += piece.length; }
  return out;
}

function reply(type, pieces, extra, back) {
  let out;
  if (pieces.length) {
    out = join(pieces);
    if (hash && !hashInput) hash.update(out);
  }
  const transfer = [];
  if (out) transfer.push(out.buffer);
  if (back) transfer.push(back);
  parentPort.postMessage({ t: type, out, back, ...extra }, transfer);
}

parentPort.on('message', (message) => {
  try {
    switch (message.t) {
      case 'init':
        mode = message.mode;
        key = message.key && Buffer.from(message.key);
        hashInput = message.hashInput;
        hash = message.hashInput || message.hashOutput ? createHash('sha256') : undefined;
        return;
      case 'key':
        key = Buffer.from(message.key);
        return;
      case 'emit': {
        // Copied: the parent keeps no reference, and the reply owns its buffer outright.
        reply('out', [Buffer.from(message.buf)]);
        return;
      }
      case 'skip':
        if (hash && hashInput) hash.update(message.buf);
        return;
      case 'data': {
        const input = Buffer.from(message.buf, 0, message.length);
        if (hash && hashInput) hash.update(input);
        // Digest only: the input itself goes back out as the output.
        if (mode === 'none') return reply('out', [input]);
        const pieces = [];
        feed(input, pieces);
        // Count before replying: the reply transfers (detaches) the input's buffer.
        sinceCollect += input.length;
        reply('out', pieces, {}, message.buf);
        if (sinceCollect >= COLLECT_EVERY) { sinceCollect = 0; collect(); }
        return;
      }
      case 'end': {
        const pieces = [];
        if (mode === 'seal') seal(leftover, true, pieces);
        if (mode === 'open') {
          if (leftover.length < TAG) throw new AgeError('age payload is truncated');
          open(leftover, true, pieces);
        }
        leftover = EMPTY;
        let out;
        if (pieces.length) {
          out = join(pieces);
          if (hash && !hashInput) hash.update(out);
        }
        parentPort.postMessage({ t: 'end', out, sha256: hash ? hash.digest('hex') : undefined }, out ? [out.buffer] : []);
        return;
      }
      default:
        throw new Error('unknown message ' + message.t);
    }
  } catch (error) {
    parentPort.postMessage({ t: 'error', message: error.message, age: error instanceof AgeError });
  }
});
`;
