// Large AES-GCM content goes through WebCrypto (wasm has no AES instructions): the core keeps
// header protection, signatures, key wrapping/unwrapping, DER and MIME. These tests prove the
// path is taken, that OpenSSL reads what it writes and that it reads what OpenSSL writes, and that
// every failure is still the one DECRYPTION_FAILED.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';

import { gcmChunkIvs, tuning } from '../../pkg/bulk.js';
import { AT_DATE, cachet, pki, read, readText, rejectsWith, run, scratch } from './helpers.mjs';

// Whether Node's AES-GCM takes chunk IVs is asked once, here, so that no test counts the probe's
// WebCrypto calls. (It does: the probe test below checks that.)
await cachet.init();
const probed = await gcmChunkIvs(await import('../../pkg/cachet_wasm.js'));

const alice = { privateKey: read('alice-rsa.p12'), password: 'test' };
const bob = { privateKey: read('bob-rsa.p12'), password: 'test' };
const bobEc = { privateKey: read('bob-p256.p12'), password: 'test' };
const root = readText('root-ca.pem');

/** A 1 MiB message (over the WebCrypto threshold) with a recognisable last line. */
function bigMessage(lastLine = 'THE END') {
  const line = 'All work and no play makes Jack a dull boy. 0123456789 abcdefghij\r\n';
  const body = line.repeat(Math.ceil((1 << 20) / line.length)) + `${lastLine}\r\n`;
  return 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Big\r\n'
    + 'Date: Tue, 01 Jan 2030 00:00:00 +0000\r\nMIME-Version: 1.0\r\n'
    + `Content-Type: text/plain; charset=us-ascii\r\n\r\n${body}`;
}

/** Count WebCrypto AES calls made while `fn` runs (and which modes: `calls.modes`; AES-GCM
 *  seals of nothing with additional data, decryption's chunk tags: `calls.aadSeals`). */
async function countingGcm(fn) {
  const subtle = globalThis.crypto.subtle;
  const calls = { encrypt: 0, decrypt: 0, modes: new Set(), aadSeals: 0 };
  const original = { encrypt: subtle.encrypt, decrypt: subtle.decrypt };
  for (const op of ['encrypt', 'decrypt']) {
    subtle[op] = function counted(alg, ...rest) {
      if (/^AES-(GCM|CBC|CTR)$/.test(alg?.name)) {
        calls[op] += 1;
        calls.modes.add(`${op} ${alg.name}`);
        if (op === 'encrypt' && alg.name === 'AES-GCM' && alg.additionalData?.byteLength > 0
          && rest[1]?.byteLength === 0) calls.aadSeals += 1;
      }
      return original[op].call(subtle, alg, ...rest);
    };
  }
  try {
    return { result: await fn(), calls };
  } finally {
    delete subtle.encrypt;
    delete subtle.decrypt;
  }
}


// First in this file: wasm memory never shrinks, so it is measured before other tests grow it.
test('a large message to sign, encrypt, seal or verify is read by the core in pieces, never whole in wasm memory; OpenSSL verifies and decrypts what we write, we verify what it signs', async () => {
  const core = await import('../../pkg/cachet_wasm.js');
  const exports = core.initSync(); // the instance index.js loaded: its memory
  const MiB = 1 << 20;
  // A web mail's large message: text and a 32 MiB base64 attachment, CRLF.
  const b64 = Buffer.alloc(24 * MiB, 'attachment bytes ').toString('base64').replace(/.{76}/g, '$&\r\n');
  const text = 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Large\r\n'
    + 'Date: Tue, 01 Jan 2030 00:00:00 +0000\r\nMIME-Version: 1.0\r\n'
    + 'Content-Type: multipart/mixed; boundary="b-1"\r\n\r\n--b-1\r\nContent-Type: text/plain\r\n\r\n'
    + 'See the attachment.\r\n--\r\nAlice\r\n--b-1\r\nContent-Type: application/octet-stream\r\n'
    + `Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b-1--\r\n`;
  const message = new TextEncoder().encode(text);
  assert.ok(message.length > 32 * MiB);
  const entity = text.slice(text.indexOf('Content-Type: multipart/mixed'));
  const dir = scratch('bulk-skeleton');
  writeFileSync(join(dir, 'entity.eml'), entity);
  const bySsl = run('openssl', ['cms', '-sign', '-in', join(dir, 'entity.eml'), '-signer', pki('alice-rsa.pem'),
    '-inkey', pki('alice-rsa.key'), '-certfile', pki('inter-ca.pem'), '-out', join(dir, 'openssl.eml')]);
  assert.equal(bySsl.status, 0, bySsl.stderr);
  // OpenSSL writes its own header lines with LF: CRLF, as SMTP delivers them.
  const opensslSigned = new Uint8Array(Buffer.from(readFileSync(join(dir, 'openssl.eml'), 'latin1')
    .replace(/\r?\n/g, '\r\n'), 'latin1'));
  const before = exports.memory.buffer.byteLength;
  const signed = await cachet.sign({ message, signingKeys: alice, date: AT_DATE });
  const enc = await cachet.encrypt({ message, encryptionKeys: read('bob-rsa.pem') });
  const report = await cachet.verify({ message: signed, trustAnchors: root, date: AT_DATE });
  const theirs = await cachet.verify({ message: opensslSigned, trustAnchors: root, date: AT_DATE });
  // seal (header protection, the Subject hidden and shown again in the text part) too.
  const { message: sealed } = await cachet.seal({ message, sign: true, encrypt: true, signingKeys: alice,
    encryptionKeys: read('bob-rsa.pem'), date: AT_DATE });
  const grown = exports.memory.buffer.byteLength - before;
  // Read whole, each message would be copied into wasm memory (32 MiB and more, for good).
  assert.ok(grown < 8 * MiB, `wasm memory grew by ${(grown / MiB).toFixed(1)} MiB`);
  assert.equal(report.valid, true);
  assert.equal(report.signers[0].email, 'alice@example.org');
  assert.equal(new TextDecoder().decode(report.content), entity);
  assert.equal(theirs.valid, true, JSON.stringify(theirs.signers.map((x) => x.code)));
  // One byte of the attachment changed: content-altered, as from the whole message.
  const altered = signed.slice();
  altered[signed.length >> 1] ^= 1;
  const alteredReport = await cachet.verify({ message: altered, trustAnchors: root, date: AT_DATE });
  assert.equal(alteredReport.signers[0].status, 'content-altered');
  const whole = core.verifyMessage(altered, [read('root-ca.pem')], [], [], AT_DATE.getTime(), []);
  assert.equal(whole.signers[0].code, alteredReport.signers[0].code);
  // The pieces give the split of the whole message.
  const skeleton = new core.MessageSkeleton();
  for (let at = 0; at < message.length; at += 100_000) assert.ok(skeleton.feed(message.subarray(at, at + 100_000)));
  const pieces = skeleton.split();
  skeleton.free();
  assert.deepEqual(pieces, core.splitMessage(message));
  writeFileSync(join(dir, 'signed.eml'), signed);
  writeFileSync(join(dir, 'enc.eml'), enc);
  const ver = run('openssl', ['cms', '-verify', '-in', join(dir, 'signed.eml'), '-CAfile', pki('root-ca.pem'),
    '-purpose', 'smimesign', '-out', join(dir, 'verified')]);
  assert.equal(ver.status, 0, ver.stderr);
  assert.equal(readFileSync(join(dir, 'verified'), 'latin1'), entity);
  const dec = run('openssl', ['cms', '-decrypt', '-in', join(dir, 'enc.eml'), '-inkey', pki('bob-rsa.key'),
    '-recip', pki('bob-rsa.pem'), '-out', join(dir, 'decrypted')]);
  assert.equal(dec.status, 0, dec.stderr);
  assert.equal(readFileSync(join(dir, 'decrypted'), 'latin1'), entity);
  // What seal wrote: OpenSSL decrypts it and verifies the payload, which is the one the core
  // makes of the whole message (its Legacy Display Element in front of the text part).
  writeFileSync(join(dir, 'sealed.eml'), sealed);
  const sslOpened = run('openssl', ['cms', '-decrypt', '-in', join(dir, 'sealed.eml'), '-inkey', pki('bob-rsa.key'),
    '-recip', pki('bob-rsa.pem'), '-out', join(dir, 'sealed-inner.eml')]);
  assert.equal(sslOpened.status, 0, sslOpened.stderr);
  const sslVerified = run('openssl', ['cms', '-verify', '-in', join(dir, 'sealed-inner.eml'), '-CAfile',
    pki('root-ca.pem'), '-purpose', 'smimesign', '-out', join(dir, 'sealed-payload')]);
  assert.equal(sslVerified.status, 0, sslVerified.stderr);
  const [, wholePayload] = core.sealMessageUnsigned(message, [read('bob-rsa.pem')], 'aes256-gcm', false, true, true,
    'hcp_baseline', 'protect');
  const payload = readFileSync(join(dir, 'sealed-payload'), 'latin1');
  assert.equal(payload, new TextDecoder().decode(wholePayload));
  assert.match(payload, /hp-legacy-display="1"\r\n\r\nSubject: Large\r\n\r\nSee the attachment\./);
  // Opening it signed and encrypted (header protection too): the decrypted plaintext is read
  // in pieces as well, and the report is the whole-plaintext path's (tests/skeleton.rs).
  const { openDecrypted } = core.Identity.prototype;
  let wholeCalls = 0;
  core.Identity.prototype.openDecrypted = function counted(...args) {
    wholeCalls += 1;
    return openDecrypted.apply(this, args);
  };
  let opened;
  try {
    opened = await cachet.open({ message: sealed, decryptionKeys: bob, trustAnchors: root, date: AT_DATE });
  } finally {
    core.Identity.prototype.openDecrypted = openDecrypted;
  }
  assert.equal(wholeCalls, 0, 'the plaintext went to the core whole');
  assert.deepEqual(opened.layers.map((l) => l.type), ['authEnveloped', 'signed']);
  assert.equal(opened.signedValid, true);
  assert.equal(opened.authenticated, true);
  assert.equal(opened.protectedHeaders.fields.find(([n]) => n === 'Subject')[1], 'Large');
  assert.ok(new TextDecoder().decode(opened.content).endsWith(`${b64}\r\n--b-1--\r\n`));
  // With a line end to convert, the core splits the whole message, as before.
  const lf = new TextEncoder().encode(text.replace('Alice\r\n--b-1', 'Alice\n--b-1'));
  const lfSkeleton = new core.MessageSkeleton();
  assert.equal(lfSkeleton.feed(lf), false);
  assert.equal(lfSkeleton.split(), undefined);
  lfSkeleton.free();
  const lfSigned = await cachet.sign({ message: lf, signingKeys: alice, date: AT_DATE });
  assert.equal((await cachet.verify({ message: lfSigned, trustAnchors: root, date: AT_DATE })).valid, true);
});

test('large AES-GCM and AES-CBC encrypt go through WebCrypto; OpenSSL decrypts; we decrypt back', async () => {
  const dir = scratch('bulk-enc');
  for (const cipher of ['aes256-gcm', 'aes128-gcm', 'aes256-cbc', 'aes128-cbc']) {
    const gcm = cipher.endsWith('gcm');
    const message = bigMessage(`end of ${cipher}`);
    const { result: enc, calls } = await countingGcm(() => cachet.encrypt({
      message, encryptionKeys: [read('bob-rsa.pem'), read('bob-p256.pem')], cipher,
    }));
    // In 1 MiB chunks (the entity is just over 1 MiB: two); GCM each under its own IV.
    assert.equal(calls.encrypt, 2, 'WebCrypto encrypted the content');
    assert.deepEqual([...calls.modes], [gcm ? 'encrypt AES-GCM' : 'encrypt AES-CBC']);
    assert.doesNotMatch(enc, /no play makes/);
    assert.match(enc, gcm ? /smime-type=authEnveloped-data/ : /smime-type=enveloped-data/);
    const file = join(dir, `${cipher}.eml`);
    writeFileSync(file, enc);
    const dec = run('openssl', ['cms', '-decrypt', '-in', file, '-inkey', pki('bob-rsa.key'),
      '-recip', pki('bob-rsa.pem')]);
    assert.equal(dec.status, 0, dec.stderr?.toString());
    assert.match(dec.stdout.toString(), new RegExp(`end of ${cipher}\\r?\\n$`));
    for (const key of [bob, bobEc]) {
      const { result: d, calls: c } = await countingGcm(() => cachet.decrypt({ message: enc, decryptionKeys: key }));
      // In 1 MiB chunks (two); GCM's are sealed again for the tag (two more calls).
      assert.equal(c.decrypt, 2, 'WebCrypto decrypted the content');
      assert.equal(c.encrypt, gcm ? 2 : 1, 'GCM: the tag; CBC: one padding block');
      assert.equal(d.cipher, cipher);
      assert.equal(d.authenticated, gcm);
      assert.ok(d.message.endsWith(`end of ${cipher}\r\n`));
      assert.match(d.message, /^Subject: Big\r$/m);
    }
  }
  // LF line ends (as a mail store may keep them): the outer header fields still come through.
  const lfEnc = (await cachet.encrypt({ message: bigMessage('lf'), encryptionKeys: read('bob-rsa.pem') }))
    .replaceAll('\r\n', '\n');
  const { result: lf, calls: lfCalls } = await countingGcm(() => cachet.decrypt({ message: lfEnc, decryptionKeys: bob }));
  assert.equal(lfCalls.decrypt, 2); // in place, two chunks
  assert.match(lf.message, /^Subject: Big\r$/m);
  assert.match(lf.message, /^From: Alice <alice@example.org>\r$/m);
  assert.ok(lf.message.endsWith('lf\r\n'));
  // Small messages stay in one wasm call.
  const { calls } = await countingGcm(() => cachet.encrypt({
    message: 'Subject: small\r\n\r\nhi\r\n', encryptionKeys: read('bob-rsa.pem'),
  }));
  assert.equal(calls.encrypt, 0);
});

test('we decrypt and open large AES-GCM and AES-CBC messages OpenSSL made', async () => {
  const dir = scratch('bulk-openssl');
  const plain = join(dir, 'plain.eml');
  writeFileSync(plain, bigMessage('written by openssl'));
  const signed = join(dir, 'signed.eml');
  let r = run('openssl', ['cms', '-sign', '-in', plain, '-signer', pki('alice-rsa.pem'), '-inkey',
    pki('alice-rsa.key'), '-certfile', pki('inter-ca.pem'), '-out', signed]);
  assert.equal(r.status, 0, r.stderr?.toString());
  for (const [flag, cipher, type] of [['-aes-256-gcm', 'aes256-gcm', 'authEnveloped'],
    ['-aes-128-cbc', 'aes128-cbc', 'enveloped']]) {
    const enc = join(dir, `enc${flag}.eml`);
    r = run('openssl', ['cms', '-encrypt', flag, '-in', signed, '-out', enc, pki('bob-rsa.pem')]);
    assert.equal(r.status, 0, r.stderr?.toString());
    const message = readFileSync(enc);
    const { result: o, calls } = await countingGcm(() => cachet.open({
      message, decryptionKeys: bob, trustAnchors: root, date: AT_DATE,
    }));
    // Decrypted in place, in 1 MiB chunks (the signed message is just over 1 MiB).
    assert.equal(calls.decrypt, 2);
    assert.deepEqual(o.layers.map((l) => l.type), [type, 'signed']);
    assert.equal(o.layers[0].cipher, cipher);
    assert.equal(o.layers[1].signers[0].code, 'SIG_VALID', o.layers[1].signers[0].reason);
    assert.ok(o.signedValid && o.authenticated);
    assert.match(new TextDecoder().decode(o.content), /written by openssl\r\n$/);
  }
});

test('tampered large AES-GCM content is DECRYPTION_FAILED, as in the core', async () => {
  const enc = await cachet.encrypt({ message: bigMessage(), encryptionKeys: read('bob-rsa.pem') });
  // Flip one base64 character deep inside the ciphertext.
  const at = Math.floor(enc.length / 2);
  const flipped = enc[at] === 'A' ? 'B' : 'A';
  const tampered = enc.slice(0, at) + flipped + enc.slice(at + 1);
  await rejectsWith(cachet.decrypt({ message: tampered, decryptionKeys: bob }), 'DECRYPTION_FAILED');
  const o = await cachet.open({ message: tampered, decryptionKeys: bob, trustAnchors: root });
  assert.deepEqual(o.layers, [{ type: 'undecryptable', code: 'DECRYPTION_FAILED' }]);
  assert.equal(o.authenticated, false);
  // Not addressed to this key: still NOT_RECIPIENT (reported by the core).
  await rejectsWith(cachet.decrypt({ message: enc, decryptionKeys: alice }), 'NOT_RECIPIENT');
  // A key of the right kind that is not the one: the wrong content key fails the tag.
  const forBob = await cachet.encrypt({ message: bigMessage(), encryptionKeys: read('bob-p256.pem') });
  await rejectsWith(cachet.decrypt({ message: forBob, decryptionKeys: bob }), 'NOT_RECIPIENT');
});

test('large seal (sign + encrypt, header protection) through WebCrypto: OpenSSL decrypts and verifies', async (t) => {
  // Over 1 MiB (quoted-printable): the two CBC chunks cross from the signed entity's MIME head
  // into its content and from the content into the signature part.
  const big = 'x'.repeat(1100 * 1024);
  const from = tuning.gcmChunksFrom;
  t.after(() => { tuning.gcmChunksFrom = from; tuning.chunkIvs = probed; });
  for (const [cipher, chunked, ivs] of [['aes256-gcm', false, false], ['aes128-cbc', true, true],
    ['aes256-gcm', true, true], ['aes256-gcm', true, false]]) {
    // GCM: in chunks under their own IVs (`chunkIvs`), or else in one call below 32 MiB
    // (`gcmChunksFrom`) and with AES-CTR from there (lowered here to reach that path).
    tuning.gcmChunksFrom = chunked ? 0 : from;
    tuning.chunkIvs = ivs;
    const { result: sealed, calls } = await countingGcm(() => cachet.seal({
      compose: {
        from: 'Alice <alice@example.org>', to: ['Bob <bob@example.org>'], subject: 'Big attachment',
        text: 'See attached.\n',
        attachments: [{ filename: 'big.txt', contentType: 'text/plain', data: new TextEncoder().encode(big) }],
      },
      encrypt: true, cipher, signingKeys: alice, encryptionKeys: [read('bob-rsa.pem'), read('alice-rsa.pem')],
    }));
    tuning.gcmChunksFrom = from;
    assert.equal(calls.encrypt, chunked ? 2 : 1, cipher);
    assert.match(sealed.message.split('\r\n\r\n')[0], /^Subject: \[\.\.\.\]$/m);
    const dir = scratch('bulk-seal');
    const file = join(dir, `sealed-${cipher}-${chunked}-${ivs}.eml`);
    writeFileSync(file, sealed.message);
    const dec = run('openssl', ['cms', '-decrypt', '-in', file, '-inkey', pki('bob-rsa.key'), '-recip', pki('bob-rsa.pem')]);
    assert.equal(dec.status, 0, dec.stderr?.toString());
    const ver = run('openssl', ['cms', '-verify', '-CAfile', pki('root-ca.pem'), '-purpose', 'smimesign'], dec.stdout);
    assert.equal(ver.status, 0, ver.stderr?.toString());
    assert.ok(ver.stdout.toString().includes(`${'x'.repeat(75)}=\r\n`), cipher);
    const o = await cachet.open({ message: sealed.message, decryptionKeys: bob, trustAnchors: root });
    assert.ok(o.signedValid, cipher);
    assert.equal(o.authenticated, true, cipher); // signed, so authenticated even with CBC
    assert.equal(o.protectedHeaders.fields.find(([n]) => n === 'Subject')[1], 'Big attachment');
    assert.deepEqual(o.protectedHeaders.disagreements, []);
  }
});

test('AES-CBC and AES-GCM in chunks: entities around the chunk size, OpenSSL decrypts each byte for byte', async (t) => {
  // GCM goes in chunks from 32 MiB (bulk.js `tuning`); lowered here to reach that path.
  const from = tuning.gcmChunksFrom;
  tuning.gcmChunksFrom = 0;
  t.after(() => { tuning.gcmChunksFrom = from; });
  const MiB = 1 << 20;
  const head = 'Content-Type: text/plain; charset=us-ascii\r\n\r\n';
  const outer = 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: sizes\r\n';
  const dir = scratch('bulk-cbc-sizes');
  for (const size of [MiB - 1, MiB, MiB + 1, MiB + 15, 2 * MiB, 2 * MiB + 16, 3 * MiB - 5]) {
    // A 7-bit CRLF body the core keeps as it is: the entity is exactly `size` bytes.
    const lines = [];
    let left = size - head.length;
    for (let i = 0; left > 0; i += 1) {
      const text = `line ${i} ${'abcdefghijklmnopqrstuvwxyz'.repeat(2)}`.slice(0, Math.max(0, left - 2));
      const line = left - text.length >= 2 ? `${text}\r\n` : 'x'.repeat(left);
      lines.push(line);
      left -= line.length;
    }
    const entity = head + lines.join('');
    assert.equal(entity.length, size);
    // GCM both ways: chunks sealed by AES-GCM under their own IVs (the core combines the
    // tags), and AES-CTR with the core's GHASH (where WebCrypto takes no 16-byte IV).
    for (const [cipher, ivs] of [['aes128-cbc', true], ['aes256-gcm', true], ['aes256-gcm', false]]) {
      tuning.chunkIvs = ivs;
      const { result: enc, calls } = await countingGcm(() => cachet.encrypt({
        message: outer + entity, encryptionKeys: read('bob-rsa.pem'), cipher,
      }));
      tuning.chunkIvs = probed;
      assert.equal(calls.encrypt, Math.ceil(size / MiB), `WebCrypto calls for ${size}`);
      const mode = cipher.endsWith('cbc') ? 'encrypt AES-CBC' : ivs ? 'encrypt AES-GCM' : 'encrypt AES-CTR';
      assert.deepEqual([...calls.modes], [mode]);
      const file = join(dir, `${size}-${cipher}-${ivs}.eml`);
      writeFileSync(file, enc);
      const dec = run('openssl', ['cms', '-decrypt', '-binary', '-in', file, '-inkey', pki('bob-rsa.key'),
        '-recip', pki('bob-rsa.pem')]);
      assert.equal(dec.status, 0, `${cipher} ${size}: ${dec.stderr?.toString()}`);
      assert.equal(dec.stdout.length, size, `${cipher} ${size}: the entity's length`);
      assert.ok(dec.stdout.equals(Buffer.from(entity)), `${cipher} ${size}: the entity, byte for byte`);
    }
  }
});

test('decrypt in place: OpenSSL-made CBC and GCM envelopes around the chunk size, byte for byte; tampering', async (t) => {
  // GCM goes in chunks (AES-CTR + the core's GHASH) from 32 MiB (bulk.js `tuning`).
  const from = tuning.gcmChunksFrom;
  t.after(() => { tuning.gcmChunksFrom = from; });
  const MiB = 1 << 20;
  const dir = scratch('bulk-decrypt');
  for (const size of [MiB - 40, MiB + 1, 2 * MiB - 16, 2 * MiB + 100]) {
    const line = 'Decrypt me in place, please. 0123456789\r\n';
    const entity = `Content-Type: text/plain\r\n\r\n${line.repeat(Math.ceil(size / line.length))}`.slice(0, size - 2) + '\r\n';
    const plain = join(dir, `plain-${size}`);
    writeFileSync(plain, entity);
    for (const [flag, cipher, chunked, ivs] of [['-aes-128-cbc', 'aes128-cbc', true, true],
      ['-aes-256-gcm', 'aes256-gcm', false, false], ['-aes-256-gcm', 'aes256-gcm', true, true],
      ['-aes-256-gcm', 'aes256-gcm', true, false], ['-aes-128-gcm', 'aes128-gcm', true, true]]) {
      tuning.gcmChunksFrom = chunked ? 0 : from;
      tuning.chunkIvs = ivs;
      const enc = join(dir, `enc-${size}${flag}`);
      const r = run('openssl', ['cms', '-encrypt', '-binary', flag, '-in', plain, '-out', enc, pki('bob-rsa.pem')]);
      assert.equal(r.status, 0, r.stderr?.toString());
      const message = readFileSync(enc);
      const { result: d, calls } = await countingGcm(() => cachet.decrypt({ message, decryptionKeys: bob }));
      assert.equal(d.cipher, cipher);
      const ciphertext = cipher.endsWith('cbc') ? (Math.floor(size / 16) + 1) * 16 : size;
      const chunks = chunked ? Math.ceil(ciphertext / MiB) : 1;
      assert.equal(calls.decrypt, chunks, `${cipher} ${size}`);
      // GCM chunks tagged under their own IVs (CBC and one-shot GCM: none): nothing sealed with
      // the chunk's ciphertext as additional data, so no second copy of the chunk comes out.
      const gcmChunked = chunked && cipher.endsWith('gcm');
      // CBC: one block made per chunk boundary (bulk.js `cbcChunks`).
      const made = cipher.endsWith('cbc') ? chunks - 1 : gcmChunked && ivs ? chunks : 0;
      assert.equal(calls.encrypt, made, `${cipher} ${size} ${ivs}`);
      if (gcmChunked) {
        assert.deepEqual([...calls.modes].sort(), ivs ? ['decrypt AES-CTR', 'encrypt AES-GCM'] : ['decrypt AES-CTR']);
        assert.equal(calls.aadSeals, ivs ? chunks : 0, `${cipher} ${size} ${ivs}: tags from AAD seals`);
      }
      const text = new TextDecoder().decode(d.message);
      assert.equal(text, `MIME-Version: 1.0\r\n${entity}`, `${cipher} ${size}: byte for byte`);
      assert.equal(d.authenticated, cipher.endsWith('gcm'));
      // One base64 character changed in the middle of the body.
      const s = message.toString('latin1');
      const at = s.length - Math.floor(size / 2);
      const tampered = Buffer.from(s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1), 'latin1');
      if (cipher.endsWith('gcm')) {
        await rejectsWith(cachet.decrypt({ message: tampered, decryptionKeys: bob }), 'DECRYPTION_FAILED');
      } else {
        // Unauthenticated CBC: the change garbles two blocks and nothing notices (the reason
        // `authenticated` is false); the padding at the end still holds.
        const g = await cachet.decrypt({ message: tampered, decryptionKeys: bob });
        assert.notEqual(new TextDecoder().decode(g.message), text);
        assert.equal(g.authenticated, false);
      }
    }
  }
  tuning.gcmChunksFrom = from;
  tuning.chunkIvs = probed;
  // BER (indefinite lengths, segmented content: `-stream`) is not located: the whole-message
  // path decrypts it, in one WebCrypto call.
  const entity = `Content-Type: text/plain\r\n\r\n${'streamed BER line\r\n'.repeat(70000)}`;
  writeFileSync(join(dir, 'plain-ber'), entity);
  const r = run('openssl', ['cms', '-encrypt', '-stream', '-binary', '-aes-256-cbc', '-in', join(dir, 'plain-ber'),
    '-out', join(dir, 'enc-ber'), pki('bob-rsa.pem')]);
  assert.equal(r.status, 0, r.stderr?.toString());
  const der = Buffer.from(readFileSync(join(dir, 'enc-ber'), 'latin1').split(/\r?\n\r?\n/)[1], 'base64');
  assert.equal(der[1], 0x80, 'indefinite length');
  const { result: ber, calls } = await countingGcm(() => cachet.decrypt({
    message: readFileSync(join(dir, 'enc-ber')), decryptionKeys: bob,
  }));
  assert.equal(calls.decrypt, 1);
  assert.equal(new TextDecoder().decode(ber.message), `MIME-Version: 1.0\r\n${entity}`);
  // Line ends of the plaintext: a line longer than a chunk (CRLF, kept), and bare LF (made CRLF,
  // as for small messages).
  const long = `Content-Type: application/octet-stream\r\n\r\n${'x'.repeat(1536 * 1024)}\r\nend\r\n`;
  const lf = `Content-Type: text/plain\n\n${'bare LF line\n'.repeat(100000)}`;
  for (const [name, content, expected] of [['long', long, long], ['lf', lf, lf.replaceAll('\n', '\r\n')]]) {
    writeFileSync(join(dir, `plain-${name}`), content);
    const e = run('openssl', ['cms', '-encrypt', '-binary', '-aes-128-cbc', '-in', join(dir, `plain-${name}`),
      '-out', join(dir, `enc-${name}`), pki('bob-rsa.pem')]);
    assert.equal(e.status, 0, e.stderr?.toString());
    const d = await cachet.decrypt({ message: readFileSync(join(dir, `enc-${name}`)), decryptionKeys: bob });
    assert.equal(new TextDecoder().decode(d.message), `MIME-Version: 1.0\r\n${expected}`, name);
  }
  // Not addressed to this key: the whole-message path reports it, as for small messages.
  const other = await cachet.encrypt({ message: bigMessage(), encryptionKeys: read('alice-rsa.pem') });
  await rejectsWith(cachet.decrypt({ message: other, decryptionKeys: bob }), 'NOT_RECIPIENT');
});

test('a large opaque signed message opens with decryption keys given (the in-place path steps aside)', async () => {
  const signed = await cachet.sign({ message: bigMessage('opaque'), signingKeys: alice, detached: false,
    date: AT_DATE });
  assert.match(signed, /smime-type=signed-data/);
  const { result: o, calls } = await countingGcm(() => cachet.open({
    message: signed, decryptionKeys: bob, trustAnchors: root, date: AT_DATE,
  }));
  assert.equal(calls.decrypt, 0);
  assert.deepEqual(o.layers.map((l) => l.type), ['signed']);
  assert.ok(o.signedValid);
  assert.match(new TextDecoder().decode(o.content), /opaque\r\n$/);
  await rejectsWith(cachet.decrypt({ message: signed, decryptionKeys: bob }), 'NOT_ENCRYPTED');
});

test('seal and open report their stages to onProgress', async () => {
  const seen = [];
  const sealed = await cachet.seal({
    compose: { from: 'alice@example.org', to: ['bob@example.org'], subject: 'p', text: 'hi\n' },
    encrypt: true, signingKeys: alice, encryptionKeys: [read('bob-rsa.pem'), read('alice-rsa.pem')],
    onProgress: (p) => seen.push(p),
  });
  assert.deepEqual(seen.map((p) => [p.stage, p.step, p.steps]),
    [['compose', 1, 4], ['sign', 2, 4], ['encrypt', 3, 4], ['done', 4, 4]]);
  assert.ok(seen[2].bytes > 0 && seen[3].bytes >= seen[2].bytes);
  const opened = [];
  const o = await cachet.open({ message: sealed.message, decryptionKeys: bob, trustAnchors: root,
    onProgress: (p) => opened.push(p) });
  assert.ok(o.signedValid);
  assert.deepEqual(opened.map((p) => p.stage), ['decrypt', 'verify', 'done']);
  // ChaCha20-Poly1305 (not in WebCrypto): the core signs and encrypts in one step.
  const chacha = [];
  await cachet.seal({
    message: 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: c\r\n\r\nx\r\n', encrypt: true,
    cipher: 'chacha20-poly1305', signingKeys: alice, encryptionKeys: read('bob-rsa.pem'),
    onProgress: (p) => chacha.push(p.stage),
  });
  assert.deepEqual(chacha, ['sign', 'done']);
  await rejectsWith(cachet.seal({ message: 'Subject: x\r\n\r\nx\r\n', signingKeys: alice, onProgress: 1 }),
    'API_MISUSE');
});

test('GCM chunk IVs: probed once; a WebCrypto whose 16-byte IVs do not line up falls back to AES-CTR + GHASH', async (t) => {
  const wasm = await import('../../pkg/cachet_wasm.js');
  await cachet.init();
  const from = tuning.gcmChunksFrom;
  t.after(() => { tuning.gcmChunksFrom = from; tuning.chunkIvs = probed; });
  tuning.chunkIvs = undefined;
  const { gcmChunkIvs } = await import('../../pkg/bulk.js');
  assert.equal(await gcmChunkIvs(wasm), true, "Node's WebCrypto takes SP 800-38D 16-byte IVs");
  // A WebCrypto that reads a 16-byte GCM IV as something else (here: its first 12 bytes): the
  // probe sees it, and large GCM messages still encrypt and decrypt, through AES-CTR.
  const subtle = globalThis.crypto.subtle;
  const original = subtle.encrypt;
  subtle.encrypt = function odd(alg, key, data) {
    if (alg?.name === 'AES-GCM' && alg.iv?.length === 16) {
      return original.call(subtle, { ...alg, iv: alg.iv.subarray(0, 12) }, key, data);
    }
    return original.call(subtle, alg, key, data);
  };
  try {
    tuning.chunkIvs = undefined;
    assert.equal(await gcmChunkIvs(wasm), false);
    tuning.gcmChunksFrom = 0;
    const message = bigMessage('fallback');
    const enc = await cachet.encrypt({ message, encryptionKeys: read('bob-rsa.pem'), cipher: 'aes256-gcm' });
    const file = join(scratch('bulk-probe'), 'fallback.eml');
    writeFileSync(file, enc);
    const dec = run('openssl', ['cms', '-decrypt', '-in', file, '-inkey', pki('bob-rsa.key'), '-recip', pki('bob-rsa.pem')]);
    assert.equal(dec.status, 0, dec.stderr?.toString());
    assert.match(dec.stdout.toString(), /fallback\r?\n$/);
    const back = await cachet.decrypt({ message: enc, decryptionKeys: bob });
    assert.match(back.message, /fallback\r\n$/);
  } finally {
    delete subtle.encrypt;
  }
});

test('decrypt in place writes the plaintext over the ciphertext in the decoded DER (one key), else in a buffer of its own', async (t) => {
  const from = tuning.gcmChunksFrom;
  t.after(() => { tuning.gcmChunksFrom = from; });
  const message = new TextEncoder().encode(bigMessage('in place'));
  for (const chunked of [false, true]) {
    tuning.gcmChunksFrom = chunked ? 0 : from;
    for (const cipher of ['aes256-gcm', 'aes128-cbc']) {
      // One RecipientInfo for bob: the decoded DER holds the message (the header fields go over
      // the DER's head, in front of the plaintext).
      const one = await cachet.encrypt({ message, encryptionKeys: read('bob-rsa.pem'), cipher });
      const d = await cachet.decrypt({ message: one, decryptionKeys: bob });
      assert.ok(new TextDecoder().decode(d.message).endsWith('in place\r\n'), cipher);
      assert.ok(d.message.byteOffset > 0, `${cipher}: inside the DER, after its head`);
      assert.ok(d.message.buffer.byteLength <= Math.ceil(one.length * 3 / 4), `${cipher}: no larger buffer`);
      // Two RecipientInfos for bob: two candidate keys, each needs the ciphertext intact.
      const two = await cachet.encrypt({ message, encryptionKeys: [read('bob-rsa.pem'), read('bob-rsa.pem')], cipher });
      const d2 = await cachet.decrypt({ message: two, decryptionKeys: bob });
      assert.equal(new TextDecoder().decode(d2.message), new TextDecoder().decode(d.message), cipher);
      assert.equal(d2.message.byteOffset, 0, `${cipher}: a buffer of its own`);
    }
  }
});

test('NSS (cmsutil, the engine of Thunderbird) decrypts a large AES-CBC message the chunked path writes; OpenSSL the OAEP one', async () => {
  // NSS reads neither AuthEnvelopedData nor RSAES-OAEP (shared/notes/peers.md: it answers
  // SEC_ERROR_UNSUPPORTED_KEYALG): AES-GCM and OAEP are OpenSSL's to check.
  const dir = scratch('bulk-nss');
  const db = join(dir, 'db');
  mkdirSync(db);
  for (const args of [['certutil', '-N', '-d', db, '--empty-password'],
    ['certutil', '-A', '-n', 'root', '-t', 'C,C,C', '-d', db, '-i', pki('root-ca.pem')],
    ['pk12util', '-i', pki('bob-rsa.p12'), '-d', db, '-W', 'test']]) {
    const r = run(args[0], args.slice(1));
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
  }
  const message = bigMessage('read by NSS');
  for (const [name, rsaOaep] of [['v15', false], ['oaep', true]]) {
    const { result: enc, calls } = await countingGcm(() => cachet.encrypt({ message, encryptionKeys: read('bob-rsa.pem'),
      cipher: 'aes256-cbc', rsaOaep }));
    assert.equal(calls.encrypt, 2, `${name}: two WebCrypto chunks`);
    // cmsutil reads DER: the base64 body of the application/pkcs7-mime message.
    const der = Buffer.from(enc.split('\r\n\r\n')[1], 'base64');
    const file = join(dir, `${name}.p7m`);
    writeFileSync(file, der);
    const out = join(dir, `${name}.out`);
    const r = rsaOaep
      ? run('openssl', ['cms', '-decrypt', '-binary', '-inform', 'DER', '-in', file, '-out', out,
        '-inkey', pki('bob-rsa.key'), '-recip', pki('bob-rsa.pem')])
      : run('cmsutil', ['-D', '-d', db, '-i', file, '-o', out]);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    const text = readFileSync(out, 'latin1');
    assert.ok(text.endsWith('read by NSS\r\n'), name);
    assert.ok(text.includes('All work and no play makes Jack a dull boy.'), name);
  }
});

test('MessageSkeleton: out-of-order calls are API_MISUSE and hostile pieces give up, never a crash', async () => {
  const core = await import('../../pkg/cachet_wasm.js');
  const misuse = (e) => e.code === 'API_MISUSE';
  const text = new TextEncoder().encode('Subject: s\r\nContent-Type: text/plain\r\n\r\nhello\r\n');
  const s = new core.MessageSkeleton();
  assert.equal(s.feed(text), true);
  assert.ok(Array.isArray(s.split()));
  assert.throws(() => s.split(), misuse);
  assert.equal(s.detached(), undefined, 'read already');
  assert.throws(() => s.verify([], [], [], 0, []), misuse);
  assert.equal(s.feed(text), false, 'read already');
  assert.throws(() => s.protect(true, true, true, 'hcp_baseline'), misuse, 'protect after split');
  s.free();
  const p = new core.MessageSkeleton();
  p.feed(text);
  assert.throws(() => p.protect(true, true, true, 'hcp_nonsense'), misuse, 'unknown hcp');
  assert.ok(Array.isArray(p.protect(true, true, true, 'hcp_baseline')), 'still there to read');
  p.free();
  const t = new core.MessageSkeleton();
  assert.throws(() => t.verify([], [], [], 0, []), misuse, 'verify before detached');
  t.feed(text);
  assert.equal(t.detached(), undefined, 'not signed');
  // Opening needs an encrypted message's header section.
  assert.throws(() => t.open(text, 'aes256-gcm', [], [], [], 0, []), misuse);
  assert.throws(() => t.open(new TextEncoder().encode('Content-Type: application/pkcs7-mime\r\n\r\n'),
    'rot13', [], [], [], 0, []), misuse);
  t.free();
  // Hostile pieces: a bare CR, a NUL-filled 2 MiB line, thousands of "--" lines past the limit.
  for (const pieces of [['Subject: s\r\n\r\nbare\rCR\r\n'], ['Subject: s\r\n\r\n', '\0'.repeat(2 << 20)],
    ['Subject: s\r\n\r\n', '--x\r\n\r\n'.repeat(800_000)]]) {
    const h = new core.MessageSkeleton();
    for (const p of pieces) h.feed(new TextEncoder().encode(p));
    assert.equal(h.split(), undefined);
    h.free();
    const g = new core.MessageSkeleton();
    for (const p of pieces) g.feed(new TextEncoder().encode(p));
    assert.equal(g.protect(true, true, true, 'hcp_baseline'), undefined);
    g.free();
  }
  // The module still works.
  const signed = await cachet.sign({ message: 'Subject: ok\r\n\r\nfine\r\n', signingKeys: alice, date: AT_DATE });
  assert.equal((await cachet.verify({ message: signed, trustAnchors: root, date: AT_DATE })).valid, true);
});

test('large seal signed only, encrypted only, and of an HTML message (the whole path): OpenSSL reads each, the payload is the whole path\'s', async () => {
  const core = await import('../../pkg/cachet_wasm.js');
  const dir = scratch('bulk-seal-pieces');
  const lines = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. 0123456789\r\n'.repeat(20_000);
  const text = `From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Plain\r\n\r\n${lines}`;
  const html = 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Rich\r\n'
    + `Content-Type: text/html\r\n\r\n<html><body>\r\n${lines}</body></html>\r\n`;
  for (const [name, message, sign, encrypt] of [['signed', text, true, false], ['encrypted', text, false, true],
    ['html', html, true, true]]) {
    const bytes = new TextEncoder().encode(message);
    const sealed = await cachet.seal({ message: bytes, sign, encrypt, signingKeys: alice,
      encryptionKeys: read('bob-rsa.pem'), date: AT_DATE });
    let file = join(dir, `${name}.eml`);
    writeFileSync(file, sealed.message);
    if (encrypt) {
      const dec = run('openssl', ['cms', '-decrypt', '-in', file, '-inkey', pki('bob-rsa.key'), '-recip',
        pki('bob-rsa.pem'), '-out', `${file}.dec`]);
      assert.equal(dec.status, 0, `${name}: ${dec.stderr}`);
      file = `${file}.dec`;
    }
    let payload = readFileSync(file, 'latin1');
    if (sign) {
      const ver = run('openssl', ['cms', '-verify', '-in', file, '-CAfile', pki('root-ca.pem'), '-purpose', 'smimesign',
        '-out', `${file}.ver`]);
      assert.equal(ver.status, 0, `${name}: ${ver.stderr}`);
      payload = readFileSync(`${file}.ver`, 'latin1');
    }
    const [, whole] = core.sealMessageUnsigned(bytes, [read('bob-rsa.pem')], 'aes256-gcm', false, true, true,
      'hcp_baseline', 'protect');
    const expected = new TextDecoder().decode(whole);
    if (encrypt) assert.equal(payload, expected, name);
    else assert.match(payload, /hp="clear"/, name); // signed only: nothing hidden, no element
    assert.ok(payload.endsWith(name === 'html' ? '</body></html>\r\n' : lines), name);
    if (name === 'html') assert.match(payload, /<html><body><div class="header-protection-legacy-display">/);
  }
});
