// Bleichenbacher/Marvin timing measurement of RSA PKCS#1 v1.5 key transport through the JS API
// in Node, where the RSA block comes from Node's `privateDecrypt` (RSA_NO_PADDING) and the core
// checks and unpads it (websign.js `webUnwrap`). The same three classes as `benches/marvin.rs`
// (which measures the core's own decryption, the path browsers take), interleaved in a random
// order per round so that drift hits each alike:
// - `valid`: PKCS#1 v1.5 padding around a random 32-byte key (wrong key; fails at the GCM tag),
// - `short`: valid padding around a 5-byte key (wrong length: replaced by a random key),
// - `invalid`: a random block below the modulus (invalid padding: replaced by a random key).
// Reported: median, quartiles, mean of the central 80 %, and Welch's t of each class against
// `valid` on the trimmed samples (|t| > 4.5 is the usual "leak" threshold of dudect/TVLA).
// A benchmark, not a test: it prints and asserts only that every decryption fails the same way.
// Run: `npm run bench:marvin` (MARVIN_SAMPLES per class, default 3000).
import { constants, createPublicKey, publicEncrypt, randomBytes, randomInt, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

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

const id = await cachet.readIdentity({ privateKey: pki('bob-rsa.p12'), password: 'test' });
async function once(input) {
  const start = process.hrtime.bigint();
  let code;
  try {
    await cachet.decrypt({ message: input, decryptionKeys: id });
  } catch (err) {
    code = err.code;
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1000;
  if (code !== 'DECRYPTION_FAILED') throw new Error(`expected DECRYPTION_FAILED, got ${code}`);
  return elapsed;
}
for (const c of inputs) for (const input of c.slice(0, 20)) await once(input); // warm up
const times = [[], [], []];
for (let i = 0; i < samples; i += 1) {
  const order = [0, 1, 2];
  const r = randomInt(6);
  [order[0], order[r % 3]] = [order[r % 3], order[0]];
  [order[1], order[1 + (Math.floor(r / 3) % 2)]] = [order[1 + (Math.floor(r / 3) % 2)], order[1]];
  for (const c of order) times[c].push(await once(inputs[c][i]));
}
id.dispose();

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

console.log(`Marvin (Node ${process.versions.node}, OpenSSL ${process.versions.openssl}): RSA-2048 PKCS#1 v1.5`
  + ` KTRI + AES-256-GCM, cachet.decrypt with Node's raw RSA, ${samples} samples per class (µs)`);
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
