// Bulk AES (GCM and CBC) through WebCrypto. Wasm has no AES instructions, so a large message's content is
// encrypted and decrypted here with WebCrypto (which uses the CPU's); everything else (header
// protection, signatures, RecipientInfos, key wrapping and unwrapping, DER, MIME) stays in the
// Rust core. Content keys cross into JS only for the WebCrypto call: imported non-extractable,
// and the bytes are wiped as soon as WebCrypto has them.

import { CachetError, ERROR_CODES, wrap } from './errors.js';

/** Content at least this large goes through WebCrypto (smaller: one wasm call is faster). */
export const BULK_THRESHOLD = 256 * 1024;

/** The ciphers WebCrypto does here: its algorithm name, key and IV sizes. */
const CIPHERS = {
  'aes128-gcm': { name: 'AES-GCM', key: 16, iv: 12 },
  'aes256-gcm': { name: 'AES-GCM', key: 32, iv: 12 },
  'aes128-cbc': { name: 'AES-CBC', key: 16, iv: 16 },
  'aes256-cbc': { name: 'AES-CBC', key: 32, iv: 16 },
};

function params(cipher, iv, aad) {
  const c = CIPHERS[cipher];
  if (c.name === 'AES-CBC') return { name: c.name, iv };
  const p = { name: c.name, iv, tagLength: 128 };
  if (aad && aad.length > 0) p.additionalData = aad;
  return p;
}

function subtle() {
  return globalThis.crypto?.subtle;
}

/** Should content of `size` bytes with `cipher` go through WebCrypto here? */
export function bulk(size, cipher) {
  return size >= BULK_THRESHOLD && cipher in CIPHERS && subtle() !== undefined;
}

/** Content is encrypted this many bytes per WebCrypto call (a multiple of 16). */
const CHUNK = 1024 * 1024;

/**
 * `gcmChunksFrom`: AES-GCM content at least this large is encrypted in chunks (AES-CTR with the
 * core's GHASH: memory bounded, but GHASH in wasm runs at ~150 MB/s); smaller content in one
 * WebCrypto AES-GCM call (faster; holds content and ciphertext whole, each ~5x a 32 MiB message
 * at most). Exported for the tests, which lower it to reach the chunked path with small messages.
 */
export const tuning = { gcmChunksFrom: 32 * 1024 * 1024 };
/** Base64 is written this many input bytes per core call (a multiple of 57: whole lines). */
const LINES_CHUNK = 57 * 16 * 1024;

/**
 * The encrypted message for the content `parts` (byte arrays, taken as one entity), written
 * chunk by chunk (below, for which ciphers and sizes) so that neither the whole content nor the
 * whole ciphertext is ever copied:
 * `core.frame(cek, iv, ciphertextLength, tag)` (the core's `frameExternal`, which adds the
 * outer header fields) wraps the key, wipes `cek` and gives `[head, prefix, suffix, length]`;
 * `core.lines(bytes)` (`base64Lines`) encodes whole 57-byte lines; `core.GcmTag` hashes GCM
 * ciphertext. The message is written once, at its final size.
 * - AES-CBC: each chunk is one WebCrypto AES-CBC call whose IV is the previous chunk's last
 *   ciphertext block (CBC over the whole; each call's padding block is dropped but the last).
 * - AES-GCM: WebCrypto's AES-GCM is one-shot (whole content in, whole output out), so large
 *   content (`tuning.gcmChunksFrom`) takes its keystream from AES-CTR, chunk by chunk from GCM's
 *   own counter (`iv || 2`, 32-bit), and the core computes the tag over the ciphertext as it
 *   passes (RFC 5084, SP 800-38D); below that, one AES-GCM call.
 */
export async function encryptExternal(pieces, cipher, core) {
  const parts = pieces.filter((p) => p.length > 0);
  const c = CIPHERS[cipher];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const cek = globalThis.crypto.getRandomValues(new Uint8Array(c.key));
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(c.iv));
  if (c.name === 'AES-GCM' && total < tuning.gcmChunksFrom) {
    try {
      const key = await subtle().importKey('raw', cek, 'AES-GCM', false, ['encrypt']);
      const entity = parts.length === 1 ? parts[0] : concat(parts, 0, total);
      const data = new Uint8Array(await subtle().encrypt(params(cipher, iv), key, entity));
      const ciphertext = data.subarray(0, data.length - 16);
      const [head, prefix, suffix, size] = await core.frame(cek, iv, ciphertext.length,
        data.subarray(data.length - 16));
      const out = new Base64Message(size, head, core.lines);
      out.write(prefix);
      out.write(ciphertext);
      out.write(suffix);
      return out.finish();
    } finally {
      cek.fill(0);
    }
  }
  const gcm = c.name === 'AES-GCM';
  let tagger;
  try {
    const key = await subtle().importKey('raw', cek, gcm ? 'AES-CTR' : 'AES-CBC', false, ['encrypt']);
    // CBC's PKCS#7 padding makes the ciphertext the next whole block past the content.
    const length = gcm ? total : (Math.floor(total / 16) + 1) * 16;
    if (gcm) tagger = new core.GcmTag(cek.slice(), iv, new Uint8Array(0));
    // GCM: the tag is known at the end; the frame is made with a stand-in, replaced below.
    const tagLength = gcm ? 16 : 0;
    const [head, prefix, suffix, size] = await core.frame(cek, iv, length, new Uint8Array(tagLength));
    const out = new Base64Message(size, head, core.lines);
    out.write(prefix);
    // Chunk by chunk; WebCrypto works on the next chunk (off the main thread) while this one
    // is hashed and written. CBC's next IV is this chunk's last ciphertext block.
    const encryptChunk = async (at, chain) => {
      const last = total - at <= CHUNK;
      const n = last ? total - at : CHUNK;
      const chunk = slice(parts, at, n);
      if (gcm) {
        const counter = gcmCounter(iv, at);
        return { at, n, last, ciphertext: new Uint8Array(await subtle().encrypt(
          { name: 'AES-CTR', counter, length: 32 }, key, chunk)) };
      }
      const encrypted = new Uint8Array(await subtle().encrypt({ name: 'AES-CBC', iv: chain }, key, chunk));
      return { at, n, last, ciphertext: last ? encrypted : encrypted.subarray(0, n) };
    };
    let pending = encryptChunk(0, iv);
    for (;;) {
      const { at, n, last, ciphertext } = await pending;
      if (!last) pending = encryptChunk(at + n, ciphertext.subarray(ciphertext.length - 16));
      if (gcm) tagger.update(ciphertext);
      out.write(ciphertext);
      if (last) break;
    }
    if (gcm) {
      // The mac OCTET STRING ends the DER: its contents, the last 16 bytes, are the tag.
      suffix.set(tagger.finish(), suffix.length - 16);
    }
    out.write(suffix);
    return out.finish();
  } finally {
    cek.fill(0);
    tagger?.free();
  }
}

/** GCM's counter block for the content at byte `at` (a multiple of 16): `iv || 2 + at / 16`. */
function gcmCounter(iv, at) {
  const counter = new Uint8Array(16);
  counter.set(iv);
  new DataView(counter.buffer).setUint32(12, (2 + at / 16) >>> 0);
  return counter;
}

/** `size` bytes from `at` of the content `parts` make up: a view when they lie in one part. */
function slice(parts, at, size) {
  let start = at;
  for (const p of parts) {
    if (start < p.length) {
      if (start + size <= p.length) return p.subarray(start, start + size);
      break;
    }
    start -= p.length;
  }
  return concat(parts, at, size);
}

/** `size` bytes from `at` of the content `parts` make up, as one new array. */
function concat(parts, at, size) {
  const out = new Uint8Array(size);
  let skip = at;
  let filled = 0;
  for (const p of parts) {
    if (filled === size) break;
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    const piece = p.subarray(skip, Math.min(p.length, skip + size - filled));
    out.set(piece, filled);
    filled += piece.length;
    skip = 0;
  }
  return out;
}

/** A message of known `length`: `head`, then a base64 body written piece by piece (lines of 57
 *  bytes across the pieces: a piece's last partial line waits for the next). */
class Base64Message {
  constructor(length, head, lines) {
    this.out = new Uint8Array(length);
    this.out.set(head);
    this.at = head.length;
    this.lines = lines;
    this.held = new Uint8Array(57);
    this.heldLength = 0;
  }

  write(bytes) {
    let rest = bytes;
    if (this.heldLength > 0) {
      const take = Math.min(57 - this.heldLength, rest.length);
      this.held.set(rest.subarray(0, take), this.heldLength);
      this.heldLength += take;
      rest = rest.subarray(take);
      if (this.heldLength < 57) return;
      this.emit(this.held);
      this.heldLength = 0;
    }
    const whole = rest.length - (rest.length % 57);
    for (let at = 0; at < whole; at += LINES_CHUNK) {
      this.emit(rest.subarray(at, Math.min(whole, at + LINES_CHUNK)));
    }
    this.held.set(rest.subarray(whole));
    this.heldLength = rest.length - whole;
  }

  emit(bytes) {
    const encoded = this.lines(bytes);
    this.out.set(encoded, this.at);
    this.at += encoded.length;
  }

  finish() {
    if (this.heldLength > 0) this.emit(this.held.subarray(0, this.heldLength));
    if (this.at !== this.out.length) {
      throw wrap(new Error(`message is ${this.at} bytes, framed as ${this.out.length}`));
    }
    return this.out;
  }
}

/** Decrypt what `externalContent` found, trying each candidate key; `undefined` if none opens
 *  it (GCM: the tag did not verify; CBC: the padding was wrong). */
export async function contentDecrypt(found) {
  try {
    for (const raw of found.keys) {
      let key;
      try {
        key = await subtle().importKey('raw', raw, CIPHERS[found.cipher].name, false, ['decrypt']);
      } finally {
        raw.fill(0);
      }
      try {
        return new Uint8Array(await subtle().decrypt(params(found.cipher, found.iv, found.aad), key, found.data));
      } catch {
        // Not with this key: try the next; all failing is DECRYPTION_FAILED.
      }
    }
    return undefined;
  } finally {
    for (const raw of found.keys) raw.fill(0);
  }
}

/** The error for content no key opened: the same code, and text, the core gives. */
export function decryptionFailed() {
  return new CachetError('DECRYPTION_FAILED', `DECRYPTION_FAILED: ${ERROR_CODES.DECRYPTION_FAILED}`);
}

/** The header section of `message` (through its first empty line): all `decryptedMessage` needs
 *  of the encrypted message, so the large body is not copied into the core again. */
export function headerSection(message) {
  for (let i = message.indexOf(10); i >= 0 && i + 1 < message.length; i = message.indexOf(10, i + 1)) {
    if (message[i + 1] === 10) return message.subarray(0, i + 2);
    if (message[i + 1] === 13 && message[i + 2] === 10) return message.subarray(0, i + 3);
  }
  return message;
}
