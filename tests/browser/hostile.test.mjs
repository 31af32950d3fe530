// Hostile messages through the public API in Chromium: the same seeded mutations as
// tests/js/hostile.test.mjs (made in Node, tests/js/mutate.mjs), read by the page, whose paths
// differ from Node's (RSA decryption in wasm rather than Node's raw RSA, WebCrypto digests of
// joined pieces, the browser's WebCrypto AES). Every failure must be a CachetError with a code
// of ERROR_CODES other than INTERNAL or API_MISUSE; no uncaught error or rejection in the page;
// the module keeps working after each one; failures leak no wasm memory. Mutated plain messages
// go through sign, encrypt and seal (the page's WebCrypto digests, seal in pieces), and what they
// write must read back.
//   CACHET_JS_FUZZ_ROUNDS=N (default 12 here), CACHET_JS_FUZZ_SEED=S
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { BULK_THRESHOLD } from '../../pkg/bulk.js';
import { AT_DATE, cachet, read } from '../js/helpers.mjs';
import { baseMessages, message, mutate, prng } from '../js/mutate.mjs';
import { openPage, pkiDir, serverAndBrowser } from './harness.mjs';

const ROUNDS = Number(process.env.CACHET_JS_FUZZ_ROUNDS ?? 12);
const SEED = Number(process.env.CACHET_JS_FUZZ_SEED ?? 0xb10b);

const live = serverAndBrowser();

// As in tests/js/hostile.test.mjs: a heap step is at most a few large messages; a leak of one large
// message per failing call is dozens of them.
const LEAK_ALLOWANCE = 4 << 20;
const b64 = (bytes) => Buffer.from(bytes).toString('base64');

/** A page with Cachet loaded, keys read and `window.hostile` to run messages through. */
async function hostilePage() {
  const { page, problems } = await openPage(live.browser.context, live.server.url);
  const file = (name) => b64(readFileSync(join(pkiDir, name)));
  await page.evaluate(async (fx) => {
    const cachet = await import('/pkg/index.js');
    const core = await import('/pkg/cachet_wasm.js');
    await cachet.init();
    const bytes = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const keys = [];
    const signer = await cachet.readIdentity({ privateKey: bytes(fx.alice), password: 'test' });
    const bob = bytes(fx.bobCert);
    for (const p12 of [fx.bobRsa, fx.bobEc]) {
      keys.push(await cachet.readIdentity({ privateKey: bytes(p12), password: 'test' }));
    }
    const root = atob(fx.root);
    const date = new Date(fx.date);
    const ops = {
      decrypt: (m) => cachet.decrypt({ message: m, decryptionKeys: keys }),
      open: (m) => cachet.open({ message: m, decryptionKeys: keys, trustAnchors: root, date }),
      verify: (m) => cachet.verify({ message: m, trustAnchors: root, date }),
    };
    const memory = core.initSync().memory; // the instance index.js loaded
    window.hostile = {
      memory: () => memory.buffer.byteLength,
      // Each message through each operation: 'ok', a CachetError's code, or what else escaped.
      async run(messages) {
        const out = [];
        for (const m of messages) {
          const input = bytes(m);
          for (const [op, call] of Object.entries(ops)) {
            try {
              await call(input);
              out.push([op, 'ok']);
            } catch (err) {
              out.push([op, err instanceof cachet.CachetError && err.code in cachet.ERROR_CODES
                ? err.code : `escaped: ${err?.stack ?? err}`, err?.message]);
            }
          }
        }
        return out;
      },
      // sign, encrypt and seal each message, and read what came out back (verify, decrypt,
      // open): 'ok', a CachetError's code, 'unreadable: ...' or what else escaped.
      async write(messages) {
        const out = [];
        const written = {
          sign: [(m) => cachet.sign({ message: m, signingKeys: signer, date }),
            (o) => cachet.verify({ message: o, trustAnchors: root, date })],
          encrypt: [(m) => cachet.encrypt({ message: m, encryptionKeys: bob }),
            (o) => cachet.decrypt({ message: o, decryptionKeys: keys })],
          seal: [async (m) => (await cachet.seal({ message: m, sign: true, encrypt: true, signingKeys: signer,
            encryptionKeys: [bob], date })).message,
          (o) => cachet.open({ message: o, decryptionKeys: keys, trustAnchors: root, date })],
        };
        for (const m of messages) {
          const input = bytes(m);
          for (const [op, [write, readBack]] of Object.entries(written)) {
            let o;
            try {
              o = await write(input);
            } catch (err) {
              out.push([op, err instanceof cachet.CachetError && err.code in cachet.ERROR_CODES
                ? err.code : `escaped: ${err?.stack ?? err}`, err?.message]);
              continue;
            }
            try {
              await readBack(o);
              out.push([op, 'ok']);
            } catch (err) {
              out.push([op, `unreadable: ${err?.code} ${err?.message}`]);
            }
          }
        }
        return out;
      },
      async reference(messages) {
        const out = [];
        for (const m of messages) {
          const o = await ops.open(bytes(m));
          out.push(o.layers.length > 0 && o.layers.every((l) => l.type !== 'undecryptable')
            && (o.signedValid || !o.layers.some((l) => l.type === 'signed')));
        }
        return out;
      },
    };
  }, { alice: file('alice-rsa.p12'), bobCert: file('bob-rsa.pem'), bobRsa: file('bob-rsa.p12'),
    bobEc: file('bob-p256.p12'), root: file('root-ca.pem'), date: AT_DATE.toISOString() });

  return { page, problems };
}

test('Chromium: mutated S/MIME messages, small and over the bulk threshold, fail only with a message\'s CachetError; the module keeps working and leaks no memory', async () => {
  const { page, problems } = await hostilePage();
  const { bases } = await baseMessages(cachet, {
    signingKeys: { privateKey: read('alice-rsa.p12'), password: 'test' },
    encryptionKeys: [read('bob-rsa.pem'), read('bob-p256.pem')], date: AT_DATE,
  }, BULK_THRESHOLD);
  const reference = async () => {
    const ok = await page.evaluate((ms) => window.hostile.reference(ms), bases.map(([, m]) => b64(m)));
    assert.deepEqual(ok, bases.map(() => true), 'every base message opens in the page');
  };
  await reference();

  const rnd = prng(SEED);
  // Wasm memory is measured from half-way (the heap grows in steps to the working size of the
  // largest mutated messages; a step can come a dozen rounds in) to the end.
  const WARM_UP = Math.min(ROUNDS - 1, Math.max(1, Math.floor(ROUNDS / 2)));
  const codes = new Map();
  let grownAfterWarmUp = null;
  for (let round = 0; round < ROUNDS; round += 1) {
    if (round === WARM_UP) grownAfterWarmUp = await page.evaluate(() => window.hostile.memory());
    const mutated = bases.map(([, m]) => b64(mutate(m, rnd)));
    const results = await page.evaluate((ms) => window.hostile.run(ms), mutated);
    results.forEach(([op, code, text], i) => {
      const where = `${op} of ${bases[Math.floor(i / 3)][0]}, seed ${SEED}, round ${round}`;
      assert.ok(!code.startsWith('escaped'), `${where}: not a CachetError: ${code}`);
      assert.ok(code !== 'INTERNAL' && code !== 'API_MISUSE', `${where}: ${code}: ${text}`);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    });
  }
  await reference();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(problems, [], 'uncaught errors or rejections in the page');
  const growth = (await page.evaluate(() => window.hostile.memory())) - grownAfterWarmUp;
  assert.ok(growth <= LEAK_ALLOWANCE,
    `wasm memory grew ${growth} bytes over the last ${ROUNDS - WARM_UP} rounds`);
  const seen = [...codes.keys()].filter((c) => c !== 'ok');
  assert.ok(seen.length >= 4, `only ${seen.join(', ')}`);
  assert.ok((codes.get('ok') ?? 0) > 0, 'no mutated message was still readable');
  console.log(`hostile (Chromium): seed ${SEED}, wasm memory +${growth} bytes after the warm-up:`,
    Object.fromEntries([...codes].sort()));
  await page.close();
});

test('Chromium: mutated plain messages (small and over the bulk threshold) through sign, encrypt and seal: a typed CachetError, or output that verify, decrypt and open read back', async () => {
  const { page, problems } = await hostilePage();
  const plain = [['small', message(0)], ['large', message(BULK_THRESHOLD + 64 * 1024)]];
  const rnd = prng(SEED ^ 0x9a1);
  const codes = new Map();
  for (let round = 0; round < ROUNDS; round += 1) {
    const mutated = plain.map(([, m]) => b64(mutate(m, rnd)));
    const results = await page.evaluate((ms) => window.hostile.write(ms), mutated);
    results.forEach(([op, code, text], i) => {
      const where = `${op} of a mutated ${plain[Math.floor(i / 3)][0]} message, seed ${SEED}, round ${round}`;
      assert.ok(!code.startsWith('escaped') && !code.startsWith('unreadable'), `${where}: ${code}`);
      assert.ok(code !== 'INTERNAL' && code !== 'API_MISUSE', `${where}: ${code}: ${text}`);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    });
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(problems, [], 'uncaught errors or rejections in the page');
  assert.ok((codes.get('ok') ?? 0) > 0, 'nothing was written');
  console.log(`hostile outgoing (Chromium): seed ${SEED}:`, Object.fromEntries([...codes].sort()));
  await page.close();
});
