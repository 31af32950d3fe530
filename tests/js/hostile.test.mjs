// Hostile messages through the public JS API. The libFuzzer targets (fuzz/) run the Rust core
// natively; this test runs what they cannot: the wasm module and the JS shim around it, whose
// large-message paths (bulk.js: header split, base64 decoded in place, WebCrypto chunks, the
// skeleton's pieces, Node's raw RSA) read untrusted bytes in JS. Seeded mutations of real
// S/MIME messages (small and over the bulk threshold; enveloped CBC and GCM, signed detached and
// opaque, sealed; RSA and P-256) go through decrypt, open and verify. Every failure must be a
// CachetError with a code of ERROR_CODES other than INTERNAL (a trap: the core panicked) or
// API_MISUSE (the caller's bug, never the message's); nothing else may escape, no promise may be
// left rejecting in the background, the module keeps working after each one, and failures leak
// no wasm memory.
//   CACHET_JS_FUZZ_ROUNDS=N   mutations per base message (default 40); CACHET_JS_FUZZ_SEED=S
import assert from 'node:assert/strict';
import test from 'node:test';

import { BULK_THRESHOLD } from '../../pkg/bulk.js';
import { AT_DATE, cachet, read, readText } from './helpers.mjs';
import { baseMessages, message, mutate, prng } from './mutate.mjs';

const ROUNDS = Number(process.env.CACHET_JS_FUZZ_ROUNDS ?? 40);
const SEED = Number(process.env.CACHET_JS_FUZZ_SEED ?? 0x5eed);

const alice = { privateKey: read('alice-rsa.p12'), password: 'test' };
const bobRsa = { privateKey: read('bob-rsa.p12'), password: 'test' };
const bobEc = { privateKey: read('bob-p256.p12'), password: 'test' };
const root = readText('root-ca.pem');

const FORBIDDEN = new Set(['INTERNAL', 'API_MISUSE']);
// A heap step to a new working size is at most a few large messages; a leak of one large message
// per failing call is hundreds of them over the default rounds.
const LEAK_ALLOWANCE = 4 << 20;

test('mutated S/MIME messages, small and over the bulk threshold, fail only with a message\'s CachetError; the module keeps working and leaks no memory', async () => {
  const core = await import('../../pkg/cachet_wasm.js');
  await cachet.init();
  const memory = core.initSync().memory; // the instance index.js loaded
  const escaped = [];
  const onRejection = (reason) => escaped.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    const { bases } = await baseMessages(cachet, {
      signingKeys: alice, encryptionKeys: [read('bob-rsa.pem'), read('bob-p256.pem')], date: AT_DATE,
    }, BULK_THRESHOLD);
    const keys = [bobRsa, bobEc];
    // The reference: every base opens, before and after the mutations.
    const reference = async () => {
      for (const [name, m] of bases) {
        const o = await cachet.open({ message: m, decryptionKeys: keys, trustAnchors: root, date: AT_DATE });
        assert.ok(o.layers.length > 0 && o.layers.every((l) => l.type !== 'undecryptable'), name);
        if (o.layers.some((l) => l.type === 'signed')) assert.equal(o.signedValid, true, name);
      }
    };
    await reference();

    const ops = {
      decrypt: (m) => cachet.decrypt({ message: m, decryptionKeys: keys }),
      open: (m) => cachet.open({ message: m, decryptionKeys: keys, trustAnchors: root, date: AT_DATE }),
      verify: (m) => cachet.verify({ message: m, trustAnchors: root, date: AT_DATE }),
    };
    const rnd = prng(SEED);
    // Wasm memory is measured from half-way (the heap grows in steps to the working size of the
    // largest mutated messages; a step can come a dozen rounds in) to the end.
    const WARM_UP = Math.min(ROUNDS - 1, Math.max(1, Math.floor(ROUNDS / 2)));
    const codes = new Map();
    let outcomes = 0;
    let grownAfterWarmUp = null;
    for (let round = 0; round < ROUNDS; round += 1) {
      if (round === WARM_UP) grownAfterWarmUp = memory.buffer.byteLength;
      for (const [name, base] of bases) {
        const mutated = mutate(base, rnd);
        for (const [op, run] of Object.entries(ops)) {
          const where = `${op} of ${name}, seed ${SEED}, round ${round}`;
          try {
            await run(mutated);
            codes.set('ok', (codes.get('ok') ?? 0) + 1);
          } catch (err) {
            assert.ok(err instanceof cachet.CachetError, `${where}: not a CachetError: ${err?.stack ?? err}`);
            assert.ok(err.code in cachet.ERROR_CODES, `${where}: unknown code ${err.code}`);
            assert.ok(!FORBIDDEN.has(err.code), `${where}: ${err.code}: ${err.message}`);
            codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
          }
          outcomes += 1;
        }
      }
    }
    await reference();
    // Let anything left running in the background settle (and reject) before looking.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(escaped, [], 'a promise rejected in the background');
    // Failures free what they allocated: wasm memory (which never shrinks) grows by at most
    // LEAK_ALLOWANCE over the second half of the rounds.
    const growth = memory.buffer.byteLength - grownAfterWarmUp;
    assert.ok(growth <= LEAK_ALLOWANCE,
      `wasm memory grew ${growth} bytes over the last ${ROUNDS - WARM_UP} rounds`);
    // The mutations reach more than the first parser: several distinct failures, and some pass.
    const seen = [...codes.keys()].filter((c) => c !== 'ok');
    assert.ok(seen.length >= 4, `only ${seen.join(', ')}`);
    assert.ok((codes.get('ok') ?? 0) > 0, 'no mutated message was still readable');
    console.log(`hostile: ${outcomes} calls, seed ${SEED}, wasm memory +${growth} bytes after the warm-up:`,
      Object.fromEntries([...codes].sort()));
  } finally {
    process.off('unhandledRejection', onRejection);
  }
});

test('mutated key and certificate files (PKCS#12, PEM/DER keys and certificates, .p7b): only a typed CachetError; a key store holding data keeps every record', async () => {
  const { KeyStore, MemoryAdapter } = cachet;
  const store = await KeyStore.open('hostile', { adapter: new MemoryAdapter(), iterations: 1000 });
  await store.importPkcs12({ data: read('alice-rsa.p12'), password: 'test', passphrase: 'pp' });
  await store.addCertificate({ certificate: read('bob-rsa.pem') });
  await store.addTrustAnchors({ data: [readText('root-ca.pem')] });
  // (A trust anchor list that took a mutated certificate is put back whole: its time is new.)
  const snapshot = async () => JSON.stringify(await Promise.all(
    ['identities', 'otherPeople', 'trustAnchors'].map(async (s) => (await store.list({ store: s })).items
      .map((it) => (s === 'trustAnchors' ? { ...it, added: null } : it)))));
  const before = await snapshot();
  const files = {
    p12: ['bob-rsa.p12', 'alice-p256.p12', 'bob-p256.p12'],
    key: ['bob-rsa.key', 'alice-p256.key'],
    cert: ['bob-rsa.pem', 'inter-ca.pem', 'bundle.p7b', 'bundle.pem'],
  };
  const message = new TextEncoder().encode('From: alice@example.org\r\nTo: bob@example.org\r\nSubject: x\r\n\r\nHi.\r\n');
  const rnd = prng(SEED ^ 0x3e7);
  const codes = new Map();
  const tally = async (where, promise) => {
    try {
      await promise;
      codes.set('ok', (codes.get('ok') ?? 0) + 1);
    } catch (err) {
      assert.ok(err instanceof cachet.CachetError, `${where}: not a CachetError: ${err?.stack ?? err}`);
      assert.ok(err.code in cachet.ERROR_CODES && !FORBIDDEN.has(err.code), `${where}: ${err.code}: ${err.message}`);
      codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
    }
  };
  const rounds = Math.max(1, Math.ceil(ROUNDS / 2));
  for (let round = 0; round < rounds; round += 1) {
    for (const [kind, names] of Object.entries(files)) {
      for (const name of names) {
        const bytes = mutate(read(name), rnd);
        const where = `${kind} ${name}, seed ${SEED}, round ${round}`;
        if (kind === 'p12') {
          await tally(where, cachet.readIdentity({ privateKey: bytes, password: 'test' }).then((id) => id.dispose()));
          await tally(where, store.importPkcs12({ data: bytes, password: 'test', passphrase: 'pp' })
            .then((s) => store.remove({ id: s.id, store: 'identities' })));
        } else if (kind === 'key') {
          const certificate = read(name.replace('.key', '.pem'));
          await tally(where, cachet.readIdentity({ privateKey: bytes, certificate }).then((id) => id.dispose()));
          await tally(where, store.importKey({ privateKey: bytes, certificate, passphrase: 'pp' })
            .then((s) => store.remove({ id: s.id, store: 'identities' })));
        } else {
          await tally(where, cachet.encrypt({ message, encryptionKeys: bytes }));
          await tally(where, store.addTrustAnchors({ data: [bytes] }).then(() => store.replaceTrustAnchors({
            data: [readText('root-ca.pem')] })));
        }
      }
    }
  }
  // What the store held is there as it was, and the key still unlocks and signs.
  assert.equal(await snapshot(), before);
  const [id] = await store.unlock({ email: 'alice@example.org', passphrase: 'pp' }).then((x) => [x].flat());
  assert.ok(id);
  const signed = await cachet.sign({ message, store, signingKeys: 'alice@example.org', date: AT_DATE });
  const report = await cachet.verify({ message: signed, store, date: AT_DATE });
  assert.equal(report.valid, true, JSON.stringify(report.signers?.map((s) => [s.status, s.problem, s.reason])));
  const seen = [...codes.keys()].filter((c) => c !== 'ok');
  assert.ok(seen.length >= 4, `only ${seen.join(', ')}`);
  console.log(`hostile files: seed ${SEED}:`, Object.fromEntries([...codes].sort()));
});

test('mutated plain messages (small and over the bulk threshold) through sign, encrypt and seal: a typed CachetError, or output that verify, decrypt and open read back', async () => {
  const signer = await cachet.readIdentity(alice);
  const recipient = await cachet.readIdentity(bobRsa);
  const bob = read('bob-rsa.pem');
  const plain = [['small', message(0)], ['large', message(BULK_THRESHOLD + 64 * 1024)]];
  const date = AT_DATE;
  // Each operation, and how its output is read back.
  const ops = {
    sign: [(m) => cachet.sign({ message: m, signingKeys: signer, date }),
      (out) => cachet.verify({ message: out, trustAnchors: root, date })],
    encrypt: [(m) => cachet.encrypt({ message: m, encryptionKeys: bob }),
      (out) => cachet.decrypt({ message: out, decryptionKeys: recipient })],
    seal: [async (m) => (await cachet.seal({ message: m, sign: true, encrypt: true, signingKeys: signer,
      encryptionKeys: [bob], date })).message,
    (out) => cachet.open({ message: out, decryptionKeys: recipient, trustAnchors: root, date })],
  };
  const rnd = prng(SEED ^ 0x9a1);
  const codes = new Map();
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [size, base] of plain) {
        const mutated = mutate(base, rnd);
        for (const [op, [write, readBack]] of Object.entries(ops)) {
          const where = `${op} of a mutated ${size} message, seed ${SEED}, round ${round}`;
          let out;
          try {
            out = await write(mutated);
          } catch (err) {
            assert.ok(err instanceof cachet.CachetError, `${where}: not a CachetError: ${err?.stack ?? err}`);
            assert.ok(err.code in cachet.ERROR_CODES && !FORBIDDEN.has(err.code), `${where}: ${err.code}: ${err.message}`);
            codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
            continue;
          }
          // What we wrote, we read.
          await readBack(out).catch((err) => assert.fail(`${where}: its output does not read back: ${err?.code} ${err?.message}`));
          codes.set('ok', (codes.get('ok') ?? 0) + 1);
        }
      }
    }
  } finally {
    signer.dispose();
    recipient.dispose();
  }
  assert.ok((codes.get('ok') ?? 0) > 0, 'nothing was written');
  console.log(`hostile outgoing: seed ${SEED}:`, Object.fromEntries([...codes].sort()));
});
