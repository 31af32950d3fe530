// RSA signatures go through WebCrypto (websign.js): the shim hashes the canonical content and
// signs the core's signed attributes with crypto.subtle, the core checks the signature against
// the certificate and writes everything else. These tests prove the path is taken, that OpenSSL
// accepts what it writes (every digest, PKCS#1 v1.5 and PSS, detached and opaque, signed and
// sealed), that other keys stay with the core, that a key WebCrypto refuses falls back to the
// core, and that a wrong signature from WebCrypto never leaves as a signed message. (In Node the
// content is hashed by node:crypto, piece by piece, rather than by WebCrypto's digest, which
// copies it: counted as a digest too.)
import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';

import { AT, AT_DATE, MESSAGE, cachet, pki, read, readText, rejectsWith, run, scratch } from './helpers.mjs';

const root = readText('root-ca.pem');
const aliceRsa = { privateKey: read('alice-rsa.p12'), password: 'test' };
const OPENSSL_VERIFY = ['cms', '-verify', '-CAfile', pki('root-ca.pem'), '-purpose', 'smimesign',
  '-attime', String(Date.parse(AT) / 1000)];

/** Count WebCrypto calls (importKey, digest, sign) while `fn` runs, Node's hashes as digests;
 *  `patch` may replace one. */
async function counting(fn, patch = {}) {
  const subtle = globalThis.crypto.subtle;
  const calls = { importKey: 0, digest: 0, sign: 0 };
  for (const op of Object.keys(calls)) {
    const original = subtle[op];
    subtle[op] = function counted(...args) {
      calls[op] += 1;
      return (patch[op] ?? original).apply(subtle, args);
    };
  }
  const { createHash } = nodeCrypto;
  nodeCrypto.createHash = function counted(...args) {
    calls.digest += 1;
    return createHash.apply(nodeCrypto, args);
  };
  try {
    return { result: await fn(), calls };
  } finally {
    for (const op of Object.keys(calls)) delete subtle[op];
    nodeCrypto.createHash = createHash;
  }
}

function opensslVerifies(signed, name) {
  const file = join(scratch('websign'), `${name}.eml`);
  writeFileSync(file, signed);
  const v = run('openssl', [...OPENSSL_VERIFY, '-in', file]);
  assert.equal(v.status, 0, `${name}: ${v.stderr}`);
  return v.stdout.toString();
}

test('RSA sign goes through WebCrypto for every digest, v1.5 and PSS; OpenSSL verifies', async () => {
  const id = await cachet.readIdentity(aliceRsa);
  try {
    for (const digest of ['sha256', 'sha384', 'sha512']) {
      for (const rsaPss of [false, true]) {
        for (const detached of [true, false]) {
          const name = `${digest}-${rsaPss ? 'pss' : 'v15'}-${detached ? 'detached' : 'opaque'}`;
          const { result: signed, calls } = await counting(() => cachet.sign({
            message: MESSAGE, signingKeys: id, digest, rsaPss, detached, date: AT_DATE,
          }));
          assert.equal(calls.sign, 1, `${name}: WebCrypto signed`);
          assert.equal(calls.digest, 1, `${name}: WebCrypto hashed the content`);
          assert.match(opensslVerifies(signed, name), /Gr=C3=BC=C3=9Fe!/);
          if (detached) assert.match(signed, new RegExp(`micalg=sha-${digest.slice(3)}`));
          const v = await cachet.verify({ message: signed, trustAnchors: root, date: AT_DATE });
          assert.ok(v.valid, name);
          assert.equal(v.signers[0].digestAlgorithm, `sha-${digest.slice(3)}`, name);
          assert.match(v.signers[0].signatureAlgorithm, rsaPss ? /pss/i : /rsa/i, name);
        }
      }
    }
  } finally {
    id.dispose();
  }
});

test('an Identity imports its key into WebCrypto once; dispose() drops it', async () => {
  const id = await cachet.readIdentity(aliceRsa);
  const { calls } = await counting(async () => {
    for (let i = 0; i < 3; i += 1) {
      await cachet.sign({ message: MESSAGE, signingKeys: id, date: AT_DATE });
    }
  });
  assert.equal(calls.importKey, 1);
  assert.equal(calls.sign, 3);
  id.dispose();
  await rejectsWith(cachet.sign({ message: MESSAGE, signingKeys: id, date: AT_DATE }), 'API_MISUSE');
  // Raw key material (no Identity) is imported for the call and not kept.
  const { calls: raw } = await counting(async () => {
    await cachet.sign({ message: MESSAGE, signingKeys: aliceRsa, date: AT_DATE });
    await cachet.sign({ message: MESSAGE, signingKeys: aliceRsa, date: AT_DATE });
  });
  assert.equal(raw.importKey, 2);
  assert.equal(raw.sign, 2);
});

test('ECDSA and Ed25519 keys are signed by the core', async () => {
  for (const key of ['alice-p256', 'alice-p384', 'alice-ed25519']) {
    const { result: signed, calls } = await counting(() => cachet.sign({
      message: MESSAGE, signingKeys: { privateKey: read(`${key}.p12`), password: 'test' }, date: AT_DATE,
    }));
    assert.equal(calls.sign + calls.importKey, 0, key);
    const v = await cachet.verify({ message: signed, trustAnchors: root, date: AT_DATE });
    assert.ok(v.valid, key);
  }
});

test('large content is hashed by WebCrypto for ECDSA and Ed25519 too; the core signs', async () => {
  const big = MESSAGE + `${'All work and no play. '.repeat(3)}\r\n`.repeat(6000); // > 256 KiB
  for (const [key, digest, openssl] of [['alice-p256', 'sha256', true], ['alice-p384', 'sha384', true],
    ['alice-ed25519', 'sha256', false]]) {
    for (const detached of [true, false]) {
      const { result: signed, calls } = await counting(() => cachet.sign({ message: big, digest, detached,
        signingKeys: { privateKey: read(`${key}.p12`), password: 'test' }, date: AT_DATE }));
      assert.equal(calls.digest, 1, `${key}: WebCrypto hashed`);
      assert.equal(calls.sign + calls.importKey, 0, `${key}: the core signed`);
      // OpenSSL 3.0 has no Ed25519 in CMS (shared/notes/peers.md): that one is checked by verify.
      if (openssl) opensslVerifies(signed, `${key}-${detached}`);
      const v = await cachet.verify({ message: signed, trustAnchors: root, date: AT_DATE });
      assert.ok(v.valid, key);
      assert.equal(v.signers[0].digestAlgorithm, key.endsWith('ed25519') ? 'sha-512' : `sha-${digest.slice(3)}`);
    }
  }
  // seal with a P-256 signer and a large message: the same.
  const { result: sealed, calls } = await counting(() => cachet.seal({ message: big, date: AT_DATE,
    signingKeys: { privateKey: read('alice-p256.p12'), password: 'test' } }));
  assert.equal(calls.digest, 1);
  opensslVerifies(sealed.message, 'seal-p256');
});

test('RSA PKCS#1 v1.5 through WebCrypto gives the very SignedData the core gives (which NSS and gpgsm accept)', async () => {
  // v1.5 signatures are deterministic: same key, content, time and attributes, same bytes. The
  // core's output is what tests/interop.rs has NSS cmsutil and gpgsm verify.
  const refuse = () => Promise.reject(new DOMException('not supported', 'NotSupportedError'));
  const p7s = (signed) => signed.split('S/MIME Cryptographic Signature\r\n\r\n')[1].split('\r\n--')[0];
  for (const digest of ['sha256', 'sha512']) {
    const { result: web, calls } = await counting(() => cachet.sign({ message: MESSAGE, signingKeys: aliceRsa, digest, date: AT_DATE }));
    const { result: core, calls: coreCalls } = await counting(
      () => cachet.sign({ message: MESSAGE, signingKeys: aliceRsa, digest, date: AT_DATE }), { importKey: refuse });
    assert.equal(calls.sign, 1);
    assert.equal(coreCalls.sign, 0);
    assert.ok(p7s(web).length > 1000);
    assert.equal(p7s(web), p7s(core), digest);
    // Everything but the random boundary is the same.
    const boundary = (m) => m.match(/boundary="([^"]+)"/)[1];
    assert.equal(web.replaceAll(boundary(web), 'B'), core.replaceAll(boundary(core), 'B'));
  }
});

test('NSS (cmsutil, the engine of Thunderbird) verifies WebCrypto-made RSA signatures, v1.5 and PSS', async () => {
  const dir = scratch('websign-nss');
  const db = join(dir, 'db');
  const ok = (r, what) => assert.equal(r.status, 0, `${what}: ${r.stderr}`);
  ok(run('mkdir', ['-p', db]), 'mkdir');
  ok(run('certutil', ['-N', '-d', db, '--empty-password']), 'certutil -N');
  ok(run('certutil', ['-A', '-n', 'root', '-t', 'C,C,C', '-d', db, '-i', pki('root-ca.pem')]), 'certutil -A');
  for (const [name, options] of [['v15-sha256', {}], ['pss-sha256', { rsaPss: true }], ['pss-sha512', { rsaPss: true, digest: 'sha512' }]]) {
    const { result: signed, calls } = await counting(() => cachet.sign({ message: MESSAGE, signingKeys: aliceRsa,
      ...options, date: new Date() }));
    assert.equal(calls.sign, 1, name);
    // The detached parts as NSS takes them: the signed entity and the DER of the p7s.
    const boundary = signed.match(/boundary="([^"]+)"/)[1];
    const parts = signed.split(`--${boundary}`);
    const entity = parts[1].replace(/^\r\n/, '').replace(/\r\n$/, '');
    const p7s = Buffer.from(parts[2].split('\r\n\r\n')[1].replace(/\s+/g, ''), 'base64');
    writeFileSync(join(dir, `${name}.txt`), entity);
    writeFileSync(join(dir, `${name}.p7s`), p7s);
    const r = run('cmsutil', ['-D', '-h', '2', '-d', db, '-i', join(dir, `${name}.p7s`),
      '-c', join(dir, `${name}.txt`), '-o', join(dir, `${name}.out`)]);
    const report = readFileSync(join(dir, `${name}.out`), 'utf8');
    assert.equal(r.status, 0, `${name}: ${r.stderr}\n${report}`);
    assert.match(report, /signer0\.status=GoodSignature;/, name);
    assert.match(report, /nsigners=1;/, name);
  }
});

test('a key WebCrypto will not import is signed by the core', async () => {
  const refuse = () => Promise.reject(new DOMException('not supported', 'NotSupportedError'));
  const { result: signed, calls } = await counting(
    () => cachet.sign({ message: MESSAGE, signingKeys: aliceRsa, date: AT_DATE }), { importKey: refuse });
  assert.equal(calls.importKey, 1);
  assert.equal(calls.sign, 0);
  opensslVerifies(signed, 'fallback');
});

test('a WebCrypto signature the certificate does not verify is refused, never sent', async () => {
  const subtle = globalThis.crypto.subtle;
  const original = subtle.sign;
  // A "signer" that signs other bytes, and one that returns garbage.
  const wrongData = (alg, key, data) => original.call(subtle, alg, key, new Uint8Array([...data, 0]));
  const garbage = async () => new Uint8Array(256).fill(7).buffer;
  for (const sign of [wrongData, garbage]) {
    const err = await rejectsWith(counting(
      () => cachet.sign({ message: MESSAGE, signingKeys: aliceRsa, date: AT_DATE }), { sign }), 'API_MISUSE');
    assert.match(err.message, /does not verify/);
    await rejectsWith(counting(() => cachet.seal({
      message: MESSAGE, signingKeys: aliceRsa, encrypt: true, encryptionKeys: read('bob-rsa.pem'),
      date: AT_DATE,
    }), { sign }), 'API_MISUSE');
  }
});

test('seal with an RSA signer: WebCrypto signs; OpenSSL decrypts and verifies (small and bulk)', async () => {
  const big = MESSAGE + `${'All work and no play. '.repeat(3)}\r\n`.repeat(6000); // > 256 KiB
  for (const [name, message] of [['small', MESSAGE], ['bulk', big]]) {
    for (const encrypt of [true, false]) {
      const { result: sealed, calls } = await counting(() => cachet.seal({
        message, signingKeys: aliceRsa, encrypt, encryptionKeys: [read('bob-rsa.pem'), read('alice-rsa.pem')],
        date: AT_DATE,
      }));
      assert.equal(calls.sign, 1, `${name}: WebCrypto signed`);
      let inner = sealed.message;
      if (encrypt) {
        assert.match(sealed.message.split('\r\n\r\n')[0], /^Subject: \[\.\.\.\]$/m);
        const file = join(scratch('websign-seal'), `${name}.eml`);
        writeFileSync(file, sealed.message);
        const dec = run('openssl', ['cms', '-decrypt', '-in', file, '-inkey', pki('bob-rsa.key'),
          '-recip', pki('bob-rsa.pem')]);
        assert.equal(dec.status, 0, dec.stderr);
        inner = dec.stdout;
      }
      opensslVerifies(inner, `seal-${name}-${encrypt}`);
      const o = await cachet.open({ message: sealed.message,
        decryptionKeys: { privateKey: read('bob-rsa.p12'), password: 'test' }, trustAnchors: root, date: AT_DATE });
      assert.ok(o.signedValid, `${name}: signature valid`);
      assert.equal(o.protectedHeaders.fields.find(([n]) => n === 'Subject')[1], 'Cachet test');
      assert.deepEqual(o.protectedHeaders.disagreements, []);
    }
  }
});

test('a large detached message is hashed by WebCrypto when verified; tampering is still caught', async () => {
  const big = MESSAGE + `${'All work and no play. '.repeat(3)}\r\n`.repeat(15000); // ~1 MiB
  for (const [key, digest] of [['alice-p256', 'sha256'], ['alice-rsa', 'sha384'], ['alice-ed25519', 'sha512']]) {
    const signed = await cachet.sign({ message: big, digest, date: AT_DATE,
      signingKeys: { privateKey: read(`${key}.p12`), password: 'test' } });
    const { result: v, calls } = await counting(() => cachet.verify({ message: signed, trustAnchors: root, date: AT_DATE }));
    assert.ok(v.valid, key);
    assert.equal(calls.digest, 1, `${key}: WebCrypto hashed the signed part`);
    const tampered = signed.replace('All work and no play. All', 'All work and no pray. All');
    assert.notEqual(tampered, signed);
    const { result: t } = await counting(() => cachet.verify({ message: tampered, trustAnchors: root, date: AT_DATE }));
    assert.equal(t.signers[0].code, 'CONTENT_ALTERED', key);
    // LF line ends: the core converts and hashes them itself, with the same verdict.
    const { result: lf, calls: lfCalls } = await counting(() => cachet.verify({
      message: signed.replaceAll('\r\n', '\n'), trustAnchors: root, date: AT_DATE }));
    assert.ok(lf.valid, `${key} (LF)`);
    assert.equal(lfCalls.digest, 0);
    // The signed content is reported the same either way (here cut from the message, there
    // copied by the core).
    assert.ok(v.content.length > 1_000_000);
    assert.deepEqual(Buffer.from(v.content), Buffer.from(lf.content));
    assert.match(new TextDecoder().decode(v.content.subarray(0, 40)), /^Content-Type: text\/plain/);
    const bytesIn = new TextEncoder().encode(signed);
    const fromBytes = await cachet.verify({ message: bytesIn, trustAnchors: root, date: AT_DATE });
    assert.deepEqual(Buffer.from(fromBytes.content), Buffer.from(lf.content));
    bytesIn.fill(0); // the caller's buffer: the report does not share it
    assert.match(new TextDecoder().decode(fromBytes.content.subarray(0, 40)), /^Content-Type: text\/plain/);
  }
  // Small and opaque messages stay with the core.
  const small = await cachet.sign({ message: MESSAGE, signingKeys: aliceRsa, date: AT_DATE });
  const opaque = await cachet.sign({ message: big, signingKeys: aliceRsa, detached: false, date: AT_DATE });
  for (const message of [small, opaque]) {
    const { result: v, calls } = await counting(() => cachet.verify({ message, trustAnchors: root, date: AT_DATE }));
    assert.ok(v.valid);
    assert.equal(calls.digest, 0);
  }
});
