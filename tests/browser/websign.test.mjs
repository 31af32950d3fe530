// RSA signing through Chromium's WebCrypto (src/js/websign.js): the page signs with an RSA
// identity, the test counts the WebCrypto calls (so the path is known to be taken in the
// browser, whose WebCrypto imports the core's PKCS#8) and OpenSSL verifies what came out.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { run, scratch } from '../js/helpers.mjs';
import { openPage, pkiDir, serverAndBrowser } from './harness.mjs';

const live = serverAndBrowser();

const file = (name) => [...readFileSync(join(pkiDir, name))];

test('RSA signatures are made by WebCrypto in Chromium; OpenSSL verifies them', async () => {
  const { page, problems } = await openPage(live.browser.context, live.server.url);
  const fixtures = { alice: file('alice-rsa.p12'), p256: file('alice-p256.p12'), root: file('root-ca.pem') };
  const r = await page.evaluate(async (fx) => {
    const cachet = await import('/pkg/index.js');
    const bytes = (a) => new Uint8Array(a);
    const calls = { importKey: 0, sign: 0, digest: 0 };
    const subtle = crypto.subtle;
    for (const op of Object.keys(calls)) {
      const original = subtle[op];
      subtle[op] = (...args) => {
        calls[op] += 1;
        return original.apply(subtle, args);
      };
    }
    const date = new Date('2030-01-01T00:00:00Z');
    const message = 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello from Chromium.\r\n';
    const id = await cachet.readIdentity({ privateKey: bytes(fx.alice), password: 'test' });
    const out = {};
    for (const [name, options] of [['v15', {}], ['pss', { rsaPss: true }], ['sha512-opaque', { digest: 'sha512', detached: false }]]) {
      out[name] = await cachet.sign({ message, signingKeys: id, date, ...options });
    }
    const rsaCalls = { ...calls };
    const p256 = await cachet.sign({ message, signingKeys: { privateKey: bytes(fx.p256), password: 'test' }, date });
    const valid = [];
    for (const signed of [...Object.values(out), p256]) {
      valid.push((await cachet.verify({ message: signed, trustAnchors: bytes(fx.root), date })).valid);
    }
    id.dispose();
    return { out, rsaCalls, after: { ...calls }, valid };
  }, fixtures);
  // One import per scheme/hash (v1.5 SHA-256, PSS SHA-256, v1.5 SHA-512), one sign and digest each.
  assert.deepEqual(r.rsaCalls, { importKey: 3, sign: 3, digest: 3 });
  assert.equal(r.after.sign, 3, 'P-256 was signed by the core');
  assert.deepEqual(r.valid, [true, true, true, true]);
  const dir = scratch('browser-websign');
  for (const [name, signed] of Object.entries(r.out)) {
    const f = join(dir, `${name}.eml`);
    writeFileSync(f, signed);
    const v = run('openssl', ['cms', '-verify', '-in', f, '-CAfile', join(pkiDir, 'root-ca.pem'),
      '-purpose', 'smimesign', '-attime', String(Date.parse('2030-01-01T00:00:00Z') / 1000)]);
    assert.equal(v.status, 0, `${name}: ${v.stderr}`);
    assert.match(v.stdout.toString(), /Hello from Chromium\./);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('RSA-OAEP key transport is decrypted by WebCrypto in Chromium, for OpenSSL-made and Cachet-made messages', async () => {
  const dir = scratch('browser-oaep');
  const plain = join(dir, 'plain.txt');
  writeFileSync(plain, 'Content-Type: text/plain\r\n\r\nHello over OAEP, in Chromium.\r\n');
  const opensslMade = {};
  for (const [name, keyopts] of [['sha1', ['rsa_padding_mode:oaep']],
    ['sha256', ['rsa_padding_mode:oaep', 'rsa_oaep_md:sha256', 'rsa_mgf1_md:sha256']]]) {
    const out = join(dir, `${name}.eml`);
    const r = run('openssl', ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-in', plain, '-out', out,
      '-recip', join(pkiDir, 'bob-rsa.pem'), ...keyopts.flatMap((k) => ['-keyopt', k])]);
    assert.equal(r.status, 0, r.stderr);
    opensslMade[name] = [...readFileSync(out)];
  }
  const { page, problems } = await openPage(live.browser.context, live.server.url);
  const r = await page.evaluate(async ({ bob, bobPem, opensslMade }) => {
    const cachet = await import('/pkg/index.js');
    const bytes = (a) => new Uint8Array(a);
    const hashes = [];
    const subtle = crypto.subtle;
    const original = subtle.decrypt;
    subtle.decrypt = (alg, key, data) => {
      if (alg?.name === 'RSA-OAEP') hashes.push(key.algorithm.hash.name);
      return original.call(subtle, alg, key, data);
    };
    const id = await cachet.readIdentity({ privateKey: bytes(bob), password: 'test' });
    const message = 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello Bob, in Chromium.\r\n';
    const inputs = { ...Object.fromEntries(Object.entries(opensslMade).map(([k, v]) => [k, bytes(v)])),
      cachet: await cachet.encrypt({ message, encryptionKeys: bytes(bobPem), rsaOaep: true }),
      v15: await cachet.encrypt({ message, encryptionKeys: bytes(bobPem) }) };
    const out = {};
    for (const [name, input] of Object.entries(inputs)) {
      hashes.length = 0;
      const d = await cachet.decrypt({ message: input, decryptionKeys: id });
      out[name] = { text: typeof d.message === 'string' ? d.message : new TextDecoder().decode(d.message),
        hashes: [...hashes] };
    }
    id.dispose();
    subtle.decrypt = original;
    return out;
  }, { bob: file('bob-rsa.p12'), bobPem: file('bob-rsa.pem'), opensslMade });
  assert.deepEqual(r.sha1.hashes, ['SHA-1']);
  assert.deepEqual(r.sha256.hashes, ['SHA-256']);
  assert.deepEqual(r.cachet.hashes, ['SHA-256']);
  assert.deepEqual(r.v15.hashes, [], 'PKCS#1 v1.5 stays in the core');
  for (const name of ['sha1', 'sha256']) assert.match(r[name].text, /Hello over OAEP, in Chromium\./, name);
  for (const name of ['cachet', 'v15']) assert.match(r[name].text, /Hello Bob, in Chromium\./, name);
  assert.deepEqual(problems, []);
  await page.close();
});
