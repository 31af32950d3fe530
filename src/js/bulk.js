// Bulk AES-GCM through WebCrypto. Wasm has no AES instructions, so a large message's content is
// encrypted and decrypted here with WebCrypto (which uses the CPU's); everything else (header
// protection, signatures, RecipientInfos, key wrapping and unwrapping, DER, MIME) stays in the
// Rust core. Content keys cross into JS only for the WebCrypto call: imported non-extractable,
// and the bytes are wiped as soon as WebCrypto has them.

import { CachetError, ERROR_CODES } from './errors.js';

/** Content at least this large goes through WebCrypto (smaller: one wasm call is faster). */
export const BULK_THRESHOLD = 256 * 1024;

const GCM = { 'aes128-gcm': 16, 'aes256-gcm': 32 };

function subtle() {
  return globalThis.crypto?.subtle;
}

/** Should content of `size` bytes with `cipher` go through WebCrypto here? */
export function bulk(size, cipher) {
  return size >= BULK_THRESHOLD && cipher in GCM && subtle() !== undefined;
}

/** Encrypt `entity` with a fresh random key: `{ cek, nonce, data }` (data = ciphertext, tag). */
export async function gcmEncrypt(entity, cipher) {
  const cek = globalThis.crypto.getRandomValues(new Uint8Array(GCM[cipher]));
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(12));
  try {
    const key = await subtle().importKey('raw', cek, 'AES-GCM', false, ['encrypt']);
    const data = await subtle().encrypt({ name: 'AES-GCM', iv: nonce, tagLength: 128 }, key, entity);
    return { cek, nonce, data: new Uint8Array(data) };
  } catch (err) {
    cek.fill(0);
    throw err;
  }
}

/** Decrypt what `externalGcm` found, trying each candidate key; `undefined` if none opens it. */
export async function gcmDecrypt(found) {
  try {
    for (const raw of found.keys) {
      let key;
      try {
        key = await subtle().importKey('raw', raw, 'AES-GCM', false, ['decrypt']);
      } finally {
        raw.fill(0);
      }
      try {
        const params = { name: 'AES-GCM', iv: found.nonce, tagLength: 128 };
        if (found.aad.length > 0) params.additionalData = found.aad;
        return new Uint8Array(await subtle().decrypt(params, key, found.data));
      } catch {
        // The tag did not verify with this key: try the next; all failing is DECRYPTION_FAILED.
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
