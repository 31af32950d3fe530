// Seeded mutations of S/MIME messages for the hostile-input tests (tests/js/hostile.test.mjs in
// Node, tests/browser/hostile.test.mjs in Chromium): the same seed gives the same messages.

const te = new TextEncoder();

/** xorshift32: the same mutations for the same seed (the failing seed and round are printed). */
export function prng(seed) {
  let s = (seed >>> 0) || 1;
  const next = () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
  return { below: (n) => next() % n, next };
}

/** A message: text, and with `attachment` bytes a multipart/mixed with a base64 part. */
export function message(attachment) {
  const head = 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Hostile\r\n'
    + 'Date: Tue, 01 Jan 2030 00:00:00 +0000\r\nMIME-Version: 1.0\r\n';
  if (!attachment) {
    return te.encode(`${head}Content-Type: text/plain; charset=utf-8\r\n\r\n${'Hello Bob.\r\n'.repeat(90)}`);
  }
  const b64 = Buffer.alloc(attachment, 'attachment bytes ').toString('base64').replace(/.{76}/g, '$&\r\n');
  return te.encode(`${head}Content-Type: multipart/mixed; boundary="b-1"\r\n\r\n--b-1\r\n`
    + 'Content-Type: text/plain\r\n\r\nSee the attachment.\r\n--b-1\r\n'
    + 'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n'
    + `${b64}\r\n--b-1--\r\n`);
}

// What the mutations splice in: the tokens MIME, base64 and the bulk path's framing turn on.
export const TOKENS = [
  '\r\n', '\n', '\r', '\r\n\r\n', '--b-1\r\n', '--b-1--\r\n', '=', '==\r\n', '====', '=\r\n', '\0',
  'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=b-1\r\n',
  'Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n',
  'Content-Type: application/pkcs7-mime; smime-type=signed-data\r\n',
  'Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data\r\n',
  'Content-Type: message/rfc822\r\n', 'Content-Transfer-Encoding: base64\r\n',
  'Content-Transfer-Encoding: quoted-printable\r\n', 'Content-Transfer-Encoding: binary\r\n',
  ' folded\r\n', 'MIIB', 'gICA', '\u00ff\u00fe', 'A'.repeat(1000),
];

/** One mutation of `bytes` (a latin1 string keeps each byte one char). */
export function mutate(bytes, rnd) {
  let s = Buffer.from(bytes).toString('latin1');
  const n = 1 + rnd.below(3);
  for (let k = 0; k < n; k += 1) {
    const at = rnd.below(s.length + 1);
    // Most of a message is base64: aim half the mutations at its header section and ends.
    const near = rnd.below(2) === 0 ? Math.min(at, 2048) : at;
    switch (rnd.below(9)) {
      case 0: { // flip a byte
        const i = Math.min(near, s.length - 1);
        s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << rnd.below(8))) + s.slice(i + 1);
        break;
      }
      case 1: s = s.slice(0, at); break; // truncate
      case 2: s = s.slice(0, near) + s.slice(near + 1 + rnd.below(4096)); break; // cut a span
      case 3: { // repeat a span
        const len = 1 + rnd.below(4096);
        s = s.slice(0, near) + s.slice(near, near + len) + s.slice(near);
        break;
      }
      case 4: { // a token at a line start
        const line = s.lastIndexOf('\n', near) + 1;
        s = s.slice(0, line) + TOKENS[rnd.below(TOKENS.length)] + s.slice(line);
        break;
      }
      case 5: s = s.slice(0, near) + TOKENS[rnd.below(TOKENS.length)] + s.slice(near); break;
      case 6: { // a base64 character for another, or for one that is not base64
        const pool = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.* \t';
        const i = Math.min(at, s.length - 1);
        s = s.slice(0, i) + pool[rnd.below(pool.length)] + s.slice(i + 1);
        break;
      }
      case 7: s = s.replace(/\r\n/g, rnd.below(2) ? '\n' : '\r\n\r\n').slice(0, s.length + rnd.below(64)); break;
      default: { // a header field's value for another
        const fields = [...s.slice(0, 4096).matchAll(/^([A-Za-z-]+):[^\r\n]*/gm)];
        if (fields.length === 0) break;
        const f = fields[rnd.below(fields.length)];
        const values = ['', ' x', ' multipart/mixed', ' application/pkcs7-mime; smime-type=enveloped-data',
          ' multipart/signed; boundary=""', ' base64', ` ${'a'.repeat(70000)}`, ' =?utf-8?B?////?='];
        s = s.slice(0, f.index + f[1].length + 1) + values[rnd.below(values.length)]
          + s.slice(f.index + f[0].length);
      }
    }
  }
  return new Uint8Array(Buffer.from(s, 'latin1'));
}

/**
 * The messages mutated: small and over `threshold` (the bulk path), each enveloped (AES-CBC to
 * the first of `encryptionKeys`, an RSA certificate; AES-GCM to the second, P-256), signed
 * detached and opaque, and sealed (signed, then encrypted to the first). `[name, bytes]` pairs,
 * and the large plaintext.
 */
export async function baseMessages(cachet, { signingKeys, encryptionKeys: [rsa, ec], date }, threshold) {
  const small = message(0);
  const large = message(threshold + 64 * 1024);
  if (large.length <= threshold) throw new Error('the large message is under the threshold');
  const signing = { signingKeys, date };
  const bases = [];
  for (const [size, m] of [['small', small], ['large', large]]) {
    bases.push([`${size} enveloped CBC RSA`, await cachet.encrypt({ message: m, encryptionKeys: rsa, cipher: 'aes256-cbc' })]);
    bases.push([`${size} authEnveloped GCM P-256`, await cachet.encrypt({ message: m, encryptionKeys: ec })]);
    bases.push([`${size} signed detached`, await cachet.sign({ message: m, ...signing })]);
    bases.push([`${size} signed opaque`, await cachet.sign({ message: m, ...signing, detached: false })]);
    bases.push([`${size} sealed`, (await cachet.seal({ message: m, sign: true, encrypt: true, ...signing,
      encryptionKeys: [rsa] })).message]);
  }
  return { bases, large };
}
