// Benchmarks: sign, verify, encrypt, decrypt and open at 1 KiB, 1 MiB and 10 MiB with RSA-2048 and P-256, in Node and in
// headless Chromium, through the public package API (pkg/). Prints a table of median times and
// throughput, and the wasm size (raw, gzip, brotli); writes benches/results/latest.{json,txt}.
// Measures only: nothing here asserts a timing.
//
//   node benches/run.mjs [--quick] [--node-only | --browser-only]
//   (`npm run bench` builds pkg/ first.)

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { arch, cpus, platform } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const pki = join(root, 'tests', 'vectors', 'pki');
const resultsDir = join(root, 'benches', 'results');
const wasmPath = join(root, 'pkg', 'cachet_wasm_bg.wasm');

const args = new Set(process.argv.slice(2));
const quick = args.has('--quick');
const KiB = 1024;
const MiB = 1024 * KiB;

/** What to run: sizes with their iteration counts, and the keys. */
const plan = {
  sizes: [
    { label: '1 KiB', bytes: KiB, iterations: quick ? 5 : 30 },
    { label: '1 MiB', bytes: MiB, iterations: quick ? 2 : 10 },
    { label: '10 MiB', bytes: 10 * MiB, iterations: quick ? 1 : 5 },
  ],
  keys: [
    { label: 'RSA-2048', file: 'alice-rsa.p12' },
    { label: 'P-256', file: 'alice-p256.p12' },
  ],
  password: 'test',
  // Inside every fixture's validity (tests/vectors/pki/README.md).
  date: '2030-01-01T00:00:00Z',
};

/**
 * The benchmark itself. Self-contained (it is also shipped into the browser page as source):
 * imports the package from `moduleUrl`, takes fixtures as base64 text, returns plain rows.
 */
async function benchmark({ moduleUrl, plan, fixtures }) {
  const cachet = await import(moduleUrl);
  await cachet.init();
  const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  };
  /**
   * Per-call times of `fn`, `iterations` samples after one warm-up. A sample repeats a fast `fn`
   * until it spans at least 20 ms, since browser clocks are coarse (100 µs or worse).
   */
  const time = async (iterations, fn) => {
    const warm = performance.now();
    await fn(); // warm-up, not counted
    const once = performance.now() - warm;
    const repeat = once >= 20 ? 1 : Math.min(1000, Math.ceil(20 / Math.max(once, 0.05)));
    const samples = [];
    for (let i = 0; i < iterations; i += 1) {
      const start = performance.now();
      for (let j = 0; j < repeat; j += 1) await fn();
      samples.push((performance.now() - start) / repeat);
    }
    return samples;
  };
  /** An RFC 5322 message of exactly `size` bytes: headers, then 7-bit text lines. */
  const message = (size) => {
    const head = new TextEncoder().encode(
      'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: benchmark\r\n' +
        'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n',
    );
    const out = new Uint8Array(size);
    out.set(head.subarray(0, size));
    const line = new TextEncoder().encode(
      'The quick brown fox jumps over the lazy dog. 0123456789 abcdefghijklmnopqrstuvwxy\r\n',
    );
    for (let at = head.length; at < size; at += line.length) {
      out.set(line.subarray(0, Math.min(line.length, size - at)), at);
    }
    if (size >= 2) out.set([13, 10], size - 2); // end on a line break
    return out;
  };

  const date = new Date(plan.date);
  const trustAnchors = [fromBase64(fixtures.root)];
  const rows = [];
  for (const key of plan.keys) {
    try {
      await measureKey(key);
    } catch (error) {
      // Record why nothing was measured and go on with the next key.
      rows.push({ key: key.label, size: '-', bytes: 0, op: 'error', iterations: 0, medianMs: NaN,
        result: String(error?.message ?? error), error: error?.code ?? 'ERROR' });
    }
  }
  return rows;

  async function measureKey(key) {
    const p12 = fromBase64(fixtures.keys[key.file]);
    const unlock = await time(3, async () => {
      const id = await cachet.readIdentity({ privateKey: p12, password: plan.password });
      id.dispose();
    });
    rows.push({ key: key.label, size: '-', bytes: 0, op: 'readIdentity (.p12)', iterations: 3,
      medianMs: median(unlock) });
    const identity = await cachet.readIdentity({ privateKey: p12, password: plan.password });
    for (const size of plan.sizes) {
      const text = message(size.bytes);
      let signed;
      const signTimes = await time(size.iterations, async () => {
        signed = await cachet.sign({ message: text, signingKeys: identity, date });
      });
      let report;
      const verifyTimes = await time(size.iterations, async () => {
        report = await cachet.verify({ message: signed, trustAnchors, date });
      });
      const check = report.valid ? 'valid' : report.signers.map((s) => s.status).join(',');
      // Encryption to the signer's own certificate (AES-256-GCM, the default), decryption, and
      // open of a signed-then-encrypted message (decrypt + verify).
      let encrypted;
      const encryptTimes = await time(size.iterations, async () => {
        encrypted = await cachet.encrypt({ message: text, encryptionKeys: identity.certificate });
      });
      const decryptTimes = await time(size.iterations, async () => {
        await cachet.decrypt({ message: encrypted, decryptionKeys: identity });
      });
      const sealed = await cachet.encrypt({
        message: text, encryptionKeys: identity.certificate, signingKeys: identity, date,
      });
      let opened;
      const openTimes = await time(size.iterations, async () => {
        opened = await cachet.open({ message: sealed, decryptionKeys: identity, trustAnchors, date });
      });
      const openCheck = opened.signedValid ? 'valid' : 'not valid';
      for (const [op, samples] of [['sign', signTimes], ['verify', verifyTimes],
        ['encrypt', encryptTimes], ['decrypt', decryptTimes], ['open (sign+enc)', openTimes]]) {
        const ms = median(samples);
        rows.push({ key: key.label, size: size.label, bytes: size.bytes, op,
          iterations: size.iterations, medianMs: ms,
          mbPerS: ms > 0 ? size.bytes / 1e6 / (ms / 1000) : null,
          ...(op === 'verify' ? { result: check } : {}),
          ...(op.startsWith('open') ? { result: openCheck } : {}) });
      }
    }
    identity.dispose();
  }
}

async function fixtures() {
  const b64 = async (file) => (await readFile(join(pki, file))).toString('base64');
  const keys = {};
  for (const key of plan.keys) keys[key.file] = await b64(key.file);
  return { root: await b64('root-ca.pem'), keys };
}

async function runNode(fx) {
  const moduleUrl = pathToFileURL(join(root, 'pkg', 'index.js')).href;
  return benchmark({ moduleUrl, plan, fixtures: fx });
}

async function runBrowser(fx) {
  const { chromium } = await import('playwright-core');
  const { start } = await import(pathToFileURL(join(root, 'www', 'server.mjs')).href);
  const { server, url } = await start(0);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    const source = benchmark.toString();
    const rows = await page.evaluate(
      async ({ source, input }) => {
        // eslint-disable-next-line no-new-func
        const fn = new Function(`return (${source});`)();
        return fn(input);
      },
      { source, input: { moduleUrl: new URL('/pkg/index.js', url).href, plan, fixtures: fx } },
    );
    return { rows, version: browser.version() };
  } finally {
    await browser.close();
    server.close();
  }
}

async function wasmSize() {
  const raw = await readFile(wasmPath);
  return {
    file: 'pkg/cachet_wasm_bg.wasm',
    raw: raw.length,
    gzip: gzipSync(raw, { level: 9 }).length,
    brotli: brotliCompressSync(raw, {
      params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length },
    }).length,
  };
}

function commit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' })
      .trim();
  } catch {
    return null;
  }
}

function table(results) {
  const lines = [];
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  lines.push(`Cachet benchmarks, ${results.date} (commit ${results.commit ?? '?'})`);
  lines.push(`${results.machine.cpu} x${results.machine.cores}, ${results.machine.platform}`);
  lines.push(`Node ${results.node}; Chromium ${results.chromium ?? '(not run)'}`);
  lines.push('Median of N samples after one warm-up (a sample repeats a call shorter than 20 ms');
  lines.push('and divides); MB/s = 10^6 bytes of message per second.');
  lines.push(`sign uses a loaded Identity (readIdentity once); verify includes chain validation.`);
  lines.push('');
  const head = ['env', 'key', 'size', 'operation', 'N', 'median ms', 'MB/s', 'result'];
  const body = results.rows.map((r) => [
    r.env, r.key, r.size, r.op, String(r.iterations),
    Number.isNaN(r.medianMs) ? '' : r.medianMs.toFixed(2),
    r.mbPerS === undefined || r.mbPerS === null ? ''
      : r.mbPerS < 10 ? r.mbPerS.toPrecision(2) : r.mbPerS.toFixed(1),
    r.result ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const fmt = (row) => row.map((c, i) => (i >= 4 && i <= 6 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
    .join('  ').trimEnd();
  lines.push(fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(fmt));
  const s = results.wasm;
  lines.push('');
  lines.push(`${s.file}: ${s.raw} bytes raw (${kib(s.raw)}), ${s.gzip} gzip -9 (${kib(s.gzip)}), ` +
    `${s.brotli} brotli -q 11 (${kib(s.brotli)})`);
  return `${lines.join('\n')}\n`;
}

async function main() {
  if (!existsSync(wasmPath)) {
    console.error('benches/run.mjs: pkg/ is not built: run `npm run build` (or `npm run bench`)');
    process.exit(1);
  }
  const fx = await fixtures();
  const rows = [];
  let chromiumVersion = null;
  if (!args.has('--browser-only')) {
    console.error('bench: Node…');
    rows.push(...(await runNode(fx)).map((r) => ({ env: 'node', ...r })));
  }
  if (!args.has('--node-only')) {
    console.error('bench: Chromium…');
    const { rows: browserRows, version } = await runBrowser(fx);
    chromiumVersion = version;
    rows.push(...browserRows.map((r) => ({ env: 'chromium', ...r })));
  }
  const results = {
    date: new Date().toISOString(),
    commit: commit(),
    quick,
    node: process.versions.node,
    chromium: chromiumVersion,
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, platform: `${platform()} ${arch()}` },
    wasm: await wasmSize(),
    plan,
    rows,
  };
  const text = table(results);
  process.stdout.write(text);
  await mkdir(resultsDir, { recursive: true });
  await writeFile(join(resultsDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(resultsDir, 'latest.txt'), text);
  console.error(`bench: wrote benches/results/latest.json and latest.txt`);
  const failed = rows.filter((r) => r.error);
  if (failed.length > 0) {
    console.error(`bench: ${failed.length} key(s) could not be measured (see the error rows)`);
    process.exitCode = 1;
  }
}

await main();
