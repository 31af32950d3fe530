// Bulk AES (GCM and CBC) through WebCrypto. Wasm has no AES instructions, so a large message's content is
// encrypted and decrypted here with WebCrypto (which uses the CPU's); everything else (header
// protection, signatures, RecipientInfos, key wrapping and unwrapping, DER, MIME) stays in the
// Rust core. Content keys cross into JS only for the WebCrypto call: imported non-extractable,
// and the bytes are wiped as soon as WebCrypto has them.

import { CachetError, ERROR_CODES, wrap } from './errors.js';
import { unwrapOutside } from './websign.js';

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

/** Base64 is written this many input bytes per core call (a multiple of 57: whole lines). */
const LINES_CHUNK = 57 * 16 * 1024;

/**
 * `chunkIvs`: does this WebCrypto's AES-GCM take the 16-byte IVs that put a chunk under the
 * whole content's keystream (`GcmChunks`)? `undefined` until probed (`gcmChunkIvs`). If so,
 * AES-GCM content is always encrypted and decrypted in chunks of `CHUNK` bytes (as fast as one
 * call, or faster: chunks run side by side; and no whole copies).
 * `gcmChunksFrom`: where it does not, AES-GCM content at least this large takes its keystream
 * from AES-CTR in chunks and the core computes GHASH (~150 MB/s in wasm; memory bounded);
 * smaller content goes in one AES-GCM call (holds content and output whole).
 * Exported for the tests, which set the first to take either way and lower the second to reach
 * the AES-CTR path with small messages.
 */
export const tuning = { gcmChunksFrom: 32 * 1024 * 1024, chunkIvs: undefined };

/**
 * Does AES-GCM here seal under a 16-byte IV as SP 800-38D says (J0 = GHASH of the IV), so that
 * the IV `GcmChunks.iv(offset)` gives lines the chunk up with the whole content's keystream?
 * Asked once (a throwaway key, one block at offset 80, against AES-CTR at GCM's counter there);
 * `tuning.chunkIvs` keeps the answer.
 */
export async function gcmChunkIvs(core) {
  if (tuning.chunkIvs !== undefined) return tuning.chunkIvs;
  let chunks;
  try {
    const raw = globalThis.crypto.getRandomValues(new Uint8Array(16));
    const nonce = globalThis.crypto.getRandomValues(new Uint8Array(12));
    const gcm = await subtle().importKey('raw', raw, 'AES-GCM', false, ['encrypt']);
    const ctr = await subtle().importKey('raw', raw, 'AES-CTR', false, ['encrypt']);
    chunks = new core.GcmChunks(raw, nonce, new Uint8Array(0));
    const zero = new Uint8Array(16);
    const a = new Uint8Array(await subtle().encrypt(
      { name: 'AES-GCM', iv: chunks.iv(80), tagLength: 128 }, gcm, zero));
    const b = new Uint8Array(await subtle().encrypt(
      { name: 'AES-CTR', counter: gcmCounter(nonce, 80), length: 32 }, ctr, zero));
    tuning.chunkIvs = a.length === 32 && a.subarray(0, 16).every((x, i) => x === b[i]);
  } catch {
    tuning.chunkIvs = false;
  } finally {
    chunks?.free();
  }
  return tuning.chunkIvs;
}


/**
 * The encrypted message for the content `parts` (byte arrays, taken as one entity), written
 * chunk by chunk (below, for which ciphers and sizes) so that neither the whole content nor the
 * whole ciphertext is ever copied:
 * `core.frame(cek, iv, ciphertextLength, tag)` (the core's `frameExternal`, which adds the
 * outer header fields) wraps the key, wipes `cek` and gives `[head, prefix, suffix, length]`;
 * `core.lines(bytes, out)` (`base64Lines`) writes whole 57-byte lines into `out`;
 * `core.GcmChunks` (or `core.GcmTag`) tags GCM ciphertext. The message is written once, at its
 * final size.
 * - AES-CBC: each chunk is one WebCrypto AES-CBC call whose IV is the previous chunk's last
 *   ciphertext block (CBC over the whole; each call's padding block is dropped but the last).
 * - AES-GCM: WebCrypto's AES-GCM is one-shot (whole content in, whole output out), so the
 *   content is sealed chunk by chunk, each under the 16-byte IV `core.GcmChunks` gives for its
 *   offset (the whole content's keystream there), and the core makes the tag from the chunks'
 *   tags (RFC 5084, SP 800-38D; src/cms/gcm.rs). Where WebCrypto does not take those IVs
 *   (`gcmChunkIvs`): one AES-GCM call below `tuning.gcmChunksFrom`, and from there the
 *   keystream from AES-CTR from GCM's own counter (`iv || 2`, 32-bit) while `core.GcmTag`
 *   hashes the ciphertext as it passes.
 */
export async function encryptExternal(pieces, cipher, core) {
  const parts = pieces.filter((p) => p.length > 0);
  const c = CIPHERS[cipher];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const cek = globalThis.crypto.getRandomValues(new Uint8Array(c.key));
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(c.iv));
  const gcm = c.name === 'AES-GCM';
  // GCM: each chunk sealed by AES-GCM under its own IV (`GcmChunks`); where WebCrypto takes no
  // such IVs, one AES-GCM call below `gcmChunksFrom`, AES-CTR and the core's GHASH from there.
  const ivs = gcm && await gcmChunkIvs(core);
  if (gcm && !ivs && total < tuning.gcmChunksFrom) {
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
  let tagger;
  try {
    const mode = ivs ? 'AES-GCM' : gcm ? 'AES-CTR' : 'AES-CBC';
    const key = await subtle().importKey('raw', cek, mode, false, ['encrypt']);
    // CBC's PKCS#7 padding makes the ciphertext the next whole block past the content.
    const length = gcm ? total : (Math.floor(total / 16) + 1) * 16;
    if (ivs) tagger = new core.GcmChunks(cek.slice(), iv, new Uint8Array(0));
    else if (gcm) tagger = new core.GcmTag(cek.slice(), iv, new Uint8Array(0));
    // GCM: the tag is known at the end; the frame is made with a stand-in, replaced below.
    const tagLength = gcm ? 16 : 0;
    const [head, prefix, suffix, size] = await core.frame(cek, iv, length, new Uint8Array(tagLength));
    const out = new Base64Message(size, head, core.lines);
    out.write(prefix);
    const count = Math.max(1, Math.ceil(total / CHUNK));
    const chunkAt = (i) => slice(parts, i * CHUNK, Math.min(CHUNK, total - i * CHUNK));
    if (ivs) {
      // Independent chunks: several at a time, their tags taken and ciphertext written in order.
      await inOrder(count, async (i) => new Uint8Array(await subtle().encrypt(
        { name: 'AES-GCM', iv: tagger.iv(i * CHUNK), tagLength: 128 }, key, chunkAt(i))),
      (i, sealed) => {
        const n = sealed.length - 16;
        tagger.absorb(i * CHUNK, n, sealed.subarray(n));
        out.write(sealed.subarray(0, n));
      });
    } else if (gcm) {
      // GCM's chunks are independent (CTR): several at a time, hashed and written in order.
      await inOrder(count, async (i) => new Uint8Array(await subtle().encrypt(
        { name: 'AES-CTR', counter: gcmCounter(iv, i * CHUNK), length: 32 }, key, chunkAt(i))),
      (i, ciphertext) => {
        tagger.update(ciphertext);
        out.write(ciphertext);
      });
    } else {
      // CBC: the next chunk's IV is this chunk's last ciphertext block; WebCrypto works on the
      // next chunk (off the main thread) while this one is written.
      const encryptChunk = async (i, chain) => {
        const chunk = chunkAt(i);
        const encrypted = new Uint8Array(await subtle().encrypt({ name: 'AES-CBC', iv: chain }, key, chunk));
        return i === count - 1 ? encrypted : encrypted.subarray(0, chunk.length);
      };
      let pending = encryptChunk(0, iv);
      for (let i = 0; i < count; i += 1) {
        const ciphertext = await pending;
        if (i + 1 < count) pending = encryptChunk(i + 1, ciphertext.subarray(ciphertext.length - 16));
        out.write(ciphertext);
      }
    }
    if (gcm) {
      // The mac OCTET STRING (04 10, then the tag) is all the DER after the content.
      if (suffix.length !== 18 || suffix[0] !== 0x04 || suffix[1] !== 16) {
        throw wrap(new Error('AuthEnvelopedData framing: the mac is not where expected'));
      }
      suffix.set(tagger.finish(), 2);
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

/**
 * The content of a large S/MIME envelope, decrypted without whole copies in wasm: the base64
 * body is decoded here piece by piece into the DER (`core.Base64Decoder`), the core reads
 * everything but the ciphertext (`core.locateContent`, `externalContentHollow` of `identity`),
 * and WebCrypto decrypts the ciphertext where it is in the DER, chunk by chunk, over itself (or
 * into a buffer of its own, see below) with `room` (at least `headRoom`) free bytes in front,
 * for the caller's header fields. Gives `{ plaintext, cipher, header, buffer, room }`
 * (`plaintext` undefined when no content key opens the content); `null`
 * when this path does not apply (not base64 pkcs7-mime, BER, not addressed to `identity`,
 * another cipher): the caller takes the whole-message path, which also reports why.
 * `onDecrypt(bytes)` is awaited before the decryption.
 */
export async function decryptContentInPlace(message, identity, core, onDecrypt, headRoom = 0, keep = false) {
  const header = headerSection(message);
  if (!core.isBase64Pkcs7(header, message.length)) return null;
  // The encrypted content is found in the first piece decoded (the DER's front: ~768 KiB);
  // anything else (signed data, BER) is left after that piece for the whole-message path.
  const der = decodeBase64(message.subarray(header.length), core.Base64Decoder,
    (front) => core.locateContent(front) !== null);
  if (der === null) return null;
  const at = core.locateContent(der.subarray(0, Math.min(der.length, CHUNK)));
  if (at === null) return null;
  const [start, end] = at;
  // RSA key transport in native code where there is one (websign.js `unwrapOutside`).
  let requests = [];
  try {
    requests = identity.transportRequestsHollow(der.subarray(0, start), end - start, der.subarray(end));
  } catch {
    // the core reports what is wrong with the envelope below
  }
  await unwrapOutside(identity, requests, keep);
  const found = identity.externalContentHollow(der.subarray(0, start), end - start, der.subarray(end));
  if (found === null) return null;
  await onDecrypt?.(end - start);
  // `headRoom` bytes in front of the plaintext: for the caller's header fields.
  const needed = headRoom;
  const ciphertext = der.subarray(start, end);
  // With one candidate key, the plaintext is written over the ciphertext in the decoded DER,
  // chunk by chunk as each is decrypted (WebCrypto copies its input when called, and a chunk's
  // plaintext is never longer), and the header fields go over the DER's head when it has the
  // room: no second copy of a large message. Otherwise (several keys to try, each needing the
  // ciphertext intact; a short DER head), a buffer of its own.
  const inPlace = found.keys.length === 1 && start >= needed;
  const room = inPlace ? start : needed;
  const buffer = inPlace ? der : new Uint8Array(room + ciphertext.length);
  const into = buffer.subarray(room);
  let length;
  try {
    for (const raw of found.keys) {
      length = await decryptInto(found, raw, ciphertext, into, core);
      if (length !== undefined) break;
    }
  } finally {
    for (const raw of found.keys) raw.fill(0);
  }
  const plaintext = length === undefined ? undefined : into.subarray(0, length);
  return { plaintext, cipher: found.cipher, header, buffer, room };
}

/**
 * `decrypt` of a large S/MIME message by `decryptContentInPlace`: the core's `decryptedHead`
 * goes in the room in front of the plaintext. `{ message, cipher, authenticated }`, or `null`.
 * Throws DECRYPTION_FAILED when no content key opens the content.
 */
export async function decryptInPlace(message, identity, core, keep = false) {
  let head;
  try {
    head = core.decryptedHead(headerSection(message));
  } catch {
    return null; // the whole-message path reports what is wrong
  }
  const d = await decryptContentInPlace(message, identity, core, undefined, head.length, keep);
  if (d === null) return null;
  const { plaintext, cipher, header, buffer, room } = d;
  if (plaintext === undefined) throw decryptionFailed();
  if (head.length > room || !crlf(plaintext, core.isCrlf)) {
    const whole = core.decryptedMessage(header, plaintext, cipher);
    buffer.fill(0);
    return whole;
  }
  buffer.set(head, room - head.length);
  return {
    message: buffer.subarray(room - head.length, room + plaintext.length),
    cipher,
    authenticated: CIPHERS[cipher].name === 'AES-GCM',
  };
}

/** The bytes of a base64 body, decoded in pieces (the core's decoder, carried across them);
 *  `null` when `wanted(front)` says no to the bytes of the first piece. */
function decodeBase64(body, Decoder, wanted) {
  const out = new Uint8Array(Math.ceil(body.length / 4) * 3);
  const decoder = new Decoder();
  let n = 0;
  try {
    for (let at = 0; at < body.length; at += CHUNK) {
      const piece = body.subarray(at, Math.min(body.length, at + CHUNK));
      // Decoded by the core straight into `out` (no array made per piece).
      n += decoder.feed(piece, out.subarray(n, Math.min(out.length, n + Math.floor(piece.length / 4) * 3 + 3)));
      if (at === 0 && !wanted(out.subarray(0, n))) return null;
    }
    const last = decoder.finish();
    out.set(last, n);
    n += last.length;
  } finally {
    decoder.free();
  }
  return out.subarray(0, n);
}

/** Are all line ends of `data` CRLF? Asked of the core in pieces cut right after an LF. */
function crlf(data, isCrlf) {
  for (let at = 0; at < data.length;) {
    let end = Math.min(data.length, at + CHUNK);
    if (end < data.length) {
      const lf = data.lastIndexOf(10, end - 1);
      end = lf >= at ? lf + 1 : end;
      // No LF in a whole chunk: cut there; a CR at its end is checked with the next byte.
      if (lf < at && data[end - 1] === 13) end += 1;
    }
    if (!isCrlf(data.subarray(at, end))) return false;
    at = end;
  }
  return true;
}

/** Decrypt `ciphertext` with the content key `raw` into `out`: the plaintext's length, or
 *  `undefined` if the key does not open it (GCM: tag; CBC: padding). `out` is wiped then. */
async function decryptInto(found, raw, ciphertext, out, core) {
  const c = CIPHERS[found.cipher];
  try {
    if (c.name === 'AES-GCM' && !(await gcmChunkIvs(core)) && ciphertext.length < tuning.gcmChunksFrom) {
      const key = await subtle().importKey('raw', raw, 'AES-GCM', false, ['decrypt']);
      const data = new Uint8Array(ciphertext.length + 16);
      data.set(ciphertext);
      data.set(found.tag, ciphertext.length);
      const plain = new Uint8Array(await subtle().decrypt(params(found.cipher, found.iv, found.aad), key, data));
      out.set(plain);
      plain.fill(0);
      return plain.length;
    }
    if (c.name === 'AES-GCM') return await gcmChunks(found, raw, ciphertext, out, core);
    return await cbcChunks(found, raw, ciphertext, out);
  } catch {
    out.fill(0);
    return undefined;
  }
}

/** AES-GCM in chunks: WebCrypto's AES-CTR from GCM's counter gives the plaintext; the tag over
 *  the ciphertext comes from AES-GCM sealing nothing under each chunk's own IV with the chunk's
 *  ciphertext as its additional data (`GcmChunks.absorbAad`: 16 bytes out, not a second copy of
 *  the chunk, and side by side with the AES-CTR call), or else from the core's GHASH. The
 *  plaintext counts only once the tag is checked. */
async function gcmChunks(found, raw, ciphertext, out, core) {
  const ivs = await gcmChunkIvs(core);
  const key = await subtle().importKey('raw', raw, 'AES-CTR', false, ['decrypt']);
  const sealer = ivs ? await subtle().importKey('raw', raw, 'AES-GCM', false, ['encrypt']) : undefined;
  const tagger = ivs ? new core.GcmChunks(raw.slice(), found.iv, found.aad)
    : new core.GcmTag(raw.slice(), found.iv, found.aad);
  try {
    await inOrder(Math.ceil(ciphertext.length / CHUNK), async (i) => {
      const at = i * CHUNK;
      const chunk = ciphertext.subarray(at, Math.min(ciphertext.length, at + CHUNK));
      const counter = gcmCounter(found.iv, at);
      // Both calls copy `chunk` when made, before the plaintext of an earlier chunk is written
      // over the ciphertext (in place: `out` and `ciphertext` may share their bytes).
      const decrypted = subtle().decrypt({ name: 'AES-CTR', counter, length: 32 }, key, chunk);
      const tagged = ivs ? subtle().encrypt(
        { name: 'AES-GCM', iv: tagger.iv(at), additionalData: chunk, tagLength: 128 }, sealer,
        new Uint8Array(0)) : undefined;
      const [plain, tag] = await Promise.all([decrypted, tagged]);
      return { plain: new Uint8Array(plain), tag: tag && new Uint8Array(tag) };
    }, (i, { plain, tag }) => {
      if (ivs) tagger.absorbAad(i * CHUNK, plain.length, tag);
      else tagger.update(ciphertext.subarray(i * CHUNK, i * CHUNK + plain.length));
      out.set(plain, i * CHUNK);
      plain.fill(0);
    });
    if (!tagger.verify(found.tag)) {
      out.fill(0);
      return undefined;
    }
    return ciphertext.length;
  } finally {
    tagger.free();
  }
}

/** AES-CBC in chunks. WebCrypto checks and strips PKCS#7 padding at the end of every call, so
 *  each chunk but the last gets one more block, `E(K, 16 x 0x10 XOR its last block)`, which
 *  decrypts to a whole padding block; the last chunk's own padding is checked as usual. Every
 *  chunk's IV is the ciphertext block before it, so chunks are decrypted side by side.
 *  That block is put for the moment over the next chunk's first block in `ciphertext` (our
 *  own decoded DER, never the caller's bytes) and put back right after the call, which copies
 *  its input when made: no copy of the chunk here, and nothing between the two to see it. */
async function cbcChunks(found, raw, ciphertext, out) {
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) return undefined;
  const key = await subtle().importKey('raw', raw, 'AES-CBC', false, ['encrypt', 'decrypt']);
  const padding = new Uint8Array(16).fill(16);
  let length = 0;
  await inOrder(Math.ceil(ciphertext.length / CHUNK), async (i) => {
    const at = i * CHUNK;
    const end = Math.min(ciphertext.length, at + CHUNK);
    const chunk = ciphertext.subarray(at, end);
    // A copy: the chunk before may be decrypted over its ciphertext before this chunk's
    // decryption is called (after the await below).
    const iv = at === 0 ? found.iv : ciphertext.slice(at - 16, at);
    if (end === ciphertext.length) {
      return new Uint8Array(await subtle().decrypt({ name: 'AES-CBC', iv }, key, chunk));
    }
    const extra = new Uint8Array(await subtle().encrypt(
      { name: 'AES-CBC', iv: chunk.subarray(chunk.length - 16) }, key, padding), 0, 16);
    // The next chunk's first block is still ciphertext here: its plaintext is written only
    // after this chunk's (`inOrder`), and its own extra block goes past its end.
    const next = ciphertext.slice(end, end + 16);
    ciphertext.set(extra, end);
    let decrypted;
    try {
      decrypted = subtle().decrypt({ name: 'AES-CBC', iv }, key, ciphertext.subarray(at, end + 16));
    } finally {
      ciphertext.set(next, end);
    }
    return new Uint8Array(await decrypted);
  }, (i, plain) => {
    out.set(plain, i * CHUNK);
    length = i * CHUNK + plain.length;
    plain.fill(0);
  });
  return length;
}

/** Up to this many WebCrypto calls at a time (Node runs them on its thread pool). */
const IN_FLIGHT = 3;

/** `task(i)` for `i` in `0..count`, up to `IN_FLIGHT` at a time, each result given to
 *  `use(i, result)` in order. The first failure is thrown (the others are awaited). */
async function inOrder(count, task, use) {
  const running = [];
  const start = (i) => {
    const p = task(i);
    p.catch(() => {}); // a failure is seen where it is awaited, or not at all once one failed
    running.push(p);
  };
  for (let i = 0; i < Math.min(IN_FLIGHT, count); i += 1) start(i);
  try {
    for (let i = 0; i < count; i += 1) {
      const result = await running.shift();
      if (i + IN_FLIGHT < count) start(i + IN_FLIGHT);
      use(i, result);
    }
  } finally {
    await Promise.allSettled(running);
  }
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
    // Written by the core straight into the message (no array made per piece).
    const full = Math.floor(bytes.length / 57);
    const rest = bytes.length % 57;
    const size = full * 78 + (rest > 0 ? Math.ceil(rest / 3) * 4 + 2 : 0);
    this.at += this.lines(bytes, this.out.subarray(this.at, this.at + size));
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
