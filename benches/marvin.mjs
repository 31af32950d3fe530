// Bleichenbacher/Marvin timing measurement of RSA PKCS#1 v1.5 key transport through the JS API,
// on both paths a web mail runs:
// - Node, where the RSA block comes from Node's `privateDecrypt` (RSA_NO_PADDING) and the core
//   checks and unpads it (websign.js `webUnwrap`);
// - headless Chromium, where WebCrypto has no RSAES-PKCS1-v1_5 and the core's own RSA (wasm)
//   decrypts: the path `benches/marvin.rs` measures natively, here as the browser runs it. The
//   page is cross-origin isolated (COOP + COEP), so `performance.now()` has its fine resolution.
// The same three classes as `benches/marvin.rs`, interleaved in a random order per round so that
// drift hits each alike:
// - `valid`: PKCS#1 v1.5 padding around a random 32-byte key (wrong key; fails at the GCM tag),
// - `short`: valid padding around a 5-byte key (wrong length: replaced by a random key),
// - `invalid`: a random block below the modulus (invalid padding: replaced by a random key).
// Reported: median, quartiles, mean of the central 80 %, and Welch's t of each class against
// `valid` on the trimmed samples (|t| > 4.5 is the usual "leak" threshold of dudect/TVLA).
// A benchmark, not a test: it prints and asserts only that every decryption fails the same way.
// Run: `npm run bench:marvin` (both paths), or `node benches/marvin.mjs --node` / `--browser`
// after `npm run build` (MARVIN_SAMPLES per class, default 3000).
import { constants, createPublicKey, publicEncrypt, randomBytes, randomInt, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import { CHROMIUM, launchBrowser } from '../tests/browser/harness.mjs';

const root = new URL('../', import.meta.url);
const cachet = await import(new URL('pkg/index.js', root));
const pki = (name) => readFileSync(new URL(`tests/vectors/pki/${name}`, root));

const samples = Number(process.env.MARVIN_SAMPLES ?? 3000);
const certificate = pki('bob-rsa.pem');
const publicKey = createPublicKey(new X509Certificate(certificate).publicKey.export({ format: 'pem', type: 'spki' }));
const k = 256;

/** `block` (k bytes, below the modulus) to the RSA ciphertext `block^e mod n`. */
const raw = (block) => publicEncrypt({ key: publicKey, padding: constants.RSA_NO_PADDING }, block);

/** A PKCS#1 v1.5 encryption block around `message` (random non-zero padding). */
function padded(message) {
  const block = Buffer.alloc(k);
  block[1] = 2;
  for (let i = 2; i < k - message.length - 1; i += 1) block[i] = 1 + randomInt(255);
  message.copy(block, k - message.length);
  return block;
}

// One real message for bob-rsa; its encryptedKey is replaced per sample.
const message = await cachet.encrypt({
  message: 'From: a@example.com\r\nTo: bob@example.com\r\nSubject: m\r\nContent-Type: text/plain\r\n\r\nHello Bob.\r\n',
  encryptionKeys: certificate, cipher: 'aes256-gcm',
});
const [head, body] = message.split('\r\n\r\n');
const der = Buffer.from(body.replace(/\r\n/g, ''), 'base64');
const at = der.indexOf(Buffer.from([0x04, 0x82, 0x01, 0x00])) + 4; // encryptedKey OCTET STRING
if (at < 4 || der.indexOf(Buffer.from([0x04, 0x82, 0x01, 0x00]), at) !== -1) throw new Error('encryptedKey not found once');
function withKey(ciphertext) {
  const out = Buffer.from(der);
  ciphertext.copy(out, at + k - ciphertext.length);
  const b64 = out.toString('base64').replace(/.{1,76}/g, '$&\r\n');
  return `${head}\r\n\r\n${b64}`;
}

const names = ['valid', 'short', 'invalid'];
const inputs = [[], [], []];
for (let i = 0; i < samples; i += 1) {
  const invalid = randomBytes(k);
  invalid[0] = 0;
  const blocks = [padded(randomBytes(32)), padded(randomBytes(5)), invalid];
  blocks.forEach((b, c) => inputs[c].push(withKey(raw(b))));
}

const p12 = pki('bob-rsa.p12');
const args = new Set(process.argv.slice(2));
const paths = args.has('--node') || args.has('--browser') ? args : new Set(['--node', '--browser']);

/**
 * Time `decrypt` (microseconds, `performance.now()`: Node's and an isolated page's are fine-grained)
 * on every input, after a warm-up, the classes in a random order in each round; every decryption
 * must fail with DECRYPTION_FAILED. Also the page's source: it runs as it is in Chromium (no
 * closure over this module).
 */
async function measure(inputs, decrypt) {
  const once = async (input) => {
    const start = performance.now();
    let code;
    try {
      await decrypt(input);
    } catch (err) {
      code = err.code;
    }
    const elapsed = (performance.now() - start) * 1000;
    if (code !== 'DECRYPTION_FAILED') throw new Error(`expected DECRYPTION_FAILED, got ${code}`);
    return elapsed;
  };
  for (const c of inputs) for (const input of c.slice(0, 20)) await once(input); // warm up
  const times = [[], [], []];
  for (let i = 0; i < inputs[0].length; i += 1) {
    const order = [0, 1, 2];
    for (let j = 2; j > 0; j -= 1) {
      const r = Math.floor(Math.random() * (j + 1));
      [order[j], order[r]] = [order[r], order[j]];
    }
    for (const c of order) times[c].push(await once(inputs[c][i]));
  }
  return times;
}

async function inNode() {
  const id = await cachet.readIdentity({ privateKey: p12, password: 'test' });
  try {
    return await measure(inputs, (message) => cachet.decrypt({ message, decryptionKeys: id }));
  } finally {
    id.dispose();
  }
}

/** The same measurement in a headless Chromium page (pkg/ served cross-origin isolated). */
async function inChromium() {
  const isolated = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  const types = { '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { ...isolated, 'Content-Type': 'text/html' });
      return res.end('<!doctype html><meta charset="utf-8"><title>marvin</title>');
    }
    const file = /^\/pkg\/[\w.-]+\.(js|wasm)$/.test(path) ? new URL(`.${path}`, root) : null;
    try {
      const body = readFileSync(file);
      res.writeHead(200, { ...isolated, 'Content-Type': types[path.slice(path.lastIndexOf('.'))] });
      return res.end(body);
    } catch {
      res.writeHead(404);
      return res.end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const browser = await launchBrowser(); // Debian's Chromium, the project's flags, a fresh profile
  try {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(0);
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    return await page.evaluate(async ({ measureSource, inputs, p12 }) => {
      if (!globalThis.crossOriginIsolated) throw new Error('the page is not cross-origin isolated');
      // eslint-disable-next-line no-new-func
      const measure = new Function(`return (${measureSource});`)();
      const cachet = await import('/pkg/index.js');
      const id = await cachet.readIdentity({ privateKey: new Uint8Array(p12), password: 'test' });
      return measure(inputs, (message) => cachet.decrypt({ message, decryptionKeys: id }));
    }, { measureSource: measure.toString(), inputs, p12: [...p12] });
  } finally {
    await browser.close();
    server.close();
  }
}

function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const q = (p) => s[Math.floor((s.length - 1) * p)];
  const lo = Math.floor(s.length / 10); // central 80 %: drop the scheduler's outliers
  const t = s.slice(lo, s.length - lo);
  const mean = t.reduce((a, b) => a + b, 0) / t.length;
  const variance = t.reduce((a, b) => a + (b - mean) ** 2, 0) / (t.length - 1);
  return { q1: q(0.25), median: q(0.5), q3: q(0.75), mean, variance, n: t.length };
}
const welch = (a, b) => (a.mean - b.mean) / Math.sqrt(a.variance / a.n + b.variance / b.n);

function report(title, times) {
  console.log(title);
  console.log(`${'class'.padEnd(8)} ${'q1'.padStart(10)} ${'median'.padStart(10)} ${'q3'.padStart(10)}`
    + ` ${'mean(80%)'.padStart(12)} ${'t vs valid'.padStart(12)}`);
  const s = times.map(stats);
  s.forEach((st, i) => {
    const t = i === 0 ? '-' : welch(st, s[0]).toFixed(2);
    console.log(`${names[i].padEnd(8)} ${st.q1.toFixed(1).padStart(10)} ${st.median.toFixed(1).padStart(10)}`
      + ` ${st.q3.toFixed(1).padStart(10)} ${st.mean.toFixed(1).padStart(12)} ${t.padStart(12)}`);
  });
  const worst = Math.max(...s.slice(1).map((st) => Math.abs(welch(st, s[0]))));
  console.log(`max |t| = ${worst.toFixed(2)} (${worst > 4.5
    ? 'above 4.5: a difference is measurable at this sample size'
    : 'below 4.5: no difference measurable at this sample size'})`);
}

const what = `RSA-2048 PKCS#1 v1.5 KTRI + AES-256-GCM, ${samples} samples per class (µs)`;
if (paths.has('--node')) {
  report(`Marvin, Node ${process.versions.node} (OpenSSL ${process.versions.openssl}): cachet.decrypt with`
    + ` Node's raw RSA, ${what}`, await inNode());
}
if (paths.has('--browser')) {
  report(`Marvin, headless Chromium (${CHROMIUM}): cachet.decrypt with the core's RSA in wasm, ${what}`,
    await inChromium());
}
