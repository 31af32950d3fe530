// Bulk AES (GCM and CBC) through WebCrypto. Wasm has no AES instructions, so a large message's content is
// encrypted and decrypted here with WebCrypto (which uses the CPU's); everything else (header
// protection, signatures, RecipientInfos, key wrapping and unwrapping, DER, MIME) stays in the
// Rust core. Content keys cross into JS only for the WebCrypto call: imported non-extractable,
// and the bytes are wiped as soon as WebCrypto has them.

import { CachetError, ERROR_CODES } from './errors.js';

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

/** Encrypt `entity` with a fresh random key and IV: `{ cek, iv, data }` (GCM: tag last). */
export async function contentEncrypt(entity, cipher) {
  const c = CIPHERS[cipher];
  const cek = globalThis.crypto.getRandomValues(new Uint8Array(c.key));
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(c.iv));
  try {
    const key = await subtle().importKey('raw', cek, c.name, false, ['encrypt']);
    const data = await subtle().encrypt(params(cipher, iv), key, entity);
    return { cek, iv, data: new Uint8Array(data) };
  } catch (err) {
    cek.fill(0);
    throw err;
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
