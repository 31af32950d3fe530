// RSA signatures, and the SHA-2 of large signed content, through WebCrypto. Wasm has no 64×64→128-bit multiply, so an RSA-2048 private-key
// operation costs several times what the browser's native code does, and SHA-2 of a large
// message likewise. For RSA signers the JS shim therefore hashes the canonical content and signs
// the core's signed attributes with `crypto.subtle`; the core still canonicalises the MIME,
// builds the signed attributes, checks the signature against the signer's certificate before
// using it, and writes the SignedData and the MIME. ECDSA and Ed25519 are signed by the core
// (fast enough there, and WebCrypto's ECDSA output would need re-encoding).
//
// The private key crosses into JS once per Identity, as PKCS#8 bytes handed straight to
// `importKey` as a NON-extractable CryptoKey and then wiped; the CryptoKey is kept with the
// Identity (dropped by `dispose()`) so that later signatures do not import it again.

import { isNode } from './options.js';

/** WebCrypto's hash name for each digest name Cachet takes. */
const HASHES = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' };
const HASH_LENGTHS = { sha256: 32, sha384: 48, sha512: 64 };

/** wasm Identity → Map(scheme/hash → Promise<{ key, params } | null>). */
const cache = new WeakMap();

function subtle() {
  return globalThis.crypto?.subtle;
}

/** `sha256`, `SHA-256`, ... → `sha256`; `undefined` for a name WebCrypto does not hash. */
function digestName(digest) {
  const name = String(digest).toLowerCase().replace('-', '');
  return name in HASHES ? name : undefined;
}

/**
 * `use(pkcs8)` with the identity's RSA private key as PKCS#8 bytes (the core's
 * `webCryptoSigningKey` for `digest`), wiped right after; null when there is none (not RSA) or
 * the engine refuses it (`use` throws): the core does the work then, and reports whatever is
 * wrong with the key as usual.
 */
async function withRsaKey(inner, digest, use) {
  let pkcs8;
  try {
    pkcs8 = inner.webCryptoSigningKey(digest);
  } catch {
    return null;
  }
  if (pkcs8 === undefined || pkcs8 === null) return null;
  try {
    return await use(pkcs8);
  } catch {
    return null;
  } finally {
    pkcs8.fill(0);
  }
}

function importSigner(inner, digest, rsaPss) {
  const hash = HASHES[digest];
  const name = rsaPss ? 'RSA-PSS' : 'RSASSA-PKCS1-v1_5';
  return withRsaKey(inner, digest, async (pkcs8) => {
    const key = await subtle().importKey('pkcs8', pkcs8, { name, hash }, false, ['sign']);
    // RFC 4056 / what the core writes: the salt is as long as the hash.
    const params = rsaPss ? { name, saltLength: HASH_LENGTHS[digest] } : { name };
    return { key, params };
  });
}

/**
 * The WebCrypto signer for `inner` (a wasm Identity) with this digest and scheme, or `null` when
 * the core signs (not RSA, no WebCrypto, a key WebCrypto refuses). With `keep`, the imported key
 * is kept with the identity for the next call (see `forget`).
 */
export async function webSigner(inner, digest, rsaPss, keep) {
  const name = digestName(digest);
  if (subtle() === undefined || name === undefined) return null;
  if (!keep) return importSigner(inner, name, rsaPss);
  return kept(inner, `${rsaPss ? 'pss' : 'v15'}/${name}`, () => importSigner(inner, name, rsaPss));
}

/** The promise `make()` gives, kept with `inner` under `id` (imported once per Identity). */
function kept(inner, id, make) {
  let byScheme = cache.get(inner);
  if (byScheme === undefined) {
    byScheme = new Map();
    cache.set(inner, byScheme);
  }
  let value = byScheme.get(id);
  if (value === undefined) {
    value = make();
    byScheme.set(id, value);
  }
  return value;
}

/** Drop the CryptoKeys kept for `inner` (when its Identity is disposed). */
export function forget(inner) {
  cache.delete(inner);
}

/** Does signing `size` bytes with `signer` (from `webSigner`, or null) go through `signEntity`?
 *  RSA always; other keys for large content, whose SHA-2 WebCrypto does natively. */
export function external(signer, size, threshold) {
  return signer !== null || (size >= threshold && subtle() !== undefined);
}

/**
 * The `name` (`sha256`, ...) digest of the bytes of `pieces` one after the other: in Node by
 * `node:crypto`'s hash, piece by piece (no copy: WebCrypto's digest copies its input, which must
 * be one buffer), elsewhere by WebCrypto.
 */
export async function digestOf(name, pieces) {
  const crypto = await nodeCryptoModule();
  if (crypto !== null && typeof crypto.createHash === 'function') {
    const hash = crypto.createHash(name);
    for (const piece of pieces) hash.update(piece);
    return new Uint8Array(hash.digest());
  }
  return new Uint8Array(await subtle().digest(HASHES[name], whole(pieces)));
}

/** The bytes of `pieces` as one array: the only non-empty one as it is, else joined. */
function whole(pieces) {
  const parts = pieces.filter((p) => p.length > 0);
  return parts.length === 1 ? parts[0] : joined(...parts);
}

/**
 * Sign the canonical content, the bytes of `pieces` one after the other, with `signer` (from
 * `webSigner`; null: the core signs, ECDSA and Ed25519): WebCrypto (in Node, `node:crypto`)
 * hashes it and (RSA) WebCrypto signs the core's signed attributes; `run` calls into the core
 * (mapping its errors). Returns the signed entity's parts `{ head, content, tail }`, `content`
 * being `pieces` (opaque: none), which `joined` puts together: a detached signature's content
 * is not copied into the core and back.
 */
export async function signEntity(run, inner, signer, pieces, { opaque, digest, rsaPss, when }) {
  // Ed25519 always hashes with SHA-512 (RFC 8419); the core says which digest the key uses.
  const name = signer ? digestName(digest) : await run(() => inner.signingDigest(digest));
  const value = await digestOf(name, pieces);
  let signature = new Uint8Array(0); // ECDSA, Ed25519: the core signs
  if (signer) {
    const tbs = await run(() => inner.toBeSigned(value, name, when));
    signature = new Uint8Array(await subtle().sign(signer.params, signer.key, tbs));
  }
  const content = opaque ? whole(pieces) : new Uint8Array(0);
  const [head, tail] = await run(() => inner.signEntityParts(content, value, signature, opaque, name,
    rsaPss, when));
  return { head, content: opaque ? [] : pieces, tail };
}

/** The bytes of `parts` one after the other. */
export function joined(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Digests of a large detached message's signed part made by WebCrypto, for the core's verify:
 * `[[name, digest], ...]`; `[]` (the core hashes) for small or opaque messages or without
 * WebCrypto. `where` is what the core's `detachedContent` said: `[start, end, names]`.
 */
export async function contentDigests(message, where) {
  if (where === undefined || subtle() === undefined) return [];
  const [start, end, names] = where;
  const part = message.subarray(start, end);
  const out = [];
  for (const micalg of names) {
    const name = digestName(micalg);
    if (name !== undefined) out.push([micalg, await digestOf(name, [part])]);
  }
  return out;
}

/** WebCrypto's hash name for each OAEP hash the core names (`micalg` form). */
const OAEP_HASHES = { 'sha-1': 'SHA-1', 'sha-256': 'SHA-256', 'sha-384': 'SHA-384', 'sha-512': 'SHA-512' };

function importOaep(inner, hash) {
  // RSA keys only: the same PKCS#8 as for signing.
  return withRsaKey(inner, 'sha256',
    (pkcs8) => subtle().importKey('pkcs8', pkcs8, { name: 'RSA-OAEP', hash }, false, ['decrypt']));
}

/** The RSA-OAEP CryptoKey of `inner` for `hash` (kept with the identity with `keep`). */
function oaepKey(inner, hash, keep) {
  return keep ? kept(inner, `oaep/${hash}`, () => importOaep(inner, hash)) : importOaep(inner, hash);
}

/** Node's `node:crypto` (for raw RSA), or null in a browser; loaded once. */
let nodeCrypto;
function nodeCryptoModule() {
  if (!isNode) return Promise.resolve(null);
  const name = 'node:crypto'; // hidden from bundlers: browsers never take this branch
  nodeCrypto ??= import(/* @vite-ignore */ /* webpackIgnore: true */ name)
    .then((m) => (typeof m.default?.privateDecrypt === 'function' ? m.default : null), () => null);
  return nodeCrypto;
}

async function importRaw(inner) {
  const crypto = await nodeCryptoModule();
  if (crypto === null || crypto.constants?.RSA_NO_PADDING === undefined) return null;
  return withRsaKey(inner, 'sha256',
    (pkcs8) => ({ crypto, key: crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }) }));
}

/** Node's KeyObject of `inner` for raw RSA (kept with the identity with `keep`), or null. */
function rawKey(inner, keep) {
  return keep ? kept(inner, 'raw', () => importRaw(inner)) : importRaw(inner);
}

/**
 * RSA key transport in native code (wasm has no 64-bit multiply: an RSA-2048 private-key
 * operation costs several times more in the core). For each RSA key-transport RecipientInfo of
 * `message` addressed to `inner` (the core says which):
 * - RSAES-OAEP (same hash for OAEP and MGF1, no label): WebCrypto's RSA-OAEP decrypts the
 *   encrypted key with the identity's key (imported once, non-extractable, as for signing);
 * - RSAES-PKCS1-v1_5, in Node only: `privateDecrypt` with `RSA_NO_PADDING` gives the raw RSA
 *   block (Node refuses v1.5 unpadding since CVE-2023-46809; WebCrypto has no v1.5 nor raw RSA,
 *   so in a browser the core decrypts). The core checks the block against the encrypted key
 *   with the public key and removes the padding itself, in constant time.
 * The result, or its failure, goes to the core, which uses it for the next
 * `decryptMessage`/`openMessage` only and wipes it; ours is wiped here. Anything an engine
 * refuses stays in the core.
 */
export async function webUnwrap(inner, message, keep) {
  let requests;
  try {
    requests = inner.transportRequests(message);
  } catch {
    return; // the core reports what is wrong with the message
  }
  await unwrapOutside(inner, requests, keep);
}

/** `webUnwrap` for the core's `transportRequests` (or `transportRequestsHollow`) `requests`. */
export async function unwrapOutside(inner, requests, keep) {
  for (const [encryptedKey, scheme] of requests) {
    if (scheme === 'raw') {
      const raw = await rawKey(inner, keep);
      if (raw === null) continue;
      let block;
      try {
        block = raw.crypto.privateDecrypt({ key: raw.key, padding: raw.crypto.constants.RSA_NO_PADDING },
          encryptedKey);
      } catch {
        block = undefined; // not below the modulus: fails in the core as bad padding does
      }
      inner.unwrapped(encryptedKey, block, true);
      block?.fill(0);
      continue;
    }
    if (subtle() === undefined) continue;
    const key = await oaepKey(inner, OAEP_HASHES[scheme], keep);
    if (key === null) continue;
    let cek;
    try {
      cek = new Uint8Array(await subtle().decrypt({ name: 'RSA-OAEP' }, key, encryptedKey));
    } catch {
      cek = undefined; // fails in the core as a wrong key does: DECRYPTION_FAILED
    }
    inner.unwrapped(encryptedKey, cek, false);
    cek?.fill(0);
  }
}
