// encrypt / decrypt / open through the JS API and the CLI, with OpenSSL as the peer that proves
// our bytes are real S/MIME.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';

import { AT, AT_DATE, MESSAGE, cachet, cli, pki, read, readText, run, scratch } from './helpers.mjs';

const bob = { privateKey: read('bob-rsa.p12'), password: 'test' };
const bobEc = { privateKey: read('bob-p256.p12'), password: 'test' };
const alice = { privateKey: read('alice-rsa.p12'), password: 'test' };
const root = readText('root-ca.pem');

test('encrypt -> decrypt round trip for every cipher, RSA, EC and X25519, v1.5 and OAEP', async () => {
  const carol = { privateKey: read('carol-x25519.p12'), password: 'test' };
  for (const cipher of ['aes256-gcm', 'aes128-gcm', 'chacha20-poly1305', 'aes256-cbc', 'aes128-cbc']) {
    for (const rsaOaep of [false, true]) {
      const enc = await cachet.encrypt({
        message: MESSAGE,
        encryptionKeys: [readText('bob-rsa.pem'), read('bob-p256.pem'), readText('carol-x25519.pem')],
        cipher, rsaOaep,
      });
      assert.equal(typeof enc, 'string');
      assert.doesNotMatch(enc, /Hello Bob/);
      for (const key of [bob, bobEc, carol]) {
        const d = await cachet.decrypt({ message: enc, decryptionKeys: key });
        assert.equal(d.cipher, cipher);
        assert.equal(d.authenticated, !cipher.endsWith('cbc'));
        assert.match(d.message, /Subject: Cachet test/);
        assert.match(d.message, /Gr=C3=BC=C3=9Fe!/, '8-bit text travels quoted-printable');
      }
    }
  }
});

test('decrypt tries every key; errors are typed', async () => {
  const enc = await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-p256.pem') });
  const d = await cachet.decrypt({ message: enc, decryptionKeys: [bob, bobEc] });
  assert.equal(d.cipher, 'aes256-gcm');
  await assert.rejects(cachet.decrypt({ message: enc, decryptionKeys: bob }),
    (e) => e instanceof cachet.CachetError && e.code === 'NOT_RECIPIENT');
  await assert.rejects(cachet.decrypt({ message: MESSAGE, decryptionKeys: bob }),
    (e) => e.code === 'NOT_ENCRYPTED');
  await assert.rejects(cachet.encrypt({ message: MESSAGE, encryptionKeys: [] }),
    (e) => e.code === 'API_MISUSE');
  await assert.rejects(cachet.encrypt({ message: MESSAGE, encryptionKeys: root, cipher: 'rot13' }),
    (e) => e.code === 'API_MISUSE');
  await assert.rejects(cachet.encrypt({ message: MESSAGE, encryptionKeys: root, nope: 1 }),
    (e) => e.code === 'API_MISUSE');
  // An Ed25519 certificate cannot receive encrypted mail.
  await assert.rejects(cachet.encrypt({ message: MESSAGE, encryptionKeys: read('alice-ed25519.pem') }),
    (e) => e.code === 'KEY_UNSUPPORTED');
});

test('sign-then-encrypt and triple wrap open into their layers', async () => {
  const enc = await cachet.encrypt({
    message: MESSAGE, encryptionKeys: read('bob-rsa.pem'), signingKeys: alice, date: AT_DATE,
  });
  const r = await cachet.open({ message: enc, decryptionKeys: bob, trustAnchors: root, date: AT_DATE });
  assert.deepEqual(r.layers.map((l) => l.type), ['authEnveloped', 'signed']);
  assert.equal(r.layers[1].signers[0].status, 'valid');
  assert.equal(r.layers[1].signers[0].email, 'alice@example.org');
  assert.ok(r.authenticated && r.signedValid);
  assert.match(new TextDecoder().decode(r.content), /Hello Bob/);
  assert.match(r.headers, /Subject: Cachet test/);

  const triple = await cachet.encrypt({
    message: MESSAGE, encryptionKeys: read('bob-p256.pem'), signingKeys: alice, tripleWrap: true,
    cipher: 'aes128-cbc', date: AT_DATE,
  });
  const t = await cachet.open({ message: triple, decryptionKeys: [bob, bobEc], trustAnchors: root, date: AT_DATE });
  assert.deepEqual(t.layers.map((l) => l.type), ['signed', 'enveloped', 'signed']);
  assert.ok(t.signedValid);

  const cbcOnly = await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-rsa.pem'), cipher: 'aes256-cbc' });
  const c = await cachet.open({ message: cbcOnly, decryptionKeys: bob });
  assert.equal(c.authenticated, false, 'CBC without a signature is not authenticated (EFAIL)');
  const noKey = await cachet.open({ message: cbcOnly });
  assert.deepEqual(noKey.layers, [{ type: 'undecryptable', code: 'NOT_RECIPIENT' }]);
});

test('CLI: encrypt, decrypt, open --json, exit codes', () => {
  const dir = scratch('cli-env');
  const msg = join(dir, 'm.eml');
  // Signed now: drop the 2030 Date header, which would be hours after the signing time.
  writeFileSync(msg, MESSAGE.replace(/^Date: .*\r\n/m, ''));
  const enc = join(dir, 'e.eml');
  let r = cli(['encrypt', '--to', pki('bob-rsa.pem'), pki('bob-p256.pem'), '--sign-key', pki('alice-rsa.p12'),
    '--password', 'test', '--in', msg, '--out', enc]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(['open', '--key', pki('bob-p256.key'), '--cert', pki('bob-p256.pem'), '--trust', pki('root-ca.pem'),
    '--json', '--in', enc]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.out);
  assert.deepEqual(json.layers.map((l) => l.type), ['authEnveloped', 'signed']);
  assert.equal(json.layers[0].cipher, 'aes256-gcm');
  assert.equal(json.authenticated, true);
  for (const k of ['status', 'code', 'reason', 'email', 'subject']) {
    assert.ok(k in json.layers[1].signers[0], k);
  }
  // Untrusted inner signature: processed, not valid: exit 1.
  r = cli(['open', '--key', pki('bob-rsa.p12'), '--password', 'test', '--json', '--in', enc]);
  assert.equal(r.status, 1);
  assert.equal(JSON.parse(r.out).layers[1].signers[0].status, 'untrusted');
  // No key for it: exit 2 naming the code.
  r = cli(['open', '--key', pki('alice-rsa.p12'), '--password', 'test', '--in', enc]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^cachet: NOT_RECIPIENT/m);
  r = cli(['decrypt', '--key', pki('bob-rsa.key'), '--cert', pki('bob-rsa.pem'), '--in', enc]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, /multipart\/signed/);
  r = cli(['decrypt', '--key', pki('alice-rsa.p12'), '--password', 'test', '--in', enc]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /NOT_RECIPIENT/);
  // ChaCha20-Poly1305 (RFC 8103) to an RSA and an X25519 (RFC 8418) recipient.
  const chacha = join(dir, 'c.eml');
  r = cli(['encrypt', '--to', pki('bob-rsa.pem'), pki('carol-x25519.pem'), '--cipher', 'chacha20-poly1305',
    '--in', msg, '--out', chacha]);
  assert.equal(r.status, 0, r.stderr);
  for (const [key, extra] of [['bob-rsa.key', ['--cert', pki('bob-rsa.pem')]], ['carol-x25519.p12', ['--password', 'test']]]) {
    r = cli(['open', '--key', pki(key), ...extra, '--json', '--in', chacha]);
    assert.equal(r.status, 0, `${key}: ${r.stderr}`);
    const opened = JSON.parse(r.out);
    assert.deepEqual(opened.layers.map((l) => [l.type, l.cipher]), [['authEnveloped', 'chacha20-poly1305']]);
    assert.equal(opened.authenticated, true);
  }
  r = cli(['encrypt', '--to', pki('bob-rsa.pem'), '--cipher', 'des-ede3-cbc', '--in', msg]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /API_MISUSE/);
  r = cli(['encrypt', '--in', msg]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /API_MISUSE/);
});

test('CLI: OpenSSL decrypts what cachet encrypts, and cachet decrypts what OpenSSL encrypts', () => {
  const dir = scratch('cli-env-ossl');
  const msg = join(dir, 'm.eml');
  writeFileSync(msg, MESSAGE);
  for (const [cipher, to, key, extra] of [
    ['aes256-gcm', 'bob-rsa', 'bob-rsa', []],
    ['aes128-cbc', 'bob-p256', 'bob-p256', []],
    ['aes256-cbc', 'bob-rsa', 'bob-rsa', ['--rsa-oaep']],
  ]) {
    const enc = join(dir, `e-${cipher}-${to}.eml`);
    const r = cli(['encrypt', '--to', pki(`${to}.pem`), '--cipher', cipher, ...extra, '--in', msg, '--out', enc]);
    assert.equal(r.status, 0, r.stderr);
    const o = run('openssl', ['cms', '-decrypt', '-in', enc, '-inkey', pki(`${key}.key`), '-recip', pki(`${to}.pem`)]);
    assert.equal(o.status, 0, `${cipher}: ${o.stderr}`);
    assert.match(o.stdout.toString(), /Hello Bob,/);
  }
  for (const [cipher, to, keyopt] of [['-aes-256-gcm', 'bob-rsa', []], ['-aes-128-cbc', 'bob-p256', []],
    ['-aes-256-cbc', 'bob-rsa', ['-keyopt', 'rsa_padding_mode:oaep']]]) {
    const enc = join(dir, `o${cipher}-${to}.eml`);
    const o = run('openssl', ['cms', '-encrypt', '-in', msg, cipher, '-out', enc, '-recip', pki(`${to}.pem`), ...keyopt]);
    assert.equal(o.status, 0, o.stderr);
    const r = cli(['decrypt', '--key', pki(`${to}.p12`), '--password', 'test', '--in', enc]);
    assert.equal(r.status, 0, `${cipher}: ${r.stderr}`);
    assert.match(r.out, /Hello Bob,/);
  }
  void AT;
});

test('the cipher follows what recipients advertised (SMIMECapabilities from their signatures)', async () => {
  const signed = await cachet.sign({ message: MESSAGE, signingKeys: bob, date: AT_DATE });
  const { signers } = await cachet.verify({ message: signed, trustAnchors: root, date: AT_DATE });
  assert.deepEqual(signers[0].capabilities, ['aes256-gcm', 'aes128-gcm', 'aes256-cbc', 'aes128-cbc']);
  const pick = async (capabilities) => {
    const enc = await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-rsa.pem'), capabilities });
    return (await cachet.decrypt({ message: enc, decryptionKeys: bob })).cipher;
  };
  assert.equal(await pick([signers[0].capabilities]), 'aes256-gcm');
  assert.equal(await pick([['aes256-cbc', 'aes128-cbc']]), 'aes256-cbc');
  assert.equal(await pick([null]), 'aes256-gcm');
  assert.equal(await pick([['des-ede3-cbc']]), 'aes128-cbc');
  await assert.rejects(cachet.encrypt({ message: MESSAGE, encryptionKeys: root, cipher: 'aes128-cbc', capabilities: [null] }),
    (e) => e.code === 'API_MISUSE');
});
