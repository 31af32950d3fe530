// Cachet: S/MIME for the web. The public JavaScript API.
//
// Every function is async and takes ONE options object; unknown keys and wrong types throw a
// CachetError with code API_MISUSE. Errors mean "could not process"; a signature that does not
// hold is reported per signer by `verify`, not thrown.

import initWasm, * as wasm from './cachet_wasm.js';
import {
  BULK_THRESHOLD, bulk, contentDecrypt, decryptContentInPlace, decryptInPlace, decryptionFailed,
  encryptExternal, headerSection,
} from './bulk.js';
import { CachetError, ERROR_CODES, misuse, wrap } from './errors.js';
import { KeyStore } from './keystore.js';
import {
  contentDigests, external as signsOutside, forget, joined, signEntity, webSigner, webUnwrap,
} from './websign.js';
import { bytes, checkOptions, isNode } from './options.js';

export { CachetError, ERROR_CODES };

const WASM_URL = new URL('./cachet_wasm_bg.wasm', import.meta.url);

let ready = null;

/**
 * Load the WebAssembly module. Called for you by every function; call it yourself to load early
 * or from another place. `source`: a `WebAssembly.Module`, the bytes (`BufferSource`), a URL, a
 * `Response`, or (Node) a file path. Loads once; later calls return the same promise.
 */
export function init(source) {
  ready ??= load(source).catch((err) => {
    ready = null;
    throw wrap(err);
  });
  return ready;
}

async function load(source) {
  if (source instanceof WebAssembly.Module || ArrayBuffer.isView(source) ||
      source instanceof ArrayBuffer) {
    wasm.initSync({ module: source });
    return;
  }
  const where = source ?? WASM_URL;
  const isFile = typeof where === 'string' ? !/^[a-z][a-z0-9+.-]*:\/\//i.test(where)
    : where instanceof URL && where.protocol === 'file:';
  if (isNode && isFile) {
    const fsName = 'node:fs/promises'; // hidden from bundlers: browsers never take this branch
    const { readFile } = await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName);
    wasm.initSync({ module: await readFile(where) });
    return;
  }
  await initWasm({ module_or_path: where });
}

async function call(fn) {
  await init();
  try {
    return fn();
  } catch (err) {
    throw wrap(err);
  }
}

// ---- option checking ------------------------------------------------------------------------

function optionalBytes(value, name) {
  return value === undefined || value === null ? undefined : bytes(value, name);
}

/** One item or an array of items (PEM strings or bytes) -> array of Uint8Array. */
function byteList(value, name) {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, i) => {
    if (item instanceof Certificate) return item.der;
    return bytes(item, `${name}[${i}]`);
  });
}

function boolean(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw misuse(`${name}: expected a boolean`);
  return value;
}

function time(value, name) {
  if (value === undefined) return Date.now();
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw misuse(`${name}: expected a valid Date`);
  }
  return value.getTime();
}

// ---- certificates and identities ------------------------------------------------------------

function toPem(der) {
  let binary = '';
  for (let i = 0; i < der.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, der.subarray(i, i + 0x8000));
  }
  const b64 = btoa(binary).replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** A certificate as DER bytes, with its PEM form on demand. */
export class Certificate {
  /** @param {Uint8Array} der */
  constructor(der) {
    /** The DER encoding. */
    this.der = der;
  }

  /** The PEM encoding (`-----BEGIN CERTIFICATE-----`). */
  get pem() {
    return toPem(this.der);
  }

  toJSON() {
    return this.pem;
  }
}

/**
 * A loaded signing identity (private key, certificate, chain), from `readIdentity`. The key stays
 * inside the WebAssembly module (an RSA key is also imported, non-extractable, into WebCrypto the
 * first time it signs); call `dispose()` to wipe it and drop that CryptoKey as soon as you are done.
 */
export class Identity {
  #inner;

  constructor(inner) {
    if (!(inner instanceof wasm.Identity)) throw misuse('use readIdentity() to make an Identity');
    this.#inner = inner;
    /** The certificate. */
    this.certificate = new Certificate(inner.certificate);
    /** The addresses the certificate names, lowercased. */
    this.emails = inner.emails;
    /** The certificate's subject (RFC 4514). */
    this.subject = inner.subject;
  }

  /** @internal */
  get inner() {
    if (!this.#inner) throw misuse('this Identity was disposed');
    return this.#inner;
  }

  /** Wipe the private key now (otherwise it is wiped when garbage collected). */
  dispose() {
    if (this.#inner) forget(this.#inner);
    this.#inner?.free();
    this.#inner = null;
  }
}

const IDENTITY_OPTIONS = ['privateKey', 'certificate', 'password', 'chain'];

function loadIdentity(options, fn) {
  checkOptions(options, fn, IDENTITY_OPTIONS);
  if (options.privateKey === undefined) throw misuse(`${fn}: privateKey is required`);
  const key = bytes(options.privateKey, 'privateKey');
  const cert = options.certificate instanceof Certificate ? options.certificate.der
    : optionalBytes(options.certificate, 'certificate');
  const { password } = options;
  if (password !== undefined && password !== null && typeof password !== 'string') {
    throw misuse(`${fn}: password: expected a string`);
  }
  const chain = byteList(options.chain, 'chain');
  try {
    return wasm.loadIdentity(key, cert, password ?? undefined, chain);
  } finally {
    if (typeof options.privateKey === 'string') key.fill(0); // our copy, not the caller's bytes
  }
}

/**
 * Load a signing identity: a private key (PEM/DER PKCS#8, encrypted PKCS#8, PKCS#1, SEC1, or a
 * PKCS#12 `.p12`), its certificate (unless the `.p12` holds it), an optional password and chain.
 * @returns {Promise<Identity>}
 */
export async function readIdentity(options) {
  return call(() => new Identity(loadIdentity(options, 'readIdentity')));
}

// ---- sign and verify ------------------------------------------------------------------------

const DIGESTS = ['sha256', 'sha384', 'sha512'];

/**
 * Sign a message (RFC 5322, or a bare MIME entity). Returns the signed message, of the same type
 * as `message` (string in, string out).
 */
export async function sign(options) {
  checkOptions(options, 'sign',
    ['message', 'signingKeys', 'detached', 'digest', 'rsaPss', 'date', 'store']);
  const message = bytes(options.message, 'message');
  const detached = boolean(options.detached, 'detached', true);
  const rsaPss = boolean(options.rsaPss, 'rsaPss', false);
  const digest = options.digest ?? 'sha256';
  if (typeof digest !== 'string' || !DIGESTS.includes(digest.toLowerCase().replace('-', ''))) {
    throw misuse(`sign: digest: expected one of ${DIGESTS.join(', ')}`);
  }
  const when = time(options.date, 'date');
  let keys = options.signingKeys;
  if (keys === undefined) throw misuse('sign: signingKeys is required');
  if (typeof keys === 'string') keys = await storeIdentity(options.store, keys);
  if (!(keys instanceof Identity) && (keys === null || typeof keys !== 'object')) {
    throw misuse('sign: signingKeys: expected an Identity or { privateKey, certificate, ... }');
  }
  const owned = keys instanceof Identity ? null
    : await call(() => loadIdentity(keys, 'sign: signingKeys'));
  let signed;
  try {
    const inner = owned ?? keys.inner;
    // RSA, and large content for any key: WebCrypto hashes (and RSA: signs), the core does the
    // rest (see websign.js).
    const signer = await webSigner(inner, digest, rsaPss, owned === null);
    if (signsOutside(signer, message.length, BULK_THRESHOLD)) {
      // The entity is `head` and the body as it is in the message (not copied) when canonical.
      const [outer, head, from, to] = await call(() => splitMessage(message));
      const parts = await signEntity(call, inner, signer, [head, message.subarray(from, to)],
        { opaque: !detached, digest, rsaPss, when });
      const start = await call(() => wasm.joinMessage(outer, parts.head));
      signed = joined(start, ...parts.content, parts.tail);
    } else {
      signed = await call(() => wasm.signMessage(message, inner, !detached, digest, rsaPss, when));
    }
  } finally {
    owned?.free();
  }
  return typeof options.message === 'string' ? new TextDecoder().decode(signed) : signed;
}

/**
 * Verify a signed message (detached `multipart/signed` or opaque `application/pkcs7-mime`).
 * Throws only when the message cannot be processed (e.g. NOT_SIGNED); a signature that does not
 * hold is reported in `signers[i].status` and `signers[i].code`.
 */
export async function verify(options) {
  checkOptions(options, 'verify',
    ['message', 'trustAnchors', 'certificates', 'crls', 'date', 'store']);
  const message = bytes(options.message, 'message');
  const anchors = byteList(options.trustAnchors, 'trustAnchors');
  const extra = byteList(options.certificates, 'certificates');
  if (options.store !== undefined) {
    const store = checkStore(options.store, 'verify');
    anchors.push(...byteList(await store.trustAnchors(), 'trustAnchors'));
    extra.push(...byteList(await store.certificates(), 'certificates'));
  }
  const crls = byteList(options.crls, 'crls');
  const when = time(options.date, 'date');
  // A large detached message's signed part is hashed by WebCrypto (native SHA-2), the rest here:
  // from the core's reading of the message in pieces (never whole in wasm memory) where it
  // can, else from the whole message.
  let where;
  let digests;
  let report;
  const skeleton = message.length >= BULK_THRESHOLD
    ? await call(() => readSkeleton(message)) : undefined;
  try {
    where = await call(() => skeleton?.detached());
    digests = await contentDigests(message, where);
    if (where !== undefined && digests.length === where[2].length) {
      report = await call(() => skeleton.verify(anchors, extra, crls, when, digests));
    }
  } finally {
    skeleton?.free();
  }
  if (report === undefined) {
    where = message.length >= BULK_THRESHOLD
      ? await call(() => wasm.detachedContent(message)) : undefined;
    digests = await contentDigests(message, where);
    report = await call(() => wasm.verifyMessage(message, anchors, extra, crls, when, digests));
  }
  const signers = report.signers.map((s) => ({
    ...s,
    signingTime: s.signingTime === null || s.signingTime === undefined
      ? null : new Date(s.signingTime),
    certificate: s.certificate ? new Certificate(s.certificate) : null,
    chain: s.chain.map((der) => new Certificate(der)),
  }));
  return {
    valid: signers.length > 0 && signers.every((s) => s.status === 'valid'),
    opaque: report.opaque,
    from: report.from ?? null,
    // Digests made here: the core left the content to us (a copy, so that it does not share the
    // caller's buffer; our own encoding of a string input can be shared).
    content: digests.length === 0 ? report.content
      : typeof options.message === 'string' ? message.subarray(where[0], where[1])
        : message.slice(where[0], where[1]),
    signers,
  };
}

/** Every error code and its description, as `[code, description]` pairs, from the core. */
export async function errorCodes() {
  return call(() => wasm.errorCodes());
}

// ---- encrypt, decrypt, open -----------------------------------------------------------------

/** The Header Confidentiality Policies of RFC 9788 that `seal` applies. */
const HCPS = ['hcp_baseline', 'hcp_shy', 'hcp_no_confidentiality'];
const CIPHERS = ['aes256-gcm', 'aes128-gcm', 'chacha20-poly1305', 'aes256-cbc', 'aes128-cbc'];

/** One identity option or a list -> array of { identity, owned } (owned ones are freed after). */
function identities(value, fn) {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item, i) => {
    if (item instanceof Identity) return { inner: item.inner, owned: false };
    if (item === null || typeof item !== 'object') {
      throw misuse(`${fn}[${i}]: expected an Identity or { privateKey, certificate, ... }`);
    }
    return { inner: loadIdentity(item, `${fn}[${i}]`), owned: true };
  });
}

function freeAll(ids) {
  for (const id of ids) if (id.owned) id.inner.free();
}

function sameType(input, output) {
  return typeof input === 'string' ? new TextDecoder().decode(output) : output;
}

/**
 * Encrypt a message to every certificate in `encryptionKeys` (PEM/DER, `Certificate`s; include
 * the sender's own certificate to keep the Sent copy readable). With `signingKeys`, the message
 * is signed first (sign-then-encrypt); `tripleWrap` signs the encrypted message again.
 */
export async function encrypt(options) {
  checkOptions(options, 'encrypt', [
    'message', 'encryptionKeys', 'cipher', 'capabilities', 'rsaOaep', 'recipientIdentifier',
    'signingKeys', 'detached', 'digest', 'rsaPss', 'tripleWrap', 'date', 'store',
  ]);
  const rid = options.recipientIdentifier ?? 'issuerAndSerialNumber';
  if (!['issuerAndSerialNumber', 'subjectKeyIdentifier'].includes(rid)) {
    throw misuse('encrypt: recipientIdentifier: issuerAndSerialNumber or subjectKeyIdentifier');
  }
  if (options.capabilities !== undefined && options.cipher !== undefined) {
    throw misuse('encrypt: give either cipher or capabilities');
  }
  const named = await storeRecipients(options.store, options.encryptionKeys, options.date);
  if (named.capabilities && options.cipher === undefined && options.capabilities === undefined) {
    options = { ...options, capabilities: named.capabilities };
  }
  if (options.capabilities !== undefined && !Array.isArray(options.capabilities)) {
    throw misuse('encrypt: capabilities: expected one entry (array of names, or null) per recipient');
  }
  const cipher = options.capabilities !== undefined
    ? await call(() => wasm.chooseCipher(options.capabilities))
    : options.cipher ?? 'aes256-gcm';
  if (!CIPHERS.includes(cipher)) {
    throw misuse(`encrypt: cipher: expected one of ${CIPHERS.join(', ')}`);
  }
  const rsaOaep = boolean(options.rsaOaep, 'rsaOaep', false);
  const tripleWrap = boolean(options.tripleWrap, 'tripleWrap', false);
  const recipients = byteList(named.keys, 'encryptionKeys');
  if (recipients.length === 0) throw misuse('encrypt: encryptionKeys: at least one certificate');
  if (tripleWrap && options.signingKeys === undefined) {
    throw misuse('encrypt: tripleWrap needs signingKeys');
  }
  const signOptions = (message) => ({
    message, signingKeys: options.signingKeys, detached: options.detached, digest: options.digest,
    rsaPss: options.rsaPss, date: options.date,
    ...(options.store === undefined ? {} : { store: options.store }),
  });
  let message = bytes(options.message, 'message');
  if (options.signingKeys !== undefined) message = await sign(signOptions(message));
  const byKeyId = rid === 'subjectKeyIdentifier';
  let out;
  if (bulk(message.length, cipher)) {
    // The entity is `head` and the body as it is in the message (not copied) when canonical.
    const [outer, head, start, end] = await call(() => splitMessage(message));
    out = await encryptExternal([head, message.subarray(start, end)], cipher,
      framer(outer, recipients, cipher, rsaOaep, byKeyId));
  } else {
    out = await call(() => wasm.encryptMessage(message, recipients, cipher, rsaOaep, byKeyId));
  }
  if (tripleWrap) out = await sign(signOptions(out));
  return sameType(options.message, out);
}

/**
 * `openDecrypted` for a large plaintext decrypted in place, read by the core in pieces (never
 * whole in wasm memory) and, when it is a detached signed message, with WebCrypto's digests of
 * its signed part: the report, whose `content` is a view of the plaintext. `undefined` when the
 * core cannot open it so (a nested or opaque layer, line ends to convert): the caller opens the
 * whole plaintext. `verifying`: `[anchors, certificates, crls, when]`.
 */
async function openInPieces({ header, plaintext, cipher }, verifying) {
  if (plaintext === undefined || plaintext.length < BULK_THRESHOLD) return undefined;
  const skeleton = await call(() => readSkeleton(plaintext));
  try {
    const where = await call(() => skeleton.detached());
    const digests = await contentDigests(plaintext, where);
    if (where !== undefined && digests.length !== where[2].length) return undefined;
    const report = await call(() => skeleton.open(header, cipher, ...verifying, digests));
    if (report === undefined) return undefined;
    const [start, end] = report.contentRange;
    delete report.contentRange;
    report.content = plaintext.subarray(start, end);
    return report;
  } finally {
    skeleton.free();
  }
}

/** The core reads a large message to split in pieces of this size. */
const SKELETON_PIECE = 1024 * 1024;

/**
 * `[outer, head, start, end]` of `message` for signing or encryption (the core's
 * `splitMessage`: the entity is `head` and then `message[start..end]`). A large message is read
 * by the core in pieces (`MessageSkeleton`), never whole in wasm memory, which would keep its
 * size for good; where that cannot say (line ends to convert, a part to re-encode), the core
 * splits the whole message.
 */
function splitMessage(message) {
  if (message.length >= BULK_THRESHOLD) {
    const skeleton = readSkeleton(message);
    try {
      const split = skeleton.split();
      if (split !== undefined) return split;
    } finally {
      skeleton.free();
    }
  }
  return wasm.splitMessage(message);
}

/**
 * `seal`'s header protection of a large message read by the core in pieces (never whole in
 * wasm memory): `[outer, prefix, start]`, the payload being `prefix` and then
 * `message[start..]`; `undefined` where the core cannot say so (a Legacy Display Element that
 * changes more than a text part's start, line ends to convert, a part to re-encode): the core
 * protects the whole message then.
 */
function protectInPieces(message, encrypt, hp, legacy, hcp) {
  if (message.length < BULK_THRESHOLD) return undefined;
  const skeleton = readSkeleton(message);
  try {
    return skeleton.protect(encrypt, hp, legacy, hcp);
  } finally {
    skeleton.free();
  }
}

/** The header section of `message` (bytes) as text: up to its first empty line. */
function headerText(message) {
  for (let at = message.indexOf(10); at !== -1; at = message.indexOf(10, at + 1)) {
    const next = message[at + 1] === 13 ? at + 2 : at + 1;
    if (message[next] === 10) return new TextDecoder().decode(message.subarray(0, at + 1));
  }
  return new TextDecoder().decode(message);
}

/** The core's `MessageSkeleton` of `message`, fed in pieces (the caller frees it). */
function readSkeleton(message) {
  const skeleton = new wasm.MessageSkeleton();
  let more = true;
  for (let at = 0; more && at < message.length; at += SKELETON_PIECE) {
    more = skeleton.feed(message.subarray(at, at + SKELETON_PIECE));
  }
  return skeleton;
}

/** What `encryptExternal` (bulk.js) needs of the core: the outer header fields and
 *  RecipientInfos around content WebCrypto encrypts, base64 lines, the GCM tag. */
function framer(outer, recipients, cipher, rsaOaep, byKeyId) {
  return {
    frame: (cek, iv, length, tag) => call(() => wasm.frameExternal(outer, cek, iv, length, tag,
      recipients, cipher, rsaOaep, byKeyId)),
    lines: wasm.base64Lines,
    GcmTag: wasm.GcmTag,
    GcmChunks: wasm.GcmChunks,
  };
}

/**
 * Decrypt a message with the first of `decryptionKeys` it is addressed to. Returns
 * `{ message, cipher, authenticated }`; `authenticated` is false for AES-CBC (see `open`).
 */
export async function decrypt(options) {
  checkOptions(options, 'decrypt', ['message', 'decryptionKeys', 'store']);
  const message = bytes(options.message, 'message');
  const keys = await storeDecryptionKeys(options.store, options.decryptionKeys, 'decrypt');
  await init();
  const ids = await call(() => identities(keys, 'decrypt: decryptionKeys'));
  try {
    if (ids.length === 0) throw misuse('decrypt: decryptionKeys is required');
    let lastError;
    for (const id of ids) {
      try {
        // Large AES (GCM, CBC) content: the core unwraps the key, WebCrypto decrypts; in place
        // (base64 decoded here, the ciphertext never in wasm) when the envelope allows it.
        const large = message.length >= BULK_THRESHOLD && bulk(Infinity, 'aes256-gcm');
        let d = null;
        if (large) {
          d = await decryptInPlace(message, id.inner, wasm, !id.owned).catch((err) => { throw wrap(err); });
        }
        if (d === null) {
          const found = large ? await call(() => id.inner.externalContent(message)) : null;
          if (found) {
            const plaintext = await contentDecrypt(found);
            found.data = null; // the ciphertext is not needed any more
            if (plaintext === undefined) throw decryptionFailed();
            d = await call(() => wasm.decryptedMessage(headerSection(message), plaintext, found.cipher));
          } else {
            // Small messages (where the RSA operation is most of the time): RSA-OAEP key
            // transport through WebCrypto when it can (websign.js).
            if (!large) await webUnwrap(id.inner, message, !id.owned);
            d = await call(() => id.inner.decryptMessage(message));
          }
        }
        return { ...d, message: sameType(options.message, d.message) };
      } catch (err) {
        lastError = err;
        if (err?.code !== 'NOT_RECIPIENT') throw err;
      }
    }
    throw lastError;
  } finally {
    freeAll(ids);
  }
}

function mapSigner(s) {
  return {
    ...s,
    signingTime: s.signingTime === null || s.signingTime === undefined
      ? null : new Date(s.signingTime),
    certificate: s.certificate ? new Certificate(s.certificate) : null,
    chain: s.chain.map((der) => new Certificate(der)),
  };
}

/**
 * Open a message: unwrap every signed and encrypted layer (any nesting), decrypting with
 * `decryptionKeys` and verifying against `trustAnchors`. Returns `{ layers, content, headers,
 * authenticated, signedValid }`: layers outermost first (`{ type: 'enveloped' | 'authEnveloped'
 * | 'signed' | 'undecryptable', ... }`); `authenticated` is false when nothing protects the
 * content against modification (AES-CBC without a signature): show such content as unverified.
 */
export async function open(options) {
  checkOptions(options, 'open', [
    'message', 'decryptionKeys', 'trustAnchors', 'certificates', 'crls', 'date', 'store',
    'onProgress',
  ]);
  const message = bytes(options.message, 'message');
  // Stages: decrypt and verify when WebCrypto decrypts the content, else open; then done.
  const stages = ['open', 'done'];
  const progress = reporter(options.onProgress, 'open', stages);
  const anchors = byteList(options.trustAnchors, 'trustAnchors');
  const extra = byteList(options.certificates, 'certificates');
  const crls = byteList(options.crls, 'crls');
  const when = time(options.date, 'date');
  let keys = options.decryptionKeys;
  if (options.store !== undefined) {
    const store = checkStore(options.store, 'open');
    anchors.push(...byteList(await store.trustAnchors(), 'trustAnchors'));
    extra.push(...byteList(await store.certificates(), 'certificates'));
    keys ??= await store.unlockedIdentities();
  }
  const openWith = async (id) => {
    // Large AES (GCM, CBC) content: the core unwraps the key, WebCrypto decrypts, the core goes on.
    const wanted = (message.length >= BULK_THRESHOLD || options.onProgress !== undefined)
      && bulk(Infinity, 'aes256-gcm');
    // In place when the envelope allows it (base64 decoded here, the ciphertext never in wasm);
    // the core then needs only the header section with the plaintext.
    const decrypting = async (bytes) => {
      stages.splice(0, stages.length, 'decrypt', 'verify', 'done');
      await progress('decrypt', bytes);
    };
    const inPlace = wanted
      ? await decryptContentInPlace(message, id.inner, wasm, decrypting, 0, !id.owned)
        .catch((err) => { throw wrap(err); })
      : null;
    if (inPlace) {
      await progress('verify', inPlace.plaintext?.length ?? 0);
      const fromPieces = await openInPieces(inPlace, [anchors, extra, crls, when]);
      return fromPieces ?? call(() => id.inner.openDecrypted(inPlace.header, inPlace.plaintext,
        inPlace.cipher, anchors, extra, crls, when));
    }
    const found = wanted ? await call(() => id.inner.externalContent(message)) : null;
    if (!found) {
      await progress('open', message.length);
      if (message.length < BULK_THRESHOLD) await webUnwrap(id.inner, message, !id.owned);
      return call(() => id.inner.openMessage(message, anchors, extra, crls, when));
    }
    stages.splice(0, stages.length, 'decrypt', 'verify', 'done');
    await progress('decrypt', found.data.length);
    const plaintext = await contentDecrypt(found);
    found.data = null; // the ciphertext is not needed any more
    await progress('verify', plaintext?.length ?? 0);
    return call(() => id.inner.openDecrypted(headerSection(message), plaintext, found.cipher, anchors,
      extra, crls, when));
  };
  await init();
  const ids = await call(() => identities(keys, 'open: decryptionKeys'));
  let report;
  try {
    if (ids.length === 0) {
      await progress('open', message.length);
      report = await call(() => wasm.openMessage(message, anchors, extra, crls, when));
    }
    for (const id of ids) {
      const r = await openWith(id);
      report ??= r;
      if (!r.layers.some((l) => l.type === 'undecryptable' && l.code === 'NOT_RECIPIENT')) {
        report = r;
        break;
      }
    }
  } finally {
    freeAll(ids);
  }
  await progress('done', report.content.length);
  const decoder = new TextDecoder();
  const protectedHeaders = report.protected
    ? {
      mode: report.protected.mode,
      fields: report.protected.fields,
      disagreements: report.protected.disagreements,
      legacyDisplay: report.protected.legacyDisplay,
      modeMismatch: report.protected.modeMismatch,
    }
    : null;
  return {
    layers: report.layers.map((l) => (l.signers ? { ...l, signers: l.signers.map(mapSigner) } : l)),
    content: report.content,
    headers: decoder.decode(report.headers),
    protectedHeaders,
    authenticated: report.authenticated,
    signedValid: report.signedValid,
  };
}

// ---- compose and seal -----------------------------------------------------------------------

const COMPOSE_OPTIONS = ['from', 'to', 'cc', 'bcc', 'replyTo', 'subject', 'text', 'html',
  'attachments', 'inReplyTo', 'references', 'headers', 'date'];

function stringList(value, name) {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const item of list) {
    if (typeof item !== 'string') throw misuse(`${name}: expected strings`);
  }
  return list;
}

function optionalString(value, name) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw misuse(`${name}: expected a string`);
  return value;
}

/** The addr-spec of `Name <addr>` or `addr`. */
function addrSpec(text) {
  const m = /<([^<>]+)>\s*$/.exec(text);
  return (m ? m[1] : text).trim();
}

function composeArgs(options, fn) {
  checkOptions(options, fn, COMPOSE_OPTIONS);
  const from = optionalString(options.from, 'from');
  if (from === undefined) throw misuse(`${fn}: from is required`);
  const attachments = (options.attachments ?? []).map((a, i) => {
    if (a === null || typeof a !== 'object') throw misuse(`attachments[${i}]: expected an object`);
    checkOptions(a, `attachments[${i}]`, ['filename', 'contentType', 'data']);
    return {
      filename: optionalString(a.filename, `attachments[${i}].filename`) ?? 'attachment',
      contentType: optionalString(a.contentType, `attachments[${i}].contentType`) ?? '',
      data: bytes(a.data, `attachments[${i}].data`),
    };
  });
  const headers = Object.entries(options.headers ?? {}).map(([k, v]) => {
    if (typeof v !== 'string') throw misuse(`headers.${k}: expected a string`);
    return [k, v];
  });
  return {
    args: [from, stringList(options.to, 'to'), stringList(options.cc, 'cc'),
      stringList(options.bcc, 'bcc'), stringList(options.replyTo, 'replyTo'),
      optionalString(options.subject, 'subject') ?? '', optionalString(options.text, 'text'),
      optionalString(options.html, 'html'), attachments,
      optionalString(options.inReplyTo, 'inReplyTo'), stringList(options.references, 'references'),
      headers, time(options.date, 'date')],
    envelope: {
      mailFrom: addrSpec(from),
      rcptTo: [...stringList(options.to, 'to'), ...stringList(options.cc, 'cc'),
        ...stringList(options.bcc, 'bcc')].map(addrSpec),
    },
  };
}

/**
 * Compose an RFC 5322 message: UTF-8 headers, text and/or HTML (multipart/alternative),
 * attachments (`{ filename, contentType, data }`), Message-ID and Date (`date`, default now).
 * Bcc is never written into the message. Returns the message as a string (CRLF).
 */
export async function compose(options) {
  const { args } = composeArgs(options, 'compose');
  const out = await call(() => wasm.composeMessage(...args));
  return new TextDecoder().decode(out);
}

/**
 * A progress callback for a multi-step operation: `onProgress({ stage, step, steps, bytes })`
 * before each stage (`step` counts from 1; the last stage is `done`), after yielding to the event
 * loop so that a page or worker can show it. Errors thrown by the callback propagate.
 */
function reporter(onProgress, fn, stages) {
  if (onProgress === undefined) return async () => {};
  if (typeof onProgress !== 'function') throw misuse(`${fn}: onProgress: expected a function`);
  return async (stage, bytes) => {
    await new Promise((resolve) => { setTimeout(resolve, 0); });
    onProgress({ stage, step: stages.indexOf(stage) + 1, steps: stages.length, bytes });
  };
}

/**
 * Protect a message for sending: sign with `signingKeys` (unless `sign: false`) and encrypt to
 * `encryptionKeys` (when `encrypt: true`; include the sender's own certificate to keep the Sent
 * copy readable), with RFC 9788 header protection (`headerProtection`, default true; encrypted
 * mail shows outside what the Header Confidentiality Policy `hcp` leaves: `'hcp_baseline'`, the
 * default, gives the Subject "[...]"; `'hcp_shy'` also drops display names from From/To/Cc and
 * gives the Date in UTC; `'hcp_no_confidentiality'` hides nothing; `legacyDisplay`, default true,
 * repeats what was hidden at the top of the text and HTML body for older clients). Give `message` (RFC
 * 5322) or `compose` (the options of `compose`). Returns `{ message, envelope }`: the message as a
 * string, or with `output: 'bytes'` as a Uint8Array (for large mail: no second copy as a string);
 * the envelope (`mailFrom`, `rcptTo`, Bcc included) is what a submission needs.
 */
export async function seal(options) {
  checkOptions(options, 'seal', ['message', 'compose', 'sign', 'encrypt', 'signingKeys',
    'encryptionKeys', 'cipher', 'capabilities', 'rsaOaep', 'detached', 'digest', 'rsaPss',
    'headerProtection', 'hcp', 'legacyDisplay', 'bcc', 'date', 'store', 'onProgress', 'output']);
  const doSign = boolean(options.sign, 'sign', true);
  // The message as a string (default) or as the bytes it is written in: a large message then
  // exists once (the string would be a second copy of its size) and goes to submit() as is.
  const output = options.output ?? 'string';
  if (output !== 'string' && output !== 'bytes') throw misuse("seal: output: 'string' or 'bytes'");
  const doEncrypt = boolean(options.encrypt, 'encrypt', false);
  if (!doSign && !doEncrypt) throw misuse('seal: sign, encrypt, or both');
  if ((options.message === undefined) === (options.compose === undefined)) {
    throw misuse('seal: give either message or compose');
  }
  // Stages: compose (if asked), sign (or protect), encrypt (a stage of its own when WebCrypto
  // does it), done. Which of these there are is settled once the cipher is known.
  const stages = [...(options.compose !== undefined ? ['compose'] : []), doSign ? 'sign' : 'protect',
    'done'];
  const progress = reporter(options.onProgress, 'seal', stages);
  let message;
  let envelope;
  let composeWith;
  if (options.compose !== undefined) {
    const c = composeArgs(options.compose, 'seal: compose');
    composeWith = c.args; // composed below, once every check has passed
    envelope = c.envelope;
  } else {
    message = bytes(options.message, 'message');
    envelope = envelopeOf(headerText(message), stringList(options.bcc, 'bcc'));
  }
  let storeCapabilities;
  let recipients = [];
  if (doEncrypt && options.encryptionKeys === undefined && options.store !== undefined) {
    // Every envelope recipient and the sender, looked up by address; all missing ones at once.
    const found = await storeSealRecipients(options.store,
      [...new Set([...envelope.rcptTo, envelope.mailFrom].map((a) => a.toLowerCase()))], options.date);
    recipients = byteList(found.keys, 'encryptionKeys');
    storeCapabilities = found.capabilities;
  } else if (doEncrypt) {
    recipients = byteList(options.encryptionKeys, 'encryptionKeys');
  }
  if (doEncrypt && recipients.length === 0) {
    throw misuse('seal: encrypt needs encryptionKeys or a store (every recipient, and the sender)');
  }
  if (options.capabilities !== undefined && options.cipher !== undefined) {
    throw misuse('seal: give either cipher or capabilities');
  }
  if (storeCapabilities && options.cipher === undefined && options.capabilities === undefined) {
    options = { ...options, capabilities: storeCapabilities };
  }
  const cipher = options.capabilities !== undefined
    ? await call(() => wasm.chooseCipher(options.capabilities))
    : options.cipher ?? 'aes256-gcm';
  if (!CIPHERS.includes(cipher)) throw misuse(`seal: cipher: expected one of ${CIPHERS.join(', ')}`);
  const rsaOaep = boolean(options.rsaOaep, 'rsaOaep', false);
  const hp = boolean(options.headerProtection, 'headerProtection', true);
  const legacy = boolean(options.legacyDisplay, 'legacyDisplay', true);
  const hcp = options.hcp ?? 'hcp_baseline';
  if (!HCPS.includes(hcp)) throw misuse(`seal: hcp: expected one of ${HCPS.join(', ')}`);
  const detached = boolean(options.detached, 'detached', true);
  const rsaPss = boolean(options.rsaPss, 'rsaPss', false);
  const digest = options.digest ?? 'sha256';
  if (typeof digest !== 'string' || !DIGESTS.includes(digest.toLowerCase().replace('-', ''))) {
    throw misuse(`seal: digest: expected one of ${DIGESTS.join(', ')}`);
  }
  const when = time(options.date, 'date');
  let signingKeys = options.signingKeys;
  if (doSign && options.store !== undefined
      && (signingKeys === undefined || typeof signingKeys === 'string')) {
    signingKeys = await storeIdentity(options.store, signingKeys ?? envelope.mailFrom);
  }
  // Large AES (GCM, CBC) content: the core protects and signs, WebCrypto encrypts, the core finishes.
  // With onProgress, any size takes that path, so that signing and encrypting are two steps.
  if (options.onProgress !== undefined && doEncrypt && bulk(Infinity, cipher)) {
    stages.splice(stages.length - 1, 0, 'encrypt');
  }
  if (composeWith) {
    await progress('compose', 0);
    message = await call(() => wasm.composeMessage(...composeWith));
  }
  const external = doEncrypt
    && bulk(options.onProgress === undefined ? message.length : Infinity, cipher);
  await progress(doSign ? 'sign' : 'protect', message.length);
  const step = external ? 'prepare' : 'whole';
  // A large message: protected by the core from its reading in pieces where it can (the payload
  // is `prefix` and then the message's own bytes), so that it is never whole in wasm memory.
  // WebCrypto hashes (and encrypts) it then; without WebCrypto the core does all, whole.
  const pieces = bulk(message.length, 'aes256-gcm') && (external || !doEncrypt)
    ? await call(() => protectInPieces(message, doEncrypt, hp, legacy, hcp)) : undefined;
  // `[outer, payload pieces]` from that reading, or `undefined`.
  const protectedPieces = pieces && [pieces[0], [pieces[1], message.subarray(pieces[2])]];
  let out;
  if (protectedPieces !== undefined && !doSign) {
    out = protectedPieces;
  } else if (!doSign) {
    out = await call(() => wasm.sealMessageUnsigned(message, recipients, cipher, rsaOaep, hp,
      legacy, hcp, step));
  } else {
    const ids = await call(() => identities(signingKeys, 'seal: signingKeys'));
    try {
      if (ids.length !== 1) throw misuse('seal: signingKeys: exactly one identity');
      const { inner, owned } = ids[0];
      const seal = (s) => call(() => inner.sealMessage(message, recipients, cipher, rsaOaep,
        !detached, digest, rsaPss, hp, legacy, when, hcp, s));
      // RSA: the core protects the header fields, WebCrypto hashes and signs (websign.js).
      const signer = await webSigner(inner, digest, rsaPss, !owned);
      if (protectedPieces !== undefined || signsOutside(signer, message.length, BULK_THRESHOLD)) {
        const [outer, payload] = protectedPieces
          ?? await seal('protect').then(([o, p]) => [o, [p]]);
        const parts = await signEntity(call, inner, signer, payload,
          { opaque: !detached, digest, rsaPss, when });
        if (external) out = [outer, [parts.head, ...parts.content, parts.tail]];
        else if (!doEncrypt) {
          // The signed content is not copied into the core and back (as `sign` does).
          out = joined(await call(() => wasm.joinMessage(outer, parts.head)), ...parts.content, parts.tail);
        } else {
          out = await call(() => wasm.encryptAndJoin(outer, joined(parts.head, ...parts.content, parts.tail),
            recipients, cipher, rsaOaep));
        }
      } else {
        out = await seal(step);
      }
    } finally {
      freeAll(ids);
    }
  }
  if (external) {
    const [outer, entity] = out;
    const parts = Array.isArray(entity) ? entity : [entity];
    await progress('encrypt', parts.reduce((n, p) => n + p.length, 0));
    out = await encryptExternal(parts, cipher, framer(outer, recipients, cipher, rsaOaep, false));
  }
  await progress('done', out.length);
  return { message: output === 'bytes' ? out : new TextDecoder().decode(out), envelope };
}

/**
 * The SMTP envelope of a message: From, and To + Cc + `bcc`. A message without a From: address
 * is MIME_MALFORMED.
 */
export function envelopeOf(message, bcc = []) {
  const head = message.split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
  const field = (name) => head.split(/\r?\n/)
    .filter((l) => l.toLowerCase().startsWith(`${name}:`))
    .map((l) => l.slice(name.length + 1));
  const addresses = (value) => [...value.matchAll(/[^\s<>,"]+@[^\s<>,"]+/g)].map((m) => m[0]);
  const from = field('from').flatMap(addresses);
  if (from.length === 0) {
    // The message's fault, not the call's: RFC 5322 section 3.6 requires a From: field.
    throw new CachetError('MIME_MALFORMED', 'MIME_MALFORMED: the message has no From: address',
      { detail: 'the message has no From: address' });
  }
  return {
    mailFrom: from[0],
    rcptTo: [...field('to').flatMap(addresses), ...field('cc').flatMap(addresses), ...bcc.map(addrSpec)],
  };
}

/** Every signer report code as `[code, status, description]` pairs, from the core. */
export async function reportCodes() {
  return call(() => wasm.reportCodes());
}
// ---- the key store (src/js/keystore.js) ------------------------------------------------------

function checkStore(store, fn) {
  if (!(store instanceof KeyStore)) throw misuse(`${fn}: store: expected a KeyStore`);
  return store;
}

const ADDRESS = /^[^\s@<>"]+@[^\s@<>"]+$/;

/** `encrypt({ encryptionKeys: ['bob@example.org', ...], store })`: each address becomes the
 *  newest certificate for it that may encrypt and is valid at `date` (other people first, then
 *  the user's own identities, for the Sent copy). Returns `{ keys, capabilities }`, the latter
 *  what each recipient last advertised (null when unknown), when any address was looked up. */
async function storeRecipients(store, value, date) {
  if (value === undefined || value === null) return { keys: value };
  const list = Array.isArray(value) ? value : [value];
  if (!list.some((item) => typeof item === 'string' && ADDRESS.test(item.trim()))) {
    return { keys: value };
  }
  checkStore(store, 'encrypt');
  const validAt = date ?? new Date();
  const out = [];
  const capabilities = [];
  for (const item of list) {
    if (typeof item !== 'string' || !ADDRESS.test(item.trim())) {
      out.push(item);
      capabilities.push(null);
      continue;
    }
    const found = await store.find({ email: item, usage: 'encrypt', validAt,
      store: ['otherPeople', 'identities'] });
    if (found.length === 0) {
      throw new CachetError('STORE_NOT_FOUND',
        `STORE_NOT_FOUND: encrypt: no valid encryption certificate for ${item}`, { detail: item });
    }
    out.push(found[0].certificate);
    capabilities.push(found[0].capabilities ?? null);
  }
  return { keys: out, capabilities };
}

/** `seal({ encrypt: true, store })`: a certificate for every address, or one error naming
 *  every address without one (before anything is sent). */
async function storeSealRecipients(store, addresses, date) {
  checkStore(store, 'seal');
  const validAt = date ?? new Date();
  const keys = [];
  const capabilities = [];
  const missing = [];
  for (const address of addresses) {
    const found = await store.find({ email: address, usage: 'encrypt', validAt,
      store: ['otherPeople', 'identities'] });
    if (found.length === 0) {
      missing.push(address);
      continue;
    }
    keys.push(found[0].certificate);
    capabilities.push(found[0].capabilities ?? null);
  }
  if (missing.length) {
    throw new CachetError('RECIPIENT_NO_CERTIFICATE',
      `RECIPIENT_NO_CERTIFICATE: no usable encryption certificate for ${missing.join(', ')}`,
      { detail: missing.join(', ') });
  }
  return { keys, capabilities };
}

/** `decrypt({ store })`: the store's unlocked identities, unless keys are given. */
async function storeDecryptionKeys(store, keys, fn) {
  if (store === undefined || (keys !== undefined && keys !== null)) return keys;
  const unlocked = await checkStore(store, fn).unlockedIdentities();
  if (unlocked.length === 0) {
    throw new CachetError('STORE_LOCKED', `STORE_LOCKED: ${fn}: no identity is unlocked`);
  }
  return unlocked;
}

/** `sign({ signingKeys: 'alice@example.org', store })`: the store's unlocked identity. */
async function storeIdentity(store, email) {
  if (store === undefined) throw misuse('sign: signingKeys: an address needs the store option');
  return checkStore(store, 'sign').unlocked({ email });
}

export {
  FileAdapter, IndexedDBAdapter, KeyStore, MemoryAdapter, SCHEMA_VERSION,
} from './keystore.js';

// ---- mail submission (src/js/submit.js): JMAP, HTTP POST, or a caller's function -------------
export { http, jmap, submit } from './submit.js';
