// The key store in headless Chromium over real IndexedDB: import a .p12, restart the browser on
// the same profile, unlock and sign; no key in clear in the stored record (nor in the profile's
// files); two pages at once; versionchange/blocked; schema migration v1 -> v2; a corrupted
// record; a quota failure mid-write; the optional WebCrypto wrapping layer; pagehide locks.

import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { CHROMIUM, CHROMIUM_ARGS, pkiDir, requireBuild, root, startServer } from './harness.mjs';

let server;
let profile;
let context;

async function launch() {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return context;
}

/** A page at the server's origin with the package imported as `window.cachet`. */
async function openPage() {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${server.url}pkg/package.json`);
  await page.evaluate(async () => {
    window.cachet = await import('/pkg/index.js');
    await window.cachet.init();
  });
  page.problems = problems;
  return page;
}

const file = async (name) => [...await readFile(join(pkiDir, name))];
const text = (name) => readFile(join(pkiDir, name), 'utf8');

/** Base64 body of a PEM file, decoded. */
async function pemBytes(name) {
  const pem = await text(name);
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** 16-byte slices of the clear PKCS#8 key that its certificate does not also hold (RSA's
 *  PKCS#8 repeats the public modulus). */
async function privateSlices(stem) {
  const key = await pemBytes(`${stem}.key`);
  const cert = await pemBytes(`${stem}.pem`);
  const out = [];
  for (let i = 0; i + 16 <= key.length; i += 16) {
    const slice = key.subarray(i, i + 16);
    if (cert.indexOf(slice) < 0) out.push(slice);
  }
  assert.ok(out.length > key.length / 32);
  return out;
}

/** Read raw IndexedDB records of `db`/`store` in the page: every Uint8Array as a number array. */
function rawRecords(page, db, store) {
  return page.evaluate(async ({ db, store }) => {
    const conn = await new Promise((res, rej) => {
      const r = indexedDB.open(db);
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const values = await new Promise((res, rej) => {
      const r = conn.transaction(store).objectStore(store).getAll();
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    conn.close();
    const blobs = [];
    const walk = (v) => {
      if (v instanceof Uint8Array) blobs.push([...v]);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    values.forEach(walk);
    return { values: JSON.parse(JSON.stringify(values, (k, v) => (v instanceof Uint8Array ? 'bytes' : v))), blobs };
  }, { db, store });
}

before(async () => {
  requireBuild();
  server = await startServer();
  profile = await mkdtemp(join(tmpdir(), 'cachet-keystore-'));
  await launch();
});

after(async () => {
  await context?.close();
  await server?.stop();
  if (profile) await rm(profile, { recursive: true, force: true });
});

test('import a .p12, restart the browser on the same profile, unlock, sign, verify', async () => {
  const p12 = await file('alice-rsa.p12');
  const root = await text('root-ca.pem');
  let page = await openPage();
  const id = await page.evaluate(async ({ p12, root }) => {
    const store = await cachet.KeyStore.open('persist', { iterations: 1000 });
    const added = await store.importPkcs12({ data: new Uint8Array(p12), password: 'test', passphrase: 'pp' });
    await store.addTrustAnchors({ data: root });
    store.close();
    return added.id;
  }, { p12, root });
  assert.match(id, /^[0-9A-F]{40}$/);
  await context.close();

  await launch();
  page = await openPage();
  const result = await page.evaluate(async () => {
    const store = await cachet.KeyStore.open('persist', { iterations: 1000 });
    const { items, corrupted } = await store.list();
    const identity = await store.unlock({ email: 'alice@example.org', passphrase: 'pp' });
    const date = new Date('2030-01-01T00:00:00Z');
    const message = 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: hi\r\n' +
      'Date: Tue, 01 Jan 2030 00:00:00 +0000\r\n\r\nHello\r\n';
    const signed = await cachet.sign({ message, signingKeys: identity, date });
    const report = await cachet.verify({ message: signed, trustAnchors: await store.trustAnchors(), date });
    let wrong = null;
    try {
      await store.unlock({ email: 'alice@example.org', passphrase: 'nope' });
    } catch (err) {
      wrong = err.code;
    }
    store.close();
    return { count: items.length, corrupted, valid: report.valid, code: report.signers[0]?.code, wrong };
  });
  assert.deepEqual(result, { count: 2, corrupted: [], valid: true, code: result.code, wrong: 'BAD_PASSWORD' });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('the raw IndexedDB record holds no private key bytes in clear', async () => {
  const page = await openPage();
  const { values, blobs } = await rawRecords(page, 'persist', 'identities');
  assert.equal(values.length, 1);
  assert.equal(values[0].key.format, 'pkcs8-pbes2');
  const slices = await privateSlices('alice-rsa');
  for (const blob of blobs) {
    const buf = Buffer.from(blob);
    for (const slice of slices) assert.ok(buf.indexOf(slice) < 0, 'clear key bytes in the record');
  }
  // Nor anywhere in the profile's IndexedDB files (LevelDB; values may be compressed, so this
  // is a second line, the record check above is the first).
  const dir = join(profile, 'Default', 'IndexedDB');
  const seen = [];
  async function scan(path) {
    for (const name of await readdir(path)) {
      const full = join(path, name);
      if ((await stat(full)).isDirectory()) await scan(full);
      else seen.push(await readFile(full));
    }
  }
  await scan(dir);
  assert.ok(seen.length > 0, 'no IndexedDB files found in the profile');
  for (const data of seen) {
    for (const slice of slices) assert.ok(data.indexOf(slice) < 0, 'clear key bytes on disk');
  }
  await page.close();
});

test('two pages at once: concurrent imports both land, each page sees the other\'s', async () => {
  const [a, b] = [await openPage(), await openPage()];
  const alice = await file('alice-p256.p12');
  const bob = await file('bob-p256.p12');
  const doImport = (page, p12) => page.evaluate(async (p12) => {
    window.store = await cachet.KeyStore.open('shared', { iterations: 1000 });
    return (await window.store.importPkcs12({ data: new Uint8Array(p12), password: 'test', passphrase: 'pp' })).id;
  }, p12);
  const [idA, idB] = await Promise.all([doImport(a, alice), doImport(b, bob)]);
  assert.notEqual(idA, idB);
  for (const page of [a, b]) {
    const ids = await page.evaluate(async () => (await window.store.list()).items.map((x) => x.id).sort());
    assert.deepEqual(ids, [idA, idB].sort());
  }
  // Page b unlocks what page a imported.
  const emails = await b.evaluate(async () =>
    (await window.store.unlock({ email: 'alice@example.org', passphrase: 'pp' })).emails);
  assert.deepEqual(emails, ['alice@example.org']);
  // Both remember the same sender at once, with different signing times: the newer one stays.
  const cert = await text('bob-rsa.pem');
  const remember = (page, times) => page.evaluate(async ({ cert, times }) => {
    for (const t of times) await window.store.addCertificate({ certificate: cert, signingTime: new Date(t) });
  }, { cert, times });
  const base = Date.UTC(2030, 0, 1);
  await Promise.all([
    remember(a, [0, 2, 4, 6, 8].map((i) => base + i * 1000)),
    remember(b, [9, 7, 5, 3, 1].map((i) => base + i * 1000)),
  ]);
  const kept = await a.evaluate(async () =>
    (await window.store.find({ email: 'bob@example.org', store: 'otherPeople' }))[0].signingTime.getTime());
  assert.equal(kept, base + 9000);
  await a.close();
  await b.close();
});

test('schema v1 -> v2 in onupgradeneeded; an old connection that will not close: STORE_BLOCKED', async () => {
  const page = await openPage();
  const p12 = await file('alice-rsa.p12');
  const result = await page.evaluate(async (p12) => {
    // A protected key as the current code makes it, rewritten in the v1 record shape.
    const memory = new cachet.MemoryAdapter();
    const tmp = await cachet.KeyStore.open('tmp', { adapter: memory, iterations: 1000 });
    const added = await tmp.importPkcs12({ data: new Uint8Array(p12), password: 'test', passphrase: 'pp' });
    const [[id, record]] = await memory.getAll('identities');
    const v1 = { id, certificate: record.certificate, chain: record.chain, encryptedKey: record.key.data };
    const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const open = indexedDB.open('legacy', 1);
    open.onupgradeneeded = () => {
      for (const s of ['identities', 'otherPeople', 'trustAnchors']) open.result.createObjectStore(s);
    };
    const old = await req(open);
    await req(old.transaction('identities', 'readwrite').objectStore('identities').put(v1, id));
    // This connection ignores versionchange (an old tab): the upgrade is blocked.
    old.onversionchange = null;
    let blocked = null;
    try {
      await cachet.KeyStore.open('legacy', { iterations: 1000 });
    } catch (err) {
      blocked = err.code;
    }
    old.close();
    const store = await cachet.KeyStore.open('legacy', { iterations: 1000 });
    const identity = await store.unlock({ id: added.id, passphrase: 'pp' });
    store.close();
    const check = await req(indexedDB.open('legacy'));
    const migrated = await req(check.transaction('identities').objectStore('identities').get(id));
    const version = check.version;
    const stores = [...check.objectStoreNames].sort();
    check.close();
    return {
      blocked, emails: identity.emails, version, stores,
      format: migrated.key?.format, old: migrated.encryptedKey === undefined ? 'gone' : 'still there',
    };
  }, p12);
  assert.deepEqual(result, {
    blocked: 'STORE_BLOCKED', emails: ['alice@example.org'], version: 2,
    stores: ['identities', 'meta', 'otherPeople', 'trustAnchors'], format: 'pkcs8-pbes2', old: 'gone',
  });
  await page.close();
});

test('an open store yields to another tab\'s upgrade (versionchange), then says STORE_BLOCKED, no hang', async () => {
  const page = await openPage();
  const result = await page.evaluate(async () => {
    const store = await cachet.KeyStore.open('yield', { iterations: 1000 });
    await store.addTrustAnchors({ data: await (await fetch('/demo/root-ca.pem')).text() });
    // Another tab with a newer schema upgrades the database: ours must close, not block it.
    const req = indexedDB.open('yield', 3);
    let wasBlocked = false;
    req.onblocked = () => { wasBlocked = true; };
    const newer = await new Promise((res, rej) => { req.onsuccess = () => res(req.result); req.onerror = () => rej(req.error); });
    newer.close();
    let code = null;
    try {
      await store.list(); // our code is older now: a typed error, not a hang
    } catch (err) {
      code = err.code;
    }
    return { wasBlocked, code };
  });
  assert.deepEqual(result, { wasBlocked: false, code: 'STORE_BLOCKED' });
  await page.close();
});

test('a corrupted record is reported by id; every other record stays readable', async () => {
  const page = await openPage();
  const result = await page.evaluate(async () => {
    const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const db = await req(indexedDB.open('persist'));
    const tx = db.transaction(['identities', 'trustAnchors'], 'readwrite');
    tx.objectStore('identities').put({ id: 'GARBAGE', certificate: 'not bytes' }, 'GARBAGE');
    const anchors = tx.objectStore('trustAnchors');
    const [key] = await req(anchors.getAllKeys());
    const anchor = await req(anchors.get(key));
    anchor.certificate = anchor.certificate.slice(0, 100); // truncated DER
    anchors.put(anchor, key);
    await new Promise((res) => { tx.oncomplete = res; });
    db.close();
    const store = await cachet.KeyStore.open('persist', { iterations: 1000 });
    const { items, corrupted } = await store.list();
    const identity = await store.unlock({ email: 'alice@example.org', passphrase: 'pp' });
    store.close();
    return { items: items.map((x) => x.store), corrupted, key, unlocked: identity.emails[0] };
  });
  assert.deepEqual(result.items, ['identities']);
  assert.deepEqual(result.corrupted, [
    { store: 'identities', id: 'GARBAGE' }, { store: 'trustAnchors', id: result.key },
  ]);
  assert.equal(result.unlocked, 'alice@example.org');
  await page.close();
});

test('a quota failure mid-write: STORE_QUOTA, nothing lost, nothing half-written', async () => {
  const page = await openPage();
  const p12 = await file('bob-rsa.p12');
  const bundle = await text('bundle.pem');
  const result = await page.evaluate(async ({ p12, bundle }) => {
    class Tiny extends cachet.IndexedDBAdapter {
      budget = Infinity;
      put(os, id, record) {
        if (this.budget-- <= 0) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        super.put(os, id, record);
      }
    }
    const adapter = new Tiny();
    const store = await cachet.KeyStore.open('quota', { adapter, iterations: 1000 });
    await store.addTrustAnchors({ data: bundle }); // 4 anchors
    adapter.budget = 1; // the clear and one put go through, then the quota runs out
    const codes = [];
    try {
      await store.replaceTrustAnchors({ data: bundle.split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n' + bundle });
    } catch (err) {
      codes.push(err.code);
    }
    adapter.budget = 0;
    try {
      await store.importPkcs12({ data: new Uint8Array(p12), password: 'test', passphrase: 'pp' });
    } catch (err) {
      codes.push(err.code);
    }
    const anchors = (await store.trustAnchors()).length;
    const identities = (await store.list({ store: 'identities' })).items.length;
    adapter.budget = Infinity;
    await store.importPkcs12({ data: new Uint8Array(p12), password: 'test', passphrase: 'pp' });
    const after = (await store.list({ store: 'identities' })).items.length;
    store.close();
    return { codes, anchors, identities, after };
  }, { p12, bundle });
  assert.deepEqual(result, { codes: ['STORE_QUOTA', 'STORE_QUOTA'], anchors: 4, identities: 0, after: 1 });
  await page.close();
});

test('wrapKeys: a non-extractable WebCrypto AES-GCM layer around the encrypted key', async () => {
  const page = await openPage();
  const p12 = await file('alice-p256.p12');
  const result = await page.evaluate(async (p12) => {
    const store = await cachet.KeyStore.open('wrapped', { iterations: 1000, wrapKeys: true });
    const added = await store.importPkcs12({ data: new Uint8Array(p12), password: 'test', passphrase: 'pp' });
    const identity = await store.unlock({ id: added.id, passphrase: 'pp' });
    store.close();
    const req = (r) => new Promise((res, rej) => { r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
    const db = await req(indexedDB.open('wrapped'));
    const record = await req(db.transaction('identities').objectStore('identities').get(added.id));
    const key = await req(db.transaction('meta').objectStore('meta').get('wrapping-key'));
    db.close();
    return {
      format: record.key.format, extractable: key.extractable, algorithm: key.algorithm.name,
      emails: identity.emails,
    };
  }, p12);
  assert.deepEqual(result, {
    format: 'pkcs8-pbes2+aes-gcm', extractable: false, algorithm: 'AES-GCM', emails: ['alice@example.org'],
  });
  await page.close();
});

test('wrapKeys: two pages creating the wrapping key at once keep one, both keys unlock', async () => {
  const [a, b] = [await openPage(), await openPage()];
  const doImport = (page, p12) => page.evaluate(async (p12) => {
    window.wrapped = await cachet.KeyStore.open('wrapped-race', { iterations: 1000, wrapKeys: true });
    return (await window.wrapped.importPkcs12({ data: new Uint8Array(p12), password: 'test',
      passphrase: 'pp' })).id;
  }, p12);
  const ids = await Promise.all([doImport(a, await file('alice-rsa.p12')),
    doImport(b, await file('bob-rsa.p12'))]);
  const unlocked = await a.evaluate(async (ids) => {
    const out = [];
    for (const id of ids) out.push((await window.wrapped.unlock({ id, passphrase: 'pp' })).emails[0]);
    return out;
  }, ids);
  assert.deepEqual(unlocked, ['alice@example.org', 'bob@example.org']);
  await a.close();
  await b.close();
});

test('pagehide wipes unlocked keys', async () => {
  const page = await openPage();
  const result = await page.evaluate(async () => {
    const store = await cachet.KeyStore.open('persist', { iterations: 1000 });
    await store.unlock({ email: 'alice@example.org', passphrase: 'pp' });
    const before = (await store.list({ store: 'identities' })).items[0].unlocked;
    window.dispatchEvent(new PageTransitionEvent('pagehide'));
    let code = null;
    try {
      await store.unlocked({ email: 'alice@example.org' });
    } catch (err) {
      code = err.code;
    }
    return { before, code };
  });
  assert.deepEqual(result, { before: true, code: 'STORE_LOCKED' });
  await page.close();
});

test('every .p12 fixture imports into IndexedDB and unlocks', async () => {
  const passwords = {
    'Alice.p12': 'nss', 'Bob.p12': 'nss', 'Dave.p12': 'nss', 'Fran.p12': 'nss', 'Fran-ec.p12': 'nss',
    'johndoe.p12': '', 'p256.utf8pw.p12': 'pässwörd', 'p256.utf8pw.legacy.p12': 'pässwörd',
  };
  const files = [];
  for (const [dir, fallback] of [['keys', 'secret'], ['pki', 'test']]) {
    const base = join(root, 'tests/vectors', dir);
    for (const name of readdirSync(base).filter((f) => f.endsWith('.p12'))) {
      files.push({ name: `${dir}/${name}`, password: passwords[name] ?? fallback,
        data: [...await readFile(join(base, name))] });
    }
  }
  assert.ok(files.length >= 25);
  const page = await openPage();
  const failures = await page.evaluate(async (files) => {
    const store = await cachet.KeyStore.open('all-p12', { iterations: 1000 });
    const failed = [];
    for (const f of files) {
      try {
        const added = await store.importPkcs12({ data: new Uint8Array(f.data), password: f.password,
          passphrase: 'at rest' });
        await store.unlock({ id: added.id, passphrase: 'at rest' });
      } catch (err) {
        failed.push(`${f.name}: ${err.code}`);
      }
    }
    const { corrupted } = await store.list();
    store.close();
    return [...failed, ...corrupted.map((c) => `corrupted ${c.id}`)];
  }, files);
  assert.deepEqual(failures, []);
  await page.close();
});
