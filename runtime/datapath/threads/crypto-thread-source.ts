/**
 * Source of the crypto worker thread: age STREAM sealing or opening (64 KiB
 * ChaCha20-Poly1305 chunks, the last one flagged) and SHA256 of the bytes going
 * in or out. It runs as `new Worker(CRYPTO_THREAD_SOURCE, { eval: true })`, so it
 * works unchanged from the esbuild bundle and from the TypeScript sources under
 * tsx; it is plain CommonJS with no imports but node builtins.
 * See docs/decisions/0012-age-and-sha256-on-a-worker-thread.md.
 *
 * Protocol (parent → thread):
 *   { t: 'init', mode: 'seal' | 'open' | 'none', key?: Buffer, hashInput: boolean, hashOutput: boolean, forward?: MessagePort }
 *   { t: 'emit', buf }   bytes output unchanged (the age header going out), hashed if hashOutput
 *   { t: 'skip', buf }   bytes only hashed if hashInput (the age header coming in)
 *   { t: 'data', buf, length }  transformed; `buf` (an ArrayBuffer) is transferred back for reuse
 *   { t: 'end' }         seals or opens the last chunk, replies with the digest
 * Replies (thread → parent): { t: 'out', out?: Uint8Array, back?: ArrayBuffer },
 *   { t: 'end', out?: Uint8Array, sha256?: string }, { t: 'committed' },
 *   { t: 'error', message: string, age: boolean, code?: string, stage?: 'decompress' | 'write' }.
 *
 * Delivery into a restore command (decision 0042) runs this source twice. The crypto thread, given
 * `forward`, sends its output and the spent input buffer there instead of to the parent:
 *   { t: 'deliver', pieces?: Uint8Array[], back: ArrayBuffer, length?: number }, then { t: 'end', pieces, sha256 }
 *   (`length`: the input itself is the output, when there is nothing to decrypt).
 * The delivery thread, started with { t: 'init-delivery', port, fd, decompress: 'zstd' | 'none', zstdBinding? },
 * decompresses into one reused buffer, writes it to the command's pipe `fd` with blocking writes,
 * returns each spent input buffer to the parent ('out' with `back`), and answers the crypto thread's
 * 'end' with 'end' and the digest while it holds back its last buffer. The parent compares the
 * digest and sends { t: 'commit' }; the thread writes what it held and answers 'committed'.
 */
export const CRYPTO_THREAD_SOURCE = String.raw`
'use strict';
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createDecipheriv, createHash } = require('node:crypto');
const { writeSync } = require('node:fs');
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
class StageError extends Error {
  constructor(stage, error) { super(error.message); this.stage = stage; this.code = error.code; }
}

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


// The delivery thread's state (init-delivery).
const DELIVER_BUFFER = 1024 * 1024;
let sinkFd = -1;
let dctx;
let inFrame = false;
let pending;
let pendingLength = 0;

function startDelivery(options) {
  sinkFd = options.fd;
  pending = Buffer.allocUnsafeSlow(DELIVER_BUFFER);
  if (options.decompress === 'zstd') {
    dctx = new (require(options.zstdBinding).DCtx)();
    // ZSTD_d_forceIgnoreChecksum (1002): the frames' XXH64 of their content, about 2 % of a restore's CPU, checks
    // nothing the SHA256 of the stored bytes has not (decision 0042). Left on if this zstd does not know it.
    try { dctx.setParameter(1002, 1); } catch {}
  }
}


/** Writes the whole buffer; the pipe is blocking, so a slow command holds this thread (and, through it, the download). */
function flushPending() {
  try {
    for (let at = 0; at < pendingLength;) at += writeSync(sinkFd, pending, at, pendingLength - at);
  } catch (error) {
    throw new StageError('write', error);
  }
  pendingLength = 0;
}

function decompressInto(input) {
  for (;;) {
    if (pendingLength === pending.length) flushPending();
    let result;
    try {
      result = dctx.decompressStream(pending.subarray(pendingLength), input);
    } catch (error) {
      throw new StageError('decompress', error);
    }
    const [remaining, produced, consumed] = result;
    pendingLength += produced;
    input = input.subarray(consumed);
    inFrame = remaining !== 0;
    // Room left in the buffer means zstd has given everything this input holds; at the end of a frame
    // it has too, and calling again would only start waiting for the next frame's header.
    if (input.length === 0 && (pendingLength < pending.length || remaining === 0)) return;
  }
}

function copyInto(input) {
  for (let at = 0; at < input.length;) {
    if (pendingLength === pending.length) flushPending();
    const n = input.copy(pending, pendingLength, at);
    pendingLength += n;
    at += n;
  }
}

function deliver(data) {
  (dctx ? decompressInto : copyInto)(data);
}

function finishDelivery() {
  if (dctx && inFrame) throw new StageError('decompress', new Error('zstd stream ended in the middle of a frame: the data is truncated'));
}

let forward;

/** A buffer that owns its whole ArrayBuffer can be transferred as it is. */
const owned = (piece) => piece.byteOffset === 0 && piece.byteLength === piece.buffer.byteLength;

/**
 * The crypto thread's output: to the delivery thread when delivering (the opened chunks as they are,
 * transferred, when each owns its memory, as node:crypto's do), else back to the parent.
 */
function output(type, pieces, extra, back) {
  if (!forward) return reply(type, pieces, extra, back);
  const out = pieces.every(owned) ? pieces : [join(pieces)];
  const transfer = out.map((piece) => piece.buffer);
  if (back) transfer.push(back);
  forward.postMessage({ t: type === 'out' ? 'deliver' : type, pieces: out, back, ...extra }, transfer);
}

function onCryptoMessage(message) {
  switch (message.t) {
    case 'init':
      mode = message.mode;
      key = message.key && Buffer.from(message.key);
      hashInput = message.hashInput;
      hash = message.hashInput || message.hashOutput ? createHash('sha256') : undefined;
      forward = message.forward;
      return;
    case 'init-delivery':
      startDelivery(message);
      message.port.on('message', (forwarded) => guarded(onDeliveryMessage, forwarded));
      return;
    case 'key':
      key = Buffer.from(message.key);
      return;
    case 'emit':
      // Copied: the parent keeps no reference, and the reply owns its buffer outright.
      reply('out', [Buffer.from(message.buf)]);
      return;
    case 'skip':
      if (hash && hashInput) hash.update(message.buf);
      return;
    case 'data': {
      const input = Buffer.from(message.buf, 0, message.length);
      if (hash && hashInput) hash.update(input);
      // Digest only: the input itself goes on as the output.
      if (mode === 'none' && forward) return forward.postMessage({ t: 'deliver', back: message.buf, length: message.length }, [message.buf]);
      if (mode === 'none') return reply('out', [input]);
      const pieces = [];
      feed(input, pieces);
      // Count before replying: the reply transfers (detaches) the input's buffer.
      sinceCollect += input.length;
      output('out', pieces, {}, message.buf);
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
      if (forward) return output('end', pieces, { sha256: hash ? hash.digest('hex') : undefined });
      let out;
      if (pieces.length) {
        out = join(pieces);
        if (hash && !hashInput) hash.update(out);
      }
      parentPort.postMessage({ t: 'end', out, sha256: hash ? hash.digest('hex') : undefined }, out ? [out.buffer] : []);
      return;
    }
    case 'commit':
      flushPending();
      parentPort.postMessage({ t: 'committed' });
      return;
    default:
      throw new Error('unknown message ' + message.t);
  }
}

/** The delivery thread: what the crypto thread forwards. */
function onDeliveryMessage(message) {
  let delivered = 0;
  const send = (data) => {
    deliver(data);
    delivered += data.length;
  };
  if (message.length) send(Buffer.from(message.back, 0, message.length));
  for (const piece of message.pieces ?? []) send(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength));
  if (message.t === 'end') {
    finishDelivery();
    parentPort.postMessage({ t: 'end', sha256: message.sha256 });
    return;
  }
  parentPort.postMessage({ t: 'out', back: message.back }, [message.back]);
  sinceCollect += delivered;
  if (sinceCollect >= COLLECT_EVERY) { sinceCollect = 0; collect(); }
}

function guarded(handler, message) {
  try {
    handler(message);
  } catch (error) {
    parentPort.postMessage({ t: 'error', message: error.message, age: error instanceof AgeError, code: error.code, stage: error.stage });
  }
}

parentPort.on('message', (message) => guarded(onCryptoMessage, message));
`;
