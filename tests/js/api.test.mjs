// The public JS API: option checking, errors, and sign/verify round trips with the test PKI.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AT_DATE, MESSAGE, cachet, read, readText, rejectsWith } from './helpers.mjs';

const { sign, verify, readIdentity, CachetError, ERROR_CODES, errorCodes } = cachet;

const aliceRsa = () => ({
  privateKey: readText('alice-rsa.key'),
  certificate: readText('alice-rsa.pem'),
  chain: [readText('inter-ca.pem')],
});
const anchors = () => [readText('root-ca.pem')];

// ---- misuse and errors: these hold without the core ------------------------------------------

test('unknown options and wrong types are API_MISUSE CachetErrors', async () => {
  const err = await rejectsWith(sign({ message: 'x', signingKeys: aliceRsa(), detatched: false }),
    'API_MISUSE');
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'CachetError');
  assert.match(err.detail, /detatched/);
  await rejectsWith(sign(), 'API_MISUSE');
  await rejectsWith(sign(null), 'API_MISUSE');
  await rejectsWith(sign('From: a\r\n\r\nx'), 'API_MISUSE');
  await rejectsWith(sign([]), 'API_MISUSE');
  await rejectsWith(sign({ message: 42, signingKeys: aliceRsa() }), 'API_MISUSE');
  await rejectsWith(sign({ message: 'x' }), 'API_MISUSE');
  await rejectsWith(sign({ message: 'x', signingKeys: 'key' }), 'API_MISUSE');
  await rejectsWith(sign({ message: 'x', signingKeys: { privateKey: 'k', pasword: 'p' } }),
    'API_MISUSE');
  await rejectsWith(sign({ message: 'x', signingKeys: { certificate: 'c' } }), 'API_MISUSE');
  await rejectsWith(sign({ message: 'x', signingKeys: aliceRsa(), digest: 'md5' }), 'API_MISUSE');
  await rejectsWith(sign({ message: 'x', signingKeys: aliceRsa(), digest: 256 }), 'API_MISUSE');
  await rejectsWith(sign({ message: 'x', signingKeys: aliceRsa(), detached: 'no' }), 'API_MISUSE');
  await rejectsWith(sign({ message: 'x', signingKeys: aliceRsa(), rsaPss: 1 }), 'API_MISUSE');
  await rejectsWith(sign({ message: 'x', signingKeys: aliceRsa(), date: '2030-01-01' }),
    'API_MISUSE');
  await rejectsWith(sign({ message: 'x', signingKeys: aliceRsa(), date: new Date('nope') }),
    'API_MISUSE');
  await rejectsWith(verify({ message: 'x', trustAnchor: anchors() }), 'API_MISUSE');
  await rejectsWith(verify({ message: 'x', trustAnchors: [42] }), 'API_MISUSE');
  await rejectsWith(verify({ message: null }), 'API_MISUSE');
  await rejectsWith(verify({ message: 'x', date: Date.now() }), 'API_MISUSE');
  await rejectsWith(readIdentity({}), 'API_MISUSE');
  await rejectsWith(readIdentity({ privateKey: 'k', password: 1234 }), 'API_MISUSE');
  await rejectsWith(readIdentity({ privateKey: 'k', extra: true }), 'API_MISUSE');
});

test('error codes: ERROR_CODES equals the core list, every code is named in upper snake case',
  async () => {
    const codes = await errorCodes();
    assert.ok(codes.length >= 20);
    assert.deepEqual(Object.entries(ERROR_CODES), codes.map(([c, d]) => [c, d]));
    for (const [code, description] of codes) {
      assert.match(code, /^[A-Z][A-Z0-9_]*$/);
      assert.ok(description.length > 5);
    }
    for (const code of ['API_MISUSE', 'NOT_SIGNED', 'BAD_PASSWORD', 'INTERNAL']) {
      assert.ok(code in ERROR_CODES, code);
    }
  });

test('CachetError carries code and detail', () => {
  const e = new CachetError('NOT_SIGNED', 'x', { detail: 'd' });
  assert.ok(e instanceof Error);
  assert.equal(e.name, 'CachetError');
  assert.equal(e.code, 'NOT_SIGNED');
  assert.equal(e.detail, 'd');
});

test('errors never carry the password or key material', async () => {
  const password = 'hunter2-do-not-print';
  const key = '-----BEGIN PRIVATE KEY-----\nU0VDUkVUS0VZTUFURVJJQUw=\n-----END PRIVATE KEY-----\n';
  for (const p of [readIdentity({ privateKey: key, password }),
    sign({ message: 'x', signingKeys: { privateKey: key, password } }),
    readIdentity({ privateKey: read('alice-rsa.p12'), password })]) {
    try {
      await p;
      assert.fail('expected a rejection');
    } catch (err) {
      assert.ok(err instanceof CachetError, String(err));
      const text = `${err.message} ${err.detail ?? ''} ${err.stack}`;
      assert.ok(!text.includes(password), text);
      assert.ok(!text.includes('U0VDUkVUS0VZTUFURVJJQUw'), text);
    }
  }
});

test('verifying a message that is not signed is NOT_SIGNED', async () => {
  await rejectsWith(verify({ message: MESSAGE, trustAnchors: anchors() }), 'NOT_SIGNED');
});

test('init() loads once and can be called again', async () => {
  await cachet.init();
  await cachet.init();
});

// ---- round trips: need the core (keys, x509, smime) -------------------------------------------

test('sign a string detached, verify it: valid, with signer details', async () => {
  const signed = await sign({ message: MESSAGE, signingKeys: aliceRsa(), date: AT_DATE });
  assert.equal(typeof signed, 'string');
  assert.match(signed, /multipart\/signed/i);
  assert.match(signed, /^From: Alice <alice@example.org>\r$/m);
  const result = await verify({ message: signed, trustAnchors: anchors(), date: AT_DATE });
  assert.equal(result.valid, true);
  assert.equal(result.opaque, false);
  assert.equal(result.from, 'alice@example.org');
  assert.ok(result.content instanceof Uint8Array);
  // 8-bit text is re-encoded (quoted-printable) before signing, as RFC 8551 §3.1.2 asks.
  assert.match(new TextDecoder().decode(result.content),
    /this message is signed\. Gr=C3=BC=C3=9Fe!/);
  assert.equal(result.signers.length, 1);
  const [s] = result.signers;
  assert.equal(s.status, 'valid');
  assert.equal(typeof s.code, 'string');
  assert.equal(s.email, 'alice@example.org');
  assert.deepEqual(s.emails, ['alice@example.org']);
  assert.match(s.subject, /Alice/);
  assert.ok(s.signingTime instanceof Date);
  assert.equal(s.signingTime.getTime(), AT_DATE.getTime());
  assert.equal(s.digestAlgorithm, 'sha-256');
  assert.equal(s.signatureAlgorithm, 'rsa-pkcs1v15');
  assert.ok(s.certificate instanceof cachet.Certificate);
  assert.equal(s.certificate.pem.replace(/\r/g, ''), readText('alice-rsa.pem').replace(/\r/g, ''));
  assert.ok(s.chain.length >= 2, 'leaf, inter-ca (and root)');
  assert.equal(JSON.parse(JSON.stringify(s)).certificate, s.certificate.pem);
});

test('sign bytes opaque with a .p12 and P-256: bytes out, opaque report', async () => {
  const message = new TextEncoder().encode(MESSAGE);
  const signed = await sign({
    message,
    signingKeys: { privateKey: read('alice-p256.p12'), password: 'test' },
    detached: false,
    digest: 'sha384',
    date: AT_DATE,
  });
  assert.ok(signed instanceof Uint8Array);
  assert.match(new TextDecoder().decode(signed), /application\/(x-)?pkcs7-mime/i);
  const result = await verify({ message: signed, trustAnchors: anchors(), date: AT_DATE });
  assert.equal(result.valid, true, JSON.stringify(result.signers));
  assert.equal(result.opaque, true);
  assert.equal(result.signers[0].signatureAlgorithm, 'ecdsa');
  assert.equal(result.signers[0].digestAlgorithm, 'sha-384');
});

test('RSA-PSS uses fresh randomness (getrandom works in Node)', async () => {
  const opts = { message: MESSAGE, signingKeys: aliceRsa(), rsaPss: true, date: AT_DATE };
  const a = await sign(opts);
  const b = await sign(opts);
  assert.notEqual(a.split('\r\n\r\n').at(-1), b.split('\r\n\r\n').at(-1));
  const r = await verify({ message: a, trustAnchors: anchors(), date: AT_DATE });
  assert.equal(r.signers[0].signatureAlgorithm, 'rsa-pss');
  assert.equal(r.valid, true);
});

test('readIdentity: reusable, describes the certificate, dispose() wipes it', async () => {
  const id = await readIdentity({ ...aliceRsa() });
  assert.deepEqual(id.emails, ['alice@example.org']);
  assert.match(id.subject, /Alice/);
  assert.match(id.certificate.pem, /^-----BEGIN CERTIFICATE-----\n/);
  for (let i = 0; i < 2; i++) {
    const signed = await sign({ message: MESSAGE, signingKeys: id, date: AT_DATE });
    assert.equal((await verify({ message: signed, trustAnchors: anchors(), date: AT_DATE })).valid,
      true);
  }
  id.dispose();
  await rejectsWith(sign({ message: MESSAGE, signingKeys: id }), 'API_MISUSE');
});

test('key loading errors have their own codes', async () => {
  await rejectsWith(readIdentity({ privateKey: read('alice-rsa.p12'), password: 'wrong' }),
    'BAD_PASSWORD');
  await rejectsWith(readIdentity({ privateKey: read('alice-rsa.p12') }), 'PASSWORD_REQUIRED');
  await rejectsWith(readIdentity({
    privateKey: readText('alice-rsa.key'), certificate: readText('bob-rsa.pem'),
  }), 'KEY_CERT_MISMATCH');
  await rejectsWith(readIdentity({ privateKey: 'not a key' }), 'KEY_MALFORMED');
});

test('a signature that does not hold is a report, not an error', async () => {
  const signed = await sign({ message: MESSAGE, signingKeys: aliceRsa(), date: AT_DATE });
  const tampered = signed.replace('this message is signed', 'this message is forged');
  assert.notEqual(tampered, signed);
  const r1 = await verify({ message: tampered, trustAnchors: anchors(), date: AT_DATE });
  assert.equal(r1.valid, false);
  assert.equal(r1.signers[0].status, 'content-altered');

  const r2 = await verify({ message: signed, trustAnchors: [readText('other-root-ca.pem')],
    date: AT_DATE });
  assert.equal(r2.valid, false);
  assert.equal(r2.signers[0].status, 'untrusted');

  const r3 = await verify({ message: signed, trustAnchors: anchors(),
    date: new Date('2036-01-01T00:00:00Z') });
  assert.equal(r3.signers[0].status, 'expired');
});

test('trust anchors and certificates: one item, a list, bytes or Certificate objects', async () => {
  const signed = await sign({
    message: MESSAGE, date: AT_DATE,
    signingKeys: { privateKey: readText('alice-p256.key'), certificate: read('alice-p256.pem') },
  });
  // No chain sent: the intermediate must come from `certificates`.
  const without = await verify({ message: signed, trustAnchors: readText('root-ca.pem'),
    date: AT_DATE });
  assert.equal(without.signers[0].status, 'untrusted');
  const root = new cachet.Certificate(without.signers[0].certificate.der); // any Certificate works
  assert.ok(root.der instanceof Uint8Array);
  const withInter = await verify({
    message: signed, trustAnchors: [read('root-ca.pem')], certificates: readText('inter-ca.pem'),
    date: AT_DATE,
  });
  assert.equal(withInter.valid, true, JSON.stringify(withInter.signers));
});
