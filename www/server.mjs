// A dependency-free static server for the Cachet demo: www/ at /, pkg/ at /pkg/, and the demo
// identity and trust anchor (which stay under tests/vectors/pki/) at /demo/. Nothing else is
// served. Listens on 127.0.0.1 only. Usage: PORT=8080 node www/server.mjs (PORT=0: any free port).

import { createServer } from 'node:http';
import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** URL prefix -> directory. Longest prefix first. */
const mounts = [
  ['/pkg/', join(root, 'pkg')],
  ['/', join(root, 'www')],
];

/**
 * Single files: the two demo users' identities (password `test`) and certificates, and the demo
 * trust anchor. They stay under tests/vectors/pki/: test keys, never for real mail.
 */
const demo = new Map([
  ['/demo/alice.p12', join(root, 'tests/vectors/pki/alice-rsa.p12')],
  ['/demo/bob.p12', join(root, 'tests/vectors/pki/bob-p256.p12')],
  ['/demo/alice.pem', join(root, 'tests/vectors/pki/alice-rsa.pem')],
  ['/demo/bob.pem', join(root, 'tests/vectors/pki/bob-p256.pem')],
  ['/demo/root-ca.pem', join(root, 'tests/vectors/pki/root-ca.pem')],
]);

/**
 * The embedded submission endpoint of the demo: POST /outbox takes a `message/rfc822` body (with
 * the SMTP envelope in `X-Envelope-From` / `X-Envelope-To`) and keeps it in memory; GET /outbox
 * lists what was sent, GET /outbox/<id> returns it byte for byte. Bounded in size and count.
 */
const outbox = [];
const OUTBOX_MAX = 200;
const MESSAGE_MAX = 32 * 1024 * 1024;

function headerOf(raw, name) {
  const head = raw.toString('latin1').split(/\r?\n\r?\n/, 1)[0].replace(/\r?\n[ \t]+/g, ' ');
  const line = head.split(/\r?\n/).find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line ? line.slice(name.length + 1).trim() : '';
}

async function handleOutbox(req, res, url, headers) {
  const json = (status, value) => {
    res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(value));
  };
  if (req.method === 'POST' && url.pathname === '/outbox') {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > MESSAGE_MAX) return json(413, { error: 'message too large' });
      chunks.push(chunk);
    }
    const raw = Buffer.concat(chunks);
    const rcptTo = String(req.headers['x-envelope-to'] ?? '').split(',').map((a) => a.trim())
      .filter(Boolean);
    const mailFrom = String(req.headers['x-envelope-from'] ?? '').trim();
    if (!mailFrom || rcptTo.length === 0) return json(400, { error: 'envelope missing' });
    const item = {
      id: `m${outbox.length + 1}-${Date.now().toString(36)}`,
      mailFrom, rcptTo, size: raw.length, received: new Date().toISOString(),
      from: headerOf(raw, 'From'), to: headerOf(raw, 'To'), subject: headerOf(raw, 'Subject'),
      raw,
    };
    outbox.push(item);
    if (outbox.length > OUTBOX_MAX) outbox.shift();
    const { raw: _raw, ...meta } = item;
    return json(201, meta);
  }
  if (req.method === 'GET' && url.pathname === '/outbox') {
    return json(200, outbox.map(({ raw: _raw, ...meta }) => meta));
  }
  const item = req.method === 'GET' && outbox.find((m) => url.pathname === `/outbox/${m.id}`);
  if (item) {
    res.writeHead(200, { ...headers, 'Content-Type': 'message/rfc822', 'Content-Length': item.raw.length });
    return res.end(item.raw);
  }
  return json(404, { error: 'not found' });
}

/** Where served files may really live (after resolving symbolic links). */
const allowed = [...mounts.map(([, dir]) => dir), ...demo.values()];

const types = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.pem': 'application/x-pem-file',
  '.eml': 'message/rfc822',
  '.p12': 'application/x-pkcs12',
};

/** Map a URL path to a file under one of the roots, or null. Never leaves a root. */
export function resolvePath(urlPath) {
  let path;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (path.includes('\0') || path.includes('\\')) return null;
  if (demo.has(path)) return demo.get(path);
  if (path.startsWith('/demo/')) return null;
  if (path === '/pkg') return null;
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    let rel = path.slice(prefix.length);
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    // Reject any dot segment outright rather than trusting normalisation alone.
    if (rel.split('/').some((s) => s === '..' || s === '.')) return null;
    const file = normalize(join(dir, rel));
    if (!file.startsWith(dir + sep)) return null;
    // The server script itself is not content.
    if (file === join(root, 'www', 'server.mjs')) return null;
    return file;
  }
  return null;
}

async function handle(req, res) {
  const headers = {
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
  };
  if (req.url === '/outbox' || req.url.startsWith('/outbox/')) {
    await handleOutbox(req, res, new URL(req.url, 'http://localhost'), headers);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { ...headers, Allow: 'GET, HEAD', 'Content-Type': 'text/plain' });
    res.end('method not allowed\n');
    return;
  }
  let url;
  try {
    url = new URL(req.url, 'http://localhost');
  } catch {
    res.writeHead(400, { ...headers, 'Content-Type': 'text/plain' });
    res.end('bad request\n');
    return;
  }
  const file = resolvePath(url.pathname);
  let body;
  try {
    if (!file || !(await stat(file)).isFile()) throw new Error('not a file');
    // No symbolic link may lead out of the served roots.
    const real = await realpath(file);
    const roots = await Promise.all(allowed.map((r) => realpath(r).catch(() => r)));
    if (!roots.some((r) => real === r || real.startsWith(r + sep))) throw new Error('outside');
    body = await readFile(file);
  } catch {
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(`not found: ${url.pathname}\n`);
    return;
  }
  const type = types[extname(file).toLowerCase()] ?? 'application/octet-stream';
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Start the server; resolves to { server, url }. */
export function start(port = Number(process.env.PORT ?? 8080), host = '127.0.0.1') {
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  return new Promise((resolveStart, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolveStart({ server, url: `http://${host}:${actual}/` });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { url } = await start();
  console.log(`Cachet demo: ${url}`);
}
