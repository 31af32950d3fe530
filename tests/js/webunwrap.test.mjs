// RSA key transport in native code (websign.js `webUnwrap`): for a small message the core names
// the RSA RecipientInfos addressed to the identity; WebCrypto's RSA-OAEP decrypts OAEP encrypted
// keys, Node's `privateDecrypt` with RSA_NO_PADDING gives PKCS#1 v1.5 ones' raw block (which the
// core checks and unpads), and the core takes the result for that message only. These tests
// prove the paths are taken for messages OpenSSL and Cachet make (SHA-1 and SHA-256 OAEP,
// v1.5), that other OAEP parameters and EC keys stay in the core, that a failure there or a
// wrong result is the same DECRYPTION_FAILED, and that an Identity imports its key once.
import assert from 'node:assert/strict';
import nodeCrypto from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'node:test';

import { AT_DATE, MESSAGE, ROOT, cachet, pki, read, readText, rejectsWith, run, scratch } from './helpers.mjs';

const bob = { privateKey: read('bob-rsa.p12'), password: 'test' };
const root = readText('root-ca.pem');

/** Count WebCrypto RSA-OAEP decryptions and key imports, and Node's raw RSA decryptions and key
 *  imports, while `fn` runs; `patchDecrypt` / `patchRaw` stand in for the engines. */
async function counting(fn, patchDecrypt, patchRaw) {
  const subtle = globalThis.crypto.subtle;
  const calls = { oaep: 0, importOaep: 0, hashes: [], raw: 0, importRaw: 0 };
  const original = { decrypt: subtle.decrypt, importKey: subtle.importKey };
  const node = { privateDecrypt: nodeCrypto.privateDecrypt, createPrivateKey: nodeCrypto.createPrivateKey };
  nodeCrypto.privateDecrypt = function counted(options, data) {
    if (options?.padding === nodeCrypto.constants.RSA_NO_PADDING) {
      calls.raw += 1;
      if (patchRaw) return patchRaw(() => node.privateDecrypt(options, data));
    }
    return node.privateDecrypt(options, data);
  };
  nodeCrypto.createPrivateKey = function counted(...args) {
    calls.importRaw += 1;
    return node.createPrivateKey(...args);
  };
  subtle.decrypt = function counted(alg, key, data) {
    if (alg?.name === 'RSA-OAEP') {
      calls.oaep += 1;
      calls.hashes.push(key.algorithm.hash.name);
      if (patchDecrypt) return patchDecrypt(alg, key, data);
    }
    return original.decrypt.call(subtle, alg, key, data);
  };
  subtle.importKey = function counted(format, data, alg, ...rest) {
    if (alg?.name === 'RSA-OAEP') calls.importOaep += 1;
    return original.importKey.call(subtle, format, data, alg, ...rest);
  };
  try {
    return { result: await fn(), calls };
  } finally {
    delete subtle.decrypt;
    delete subtle.importKey;
    Object.assign(nodeCrypto, node);
  }
}

/** `openssl cms -encrypt` of MESSAGE's body for bob-rsa with these -keyopt values. */
function opensslEncrypt(name, keyopts) {
  const dir = scratch('webunwrap');
  const plain = join(dir, `${name}.txt`);
  writeFileSync(plain, 'Content-Type: text/plain\r\n\r\nHello over OAEP.\r\n');
  const out = join(dir, `${name}.eml`);
  const args = ['cms', '-encrypt', '-binary', '-aes-256-cbc', '-in', plain, '-out', out, '-recip', pki('bob-rsa.pem')];
  for (const k of keyopts) args.push('-keyopt', k);
  const r = run('openssl', args);
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(out);
}

test('RSA-OAEP key transport from OpenSSL (SHA-1, SHA-256) and Cachet goes through WebCrypto', async () => {
  const id = await cachet.readIdentity(bob);
  try {
    const messages = {
      'openssl oaep sha-1': [opensslEncrypt('oaep-sha1', ['rsa_padding_mode:oaep']), 'SHA-1'],
      'openssl oaep sha-256': [opensslEncrypt('oaep-sha256', ['rsa_padding_mode:oaep', 'rsa_oaep_md:sha256',
        'rsa_mgf1_md:sha256']), 'SHA-256'],
      'cachet rsaOaep': [await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-rsa.pem'), rsaOaep: true }),
        'SHA-256'],
    };
    for (const [name, [message, hash]] of Object.entries(messages)) {
      const { result: d, calls } = await counting(() => cachet.decrypt({ message, decryptionKeys: id }));
      assert.equal(calls.oaep, 1, `${name}: WebCrypto decrypted the key`);
      assert.deepEqual(calls.hashes, [hash], name);
      const text = typeof d.message === 'string' ? d.message : new TextDecoder().decode(d.message);
      assert.match(text, /Hello (over OAEP|Bob)/, name);
    }
    // The Identity keeps its RSA-OAEP CryptoKey (one per hash): no import the second time.
    const { calls } = await counting(() => cachet.decrypt({ message: messages['cachet rsaOaep'][0], decryptionKeys: id }));
    assert.equal(calls.importOaep, 0);
    assert.equal(calls.oaep, 1);
    // open() too (signed, then encrypted with OAEP).
    const sealed = await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-rsa.pem'), rsaOaep: true,
      signingKeys: { privateKey: read('alice-rsa.p12'), password: 'test' }, date: AT_DATE });
    const { result: o, calls: openCalls } = await counting(() => cachet.open({ message: sealed, decryptionKeys: id,
      trustAnchors: root, date: AT_DATE }));
    assert.equal(openCalls.oaep, 1);
    assert.equal(o.signedValid, true);
    assert.deepEqual(o.layers.map((l) => l.type), ['authEnveloped', 'signed']);
  } finally {
    id.dispose();
  }
});

test('OAEP with another MGF1 hash, and EC keys stay in the core', async () => {
  const cases = [
    ['oaep sha-256, mgf1 sha-1', opensslEncrypt('oaep-mixed', ['rsa_padding_mode:oaep', 'rsa_oaep_md:sha256',
      'rsa_mgf1_md:sha1']), bob],
    ['p-256', await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-p256.pem') }),
      { privateKey: read('bob-p256.p12'), password: 'test' }],
  ];
  for (const [name, message, keys] of cases) {
    const { result: d, calls } = await counting(() => cachet.decrypt({ message, decryptionKeys: keys }));
    assert.equal(calls.oaep, 0, name);
    assert.equal(calls.raw, 0, name);
    assert.ok(d.message.length > 0, name);
  }
});

test('RSA PKCS#1 v1.5 key transport from OpenSSL and Cachet goes through Node\'s raw RSA', async () => {
  const id = await cachet.readIdentity(bob);
  try {
    const messages = {
      'openssl v1.5': opensslEncrypt('v15', []),
      'cachet': await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-rsa.pem') }),
      'cachet aes-256-gcm': await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-rsa.pem'),
        cipher: 'aes256-gcm' }),
    };
    for (const [name, message] of Object.entries(messages)) {
      const { result: d, calls } = await counting(() => cachet.decrypt({ message, decryptionKeys: id }));
      assert.equal(calls.raw, 1, `${name}: Node decrypted the key`);
      assert.equal(calls.oaep, 0, name);
      const text = typeof d.message === 'string' ? d.message : new TextDecoder().decode(d.message);
      assert.match(text, /Hello (over OAEP|Bob)/, name);
    }
    // The Identity keeps its KeyObject: no import the second time.
    const { calls } = await counting(() => cachet.decrypt({ message: messages.cachet, decryptionKeys: id }));
    assert.deepEqual([calls.importRaw, calls.raw], [0, 1]);
    // open() too (signed, then encrypted with v1.5).
    const sealed = await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-rsa.pem'),
      signingKeys: { privateKey: read('alice-rsa.p12'), password: 'test' }, date: AT_DATE });
    const { result: o, calls: openCalls } = await counting(() => cachet.open({ message: sealed, decryptionKeys: id,
      trustAnchors: root, date: AT_DATE }));
    assert.equal(openCalls.raw, 1);
    assert.equal(o.signedValid, true);
  } finally {
    id.dispose();
  }
});

test('a failure of Node\'s raw RSA, or a wrong block from it, is DECRYPTION_FAILED, never a retry in the core',
  async () => {
    const message = await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-rsa.pem') });
    const id = await cachet.readIdentity(bob);
    try {
      const flipped = (at) => (real) => {
        const block = Buffer.from(real());
        block[at] ^= 1;
        return block;
      };
      for (const [name, patch] of [
        ['fails', () => { throw new Error('data too large for modulus'); }],
        ['a byte of the key changed', flipped(255)],
        ['a padding byte changed', flipped(1)],
        ['shorter', (real) => real().subarray(1)],
      ]) {
        const { result, calls } = await counting(
          () => rejectsWith(cachet.decrypt({ message, decryptionKeys: id }), 'DECRYPTION_FAILED'), undefined, patch);
        assert.ok(result, name);
        assert.equal(calls.raw, 1, name);
      }
      // The next message is not affected (the core kept the block for one message only).
      const d = await cachet.decrypt({ message, decryptionKeys: id });
      assert.match(d.message, /Hello Bob/);
    } finally {
      id.dispose();
    }
  });

test('a WebCrypto failure, or a wrong key from it, is DECRYPTION_FAILED, never a retry in the core', async () => {
  const message = await cachet.encrypt({ message: MESSAGE, encryptionKeys: read('bob-rsa.pem'), rsaOaep: true });
  const id = await cachet.readIdentity(bob);
  try {
    for (const [name, patch] of [
      ['fails', () => Promise.reject(new DOMException('The operation failed', 'OperationError'))],
      ['wrong key', () => Promise.resolve(new Uint8Array(32).fill(7).buffer)],
    ]) {
      const { result, calls } = await counting(
        () => rejectsWith(cachet.decrypt({ message, decryptionKeys: id }), 'DECRYPTION_FAILED'), patch);
      assert.ok(result, name);
      assert.equal(calls.oaep, 1, name);
    }
    // And the next message is not affected (the core kept the result for one message only).
    const d = await cachet.decrypt({ message, decryptionKeys: id });
    assert.match(d.message, /Hello Bob/);
  } finally {
    id.dispose();
  }
  // A changed encrypted key (DER bytes ~285-342, inside the RecipientInfo's 256-byte
  // encryptedKey): WebCrypto's OAEP check fails; the same error.
  const [head, body] = message.split('\r\n\r\n');
  const lines = body.split('\r\n');
  lines[5] = lines[5].slice(0, 10) + (lines[5][10] === 'A' ? 'B' : 'A') + lines[5].slice(11);
  const tampered = `${head}\r\n\r\n${lines.join('\r\n')}`;
  const { calls } = await counting(() => rejectsWith(cachet.decrypt({ message: tampered, decryptionKeys: bob }),
    'DECRYPTION_FAILED'));
  assert.equal(calls.oaep, 1);
});

test('large messages (decrypted in place) take the same native RSA paths: v1.5 through Node, OAEP through WebCrypto', async () => {
  const big = MESSAGE + `${'0123456789abcdef'.repeat(4)}\r\n`.repeat(10_000);
  assert.ok(big.length > 600_000);
  const id = await cachet.readIdentity(bob);
  try {
    for (const [name, options, engine] of [
      ['v1.5 aes256-cbc', { cipher: 'aes256-cbc' }, 'raw'],
      ['v1.5 aes256-gcm', { cipher: 'aes256-gcm' }, 'raw'],
      ['oaep aes256-gcm', { cipher: 'aes256-gcm', rsaOaep: true }, 'oaep'],
    ]) {
      const message = await cachet.encrypt({ message: big, encryptionKeys: read('bob-rsa.pem'), ...options });
      const { result: d, calls } = await counting(() => cachet.decrypt({ message, decryptionKeys: id }));
      assert.equal(calls[engine], 1, name);
      assert.ok(d.message.endsWith(big.slice(-200)), name);
      const { result: o, calls: openCalls } = await counting(() => cachet.open({ message, decryptionKeys: id }));
      assert.equal(openCalls[engine], 1, `${name}: open`);
      assert.ok(new TextDecoder().decode(o.content).includes('0123456789abcdef'), name);
      // A wrong block from Node: DECRYPTION_FAILED, the core does not decrypt it again.
      if (engine === 'raw') {
        const { calls: bad } = await counting(
          () => rejectsWith(cachet.decrypt({ message, decryptionKeys: id }), 'DECRYPTION_FAILED'), undefined,
          (real) => { const b = Buffer.from(real()); b[255] ^= 1; return b; });
        assert.equal(bad.raw, 1, name);
      }
    }
  } finally {
    id.dispose();
  }
});

test('messages of real clients (Thunderbird/NSS, Outlook, BouncyCastle, KMail/gpgsm, RFC 4134) open through the native paths as in the core', async () => {
  // tests/vectors/encrypted.tsv (sources: tests/vectors/corpus/SOURCES.md), as tests/vectors_encrypted.rs
  // reads it with the core alone.
  const dir = join(ROOT, 'tests/vectors');
  const rows = readFileSync(join(dir, 'encrypted.tsv'), 'utf8').split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split('\t'));
  const corpus = (p) => readFileSync(join(dir, 'corpus', p));
  let raw = 0;
  let oaep = 0;
  let opened = 0;
  for (const [file, key, cert, password, trust, at, layers] of rows) {
    if (!/^(enveloped|authEnveloped|undecryptable):/.test(layers)) continue;
    const keys = { privateKey: corpus(key), ...(cert === '-' ? {} : { certificate: corpus(cert) }),
      ...(password === '-' ? {} : { password }) };
    const anchors = trust === '-' ? [] : [corpus(trust)];
    const open = () => cachet.open({ message: corpus(file), decryptionKeys: keys, trustAnchors: anchors,
      certificates: anchors, date: new Date(at) });
    if (layers.startsWith('undecryptable:')) {
      const { result, calls } = await counting(() => open().then((o) => o.layers[0]));
      assert.equal(result.type, 'undecryptable', file);
      assert.equal(result.code, layers.split(':')[1], file);
      raw += calls.raw;
      continue;
    }
    const { result: o, calls } = await counting(open);
    raw += calls.raw;
    oaep += calls.oaep;
    const got = o.layers.map((l) => (l.type === 'signed' ? `signed:${l.signers.map((s) => s.status).join('+')}`
      : `${l.type}:${l.cipher}`)).join(',');
    assert.equal(got, layers, file);
    opened += 1;
  }
  assert.ok(opened >= 19, `${opened} opened`);
  // PKCS#1 v1.5 with 2048-bit keys (Thunderbird/NSS, Outlook): Node's raw RSA; OpenSSL's OAEP
  // (SHA-1, SHA-256): WebCrypto. The 1024-bit keys (BouncyCastle, RFC 4134, KMail) stay in the
  // core, as every key below 2048 bits does, and so do EC keys and OAEP with a label.
  assert.ok(raw >= 6, `${raw} through Node's raw RSA`);
  assert.ok(oaep >= 3, `${oaep} through WebCrypto's RSA-OAEP`);
});
