// The key store in Node: the in-memory and file adapters, every PKCS#12 fixture, lookups, lock,
// idle time, corrupted records, failures mid-write (nothing lost), schema migration v1 -> v2.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  AT_DATE, MESSAGE, ROOT, cachet, hasOpenssl, read, readText, rejectsWith, run, scratch,
} from './helpers.mjs';

const { KeyStore, MemoryAdapter, FileAdapter, SCHEMA_VERSION } = cachet;
const FAST = { iterations: 1000 };

function memoryStore(options = {}) {
  return KeyStore.open('test', { adapter: new MemoryAdapter(), ...FAST, ...options });
}

/** The clear PKCS#8 DER of a PEM key file. */
function pkcs8(name) {
  const pem = readText(name);
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

function contains(hay, needle) {
  return Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
}

/** Every Uint8Array in a JSON-able value (the file format encodes them as { $bytes }). */
function allBytes(value, out = []) {
  if (value && typeof value === 'object') {
    if (typeof value.$bytes === 'string') out.push(Buffer.from(value.$bytes, 'base64'));
    else for (const v of Object.values(value)) allBytes(v, out);
  }
  return out;
}

test('import a .p12, find it, unlock it, sign, verify against the stored anchors', async () => {
  const store = await memoryStore();
  const added = await store.importPkcs12({
    data: read('alice-rsa.p12'), password: 'test', passphrase: 'correct horse',
  });
  assert.equal(added.store, 'identities');
  assert.match(added.id, /^[0-9A-F]{40}$/);
  assert.deepEqual(added.emails, ['alice@example.org']);
  assert.equal(added.chain.length, 1);
  assert.equal(added.canSign, true);
  assert.equal(added.unlocked, false);
  await store.addTrustAnchors({ data: readText('root-ca.pem') });

  const { items, corrupted } = await store.list();
  assert.equal(items.length, 2);
  assert.deepEqual(corrupted, []);

  const identity = await store.unlock({ email: 'ALICE@Example.ORG', passphrase: 'correct horse' });
  assert.deepEqual(identity.emails, ['alice@example.org']);
  assert.equal((await store.list({ store: 'identities' })).items[0].unlocked, true);
  const signed = await cachet.sign({ message: MESSAGE, signingKeys: identity, date: AT_DATE });
  const report = await cachet.verify({
    message: signed, trustAnchors: await store.trustAnchors(), date: AT_DATE,
  });
  assert.equal(report.valid, true, JSON.stringify(report.signers.map((s) => s.code)));
  assert.equal(report.signers[0].email, 'alice@example.org');
  assert.deepEqual(report.signers[0].certificate.der, added.certificate.der);
  store.close();
});

test('wrong passwords and bad files: typed errors, nothing half-imported', async () => {
  const store = await memoryStore();
  await rejectsWith(store.importPkcs12({ data: read('alice-rsa.p12'), password: 'nope', passphrase: 'x' }),
    'BAD_PASSWORD');
  await rejectsWith(store.importPkcs12({ data: read('alice-rsa.p12').subarray(0, 300), password: 'test',
    passphrase: 'x' }), 'P12_MALFORMED');
  await rejectsWith(store.importPkcs12({ data: read('root-ca.pem'), password: 'test', passphrase: 'x' }),
    'KEY_MALFORMED');
  assert.deepEqual((await store.list()).items, []);
  await store.importPkcs12({ data: read('alice-p256.p12'), password: 'test', passphrase: 'pp' });
  await rejectsWith(store.unlock({ email: 'alice@example.org', passphrase: 'wrong' }), 'BAD_PASSWORD');
  await rejectsWith(store.unlock({ email: 'nobody@example.org', passphrase: 'pp' }), 'STORE_NOT_FOUND');
  await rejectsWith(store.addTrustAnchors({ data: ['garbage'] }), 'CERT_MALFORMED');
  // A bundle with one broken member adds nothing.
  await rejectsWith(store.addTrustAnchors({ data: [readText('root-ca.pem'), 'garbage'] }), 'CERT_MALFORMED');
  assert.equal((await store.list({ store: 'trustAnchors' })).items.length, 0);
});

test('options are checked: unknown keys and wrong types are API_MISUSE', async () => {
  const store = await memoryStore();
  await rejectsWith(store.importPkcs12({ data: read('alice-rsa.p12'), password: 'test', passphrase: 'p',
    pasword: 'x' }), 'API_MISUSE');
  await rejectsWith(store.importPkcs12({ data: read('alice-rsa.p12'), password: 'test' }), 'API_MISUSE');
  await rejectsWith(store.importPkcs12({ data: read('alice-rsa.p12'), password: 'test', passphrase: '' }),
    'API_MISUSE');
  await rejectsWith(store.find({ usage: 'decrypt' }), 'API_MISUSE');
  await rejectsWith(store.find({ validAt: '2030' }), 'API_MISUSE');
  await rejectsWith(store.find({ store: 'nope' }), 'API_MISUSE');
  await rejectsWith(store.unlock({ passphrase: 'x' }), 'API_MISUSE');
  await rejectsWith(store.remove({ id: 'AB' }), 'STORE_NOT_FOUND');
  await rejectsWith(store.exportCertificate({ id: 'AB', format: 'pem' }), 'STORE_NOT_FOUND');
  await rejectsWith(KeyStore.open('x', { adapter: new MemoryAdapter(), bogus: 1 }), 'API_MISUSE');
  await rejectsWith(KeyStore.open('x'), 'API_MISUSE'); // no IndexedDB in Node: say which adapter
  await rejectsWith(KeyStore.open('x', { adapter: new MemoryAdapter(), iterations: 0 }), 'API_MISUSE');
  await rejectsWith(KeyStore.open('x', { adapter: new MemoryAdapter(), idleTimeout: 2 ** 31 }),
    'API_MISUSE');
  await rejectsWith(KeyStore.open('x', { adapter: new MemoryAdapter(), idleTimeout: -1 }), 'API_MISUSE');
});

test('every .p12 fixture imports (corpus, OpenSSL modern and legacy, NSS, BouncyCastle)', async () => {
  const store = await memoryStore();
  const passwords = {
    'Alice.p12': 'nss', 'Bob.p12': 'nss', 'Dave.p12': 'nss', 'Fran.p12': 'nss', 'Fran-ec.p12': 'nss',
    'johndoe.p12': '', 'p256.utf8pw.p12': 'pässwörd', 'p256.utf8pw.legacy.p12': 'pässwörd',
  };
  let count = 0;
  for (const [dir, fallback] of [['keys', 'secret'], ['pki', 'test']]) {
    const base = join(ROOT, 'tests/vectors', dir);
    for (const file of readdirSync(base).filter((f) => f.endsWith('.p12'))) {
      const password = passwords[file] ?? fallback;
      const added = await store.importPkcs12({
        data: readFileSync(join(base, file)), password, passphrase: 'at rest',
      }).catch((err) => assert.fail(`${dir}/${file}: ${err.code} ${err.message}`));
      const identity = await store.unlock({ id: added.id, passphrase: 'at rest' });
      assert.deepEqual(identity.certificate.der, added.certificate.der, file);
      store.lock();
      count++;
    }
  }
  assert.ok(count >= 25, `only ${count} .p12 files`);
});

test('importKey: PEM key + certificate + chain; encrypted PKCS#8', async () => {
  const store = await memoryStore();
  const a = await store.importKey({
    privateKey: readText('alice-p384.key'), certificate: read('alice-p384.pem'),
    chain: [readText('inter-ca.pem')], passphrase: 'pp', label: 'work',
  });
  assert.equal(a.label, 'work');
  assert.equal(a.chain.length, 1);
  const keys = join(ROOT, 'tests/vectors/keys');
  const b = await store.importKey({
    privateKey: readFileSync(join(keys, 'p256.enc.pem')), certificate: readFileSync(join(keys, 'p256.crt.pem')),
    password: 'secret', passphrase: 'pp',
  });
  assert.notEqual(a.id, b.id);
  await rejectsWith(store.importKey({ privateKey: readText('alice-p384.key'), certificate: read('bob-p256.pem'),
    passphrase: 'pp' }), 'KEY_CERT_MISMATCH');
  assert.equal((await store.list()).items.length, 2);
});

test('lookups: email, thumbprint, fingerprint, issuer+serial, key id, usage, validity', async () => {
  const store = await memoryStore();
  const alice = await store.importPkcs12({ data: read('alice-ed25519.p12'), password: 'test', passphrase: 'p' });
  const [bob] = await store.addCertificate({ certificate: read('bob-rsa.pem') });
  const [expired] = await store.addCertificate({ certificate: read('expired.pem') });
  const [kuEnc] = await store.addCertificate({ certificate: read('ku-keyenc.pem') });
  await store.addTrustAnchors({ data: read('bundle.p7b') }); // alice-rsa, inter-ca, root-ca

  const ids = (list) => list.map((x) => x.id).sort();
  assert.deepEqual(ids(await store.find({ email: 'BOB@example.ORG' })), [bob.id]);
  const alices = await store.find({ email: 'alice@example.org' });
  assert.equal(alices.length, 4); // ed25519 identity, expired, ku-keyenc, alice-rsa anchor
  assert.deepEqual(ids(await store.find({ email: 'alice@example.org', store: 'identities' })), [alice.id]);
  // Ed25519 cannot encrypt; ku-keyenc cannot sign.
  const enc = await store.find({ email: 'alice@example.org', usage: 'encrypt', store: ['identities', 'otherPeople'] });
  assert.deepEqual(ids(enc), ids([expired, kuEnc]));
  const signers = await store.find({ email: 'alice@example.org', usage: 'sign', validAt: AT_DATE,
    store: ['identities', 'otherPeople'] });
  assert.deepEqual(ids(signers), [alice.id]);
  // Windows-style thumbprint with spaces and lowercase; fingerprint with colons.
  const spaced = bob.thumbprint.toLowerCase().replace(/(..)/g, '$1 ');
  assert.deepEqual(ids(await store.find({ thumbprint: spaced })), [bob.id]);
  const colons = bob.fingerprint.toUpperCase().replace(/(..)(?!$)/g, '$1:');
  assert.deepEqual(ids(await store.find({ fingerprint: colons })), [bob.id]);
  assert.deepEqual(ids(await store.find({ issuerSerial: { issuer: bob.issuer, serial: `00${bob.serial}` } })),
    [bob.id]);
  assert.deepEqual(ids(await store.find({ keyId: bob.subjectKeyId })), [bob.id]);
  assert.deepEqual(await store.find({ email: 'carol@example.org' }), []);
  const cas = (await store.list({ store: 'trustAnchors' })).items.filter((x) => x.isCa);
  assert.equal(cas.length, 2);
  // Newest first: RFC 8551 §2.7.1.
  const all = await store.find({ email: 'alice@example.org' });
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].notBefore >= all[i].notBefore);
  // exportCertificate
  const pem = await store.exportCertificate({ id: bob.id });
  assert.equal(pem.replace(/\r/g, ''), readText('bob-rsa.pem').replace(/\r/g, ''));
  assert.deepEqual(await store.exportCertificate({ id: bob.id, format: 'der' }), bob.certificate.der);
  // remove
  await store.remove({ id: bob.id });
  assert.deepEqual(await store.find({ email: 'bob@example.org' }), []);
});

test('other people: signing time and capabilities kept, newer wins; collectSigners', async () => {
  const store = await memoryStore();
  const caps = ['aes256-gcm', 'aes256-cbc'];
  const [first] = await store.addCertificate({ certificate: read('bob-p256.pem'), capabilities: caps,
    signingTime: new Date('2030-01-02T00:00:00Z') });
  const [older] = await store.addCertificate({ certificate: read('bob-p256.pem'),
    capabilities: ['aes128-cbc'], signingTime: new Date('2029-01-01T00:00:00Z') });
  assert.equal(older.signingTime.toISOString(), first.signingTime.toISOString());
  assert.deepEqual(older.capabilities, caps);
  const [newer] = await store.addCertificate({ certificate: read('bob-p256.pem'),
    capabilities: ['aes128-gcm'], signingTime: new Date('2030-06-01T00:00:00Z') });
  assert.deepEqual(newer.capabilities, ['aes128-gcm']);
  await rejectsWith(store.addCertificate({ certificate: read('bob-p256.pem'), capabilities: new Uint8Array(2) }),
    'API_MISUSE');

  const signer = await cachet.readIdentity({ privateKey: read('alice-rsa.p12'), password: 'test' });
  const signed = await cachet.sign({ message: MESSAGE, signingKeys: signer, date: AT_DATE });
  const report = await cachet.verify({ message: signed, trustAnchors: read('root-ca.pem'), date: AT_DATE });
  const collected = await store.collectSigners({ report });
  assert.equal(collected.length, 1);
  const found = await store.find({ email: 'alice@example.org', store: 'otherPeople' });
  assert.equal(found.length, 1);
  assert.equal(found[0].signingTime.getTime(), AT_DATE.getTime());
});

test('trust anchors: PEM list, .p7b, replaced as a whole in one commit', async () => {
  const store = await memoryStore();
  const added = await store.addTrustAnchors({ data: readText('bundle.pem') });
  assert.equal(added.length, 4);
  assert.equal((await store.trustAnchors()).length, 4);
  const replaced = await store.replaceTrustAnchors({ data: [read('root-ca.pem'), read('other-root-ca.pem')] });
  assert.equal(replaced.length, 2);
  const anchors = (await store.list({ store: 'trustAnchors' })).items.map((x) => x.subject).sort();
  assert.equal(anchors.length, 2);
  assert.ok(anchors.every((s) => /Root CA/.test(s)), anchors.join());
  await rejectsWith(store.replaceTrustAnchors({ data: 'garbage' }), 'CERT_MALFORMED');
  assert.equal((await store.trustAnchors()).length, 2);
});

test('lock, idle timeout: keys wiped, STORE_LOCKED until unlocked again', async () => {
  const store = await memoryStore({ idleTimeout: 100 });
  const a = await store.importPkcs12({ data: read('alice-p256.p12'), password: 'test', passphrase: 'pp' });
  const identity = await store.unlock({ id: a.id, passphrase: 'pp' });
  assert.equal(await store.unlocked({ id: a.id }), identity);
  store.lock();
  await rejectsWith(store.unlocked({ id: a.id }), 'STORE_LOCKED');
  await rejectsWith(cachet.sign({ message: MESSAGE, signingKeys: identity }), 'API_MISUSE'); // disposed
  const again = await store.unlock({ id: a.id, passphrase: 'pp' });
  await new Promise((r) => setTimeout(r, 250));
  await rejectsWith(store.unlocked({ email: 'alice@example.org' }), 'STORE_LOCKED');
  await rejectsWith(cachet.sign({ message: MESSAGE, signingKeys: again }), 'API_MISUSE');
  store.close();
  await rejectsWith(store.list(), 'STORE_LOCKED');
});

test('export a backup: modern and legacy PKCS#12 read back by us and by OpenSSL', async () => {
  const store = await memoryStore();
  const a = await store.importPkcs12({ data: read('alice-rsa.p12'), password: 'test', passphrase: 'pp' });
  await rejectsWith(store.exportPkcs12({ id: a.id, passphrase: 'bad', password: 'x' }), 'BAD_PASSWORD');
  for (const legacy of [false, true]) {
    const p12 = await store.exportPkcs12({ id: a.id, passphrase: 'pp', password: 'backup pw', legacy,
      iterations: legacy ? 2048 : 5000, friendlyName: 'Alice' });
    const back = await cachet.readIdentity({ privateKey: p12, password: 'backup pw' });
    assert.deepEqual(back.certificate.der, a.certificate.der);
    if (hasOpenssl) {
      const args = ['pkcs12', '-info', '-noenc', '-passin', 'pass:backup pw', ...(legacy ? ['-legacy'] : [])];
      const r = run('openssl', args, p12);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, legacy ? /MAC: sha1/ : /MAC: sha256/);
      assert.match(r.stdout.toString(), /BEGIN PRIVATE KEY/);
    }
  }
});

test('the memory adapter: a failure mid-commit leaves every record as it was', async () => {
  class Failing extends MemoryAdapter {
    failAfter = Infinity;
    apply(data, op) {
      if (this.failAfter-- <= 0) throw new DOMException('quota exceeded', 'QuotaExceededError');
      super.apply(data, op);
    }
  }
  const adapter = new Failing();
  const store = await KeyStore.open('q', { adapter, ...FAST });
  await store.addTrustAnchors({ data: readText('bundle.pem') });
  adapter.failAfter = 2; // clear + one put succeed, then the quota runs out
  await rejectsWith(store.replaceTrustAnchors({ data: read('other-root-ca.pem') + readText('root-ca.pem') }),
    'STORE_QUOTA');
  assert.equal((await store.trustAnchors()).length, 4);
  adapter.failAfter = 0;
  await rejectsWith(store.importPkcs12({ data: read('bob-p256.p12'), password: 'test', passphrase: 'p' }),
    'STORE_QUOTA');
  assert.equal((await store.list({ store: 'identities' })).items.length, 0);
});

test('a corrupted record is reported by id; the others stay readable', async () => {
  const adapter = new MemoryAdapter();
  const store = await KeyStore.open('c', { adapter, ...FAST });
  const a = await store.importPkcs12({ data: read('alice-p256.p12'), password: 'test', passphrase: 'pp' });
  await store.addTrustAnchors({ data: read('root-ca.pem') });
  await adapter.putRaw('identities', 'DEADBEEF', { id: 'DEADBEEF', certificate: new Uint8Array([1, 2, 3]) });
  await adapter.putRaw('otherPeople', 'GARBAGE', 'not a record');
  const { items, corrupted } = await store.list();
  assert.deepEqual(items.map((x) => x.store), ['identities', 'trustAnchors']);
  assert.equal(items[0].id, a.id);
  assert.deepEqual(corrupted, [{ store: 'identities', id: 'DEADBEEF' }, { store: 'otherPeople', id: 'GARBAGE' }]);
  assert.ok(await store.unlock({ id: a.id, passphrase: 'pp' }));
});

// ---- the file adapter ------------------------------------------------------------------------

test('file store: persists across processes (reopen), no key in clear on disk', async () => {
  const dir = scratch('keystore');
  const store = await KeyStore.open('me', { adapter: new FileAdapter(dir), ...FAST });
  const a = await store.importPkcs12({ data: read('alice-rsa.p12'), password: 'test', passphrase: 'pp' });
  await store.addTrustAnchors({ data: read('root-ca.pem') });
  store.close();
  const files = readdirSync(dir);
  assert.deepEqual(files, ['me.cachet-store.json']); // no temporary file left behind
  const raw = readFileSync(join(dir, files[0]));
  const clear = pkcs8('alice-rsa.key');
  const blobs = allBytes(JSON.parse(raw.toString()));
  assert.ok(blobs.length >= 3);
  // RSA's PKCS#8 holds the public modulus too, which the certificate carries: check the slices
  // the certificate does not hold (the private exponent, primes, CRT values).
  const certDer = pkcs8('alice-rsa.pem');
  let checked = 0;
  for (let i = 0; i + 16 <= clear.length; i += 16) {
    const slice = clear.subarray(i, i + 16);
    if (contains(certDer, slice)) continue;
    checked++;
    assert.ok(!contains(raw, slice), `clear key bytes at ${i} in the file`);
    for (const blob of blobs) assert.ok(!contains(blob, slice), `clear key bytes at ${i} in a record`);
  }
  assert.ok(checked > clear.length / 32, `only ${checked} slices checked`);
  // Another KeyStore (as another process would) reads it back and signs.
  const again = await KeyStore.open('me', { adapter: new FileAdapter(dir), ...FAST });
  const identity = await again.unlock({ email: 'alice@example.org', passphrase: 'pp' });
  const signed = await cachet.sign({ message: MESSAGE, signingKeys: identity, date: AT_DATE });
  const report = await cachet.verify({ message: signed, trustAnchors: await again.trustAnchors(), date: AT_DATE });
  assert.equal(report.valid, true);
  assert.equal((await again.list()).items.find((x) => x.store === 'identities').id, a.id);
});

test('file store: a failed write (disk full) keeps the old file whole', async () => {
  class Full extends FileAdapter {
    full = false;
    async writeAtomically(text) {
      if (this.full) {
        const err = new Error('ENOSPC: no space left on device');
        err.code = 'ENOSPC';
        throw err;
      }
      return super.writeAtomically(text);
    }
  }
  const dir = scratch('keystore');
  const adapter = new Full(dir);
  const store = await KeyStore.open('full', { adapter, ...FAST });
  await store.importPkcs12({ data: read('alice-p256.p12'), password: 'test', passphrase: 'pp' });
  const before = readFileSync(adapter.path);
  adapter.full = true;
  await rejectsWith(store.importPkcs12({ data: read('bob-p256.p12'), password: 'test', passphrase: 'pp' }),
    'STORE_QUOTA');
  await rejectsWith(store.replaceTrustAnchors({ data: read('root-ca.pem') }), 'STORE_QUOTA');
  assert.deepEqual(readFileSync(adapter.path), before);
  adapter.full = false;
  assert.equal((await store.list()).items.length, 1);
  // A real write failure: the target is a directory.
  const blocked = scratch('keystore');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(blocked, 'x.cachet-store.json'));
  await rejectsWith(KeyStore.open('x', { adapter: new FileAdapter(blocked), ...FAST }), 'STORE_FAILED');
});

test('file store: a corrupted record is reported by id; an unreadable file is never overwritten', async () => {
  const dir = scratch('keystore');
  const adapter = new FileAdapter(dir);
  const store = await KeyStore.open('c', { adapter, ...FAST });
  const a = await store.importPkcs12({ data: read('alice-p256.p12'), password: 'test', passphrase: 'pp' });
  const b = await store.importPkcs12({ data: read('bob-p256.p12'), password: 'test', passphrase: 'pp' });
  const file = JSON.parse(readFileSync(adapter.path, 'utf8'));
  file.stores.identities[b.id].certificate = { $bytes: 'AAAA' };
  writeFileSync(adapter.path, JSON.stringify(file));
  const { items, corrupted } = await store.list();
  assert.deepEqual(items.map((x) => x.id), [a.id]);
  assert.deepEqual(corrupted, [{ store: 'identities', id: b.id }]);
  await store.unlock({ id: a.id, passphrase: 'pp' });
  await rejectsWith(store.unlock({ id: b.id, passphrase: 'pp' }), 'STORE_NOT_FOUND');

  writeFileSync(adapter.path, '{"truncated": ');
  await rejectsWith(store.list(), 'STORE_CORRUPTED');
  await rejectsWith(store.addTrustAnchors({ data: read('root-ca.pem') }), 'STORE_CORRUPTED');
  assert.equal(readFileSync(adapter.path, 'utf8'), '{"truncated": ');
  await rejectsWith(KeyStore.open('c', { adapter: new FileAdapter(dir), ...FAST }), 'STORE_CORRUPTED');
});

test('file store: schema v1 migrates to the current version, keys still unlock', async () => {
  assert.equal(SCHEMA_VERSION, 2);
  const dir = scratch('keystore');
  const adapter = new FileAdapter(dir);
  const store = await KeyStore.open('old', { adapter, ...FAST });
  const a = await store.importPkcs12({ data: read('alice-rsa.p12'), password: 'test', passphrase: 'pp' });
  store.close();
  // Rewrite as schema v1 wrote it: `encryptedKey` on the record, no `added`.
  const file = JSON.parse(readFileSync(adapter.path, 'utf8'));
  const rec = file.stores.identities[a.id];
  rec.encryptedKey = rec.key.data;
  delete rec.key;
  delete rec.added;
  file.version = 1;
  writeFileSync(adapter.path, JSON.stringify(file));

  const migrated = await KeyStore.open('old', { adapter: new FileAdapter(dir), ...FAST });
  const after = JSON.parse(readFileSync(adapter.path, 'utf8'));
  assert.equal(after.version, 2);
  assert.equal(after.stores.identities[a.id].key.format, 'pkcs8-pbes2');
  assert.equal(after.stores.identities[a.id].encryptedKey, undefined);
  const identity = await migrated.unlock({ id: a.id, passphrase: 'pp' });
  assert.deepEqual(identity.emails, ['alice@example.org']);
  // A file from a newer Cachet is refused, not downgraded.
  after.version = 99;
  writeFileSync(adapter.path, JSON.stringify(after));
  await rejectsWith(KeyStore.open('old', { adapter: new FileAdapter(dir), ...FAST }), 'STORE_BLOCKED');
});

test('file store: concurrent commits in one process are serialised, none lost', async () => {
  const dir = scratch('keystore');
  const store = await KeyStore.open('busy', { adapter: new FileAdapter(dir), ...FAST });
  const names = ['alice-rsa.pem', 'bob-rsa.pem', 'bob-p256.pem', 'alice-p256.pem', 'no-eku.pem', 'any-eku.pem'];
  await Promise.all(names.map((n) => store.addCertificate({ certificate: read(n) })));
  assert.equal((await store.list({ store: 'otherPeople' })).items.length, names.length);
});

test('the default iteration count is OWASP 2023 (600,000)', async () => {
  if (!hasOpenssl) return;
  const adapter = new MemoryAdapter();
  const slow = await KeyStore.open('slow', { adapter });
  await slow.importPkcs12({ data: read('alice-p256.p12'), password: 'test', passphrase: 'pp' });
  const [[, record]] = await adapter.getAll('identities');
  const r = run('openssl', ['asn1parse', '-inform', 'DER'], record.key.data);
  assert.match(r.stdout.toString(), /INTEGER +:0927C0/); // 600000
  assert.match(r.stdout.toString(), /aes-256-cbc/);
  assert.match(r.stdout.toString(), /hmacWithSHA256/);
  slow.close();
});

test('sign and verify take the store: signingKeys by address, anchors from the store', async () => {
  const store = await memoryStore();
  await store.importPkcs12({ data: read('alice-p384.p12'), password: 'test', passphrase: 'pp' });
  await store.addTrustAnchors({ data: read('root-ca.pem') });
  await rejectsWith(cachet.sign({ message: MESSAGE, signingKeys: 'alice@example.org', store }), 'STORE_LOCKED');
  await rejectsWith(cachet.sign({ message: MESSAGE, signingKeys: 'alice@example.org' }), 'API_MISUSE');
  await rejectsWith(cachet.verify({ message: MESSAGE, store: {} }), 'API_MISUSE');
  await store.unlock({ email: 'alice@example.org', passphrase: 'pp' });
  const signed = await cachet.sign({ message: MESSAGE, signingKeys: 'Alice@Example.org', store, date: AT_DATE });
  const report = await cachet.verify({ message: signed, store, date: AT_DATE });
  assert.equal(report.valid, true);
  const other = await memoryStore();
  assert.equal((await cachet.verify({ message: signed, store: other, date: AT_DATE })).valid, false);
});

test('the README key store example runs (over a MemoryAdapter) and prints what it says', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1])
    .find((b) => b.includes('KeyStore.open'));
  const importLine = "import { KeyStore, sign, verify } from 'cachet';\n";
  assert.ok(block.startsWith(importLine));
  const body = block.slice(importLine.length);
  const comment = /console\.log\(.*\); \/\/ (.*)$/m.exec(body)[1];
  const logged = [];
  const Shim = { open: (name, o) => KeyStore.open(name, { adapter: new MemoryAdapter(), ...FAST, ...o }) };
  const AsyncFunction = (async () => {}).constructor;
  const example = new AsyncFunction('KeyStore', 'sign', 'verify', 'p12Bytes', 'rootsPem', 'message',
    'console', body);
  await example(Shim, cachet.sign, cachet.verify, read('alice-p256.p12'), readText('root-ca.pem'),
    MESSAGE.replace('Date: Tue, 01 Jan 2030', 'Date: Thu, 01 Jan 2026'),
    { log: (...args) => logged.push(args.join(' ')) });
  assert.deepEqual(logged, [comment]);
});

test('file store: concurrent processes take turns (lock file), none of their updates is lost', async () => {
  const { spawn } = await import('node:child_process');
  const { utimesSync } = await import('node:fs');
  const dir = scratch('keystore');
  const names = ['alice-rsa.pem', 'bob-rsa.pem', 'bob-p256.pem', 'alice-p256.pem', 'no-eku.pem',
    'any-eku.pem', 'alice-p384.pem', 'legacy-email.pem'];
  const script = `
    const { KeyStore, FileAdapter } = await import(${JSON.stringify(join(ROOT, 'pkg/index.js'))});
    const { readFileSync } = await import('node:fs');
    const store = await KeyStore.open('shared', { adapter: new FileAdapter(process.argv[1]) });
    await store.addCertificate({ certificate: readFileSync(process.argv[2]) });`;
  const runs = names.map((n) => new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir,
      join(ROOT, 'tests/vectors/pki', n)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('exit', (code) => resolve({ code, stderr }));
  }));
  for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
  const store = await KeyStore.open('shared', { adapter: new FileAdapter(dir), ...FAST });
  assert.equal((await store.list()).items.length, names.length);
  assert.deepEqual(readdirSync(dir), ['shared.cachet-store.json']);

  // A held lock makes a writer wait, then STORE_BLOCKED; an abandoned one is taken over.
  const lock = join(dir, 'shared.cachet-store.json.lock');
  writeFileSync(lock, '1\n');
  const waiting = await KeyStore.open('shared', {
    adapter: new FileAdapter(dir, { lockTimeout: 100 }), ...FAST,
  });
  await rejectsWith(waiting.addTrustAnchors({ data: read('root-ca.pem') }), 'STORE_BLOCKED');
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  await waiting.addTrustAnchors({ data: read('root-ca.pem') });
  assert.equal((await waiting.trustAnchors()).length, 1);
  assert.deepEqual(readdirSync(dir), ['shared.cachet-store.json']);
});

test('encrypt, decrypt and open take the store: recipients by address, stored capabilities', async () => {
  const alice = await memoryStore();
  const bob = await memoryStore();
  await alice.importPkcs12({ data: read('alice-rsa.p12'), password: 'test', passphrase: 'a' });
  await bob.importPkcs12({ data: read('bob-p256.p12'), password: 'test', passphrase: 'b' });
  await bob.addTrustAnchors({ data: read('root-ca.pem') });
  // Alice knows Bob from a signed mail he sent, which advertised AES-128-CBC only.
  await alice.addCertificate({ certificate: read('bob-p256.pem'), capabilities: ['aes128-cbc'],
    signingTime: AT_DATE });
  await alice.unlock({ email: 'alice@example.org', passphrase: 'a' });
  await rejectsWith(cachet.encrypt({ message: MESSAGE, encryptionKeys: 'bob@example.org' }), 'API_MISUSE');
  await rejectsWith(cachet.encrypt({ message: MESSAGE, encryptionKeys: ['carol@example.org'], store: alice,
    date: AT_DATE }), 'STORE_NOT_FOUND');
  const sealed = await cachet.encrypt({
    message: MESSAGE, encryptionKeys: ['bob@example.org', 'alice@example.org'], store: alice,
    signingKeys: 'alice@example.org', date: AT_DATE,
  });
  await rejectsWith(cachet.decrypt({ message: sealed, store: bob }), 'STORE_LOCKED');
  await bob.unlock({ email: 'bob@example.org', passphrase: 'b' });
  const d = await cachet.decrypt({ message: sealed, store: bob });
  assert.equal(d.cipher, 'aes128-cbc'); // chosen from what Bob advertised
  // Alice's own copy (Sent folder) opens with her store.
  assert.equal((await cachet.decrypt({ message: sealed, store: alice })).cipher, 'aes128-cbc');
  const opened = await cachet.open({ message: sealed, store: bob, date: AT_DATE });
  assert.equal(opened.signedValid, true);
  const signed = opened.layers.find((l) => l.type === 'signed');
  assert.equal(signed.signers[0].email, 'alice@example.org');
  await bob.collectSigners({ report: signed });
  const [known] = await bob.find({ email: 'alice@example.org', store: 'otherPeople' });
  assert.ok(known, 'Bob remembers Alice');
  assert.ok(Array.isArray(known.capabilities) && known.capabilities.length > 0, 'with her capabilities');
});

/** A CRL from inter-ca (made here with `openssl ca -gencrl`) that revokes `pem` as of 2025-07-01. */
function crlRevoking(pem) {
  const dir = scratch('crl');
  const serial = run('openssl', ['x509', '-noout', '-serial'], readText(pem)).stdout.toString()
    .trim().split('=')[1];
  writeFileSync(join(dir, 'index.txt'), `R\t350601000000Z\t250701000000Z\t${serial}\tunknown\t/CN=x\n`);
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  writeFileSync(join(dir, 'ca.cnf'), `[ca]\ndefault_ca = d\n[d]\ndatabase = ${dir}/index.txt\n` +
    `crlnumber = ${dir}/crlnumber\ndefault_md = sha256\ndefault_crl_days = 30\n`);
  const r = run('openssl', ['ca', '-gencrl', '-batch', '-config', join(dir, 'ca.cnf'),
    '-keyfile', join(ROOT, 'tests/vectors/pki/inter-ca.key'),
    '-cert', join(ROOT, 'tests/vectors/pki/inter-ca.pem'), '-out', join(dir, 'crl.pem')]);
  assert.equal(r.status, 0, r.stderr);
  return readFileSync(join(dir, 'crl.pem'));
}

test('list: each certificate has a status at a date (valid, expired, not yet valid, untrusted, revoked)',
  async () => {
    const store = await memoryStore();
    const alice = await store.importPkcs12({ data: read('alice-rsa.p12'), password: 'test', passphrase: 'p' });
    const [root] = await store.addTrustAnchors({ data: readText('root-ca.pem') });
    const others = {};
    for (const name of ['bob-p256', 'expired', 'not-yet-valid', 'untrusted-leaf']) {
      [others[name]] = await store.addCertificate({ certificate: read(`${name}.pem`) });
    }
    const statuses = async (options) => {
      const { items } = await store.list(options);
      return Object.fromEntries(items.map((x) => [x.id, `${x.status} ${x.statusCode}`]));
    };
    let got = await statuses({ date: AT_DATE });
    assert.equal(got[alice.id], 'valid null');
    assert.equal(got[root.id], 'valid null');
    // Bob's chain is built through the intermediate that Alice's identity carries.
    assert.equal(got[others['bob-p256'].id], 'valid null');
    assert.equal(got[others.expired.id], 'expired CERT_EXPIRED');
    assert.equal(got[others['not-yet-valid'].id], 'not-yet-valid CERT_NOT_YET_VALID');
    assert.equal(got[others['untrusted-leaf'].id], 'untrusted CERT_UNTRUSTED');
    // Another time: in 2036 the leaves have expired (not the root); in 2024 nothing was valid yet
    // (and the 2020 certificate had expired).
    got = await statuses({ date: new Date('2036-01-02T00:00:00Z') });
    assert.equal(got[alice.id], 'expired CERT_EXPIRED');
    assert.equal(got[root.id], 'valid null');
    assert.equal(got[others['not-yet-valid'].id], 'valid null');
    got = await statuses({ date: new Date('2024-06-01T00:00:00Z') });
    for (const id of [alice.id, root.id, others['bob-p256'].id, others['not-yet-valid'].id]) {
      assert.equal(got[id], 'not-yet-valid CERT_NOT_YET_VALID');
    }
    assert.equal(got[others.expired.id], 'expired CERT_EXPIRED');
    // One store's items, still judged against every stored certificate and anchor.
    const { items } = await store.list({ store: 'otherPeople', date: AT_DATE });
    assert.equal(items.find((x) => x.id === others['bob-p256'].id).status, 'valid');
    // Without the anchor, nothing below it is trusted.
    await store.remove({ id: root.id });
    got = await statuses({ date: AT_DATE });
    assert.equal(got[alice.id], 'untrusted CERT_UNTRUSTED');
    assert.equal(got[others['bob-p256'].id], 'untrusted CERT_UNTRUSTED');
    await store.addTrustAnchors({ data: readText('root-ca.pem') });
    // Bad options.
    await rejectsWith(store.list({ date: 'now' }), 'API_MISUSE');
    await rejectsWith(store.list({ date: new Date(NaN) }), 'API_MISUSE');
    await rejectsWith(store.list({ crls: [42] }), 'API_MISUSE');
    // A CRL from the intermediate revokes Alice's certificate, and only it.
    if (!hasOpenssl) return;
    const crl = crlRevoking('alice-rsa.pem');
    got = await statuses({ date: AT_DATE, crls: crl });
    assert.equal(got[alice.id], 'revoked CERT_REVOKED');
    assert.equal(got[others['bob-p256'].id], 'valid null');
    // At a time before the CRL was issued, it revokes nothing.
    got = await statuses({ date: new Date('2025-06-15T00:00:00Z'), crls: [crl] });
    assert.equal(got[alice.id], 'valid null');
  });
