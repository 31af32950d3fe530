// Benchmarks: Cachet beside PKI.js (WebCrypto) and node-forge in the SAME Node process and the SAME
// headless Chromium page, plus native `openssl cms` (spawned from Node) as the floor. Operations:
// sign, verify (signature only, and with the chain where the library does it), encrypt, decrypt,
// for RSA-2048 and P-256, at 1 KiB, 1 MiB, 10 MiB (and 100 MiB with --full). Every library does the
// same job: an RFC 5322 message in, an S/MIME message out (multipart/signed with a detached
// base64 signature; application/pkcs7-mime with a base64 envelope) and back. For PKI.js and forge
// the few lines of MIME and base64 a web mail would add are written here in plain JS (Buffer in
// Node, Uint8Array.toBase64 in Chromium). Prints a table with median ms, MB/s, peak memory (one
// fresh Node process or Chromium renderer per row) and ratios to PKI.js; writes benches/results/latest.{json,txt}.
// Measures only: nothing here asserts a timing. Correctness is cross-checked once per library
// before timing (Cachet verifies what PKI.js and forge sign, and decrypts what they encrypt).
//
//   node benches/run.mjs [--quick] [--full] [--node-only | --browser-only] [--no-memory]
//        [--libs cachet,pkijs,forge,openssl] [--sizes 1KiB,1MiB,10MiB,100MiB]
//   (`npm run bench` builds pkg/ first. --full adds 100 MiB, several more minutes.)

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync as writeFileSyncFs } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { arch, cpus, platform, tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const pki = join(root, 'tests', 'vectors', 'pki');
const resultsDir = join(root, 'benches', 'results');
const wasmPath = join(root, 'pkg', 'cachet_wasm_bg.wasm');
const selfPath = fileURLToPath(import.meta.url);

const argv = process.argv.slice(2);
const args = new Set(argv);
const valueOf = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = args.has('--quick');
const full = args.has('--full');
const KiB = 1024;
const MiB = 1024 * KiB;

const allSizes = [
  { label: '1 KiB', bytes: KiB, iterations: quick ? 5 : 20 },
  { label: '1 MiB', bytes: MiB, iterations: quick ? 2 : 7 },
  { label: '10 MiB', bytes: 10 * MiB, iterations: quick ? 1 : 3 },
  { label: '100 MiB', bytes: 100 * MiB, iterations: 1 },
];
const sizeFilter = valueOf('--sizes')?.split(',').map((s) => s.replace(/\s/g, ''));
const libFilter = valueOf('--libs')?.split(',');

/** What to run: sizes with their iteration counts, keys, libraries. */
const plan = {
  sizes: allSizes.filter((s) => (sizeFilter ? sizeFilter.includes(s.label.replace(/\s/g, ''))
    : full || s.bytes < 100 * MiB)),
  keys: [
    { label: 'RSA-2048', signer: 'alice-rsa', recipient: 'bob-rsa' },
    { label: 'P-256', signer: 'alice-p256', recipient: 'bob-p256' },
  ],
  libs: (libFilter ?? ['cachet', 'pkijs', 'forge', 'openssl']),
  password: 'test',
  // Inside every fixture's validity (tests/vectors/pki/README.md).
  date: '2030-01-01T00:00:00Z',
};

/**
 * The benchmark itself. Self-contained (it is also shipped into the browser page as source):
 * imports the libraries from `urls`, takes fixtures as base64 text, returns plain rows.
 * `mode`: 'time' (all rows), 'probe' (one operation once, for the memory probe in a fresh
 * process: returns the prepared closure instead of timing).
 */
async function benchmark({ urls, plan, fixtures, probe }) {
  const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';
  const NodeBuffer = isNode ? globalThis.Buffer : null;
  const cachet = await import(urls.cachet);
  await cachet.init();
  let pkijs = null;
  let asn1js = null;
  if (plan.libs.includes('pkijs')) {
    pkijs = await import(urls.pkijs);
    asn1js = await import(urls.asn1js);
    pkijs.setEngine('webcrypto', new pkijs.CryptoEngine({ name: 'webcrypto', crypto: globalThis.crypto }));
  }
  let forge = null;
  if (plan.libs.includes('forge')) {
    forge = globalThis.forge ?? (await import(urls.forge)).default;
  }
  const subtle = globalThis.crypto.subtle;
  const te = new TextEncoder();
  const latin1 = (bytes) => {
    // Bytes to a binary string (one char per byte), as forge wants them.
    let s = '';
    for (let i = 0; i < bytes.length; i += 32768) {
      s += String.fromCharCode.apply(null, bytes.subarray(i, i + 32768));
    }
    return s;
  };
  const fromLatin1 = (s) => {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i += 1) out[i] = s.charCodeAt(i);
    return out;
  };
  const fromBase64 = (text) => {
    if (typeof text !== 'string') text = latin1(text);
    if (NodeBuffer) return new Uint8Array(NodeBuffer.from(text, 'base64'));
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(text.replace(/[\r\n]/g, ''));
    return Uint8Array.from(atob(text.replace(/\s/g, '')), (c) => c.charCodeAt(0));
  };
  const toBase64 = (bytes) => {
    if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
    if (bytes.toBase64) return bytes.toBase64();
    return btoa(latin1(bytes));
  };
  /** base64 in CRLF-terminated lines of 76 characters. */
  const base64Lines = (bytes) => {
    const b64 = toBase64(bytes);
    const lines = [];
    for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
    return `${lines.join('\r\n')}\r\n`;
  };
  const concat = (parts) => {
    const n = parts.reduce((a, p) => a + p.length, 0);
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(typeof p === 'string' ? te.encode(p) : p, at);
      at += p.length;
    }
    return out;
  };
  const indexOfBytes = (hay, needle, from = 0) => {
    const first = needle[0];
    for (let i = hay.indexOf(first, from); i >= 0 && i + needle.length <= hay.length;
      i = hay.indexOf(first, i + 1)) {
      let ok = true;
      for (let j = 1; j < needle.length; j += 1) if (hay[i + j] !== needle[j]) { ok = false; break; }
      if (ok) return i;
    }
    return -1;
  };
  const CRLF2 = te.encode('\r\n\r\n');
  const ascii = (bytes) => latin1(bytes);
  /**
   * Split an RFC 5322 message into outer header fields (kept outside the signature) and its MIME
   * entity (Content-* fields and the body), as S/MIME wants. ASCII headers assumed (ours).
   */
  const splitMessage = (message) => {
    const end = indexOfBytes(message, CRLF2);
    const head = ascii(message.subarray(0, end)).split('\r\n');
    const outer = head.filter((l) => !/^(content-|mime-version)/i.test(l));
    const inner = head.filter((l) => /^content-/i.test(l));
    return { outer: `${outer.join('\r\n')}\r\nMIME-Version: 1.0\r\n`, inner: `${inner.join('\r\n')}\r\n\r\n`,
      body: message.subarray(end + 4) };
  };
  const boundary = () => `----=_bench_${Math.random().toString(16).slice(2)}`;
  /** Build multipart/signed around `entity` (bytes) with a detached CMS `der`. */
  const multipartSigned = (outer, entity, der, micalg) => {
    const b = boundary();
    return concat([
      `${outer}Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=${micalg}; boundary="${b}"\r\n\r\n--${b}\r\n`,
      entity,
      `\r\n--${b}\r\nContent-Type: application/pkcs7-signature; name="smime.p7s"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7s"\r\n\r\n`,
      base64Lines(der),
      `\r\n--${b}--\r\n`,
    ]);
  };
  /** Parse multipart/signed: the signed entity bytes and the signature DER. */
  const parseMultipartSigned = (bytes) => {
    const headEnd = indexOfBytes(bytes, CRLF2);
    const head = ascii(bytes.subarray(0, headEnd));
    const b = /boundary="?([^";\r\n]+)"?/i.exec(head)[1];
    const delim = te.encode(`--${b}\r\n`);
    const first = indexOfBytes(bytes, delim, headEnd) + delim.length;
    const sep2 = te.encode(`\r\n--${b}\r\n`);
    const second = indexOfBytes(bytes, sep2, first);
    const content = bytes.subarray(first, second);
    const sigStart = second + sep2.length;
    const sigBody = indexOfBytes(bytes, CRLF2, sigStart) + 4;
    const closing = indexOfBytes(bytes, te.encode(`\r\n--${b}--`), sigBody);
    return { content, der: fromBase64(bytes.subarray(sigBody, closing)) };
  };
  const pkcs7Mime = (outer, der) => concat([
    `${outer}Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="smime.p7m"\r\n\r\n`,
    base64Lines(der),
  ]);
  const parsePkcs7Mime = (bytes) => fromBase64(bytes.subarray(indexOfBytes(bytes, CRLF2) + 4));
  const derOfPem = (pem) => fromBase64(pem.replace(/-----[^-]+-----/g, ''));
  const ab = (u8) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.length);

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  };
  /**
   * Per-call times of `fn`, `iterations` samples after one warm-up. A sample repeats a fast `fn`
   * until it spans at least 20 ms, since browser clocks are coarse (100 µs or worse).
   */
  const time = async (iterations, fn) => {
    // A full GC first (where exposed: `npm run bench` and the bench's browser expose it), so that
    // no row pays for the garbage of the rows before it (forge's and PKI.js's run to GBs at
    // 100 MiB, and the rows run one after another in one process and one page).
    globalThis.gc?.();
    const warm = performance.now();
    await fn(); // warm-up, not counted
    const once = performance.now() - warm;
    if (iterations === 1 && once >= 1000) { cpuSamples = []; return [once]; } // 100 MiB: one run
    const repeat = once >= 20 ? 1 : Math.min(1000, Math.ceil(20 / Math.max(once, 0.05)));
    if (once >= 20) globalThis.gc?.();
    const samples = [];
    cpuSamples = [];
    for (let i = 0; i < iterations; i += 1) {
      const cpu = isNode ? process.cpuUsage() : null;
      const start = performance.now();
      for (let j = 0; j < repeat; j += 1) await fn();
      samples.push((performance.now() - start) / repeat);
      if (cpu) {
        const d = process.cpuUsage(cpu);
        cpuSamples.push((d.user + d.system) / 1000 / repeat);
      }
    }
    return samples;
  };
  // Node only: CPU time of the whole process (all threads, so WebCrypto's thread pool counts) per
  // call; steadier than wall time on a shared machine.
  let cpuSamples = [];
  /** An RFC 5322 message of exactly `size` bytes: headers, then 7-bit text lines. */
  const message = (size) => {
    const head = te.encode(
      'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: benchmark\r\n' +
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n',
    );
    const out = new Uint8Array(size);
    out.set(head.subarray(0, size));
    const line = te.encode(
      'The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnopqrstuvwxy\r\n',
    );
    for (let at = head.length; at < size; at += line.length) {
      out.set(line.subarray(0, Math.min(line.length, size - at)), at);
    }
    // End on a line break, after a non-blank (a trailing space would make Cachet protect the
    // body with quoted-printable, which the other libraries never do).
    if (size >= 3) out.set([46, 13, 10], size - 3);
    return out;
  };
  const bytesEqual = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

  const date = new Date(plan.date);
  const rootDer = derOfPem(fixtures.pem['root-ca']);
  const interDer = derOfPem(fixtures.pem['inter-ca']);
  const trustAnchors = [rootDer];

  /**
   * Library adapters. Each `setup(key)` returns { op: fn | 'n/a: why' } where sign/encrypt take
   * the message bytes and return S/MIME bytes, verify/decrypt take S/MIME bytes and return a
   * check value (true, or the decrypted bytes).
   */
  const adapters = {
    async cachet(key) {
      const signer = await cachet.readIdentity({ privateKey: fromBase64(fixtures.p12[key.signer]),
        password: plan.password });
      const recipient = await cachet.readIdentity({ privateKey: fromBase64(fixtures.p12[key.recipient]),
        password: plan.password });
      return {
        sign: (m) => cachet.sign({ message: m, signingKeys: signer, date }),
        'verify (sig only)': 'n/a: always validates the chain (see "verify + chain")',
        'verify + chain': async (s) => (await cachet.verify({ message: s, trustAnchors, date })).valid,
        'encrypt (AES-256-CBC)': (m) => cachet.encrypt({ message: m, encryptionKeys: recipient.certificate,
          cipher: 'aes256-cbc' }),
        'decrypt (AES-256-CBC)': async (e) => (await cachet.decrypt({ message: e, decryptionKeys: recipient })).message,
        'encrypt (AES-256-GCM)': (m) => cachet.encrypt({ message: m, encryptionKeys: recipient.certificate }),
        'decrypt (AES-256-GCM)': async (e) => (await cachet.decrypt({ message: e, decryptionKeys: recipient })).message,
        // RSAES-OAEP key transport, as PKI.js's rows use (WebCrypto has no v1.5).
        ...(key.label.startsWith('RSA') ? {
          'encrypt (AES-256-CBC, OAEP)': (m) => cachet.encrypt({ message: m, encryptionKeys: recipient.certificate,
            cipher: 'aes256-cbc', rsaOaep: true }),
          'decrypt (AES-256-CBC, OAEP)': async (e) => (await cachet.decrypt({ message: e, decryptionKeys: recipient })).message,
        } : { 'encrypt (AES-256-CBC, OAEP)': 'n/a: OAEP is RSA key transport',
          'decrypt (AES-256-CBC, OAEP)': 'n/a: OAEP is RSA key transport' }),
        dispose() { signer.dispose(); recipient.dispose(); },
      };
    },
    async pkijs(key) {
      const rsa = key.label.startsWith('RSA');
      const signerCert = pkijs.Certificate.fromBER(derOfPem(fixtures.pem[key.signer]));
      const interCert = pkijs.Certificate.fromBER(interDer);
      const rootCert = pkijs.Certificate.fromBER(rootDer);
      const recipientCert = pkijs.Certificate.fromBER(derOfPem(fixtures.pem[key.recipient]));
      const recipientPkcs8 = derOfPem(fixtures.key[key.recipient]);
      const signKey = await subtle.importKey('pkcs8', derOfPem(fixtures.key[key.signer]),
        rsa ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: 'P-256' },
        false, ['sign']);
      // asn1js 4 refuses more than 10,000 nodes or 16 MiB by default (a DoS guard), and PKI.js
      // writes encrypted content in 1 KiB chunks: its own 10 MiB envelope would not parse. A web
      // mail accepting large attachments raises the limits, as here.
      const contentInfo = (der) => {
        const asn = asn1js.fromBER(der, { maxNodes: 1e6, maxContentLength: 1 << 30 });
        if (asn.offset === -1) throw new Error(`asn1js: ${asn.result.error}`);
        return new pkijs.ContentInfo({ schema: asn.result });
      };
      const verifyWith = (checkChain) => async (s) => {
        const { content, der } = parseMultipartSigned(s);
        const ci = contentInfo(der);
        const sd = new pkijs.SignedData({ schema: ci.content });
        return sd.verify({ signer: 0, data: ab(content), checkChain, trustedCerts: [rootCert], checkDate: date });
      };
      return {
        async sign(m) {
          const { outer, inner, body } = splitMessage(m);
          const entity = concat([inner, body]);
          const digest = await subtle.digest('SHA-256', entity);
          const sd = new pkijs.SignedData({
            version: 1,
            encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
            signerInfos: [new pkijs.SignerInfo({
              version: 1,
              sid: new pkijs.IssuerAndSerialNumber({ issuer: signerCert.issuer,
                serialNumber: signerCert.serialNumber }),
              signedAttrs: new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: [
                new pkijs.Attribute({ type: '1.2.840.113549.1.9.3',
                  values: [new asn1js.ObjectIdentifier({ value: '1.2.840.113549.1.7.1' })] }),
                new pkijs.Attribute({ type: '1.2.840.113549.1.9.5',
                  values: [new asn1js.UTCTime({ valueDate: date })] }),
                new pkijs.Attribute({ type: '1.2.840.113549.1.9.4',
                  values: [new asn1js.OctetString({ valueHex: digest })] }),
              ] }),
            })],
            certificates: [signerCert, interCert],
          });
          await sd.sign(signKey, 0, 'SHA-256');
          const der = new Uint8Array(new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.2',
            content: sd.toSchema(true) }).toSchema().toBER(false));
          return multipartSigned(outer, entity, der, 'sha-256');
        },
        'verify (sig only)': verifyWith(false),
        'verify + chain': verifyWith(true),
        async 'encrypt (AES-256-CBC)'(m) {
          const { outer, inner, body } = splitMessage(m);
          const env = new pkijs.EnvelopedData();
          // RSA: RSAES-OAEP (WebCrypto has no RSAES-PKCS1-v1_5); EC: ECDH + AES key wrap.
          env.addRecipientByCertificate(recipientCert, rsa ? { oaepHashAlgorithm: 'SHA-256' } : { kdfAlgorithm: 'SHA-256' });
          await env.encrypt({ name: 'AES-CBC', length: 256 }, ab(concat([inner, body])));
          const der = new Uint8Array(new pkijs.ContentInfo({ contentType: '1.2.840.113549.1.7.3',
            content: env.toSchema() }).toSchema().toBER(false));
          return pkcs7Mime(outer, der);
        },
        async 'decrypt (AES-256-CBC)'(e) {
          const ci = contentInfo(parsePkcs7Mime(e));
          const env = new pkijs.EnvelopedData({ schema: ci.content });
          return new Uint8Array(await env.decrypt(0, { recipientCertificate: recipientCert,
            recipientPrivateKey: recipientPkcs8 }));
        },
        'encrypt (AES-256-GCM)': 'n/a: PKI.js has no AuthEnvelopedData (RFC 5083)',
        'decrypt (AES-256-GCM)': 'n/a: PKI.js has no AuthEnvelopedData (RFC 5083)',
      };
    },
    async forge(key) {
      if (!key.label.startsWith('RSA')) {
        const why = 'n/a: forge has no ECDSA/ECDH (RSA only)';
        return { sign: why, 'verify (sig only)': why, 'verify + chain': why, 'encrypt (AES-256-CBC)': why,
          'decrypt (AES-256-CBC)': why, 'encrypt (AES-256-GCM)': why, 'decrypt (AES-256-GCM)': why };
      }
      const cert = forge.pki.certificateFromPem(fixtures.pem[key.signer]);
      const signKey = forge.pki.privateKeyFromPem(fixtures.key[key.signer]);
      const recipientCert = forge.pki.certificateFromPem(fixtures.pem[key.recipient]);
      const recipientKey = forge.pki.privateKeyFromPem(fixtures.key[key.recipient]);
      return {
        sign(m) {
          const { outer, inner, body } = splitMessage(m);
          const entity = concat([inner, body]);
          const p7 = forge.pkcs7.createSignedData();
          p7.content = forge.util.createBuffer(latin1(entity));
          // The P-256 intermediate cannot be parsed by forge (RSA keys only): signer cert only.
          p7.addCertificate(cert);
          p7.addSigner({ key: signKey, certificate: cert, digestAlgorithm: forge.pki.oids.sha256,
            authenticatedAttributes: [
              { type: forge.pki.oids.contentType, value: forge.pki.oids.data },
              { type: forge.pki.oids.messageDigest },
              { type: forge.pki.oids.signingTime, value: date },
            ] });
          p7.sign({ detached: true });
          const der = fromLatin1(forge.asn1.toDer(p7.toAsn1()).getBytes());
          return multipartSigned(outer, entity, der, 'sha-256');
        },
        'verify (sig only)': 'n/a: forge.pkcs7 has no SignedData verification ("not yet implemented")',
        'verify + chain': 'n/a: forge.pkcs7 has no SignedData verification; forge cannot read the P-256 intermediate',
        'encrypt (AES-256-CBC)'(m) {
          const { outer, inner, body } = splitMessage(m);
          const p7 = forge.pkcs7.createEnvelopedData();
          p7.addRecipient(recipientCert); // RSAES-PKCS1-v1_5
          p7.content = forge.util.createBuffer(latin1(concat([inner, body])));
          p7.encrypt(); // AES-256-CBC by default
          return pkcs7Mime(outer, fromLatin1(forge.asn1.toDer(p7.toAsn1()).getBytes()));
        },
        'decrypt (AES-256-CBC)'(e) {
          const p7 = forge.pkcs7.messageFromAsn1(forge.asn1.fromDer(latin1(parsePkcs7Mime(e))));
          p7.decrypt(p7.findRecipient(recipientCert), recipientKey);
          return fromLatin1(p7.content.getBytes());
        },
        'encrypt (AES-256-GCM)': 'n/a: forge.pkcs7 has no AuthEnvelopedData',
        'decrypt (AES-256-GCM)': 'n/a: forge.pkcs7 has no AuthEnvelopedData',
      };
    },
  };
  /** Operation -> the operation whose output it consumes. */
  const ops = [
    ['sign', null],
    ['verify (sig only)', 'sign'],
    ['verify + chain', 'sign'],
    ['encrypt (AES-256-CBC)', null],
    ['decrypt (AES-256-CBC)', 'encrypt (AES-256-CBC)'],
    ['encrypt (AES-256-GCM)', null],
    ['decrypt (AES-256-GCM)', 'encrypt (AES-256-GCM)'],
    ['encrypt (AES-256-CBC, OAEP)', null],
    ['decrypt (AES-256-CBC, OAEP)', 'encrypt (AES-256-CBC, OAEP)'],
  ];
  const libs = plan.libs.filter((l) => adapters[l]);

  /** Cross-check once per library and key: Cachet verifies / decrypts what the others produce. */
  const crossCheck = async (lib, a, key, cachetA) => {
    const m = message(4096);
    const expectEntity = (() => { const { inner, body } = splitMessage(m); return concat([inner, body]); })();
    const notes = [];
    if (typeof a.sign === 'function') {
      const signed = await a.sign(m);
      const r = await cachet.verify({ message: signed, trustAnchors, certificates: [interDer], date });
      if (!r.valid) throw new Error(`cross-check: Cachet does not verify ${lib}'s signature: ${r.signers.map((s) => s.code)}`);
      for (const v of ['verify (sig only)', 'verify + chain']) {
        if (typeof a[v] === 'function' && (await a[v](signed)) !== true) throw new Error(`cross-check: ${lib} ${v} of its own signature is not true`);
        if (typeof a[v] === 'function' && lib !== 'cachet') {
          const theirs = await a[v](await cachetA.sign(m));
          if (theirs !== true) throw new Error(`cross-check: ${lib} ${v} of Cachet's signature is not true`);
        }
      }
      notes.push('Cachet verifies its signature');
    }
    for (const c of ['CBC', 'GCM']) {
      const enc = a[`encrypt (AES-256-${c})`];
      const dec = a[`decrypt (AES-256-${c})`];
      if (typeof enc !== 'function') continue;
      const e = await enc(m);
      const d = await cachet.decrypt({ message: e, decryptionKeys: await cachetRecipient(key) });
      if (!ascii(d.message).includes(ascii(message(4096).subarray(200, 300)))) throw new Error(`cross-check: Cachet cannot decrypt ${lib}'s ${c} envelope`);
      if (typeof dec === 'function') {
        const own = await dec(e);
        if (!bytesEqual(own.subarray(own.length - 1000), expectEntity.subarray(expectEntity.length - 1000))) throw new Error(`cross-check: ${lib} does not decrypt its own ${c} envelope`);
      }
      notes.push(`Cachet decrypts its ${c} envelope (${d.cipher})`);
    }
    return notes.join('; ');
  };
  const recipients = new Map();
  const cachetRecipient = async (key) => {
    if (!recipients.has(key.recipient)) {
      recipients.set(key.recipient, await cachet.readIdentity({
        privateKey: fromBase64(fixtures.p12[key.recipient]), password: plan.password }));
    }
    return recipients.get(key.recipient);
  };

  if (probe) {
    // One operation, once, in this fresh process: returns the closure and its input.
    const key = plan.keys.find((k) => k.label === probe.key);
    const a = await adapters[probe.lib](key);
    const input = probe.input ?? message(probe.bytes);
    return { run: () => a[probe.op](input) };
  }

  const rows = [];
  const outputs = []; // inputs for the memory probes: { lib, key, size, op, bytes }
  for (const key of plan.keys) {
    const cachetA = await adapters.cachet(key);
    for (const lib of libs) {
      let a;
      let check = '';
      try {
        a = lib === 'cachet' ? cachetA : await adapters[lib](key);
        check = await crossCheck(lib, a, key, cachetA);
      } catch (error) {
        rows.push({ lib, key: key.label, size: '-', bytes: 0, op: 'setup / cross-check', iterations: 0,
          medianMs: NaN, result: String(error?.message ?? error), error: 'ERROR' });
        continue;
      }
      rows.push({ lib, key: key.label, size: '-', bytes: 0, op: 'cross-check', iterations: 0,
        medianMs: NaN, result: check || 'nothing to check' });
      for (const size of plan.sizes) {
        if (plan.skip?.[lib] && size.bytes > plan.skip[lib].over) {
          for (const [op] of ops) {
            rows.push({ lib, key: key.label, size: size.label, bytes: size.bytes, op, iterations: 0,
              medianMs: NaN, na: typeof a[op] === 'string' ? a[op] : plan.skip[lib].why });
          }
          continue;
        }
        const text = message(size.bytes);
        const produced = {};
        for (const [op, from] of ops) {
          const base = { lib, key: key.label, size: size.label, bytes: size.bytes, op };
          if (typeof a[op] !== 'function') {
            rows.push({ ...base, iterations: 0, medianMs: NaN,
              na: a[op] ?? (op.includes('OAEP') ? 'n/a: see its AES-256-CBC rows (PKI.js: RSA-OAEP; forge: v1.5)' : 'n/a') });
            continue;
          }
          const input = from ? produced[from] : text;
          if (!input) {
            rows.push({ ...base, iterations: 0, medianMs: NaN, na: `n/a: no ${from} output` });
            continue;
          }
          try {
            let out;
            const samples = await time(size.iterations, async () => { out = await a[op](input); });
            const ms = median(samples);
            let result;
            if (op.startsWith('verify')) result = out === true ? 'valid' : `NOT VALID (${out})`;
            if (op.startsWith('decrypt')) result = out.length >= size.bytes - 200 ? 'ok' : `SHORT (${out.length})`;
            if (!from) produced[op] = out;
            // Only Node's run feeds the memory probes: a browser page that kept every output
            // (GBs at 100 MiB) would slow the rows after them (the P-256 rows ran at 60-90 MB/s).
            if (isNode && !from && (op === 'sign' || op.startsWith('encrypt'))) {
              outputs.push({ lib, key: key.label, size: size.label, op, bytes: out });
            }
            rows.push({ ...base, iterations: size.iterations, medianMs: ms,
              ...(cpuSamples.length ? { cpuMs: median(cpuSamples) } : {}),
              mbPerS: ms > 0 ? size.bytes / 1e6 / (ms / 1000) : null, ...(result ? { result } : {}) });
          } catch (error) {
            rows.push({ ...base, iterations: 0, medianMs: NaN, result: String(error?.message ?? error), error: 'ERROR' });
          }
        }
      }
      if (lib !== 'cachet') a.dispose?.();
    }
    cachetA.dispose();
  }
  for (const r of recipients.values()) r.dispose();
  return { rows, outputs };
}

async function fixtures() {
  const files = new Set(['root-ca', 'inter-ca']);
  for (const k of plan.keys) { files.add(k.signer); files.add(k.recipient); }
  const pem = {};
  const key = {};
  const p12 = {};
  for (const f of files) {
    pem[f] = await readFile(join(pki, `${f}.pem`), 'utf8');
    if (existsSync(join(pki, `${f}.p12`))) {
      key[f] = await readFile(join(pki, `${f}.key`), 'utf8');
      p12[f] = (await readFile(join(pki, `${f}.p12`))).toString('base64');
    }
  }
  return { pem, key, p12 };
}

const nodeUrls = () => ({
  cachet: pathToFileURL(join(root, 'pkg', 'index.js')).href,
  pkijs: 'pkijs',
  asn1js: 'asn1js',
  forge: 'node-forge',
});

async function runNode(fx) {
  const nodePlan = { ...plan, libs: plan.libs.filter((l) => l !== 'openssl') };
  return benchmark({ urls: nodeUrls(), plan: nodePlan, fixtures: fx });
}

// ---- the browser page ----------------------------------------------------------------------

const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.html': 'text/html', '.json': 'application/json' };
const importMap = {
  imports: {
    pkijs: '/node_modules/pkijs/build/index.js',
    asn1js: '/node_modules/asn1js/build/index.js',
    bytestreamjs: '/node_modules/bytestreamjs/build/index.js',
    '@peculiar/utils': '/node_modules/@peculiar/utils/build/index.js',
    '@noble/hashes/': '/node_modules/@noble/hashes/',
  },
};

/** A static server for the page: pkg/ and node_modules/ only, 127.0.0.1. */
function startServer() {
  const page = `<!doctype html><meta charset="utf-8"><title>bench</title>
<script type="importmap">${JSON.stringify(importMap)}</script>
<script src="/node_modules/node-forge/dist/forge.min.js"></script>`;
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/' || path === '/bench.html') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(page);
    }
    if (path === '/probe-input' && server.probeInput) {
      // The input of a Chromium memory probe (browserMemoryRows): what Node's run produced.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      return res.end(server.probeInput);
    }
    const file = normalize(join(root, path));
    const allowed = [join(root, 'pkg') + sep, join(root, 'node_modules') + sep];
    if (!allowed.some((d) => file.startsWith(d))) { res.writeHead(404); return res.end(); }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, url: `http://127.0.0.1:${server.address().port}/` })));
}

const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The browser page's URLs of the libraries. */
const browserUrls = (url) => ({ cachet: new URL('/pkg/index.js', url).href,
  pkijs: new URL('/node_modules/pkijs/build/index.js', url).href,
  asn1js: new URL('/node_modules/asn1js/build/index.js', url).href,
  forge: null });

/** Timing rows in one Chromium page; then, unless --no-memory, peak memory rows for sizes of
 *  1 MiB and up (`outputs`: Node's sign and encrypt outputs, the inputs of verify and decrypt). */
async function runBrowser(fx, outputs) {
  const { chromium } = await import('playwright-core');
  const { server, url } = await startServer();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [...chromiumArgs, '--js-flags=--expose-gc'],
  });
  let rows;
  let chromiumVersion;
  try {
    chromiumVersion = browser.version();
    const page = await browser.newPage();
    page.setDefaultTimeout(0);
    await page.goto(url);
    const source = benchmark.toString();
    const browserPlan = { ...plan, libs: plan.libs.filter((l) => l !== 'openssl') };
    ({ rows } = await page.evaluate(
      async ({ source, input }) => {
        // eslint-disable-next-line no-new-func
        const fn = new Function(`return (${source});`)();
        return fn(input);
      },
      { source, input: { urls: browserUrls(url), plan: browserPlan, fixtures: fx } },
    ));
    await page.close();
  } finally {
    await browser.close();
  }
  try {
    if (!args.has('--no-memory')) {
      console.error('bench: Chromium peak memory (one fresh renderer per row)…');
      const measured = new Set(rows.filter((r) => Number.isFinite(r.medianMs)).map((r) => `${r.lib}|${r.key}|${r.size}|${r.op}`));
      for (const m of await browserMemoryRows(chromium, server, url, fx, outputs, measured)) {
        const row = rows.find((r) => r.lib === m.lib && r.key === m.key && r.size === m.size && r.op === m.op);
        if (row) Object.assign(row, { peakMiB: m.peakMiB, ...(m.memoryError ? { memoryError: m.memoryError } : {}) });
      }
    }
  } finally {
    server.close();
  }
  return { rows, version: chromiumVersion };
}

/** Which operations read which producer's output (the memory probes' inputs). */
const consumers = { sign: ['sign', 'verify + chain', 'verify (sig only)'],
  'encrypt (AES-256-CBC)': ['encrypt (AES-256-CBC)', 'decrypt (AES-256-CBC)'],
  'encrypt (AES-256-GCM)': ['encrypt (AES-256-GCM)', 'decrypt (AES-256-GCM)'],
  'encrypt (AES-256-CBC, OAEP)': ['encrypt (AES-256-CBC, OAEP)', 'decrypt (AES-256-CBC, OAEP)'] };

/** VmRSS and VmHWM (bytes) of a process (`self`: this one). */
function vm(pid) {
  return Object.fromEntries(readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')
    .filter((l) => /^Vm(RSS|HWM)/.test(l)).map((l) => [l.split(':')[0], Number(l.split(/\s+/)[1]) * 1024]));
}

/**
 * Peak memory in Chromium, as `probeMain` measures it in Node: each row runs ONCE in a fresh
 * browser (so a fresh renderer process: wasm memory, which never shrinks, starts small), after
 * the libraries are loaded and the input is in the page (a sign or encrypt makes its message
 * there; a verify or decrypt fetches what Node's run produced) and after a full GC. The kernel's
 * peak-RSS mark of every renderer process is reset (`/proc/PID/clear_refs`), the operation runs,
 * and the row's figure is the largest VmHWM - VmRSS-before among them: the renderer's extra
 * resident memory at the peak (JS heap, ArrayBuffers, wasm memory, WebCrypto's buffers).
 */
async function browserMemoryRows(chromium, server, url, fx, outputs, measured) {
  const results = [];
  const source = benchmark.toString();
  for (const o of outputs) {
    const size = plan.sizes.find((s) => s.label === o.size);
    if (size.bytes < MiB) continue;
    for (const op of consumers[o.op]) {
      if (!measured.has(`${o.lib}|${o.key}|${o.size}|${op}`)) continue;
      const producer = op === o.op;
      server.probeInput = producer ? null : o.bytes;
      const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
        headless: true, args: [...chromiumArgs, '--js-flags=--expose-gc'] });
      let peakMiB = null;
      let memoryError;
      try {
        const page = await browser.newPage();
        page.setDefaultTimeout(0);
        await page.goto(url);
        await page.evaluate(async ({ source, input, fetchInput }) => {
          // eslint-disable-next-line no-new-func
          const fn = new Function(`return (${source});`)();
          const bytes = fetchInput ? new Uint8Array(await (await fetch('/probe-input')).arrayBuffer()) : undefined;
          const { run } = await fn({ ...input, probe: { ...input.probe, input: bytes } });
          globalThis.probeRun = run;
          globalThis.gc?.();
        }, { source, fetchInput: !producer, input: { urls: browserUrls(url), plan: { ...plan, libs: [o.lib] },
          fixtures: fx, probe: { lib: o.lib, key: o.key, op, bytes: size.bytes } } });
        const cdp = await browser.newBrowserCDPSession();
        const { processInfo } = await cdp.send('SystemInfo.getProcessInfo');
        const pids = processInfo.filter((p) => p.type === 'renderer').map((p) => p.id);
        const before = new Map(pids.map((pid) => [pid, vm(pid)]));
        for (const pid of pids) writeFileSyncFs(`/proc/${pid}/clear_refs`, '5');
        await page.evaluate(async () => { await globalThis.probeRun(); });
        peakMiB = Math.max(...pids.map((pid) => vm(pid).VmHWM - before.get(pid).VmRSS)) / MiB;
      } catch (error) {
        memoryError = String(error?.message ?? error).split('\n')[0];
      } finally {
        await browser.close();
        server.probeInput = null;
      }
      results.push({ lib: o.lib, key: o.key, size: o.size, op, peakMiB, ...(memoryError ? { memoryError } : {}) });
    }
  }
  return results;
}

// ---- openssl cms (native floor) ------------------------------------------------------------

/**
 * `openssl cms`, spawned: whole-command wall time (process start, key and certificate loading,
 * reading the input file, the operation, writing the output file). `net` subtracts the median of
 * a no-op `openssl version` run, which is the process start and library load only.
 */
async function runOpenssl() {
  if (!plan.libs.includes('openssl')) return { rows: [], baselineMs: null, version: null };
  const version = execFileSync('openssl', ['version'], { encoding: 'utf8' }).trim();
  const dir = await mkdtemp(join(tmpdir(), 'cachet-bench-'));
  const run = (argsList) => {
    const t = process.hrtime.bigint();
    const r = spawnSync('openssl', argsList, { stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (r.status !== 0) throw new Error(`openssl ${argsList.slice(0, 2).join(' ')}: ${r.stderr}`);
    return ms;
  };
  const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  const times = (n, argsList) => { run(argsList); const s = []; for (let i = 0; i < n; i += 1) s.push(run(argsList)); return s; };
  // The floor of process start-up: the fastest of 15 no-op runs (a median picks up load spikes).
  const baselineMs = Math.min(...times(15, ['version']));
  const p = (f) => join(pki, f);
  const attime = String(Math.floor(new Date(plan.date).getTime() / 1000));
  const rows = [];
  try {
    for (const key of plan.keys) {
      for (const size of plan.sizes) {
        const msg = join(dir, 'msg.eml');
        await writeFile(msg, messageNode(size.bytes));
        const signed = join(dir, 'signed.eml');
        const enc = { CBC: join(dir, 'enc-cbc.eml'), GCM: join(dir, 'enc-gcm.eml') };
        const out = join(dir, 'out');
        const cmds = [
          ['sign', ['cms', '-sign', '-binary', '-in', msg, '-signer', p(`${key.signer}.pem`), '-inkey', p(`${key.signer}.key`),
            '-certfile', p('inter-ca.pem'), '-md', 'sha256', '-out', signed]],
          ['verify (sig only)', ['cms', '-verify', '-binary', '-noverify', '-in', signed, '-out', out]],
          ['verify + chain', ['cms', '-verify', '-binary', '-in', signed, '-CAfile', p('root-ca.pem'), '-attime', attime,
            '-purpose', 'smimesign', '-out', out]],
          ['encrypt (AES-256-CBC)', ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-in', msg, '-out', enc.CBC, p(`${key.recipient}.pem`)]],
          ['decrypt (AES-256-CBC)', ['cms', '-decrypt', '-binary', '-in', enc.CBC, '-recip', p(`${key.recipient}.pem`), '-inkey', p(`${key.recipient}.key`), '-out', out]],
          ['encrypt (AES-256-GCM)', ['cms', '-encrypt', '-binary', '-aes-256-gcm', '-in', msg, '-out', enc.GCM, p(`${key.recipient}.pem`)]],
          ['decrypt (AES-256-GCM)', ['cms', '-decrypt', '-binary', '-in', enc.GCM, '-recip', p(`${key.recipient}.pem`), '-inkey', p(`${key.recipient}.key`), '-out', out]],
        ];
        for (const [op, argsList] of cmds) {
          const base = { lib: 'openssl', key: key.label, size: size.label, bytes: size.bytes, op };
          try {
            const samples = times(size.iterations, argsList);
            const ms = median(samples);
            const net = ms - baselineMs;
            let result;
            if (op.startsWith('decrypt')) result = readFileSync(out).length >= size.bytes - 200 ? 'ok' : 'SHORT';
            if (op.startsWith('verify')) result = 'valid'; // exit status 0
            const memory = size.bytes >= MiB && !args.has('--no-memory') ? timeMaxRss(argsList) : undefined;
            rows.push({ ...base, iterations: size.iterations, medianMs: ms, netMs: net,
              mbPerS: net > 1 ? size.bytes / 1e6 / (net / 1000) : null,
              result: `${result ? `${result}, ` : ''}net ${net.toFixed(1)} ms`,
              ...(memory !== undefined ? { peakMiB: memory } : {}) });
          } catch (error) {
            rows.push({ ...base, iterations: 0, medianMs: NaN, result: String(error?.message ?? error).slice(0, 200), error: 'ERROR' });
          }
        }
      }
    }
    // Cross-check: Cachet verifies openssl's signature (read back in the Node process).
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { rows, baselineMs, version };
}

/** Peak RSS in MiB of one openssl run minus that of `openssl version` (GNU time's %M). */
let opensslBaseRss;
function timeMaxRss(argsList) {
  const m = (a) => {
    const r = spawnSync('/usr/bin/time', ['-f', '%M', 'openssl', ...a], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    return Number(r.stderr.trim().split('\n').pop()) / 1024;
  };
  if (!existsSync('/usr/bin/time')) return undefined;
  opensslBaseRss ??= m(['version']);
  return m(argsList) - opensslBaseRss;
}

function messageNode(size) {
  // The same message as benchmark()'s `message` (kept in step by the cross-check below).
  const head = Buffer.from('From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: benchmark\r\n' +
    'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n');
  const out = Buffer.alloc(size);
  head.copy(out, 0, 0, Math.min(head.length, size));
  const line = Buffer.from('The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnopqrstuvwxy\r\n');
  for (let at = head.length; at < size; at += line.length) line.copy(out, at, 0, Math.min(line.length, size - at));
  if (size >= 3) out.set([46, 13, 10], size - 3);
  return out;
}

// ---- peak memory (Node): one fresh process per row -------------------------------------------

/**
 * Node has no per-call peak-memory API, and sampling `process.memoryUsage()` from a timer sees
 * nothing while a synchronous wasm call runs. So each row runs ONCE in a fresh `node` process:
 * it loads the libraries, reads its input (made by the timing run) from a file, resets the
 * kernel's peak-RSS mark (`echo 5 > /proc/self/clear_refs`), runs the operation, and reports
 * VmHWM - VmRSS-before: the extra resident memory at the peak (JS heap, ArrayBuffers, wasm linear
 * memory, native buffers; not the input, which is already resident).
 */
async function probeMain() {
  const spec = JSON.parse(valueOf('--probe'));
  const fx = await fixtures();
  const input = spec.inputFile ? new Uint8Array(readFileSync(spec.inputFile)) : undefined;
  const { run } = await benchmark({ urls: nodeUrls(), plan: { ...plan, libs: [spec.lib] }, fixtures: fx,
    probe: { ...spec, input } });
  globalThis.gc?.();
  writeFileSyncFs('/proc/self/clear_refs', '5');
  const before = vm('self');
  await run();
  const after = vm('self');
  process.stdout.write(JSON.stringify({ peakBytes: after.VmHWM - before.VmRSS }));
}

async function memoryRows(outputs, sizes, measured) {
  const dir = await mkdtemp(join(tmpdir(), 'cachet-mem-'));
  const results = [];
  try {
    for (const o of outputs) {
      const size = sizes.find((s) => s.label === o.size);
      if (size.bytes < MiB) continue;
      const file = join(dir, 'input');
      await writeFile(file, o.bytes);
      for (const op of consumers[o.op]) {
        if (!measured.has(`${o.lib}|${o.key}|${o.size}|${op}`)) continue;
        const producer = op === o.op;
        const spec = { lib: o.lib, key: o.key, op, bytes: size.bytes, ...(producer ? {} : { inputFile: file }) };
        const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', selfPath,
          '--probe', JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 20 });
        let peakMiB = null;
        try { peakMiB = JSON.parse(r.stdout).peakBytes / MiB; } catch { /* reported as missing */ }
        results.push({ lib: o.lib, key: o.key, size: o.size, op, peakMiB,
          ...(peakMiB === null ? { memoryError: (r.stderr || '').split('\n').slice(0, 3).join(' ') } : {}) });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}

// ---- sizes, table, main ----------------------------------------------------------------------

async function packageSize() {
  const sized = (file, raw) => ({
    file,
    raw: raw.length,
    gzip: gzipSync(raw, { level: 9 }).length,
    brotli: brotliCompressSync(raw, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length },
    }).length,
  });
  const files = [];
  // Everything `import … from 'cachet'` loads (index.js and what it imports, at any depth).
  for (const f of ['cachet_wasm_bg.wasm', 'cachet_wasm.js', 'index.js', 'errors.js', 'codes.js',
    'keystore.js', 'bulk.js', 'websign.js', 'options.js', 'submit.js']) {
    if (existsSync(join(root, 'pkg', f))) files.push(sized(`pkg/${f}`, await readFile(join(root, 'pkg', f))));
  }
  const total = files.reduce((t, f) => ({ raw: t.raw + f.raw, gzip: t.gzip + f.gzip, brotli: t.brotli + f.brotli }),
    { raw: 0, gzip: 0, brotli: 0 });
  return { files, total: { file: 'total (wasm + JS loaded by index.js)', ...total } };
}

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' })
      .trim();
  } catch {
    return null;
  }
}

function table(results) {
  const lines = [];
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  lines.push(`Cachet benchmarks, ${results.date} (commit ${results.commit ?? '?'})${results.full ? ' --full' : ''}`);
  lines.push(`${results.machine.cpu} x${results.machine.cores}, ${results.machine.platform}, load average at start ${results.machine.load}`);
  lines.push(`Node ${results.node}; Chromium ${results.chromium ?? '(not run)'}; ${results.openssl?.version ?? 'openssl not run'}`);
  lines.push(`Libraries: cachet (this commit, pkg/), pkijs ${results.versions.pkijs} + asn1js ${results.versions.asn1js} (WebCrypto), node-forge ${results.versions.forge}.`);
  lines.push('Same job for all: RFC 5322 message in, S/MIME out (detached multipart/signed, SHA-256, signed');
  lines.push('attributes, certificates; application/pkcs7-mime) and back, base64 included. Median of N samples');
  lines.push('after one warm-up (a sample repeats a call shorter than 20 ms), a full GC before each row where');
  lines.push('exposed (`npm run bench` and its browser do); MB/s = 10^6 message bytes per s.');
  lines.push('RSA key transport: Cachet and openssl RSAES-PKCS1-v1_5, PKI.js RSAES-OAEP (WebCrypto has no');
  lines.push('v1.5), forge v1.5; Cachet also RSAES-OAEP (SHA-256) in the "OAEP" rows, whose x PKI.js is');
  lines.push('against PKI.js\'s AES-256-CBC rows. P-256: ECDH (ephemeral-static) + AES key wrap for all.');
  if (results.openssl?.baselineMs != null) {
    lines.push('openssl: median ms = whole-command wall time (spawn, key and file I/O, operation); "net" and');
    lines.push(`  its MB/s subtract the fastest no-op \`openssl version\` (${results.openssl.baselineMs.toFixed(2)} ms; MB/s only when net > 1 ms);`);
    lines.push('  its peak = GNU time max RSS minus that of `openssl version`. Same files, same message.');
  }
  lines.push('peak MiB (>= 1 MiB): extra resident memory at the peak of ONE call in a fresh process (Node) or');
  lines.push('  a fresh browser\'s renderer (Chromium): VmHWM after resetting it, minus VmRSS before, after a GC,');
  lines.push('  with the input already resident (Chromium\'s verify/decrypt inputs are Node\'s sign/encrypt outputs).');
  lines.push('cpu ms (Node): process CPU time per call, all threads (WebCrypto\'s pool included), median.');
  lines.push('x PKI.js = this median / PKI.js median for the same env, key, size and operation (< 1 is faster);');
  lines.push('  openssl\'s ratio uses its net time.');
  lines.push('');
  const head = ['env', 'lib', 'key', 'size', 'operation', 'N', 'median ms', 'cpu ms', 'MB/s', 'peak MiB', 'x PKI.js', 'result'];
  const body = results.rows.map((r) => [
    r.env, r.lib, r.key, r.size, r.op, String(r.iterations || ''),
    Number.isNaN(r.medianMs) || r.medianMs == null ? '' : r.medianMs.toFixed(2),
    r.cpuMs == null ? '' : r.cpuMs.toFixed(2),
    r.mbPerS == null ? '' : r.mbPerS < 10 ? r.mbPerS.toPrecision(2) : r.mbPerS.toFixed(1),
    r.peakMiB == null ? '' : r.peakMiB.toFixed(1),
    r.vsPkijs == null ? '' : r.vsPkijs.toFixed(2),
    r.na ?? r.result ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const right = new Set([5, 6, 7, 8, 9, 10]);
  const fmt = (row) => row.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
    .join('  ').trimEnd();
  lines.push(fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt));
  lines.push('');
  for (const f of [...results.size.files, results.size.total]) {
    lines.push(`${f.file}: ${f.raw} bytes raw (${kib(f.raw)}), ${f.gzip} gzip -9 (${kib(f.gzip)}), ` +
      `${f.brotli} brotli -q 11 (${kib(f.brotli)})`);
  }
  return `${lines.join('\n')}\n`;
}

function versionOf(name) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

async function main() {
  if (!existsSync(wasmPath)) {
    console.error('benches/run.mjs: pkg/ is not built: run `npm run build` (or `npm run bench`)');
    process.exit(1);
  }
  const load = (await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ');
  const fx = await fixtures();
  const rows = [];
  let chromiumVersion = null;
  let openssl = null;
  let outputs = [];
  if (!args.has('--browser-only')) {
    console.error('bench: Node…');
    const node = await runNode(fx);
    const nodeRows = node.rows;
    outputs = node.outputs;
    const withEnv = nodeRows.map((r) => ({ env: 'node', ...r }));
    if (!args.has('--no-memory')) {
      console.error('bench: Node peak memory (one fresh process per row)…');
      const measured = new Set(withEnv.filter((r) => Number.isFinite(r.medianMs)).map((r) => `${r.lib}|${r.key}|${r.size}|${r.op}`));
      for (const m of await memoryRows(outputs, plan.sizes, measured)) {
        const row = withEnv.find((r) => r.lib === m.lib && r.key === m.key && r.size === m.size && r.op === m.op);
        if (row) Object.assign(row, { peakMiB: m.peakMiB, ...(m.memoryError ? { memoryError: m.memoryError } : {}) });
      }
    }
    rows.push(...withEnv);
    if (plan.libs.includes('openssl')) {
      console.error('bench: openssl cms…');
      openssl = await runOpenssl();
      rows.push(...openssl.rows.map((r) => ({ env: 'node', ...r })));
    }
  }
  if (!args.has('--node-only')) {
    console.error('bench: Chromium…');
    const { rows: browserRows, version } = await runBrowser(fx, outputs);
    chromiumVersion = version;
    rows.push(...browserRows.map((r) => ({ env: 'chromium', ...r })));
  }
  // Ratios to PKI.js in the same environment and run.
  for (const r of rows) {
    // The OAEP rows against PKI.js's CBC rows, which are RSA-OAEP.
    const op = r.op.replace(', OAEP)', ')');
    const p = rows.find((q) => q.env === r.env && q.lib === 'pkijs' && q.key === r.key && q.size === r.size
      && q.op === op && Number.isFinite(q.medianMs));
    const mine = r.lib === 'openssl' ? r.netMs : r.medianMs;
    if (p && Number.isFinite(mine) && r.size !== '-') r.vsPkijs = mine / p.medianMs;
  }
  // Order: env, key, size, operation, library.
  const order = (xs, x) => (xs.indexOf(x) < 0 ? 99 : xs.indexOf(x));
  const envs = ['node', 'chromium'];
  const keys = plan.keys.map((k) => k.label);
  const sizes = ['-', ...plan.sizes.map((s) => s.label)];
  const opsOrder = ['cross-check', 'setup / cross-check', 'sign', 'verify (sig only)', 'verify + chain',
    'encrypt (AES-256-CBC)', 'decrypt (AES-256-CBC)', 'encrypt (AES-256-GCM)', 'decrypt (AES-256-GCM)',
    'encrypt (AES-256-CBC, OAEP)', 'decrypt (AES-256-CBC, OAEP)'];
  const libsOrder = ['cachet', 'pkijs', 'forge', 'openssl'];
  rows.sort((a, b) => order(envs, a.env) - order(envs, b.env) || order(keys, a.key) - order(keys, b.key)
    || order(sizes, a.size) - order(sizes, b.size) || order(opsOrder, a.op) - order(opsOrder, b.op)
    || order(libsOrder, a.lib) - order(libsOrder, b.lib));
  const results = {
    date: new Date().toISOString(),
    commit: commit(),
    quick,
    full,
    node: process.versions.node,
    chromium: chromiumVersion,
    openssl: openssl ? { version: openssl.version, baselineMs: openssl.baselineMs } : null,
    versions: { pkijs: versionOf('pkijs'), asn1js: versionOf('asn1js'), forge: versionOf('node-forge') },
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, platform: `${platform()} ${arch()}`, load },
    size: await packageSize(),
    plan,
    rows,
  };
  const text = table(results);
  process.stdout.write(text);
  if (!args.has('--no-save')) {
    await mkdir(resultsDir, { recursive: true });
    const suffix = valueOf('--save-as') ?? 'latest';
    await writeFile(join(resultsDir, `${suffix}.json`), `${JSON.stringify(results, null, 2)}\n`);
    await writeFile(join(resultsDir, `${suffix}.txt`), text);
    console.error(`bench: wrote benches/results/${suffix}.json and ${suffix}.txt`);
  }
  const failed = rows.filter((r) => r.error || /NOT VALID|SHORT/.test(r.result ?? ''));
  if (failed.length > 0) {
    console.error(`bench: ${failed.length} row(s) failed (see the result column)`);
    process.exitCode = 1;
  }
}

if (args.has('--probe')) await probeMain();
else await main();
