// encrypt / decrypt / open in headless Chromium through the public package (pkg/index.js as the
// demo server serves it): every cipher × recipient kind, sign-then-encrypt, and the errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { openPage, outDir, pkiDir, serverAndBrowser } from './harness.mjs';

const live = serverAndBrowser();

const file = (name) => [...readFileSync(join(pkiDir, name))];

test('every cipher and recipient kind round-trips in the browser', async () => {
  const { page, problems } = await openPage(live.browser.context, live.server.url);
  const fixtures = {};
  for (const n of ['bob-rsa', 'bob-p256', 'alice-p384', 'alice-rsa', 'carol-x25519']) {
    fixtures[n] = { pem: file(`${n}.pem`), p12: file(`${n}.p12`) };
  }
  fixtures.root = file('root-ca.pem');
  const results = await page.evaluate(async (fx) => {
    const cachet = await import('/pkg/index.js');
    const bytes = (a) => new Uint8Array(a);
    const key = (n) => ({ privateKey: bytes(fx[n].p12), password: 'test' });
    const message = 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: browser\r\n\r\nHello from Chromium\r\n';
    const out = [];
    for (const cipher of ['aes256-gcm', 'aes128-gcm', 'chacha20-poly1305', 'aes256-cbc', 'aes128-cbc']) {
      for (const [who, rsaOaep] of [['bob-rsa', false], ['bob-rsa', true], ['bob-p256', false], ['alice-p384', false],
        ['carol-x25519', false]]) {
        const enc = await cachet.encrypt({ message, encryptionKeys: bytes(fx[who].pem), cipher, rsaOaep });
        const d = await cachet.decrypt({ message: enc, decryptionKeys: key(who) });
        out.push({ cipher, who, rsaOaep, got: d.cipher, ok: d.message.endsWith('Hello from Chromium\r\n') });
      }
    }
    const signedEnc = await cachet.encrypt({
      message, encryptionKeys: bytes(fx['bob-p256'].pem), signingKeys: key('alice-rsa'),
    });
    const opened = await cachet.open({
      message: signedEnc, decryptionKeys: key('bob-p256'), trustAnchors: bytes(fx.root),
    });
    let notRecipient = null;
    try {
      await cachet.decrypt({ message: signedEnc, decryptionKeys: key('bob-rsa') });
    } catch (e) {
      notRecipient = `${e.name}:${e.code}`;
    }
    return {
      out,
      layers: opened.layers.map((l) => l.type),
      signer: opened.layers[1]?.signers?.[0]?.status,
      authenticated: opened.authenticated,
      notRecipient,
    };
  }, fixtures);
  assert.equal(results.out.length, 25);
  for (const r of results.out) {
    assert.ok(r.ok && r.got === r.cipher, JSON.stringify(r));
  }
  assert.deepEqual(results.layers, ['authEnveloped', 'signed']);
  assert.equal(results.signer, 'valid');
  assert.equal(results.authenticated, true);
  assert.equal(results.notRecipient, 'CachetError:NOT_RECIPIENT');
  assert.deepEqual(problems, []);
  await page.close();
});

test('large AES-GCM content goes through WebCrypto in the browser, both ways, and tampering fails', async () => {
  const { page, problems } = await openPage(live.browser.context, live.server.url);
  const fixtures = {
    bobPem: file('bob-rsa.pem'), bobP12: file('bob-rsa.p12'), alice: file('alice-rsa.p12'),
    alicePem: file('alice-rsa.pem'), root: file('root-ca.pem'),
  };
  const r = await page.evaluate(async (fx) => {
    const cachet = await import('/pkg/index.js');
    const bytes = (a) => new Uint8Array(a);
    const bob = { privateKey: bytes(fx.bobP12), password: 'test' };
    const calls = {};
    const subtle = crypto.subtle;
    for (const op of ['encrypt', 'decrypt']) {
      const original = subtle[op];
      subtle[op] = (alg, ...rest) => {
        if (/^AES-(GCM|CTR)$/.test(alg?.name)) calls[`${op} ${alg.name}`] = (calls[`${op} ${alg.name}`] ?? 0) + 1;
        return original.call(subtle, alg, ...rest);
      };
    }
    const big = 'The quick brown fox jumps over the lazy dog.\r\n'.repeat(30000);
    const message = `From: alice@example.org\r\nTo: bob@example.org\r\nSubject: big\r\n\r\n${big}END\r\n`;
    const enc = await cachet.encrypt({ message, encryptionKeys: bytes(fx.bobPem) });
    const d = await cachet.decrypt({ message: enc, decryptionKeys: bob });
    const sealed = await cachet.seal({
      message, encrypt: true, signingKeys: { privateKey: bytes(fx.alice), password: 'test' },
      encryptionKeys: [bytes(fx.bobPem), bytes(fx.alicePem)],
    });
    const opened = await cachet.open({ message: sealed.message, decryptionKeys: bob, trustAnchors: bytes(fx.root) });
    const at = Math.floor(enc.length / 2);
    const tampered = enc.slice(0, at) + (enc[at] === 'A' ? 'B' : 'A') + enc.slice(at + 1);
    let code = null;
    try {
      await cachet.decrypt({ message: tampered, decryptionKeys: bob });
    } catch (e) {
      code = e.code;
    }
    return {
      calls,
      roundTrip: d.message.endsWith('END\r\n') && d.cipher === 'aes256-gcm',
      layers: opened.layers.map((l) => l.type),
      signedValid: opened.signedValid,
      subject: opened.protectedHeaders?.fields.find(([n]) => n === 'Subject')?.[1],
      code,
    };
  }, fixtures);
  assert.ok(r.roundTrip);
  // Every message here is two 1 MiB chunks. AES-GCM seals: the chunk-IV probe (once), the
  // encryption and the seal (two each), and each decryption (decrypt, open, the tampered one)
  // seals its chunks again for the tag (two each) after AES-CTR decrypted them.
  assert.deepEqual(r.calls, { 'encrypt AES-GCM': 1 + 2 + 2 + 3 * 2, 'encrypt AES-CTR': 1, 'decrypt AES-CTR': 3 * 2 });
  assert.deepEqual(r.layers, ['authEnveloped', 'signed']);
  assert.equal(r.signedValid, true);
  assert.equal(r.subject, 'big');
  assert.equal(r.code, 'DECRYPTION_FAILED');
  assert.deepEqual(problems, []);
  await page.close();
});

test('large AES-CBC and chunked AES-GCM (chunk IVs, or AES-CTR + the core\'s GHASH) made in Chromium: OpenSSL decrypts them', async () => {
  const { page, problems } = await openPage(live.browser.context, live.server.url);
  const r = await page.evaluate(async (bobPem) => {
    const cachet = await import('/pkg/index.js');
    // The same module instance index.js uses: GCM goes in chunks from 32 MiB, lowered here.
    const { tuning, gcmChunkIvs } = await import('/pkg/bulk.js');
    await cachet.init();
    // Chromium's AES-GCM takes the 16-byte IVs that line chunks up (asked before counting).
    const probed = await gcmChunkIvs(await import('/pkg/cachet_wasm.js'));
    const modes = [];
    const subtle = crypto.subtle;
    const original = subtle.encrypt;
    subtle.encrypt = (alg, ...rest) => {
      modes.push(alg?.name);
      return original.call(subtle, alg, ...rest);
    };
    const line = 'The quick brown fox jumps over the lazy dog.\r\n';
    const body = `${line.repeat(Math.ceil(2.5 * 1024 * 1024 / line.length))}END\r\n`;
    const message = `From: alice@example.org\r\nTo: bob@example.org\r\nSubject: big\r\n\r\n${body}`;
    const out = {};
    tuning.gcmChunksFrom = 0;
    for (const [name, cipher, ivs] of [['aes256-gcm', 'aes256-gcm', true], ['aes256-gcm-ctr', 'aes256-gcm', false],
      ['aes128-cbc', 'aes128-cbc', true]]) {
      modes.length = 0;
      tuning.chunkIvs = ivs;
      const enc = await cachet.encrypt({ message, encryptionKeys: new Uint8Array(bobPem), cipher });
      out[name] = { enc, modes: [...new Set(modes)], calls: modes.length };
    }
    tuning.chunkIvs = undefined;
    subtle.encrypt = original;
    return { out, bodyLength: body.length, probed };
  }, file('bob-rsa.pem'));
  const dir = join(outDir, 'browser-bulk');
  mkdirSync(dir, { recursive: true });
  assert.equal(r.probed, true);
  for (const [cipher, mode] of [['aes256-gcm', 'AES-GCM'], ['aes256-gcm-ctr', 'AES-CTR'], ['aes128-cbc', 'AES-CBC']]) {
    const { enc, modes, calls } = r.out[cipher];
    assert.deepEqual(modes, [mode], cipher);
    assert.equal(calls, 3, `${cipher}: 2.5 MiB in three chunks`);
    const path = join(dir, `${cipher}.eml`);
    writeFileSync(path, enc);
    const dec = spawnSync('openssl', ['cms', '-decrypt', '-binary', '-in', path, '-inkey',
      join(pkiDir, 'bob-rsa.key'), '-recip', join(pkiDir, 'bob-rsa.pem')], { maxBuffer: 64 << 20 });
    assert.equal(dec.status, 0, `${cipher}: ${dec.stderr}`);
    const text = dec.stdout.toString();
    assert.ok(text.startsWith('Content-Type: text/plain; charset=us-ascii\r\n\r\nThe quick'), cipher);
    assert.ok(text.endsWith('END\r\n'), cipher);
    assert.equal(text.length, r.bodyLength + 'Content-Type: text/plain; charset=us-ascii\r\n\r\n'.length);
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('OpenSSL-made large AES-CBC and AES-GCM envelopes decrypt in place in Chromium (chunks), byte for byte', async () => {
  const dir = join(outDir, 'browser-bulk');
  mkdirSync(dir, { recursive: true });
  const line = 'Decrypted in place, in the browser. 0123456789\r\n';
  const entity = `Content-Type: text/plain\r\n\r\n${line.repeat(Math.ceil(2.5 * 1024 * 1024 / line.length))}`;
  writeFileSync(join(dir, 'plain'), entity);
  const messages = {};
  for (const [flag, cipher] of [['-aes-128-cbc', 'aes128-cbc'], ['-aes-256-gcm', 'aes256-gcm']]) {
    const out = join(dir, `openssl-${cipher}.eml`);
    const r = spawnSync('openssl', ['cms', '-encrypt', '-binary', flag, '-in', join(dir, 'plain'), '-out', out,
      join(pkiDir, 'bob-rsa.pem')]);
    assert.equal(r.status, 0, `${cipher}: ${r.stderr}`);
    messages[cipher] = [...readFileSync(out)];
  }
  const { page, problems } = await openPage(live.browser.context, live.server.url);
  const r = await page.evaluate(async ({ messages, bobP12 }) => {
    const cachet = await import('/pkg/index.js');
    const { tuning } = await import('/pkg/bulk.js');
    const modes = [];
    const subtle = crypto.subtle;
    const original = subtle.decrypt;
    subtle.decrypt = (alg, ...rest) => {
      modes.push(alg?.name);
      return original.call(subtle, alg, ...rest);
    };
    tuning.gcmChunksFrom = 0;
    const out = {};
    // GCM's tag both ways: chunk IVs (as probed here) and AES-CTR + the core's GHASH.
    for (const [name, bytes, ivs] of [['aes128-cbc', messages['aes128-cbc'], undefined],
      ['aes256-gcm', messages['aes256-gcm'], undefined], ['aes256-gcm-ctr', messages['aes256-gcm'], false]]) {
      modes.length = 0;
      tuning.chunkIvs = ivs;
      const d = await cachet.decrypt({ message: new Uint8Array(bytes),
        decryptionKeys: { privateKey: new Uint8Array(bobP12), password: 'test' } });
      out[name] = { text: new TextDecoder().decode(d.message), cipher: d.cipher, modes: [...new Set(modes)],
        calls: modes.length, ivs: tuning.chunkIvs };
    }
    tuning.chunkIvs = undefined;
    subtle.decrypt = original;
    return out;
  }, { messages, bobP12: file('bob-rsa.p12') });
  // The probe (on the first chunked GCM decryption) found Chromium's 16-byte GCM IVs usable.
  assert.equal(r['aes256-gcm'].ivs, true);
  assert.equal(r['aes256-gcm-ctr'].ivs, false);
  for (const [name, cipher, mode] of [['aes128-cbc', 'aes128-cbc', 'AES-CBC'], ['aes256-gcm', 'aes256-gcm', 'AES-CTR'],
    ['aes256-gcm-ctr', 'aes256-gcm', 'AES-CTR']]) {
    assert.deepEqual(r[name].modes, [mode], name);
    assert.equal(r[name].calls, 3, `${name}: three chunks`);
    assert.equal(r[name].cipher, cipher);
    assert.equal(r[name].text, `MIME-Version: 1.0\r\n${entity}`, `${name}: byte for byte`);
  }
  assert.deepEqual(problems, []);
  await page.close();
});
