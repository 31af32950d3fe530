// The demo web mail: compose, seal (sign/encrypt with header protection), submit to the demo's
// local outbox, and open what arrives, with a banner per layer. Cachet runs in a Web Worker
// (mail-worker.js); this file only handles the page. Only the public package API is used.

const $ = (id) => document.getElementById(id);

// ---- the crypto worker ----------------------------------------------------------------------

const worker = new Worker('/mail-worker.js', { type: 'module' });
const pending = new Map();
let nextId = 1;
worker.onmessage = ({ data }) => {
  const p = pending.get(data.id);
  pending.delete(data.id);
  updateBusy();
  if (data.ok) p.resolve(data.result);
  else p.reject(Object.assign(new Error(data.error.message), { code: data.error.code }));
};
function call(op, args, label) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, label });
    updateBusy();
    worker.postMessage({ id, op, args });
  });
}
function updateBusy() {
  const labels = [...pending.values()].map((p) => p.label).filter(Boolean);
  $('busy').textContent = labels.length ? `⏳ ${labels.join(', ')}…` : '';
}
const megabytes = (n) => `${(n / 1e6).toFixed(n < 1e5 ? 2 : 1)} MB`;

// ---- demo users and the certificate directory ----------------------------------------------

const USERS = {
  alice: { email: 'alice@example.org', p12: '/demo/alice.p12', cert: '/demo/alice.pem' },
  bob: { email: 'bob@example.org', p12: '/demo/bob.p12', cert: '/demo/bob.pem' },
};
const certificates = new Map(); // address -> PEM (other people's certificates, and our own)
let rootCa = '';
let me = null;

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function signIn(name) {
  const user = USERS[name];
  me = null;
  const who = await call('login', { p12: await fetchBytes(user.p12), password: 'test' }, 'unlocking key');
  me = { ...user, name, email: who.email ?? user.email };
  await refresh();
  updateLocks();
}

// ---- compose and send -----------------------------------------------------------------------

const addresses = (text) => text.split(',').map((a) => a.trim()).filter(Boolean);
const bare = (a) => (/<([^<>]+)>\s*$/.exec(a)?.[1] ?? a).trim().toLowerCase();

function updateLocks() {
  const all = [...addresses($('to').value), ...addresses($('cc').value), ...addresses($('bcc').value)];
  $('locks').replaceChildren(...all.map((a) => {
    const span = document.createElement('span');
    const can = certificates.has(bare(a));
    span.className = can ? 'yes' : 'no';
    span.textContent = `${can ? '🔒' : '🔓'} ${bare(a)}`;
    span.title = can ? 'can receive encrypted mail' : 'no certificate: cannot receive encrypted mail';
    return span;
  }));
}

async function send(event) {
  event.preventDefault();
  const status = $('send-status');
  status.textContent = '';
  const to = addresses($('to').value);
  const cc = addresses($('cc').value);
  const bcc = addresses($('bcc').value);
  const sign = $('sign').checked;
  const encrypt = $('encrypt').checked;
  const attachments = await Promise.all([...$('attach').files].map(async (f) => ({
    filename: f.name, contentType: f.type || 'application/octet-stream',
    data: new Uint8Array(await f.arrayBuffer()),
  })));
  const size = attachments.reduce((n, a) => n + a.data.length, 0);
  try {
    if (encrypt) {
      const missing = [...to, ...cc, ...bcc].map(bare).filter((a) => !certificates.has(a));
      if (missing.length) {
        throw Object.assign(new Error(`no certificate for ${missing.join(', ')}: cannot encrypt to them`),
          { code: 'RECIPIENT_NO_CERTIFICATE' });
      }
    }
    const compose = { from: me.email, to, cc, bcc, subject: $('subject').value, text: $('body').value, attachments };
    const encryptionKeys = encrypt
      ? [...new Set([...to, ...cc, ...bcc].map(bare).concat(me.email))].map((a) => certificates.get(a))
      : [];
    const what = [sign && 'signing', encrypt && 'encrypting'].filter(Boolean).join(' and ') || 'composing';
    const { message, envelope } = await call('seal', { compose, sign, encrypt, encryptionKeys },
      `${what} ${megabytes(size + compose.text.length)}`);
    const r = await fetch('/outbox', {
      method: 'POST',
      headers: {
        'Content-Type': 'message/rfc822',
        'X-Envelope-From': envelope.mailFrom,
        'X-Envelope-To': envelope.rcptTo.join(','),
      },
      body: message,
    });
    if (!r.ok) throw Object.assign(new Error(`the server refused it (${r.status})`), { code: 'SUBMIT_SERVER' });
    const sent = await r.json();
    status.textContent = `Sent to ${envelope.rcptTo.join(', ')} (${megabytes(sent.size)}).`;
    status.dataset.id = sent.id;
    await refresh();
  } catch (err) {
    status.textContent = `Not sent: ${err.code ?? 'ERROR'}: ${err.message}`;
  }
}

// ---- mailbox ---------------------------------------------------------------------------------

async function refresh() {
  const list = await (await fetch('/outbox')).json();
  const mine = list.filter((m) => m.rcptTo.map((a) => a.toLowerCase()).includes(me?.email)
    || m.mailFrom.toLowerCase() === me?.email).reverse();
  $('messages').replaceChildren(...mine.map((m) => {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.id = m.id;
    const strong = document.createElement('strong');
    strong.textContent = m.subject || '(no subject)';
    const small = document.createElement('small');
    small.textContent = `${m.from} → ${m.rcptTo.join(', ')} · ${megabytes(m.size)}`;
    b.append(strong, small);
    b.onclick = async () => {
      for (const x of $('messages').querySelectorAll('button')) x.classList.toggle('active', x === b);
      await read(await fetchBytes(`/outbox/${m.id}`));
    };
    li.append(b);
    return li;
  }));
}

// ---- reading ---------------------------------------------------------------------------------

function banner(kind, title, detail) {
  const div = document.createElement('div');
  div.className = `banner ${kind}`;
  div.setAttribute('role', 'note');
  const strong = document.createElement('strong');
  strong.textContent = title;
  div.append(strong);
  if (detail) div.append(document.createTextNode(detail));
  return div;
}

async function read(bytes) {
  $('banners').replaceChildren(banner('info', 'Opening…'));
  $('headers').replaceChildren();
  $('text').textContent = '';
  $('files').replaceChildren();
  let r;
  try {
    r = await call('open', { message: bytes, trustAnchors: [rootCa] }, `opening ${megabytes(bytes.length)}`);
  } catch (err) {
    $('banners').replaceChildren(banner('bad', 'Cannot open this message', `${err.code}: ${err.message}`));
    return;
  }
  const banners = [];
  for (const layer of r.layers) {
    if (layer.type === 'signed') {
      for (const s of layer.signers) {
        const who = s.email ?? s.subject ?? 'unknown signer';
        banners.push(s.status === 'valid'
          ? banner('ok', `Signed by ${who}`, 'The signature is valid and the certificate is trusted.')
          : banner('bad', `Signature by ${who} is not valid (${s.status})`, `${s.reason} [${s.code}]`));
      }
    } else if (layer.type === 'undecryptable') {
      banners.push(banner('bad', 'Encrypted, but not for you', `This message cannot be decrypted with your key [${layer.code}].`));
    } else {
      banners.push(banner(layer.authenticated ? 'ok' : 'warn', `Encrypted (${layer.cipher})`,
        layer.authenticated ? 'Only the recipients can read it.' : 'The cipher does not detect modification.'));
    }
  }
  if (r.layers.length === 0) banners.push(banner('warn', 'Not signed, not encrypted', 'Anyone could have written or read this message.'));
  else if (!r.authenticated) banners.push(banner('warn', 'Not protected against modification', 'No signature or authenticated encryption covers this content.'));
  if (r.protectedHeaders?.modeMismatch) {
    banners.push(banner('warn', 'Protection was stripped in transit',
      'The sender encrypted this message, but it reached you without encryption.'));
  }
  for (const d of r.protectedHeaders?.disagreements ?? []) {
    banners.push(banner('warn', `The ${d.name} header was changed in transit`,
      `Outside: ${d.outer ?? '(none)'} · protected: ${d.protected ?? '(none)'}`));
  }
  $('banners').replaceChildren(...banners);

  // Headers: the protected ones when present (RFC 9788), else the outer ones.
  const shown = new Map();
  if (r.protectedHeaders) {
    for (const [n, v] of r.protectedHeaders.fields) if (!shown.has(n.toLowerCase())) shown.set(n.toLowerCase(), v);
  } else {
    for (const [n, v] of headerFields(r.headers)) if (!shown.has(n)) shown.set(n, v);
  }
  const rows = [];
  for (const name of ['from', 'to', 'cc', 'subject', 'date']) {
    if (!shown.has(name)) continue;
    const dt = document.createElement('dt');
    dt.textContent = name[0].toUpperCase() + name.slice(1);
    const dd = document.createElement('dd');
    dd.textContent = shown.get(name);
    dd.dataset.header = name;
    rows.push(dt, dd);
  }
  $('headers').replaceChildren(...rows);

  const out = { text: [], files: [] };
  walk(r.content, out, Boolean(r.protectedHeaders?.legacyDisplay));
  $('text').textContent = out.text.join('\n\n');
  $('files').replaceChildren(...out.files.map((f) => {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([f.data], { type: 'application/octet-stream' }));
    a.download = f.name;
    a.textContent = `📎 ${f.name} (${f.data.length} bytes)`;
    li.append(a);
    return li;
  }));
}

// ---- a small MIME reader for display ---------------------------------------------------------

const latin1 = new TextDecoder('latin1');

function headerFields(text) {
  return text.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/).filter((l) => l.includes(':'))
    .map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]);
}

function split(bytes) {
  const s = latin1.decode(bytes);
  const m = /\r?\n\r?\n/.exec(s);
  const head = m ? s.slice(0, m.index) : s;
  const body = m ? bytes.subarray(m.index + m[0].length) : new Uint8Array();
  return { fields: new Map(headerFields(head)), body };
}

function params(value = '') {
  const [type, ...rest] = value.split(';');
  const p = {};
  for (const part of rest) {
    const i = part.indexOf('=');
    if (i > 0) p[part.slice(0, i).trim().toLowerCase()] = part.slice(i + 1).trim().replace(/^"|"$/g, '');
  }
  return { type: type.trim().toLowerCase() || 'text/plain', p };
}

function decodeBody(fields, body) {
  const cte = (fields.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'base64') {
    const bin = atob(latin1.decode(body).replace(/[^A-Za-z0-9+/]/g, ''));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }
  if (cte === 'quoted-printable') {
    const s = latin1.decode(body).replace(/=\r?\n/g, '');
    const out = [];
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
        out.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push(s.charCodeAt(i) & 0xff);
    }
    return Uint8Array.from(out);
  }
  return body;
}

function walk(bytes, out, hideLegacy, depth = 0) {
  if (depth > 20) return;
  const { fields, body } = split(bytes);
  const ct = params(fields.get('content-type'));
  if (ct.type.startsWith('multipart/') && ct.p.boundary) {
    const s = latin1.decode(body);
    const parts = s.split(new RegExp(`\\r?\\n?--${ct.p.boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:--)?[ \\t]*\\r?\\n?`));
    for (const part of parts.slice(1, -1)) {
      walk(Uint8Array.from(part, (c) => c.charCodeAt(0)), out, hideLegacy, depth + 1);
    }
    return;
  }
  const disposition = params(fields.get('content-disposition'));
  const data = decodeBody(fields, body);
  if (ct.type === 'text/plain' && disposition.type !== 'attachment') {
    if (hideLegacy && ct.p['hp-legacy-display'] === '1') return;
    let text;
    try {
      text = new TextDecoder(ct.p.charset ?? 'utf-8').decode(data);
    } catch {
      text = latin1.decode(data);
    }
    out.text.push(text);
    return;
  }
  if (ct.type === 'text/html' && disposition.type !== 'attachment') return; // shown as text only
  out.files.push({ name: disposition.p.filename ?? ct.p.name ?? 'attachment', data });
}

// ---- wiring ----------------------------------------------------------------------------------

async function main() {
  rootCa = latin1.decode(await fetchBytes('/demo/root-ca.pem'));
  for (const u of Object.values(USERS)) {
    certificates.set(u.email, latin1.decode(await fetchBytes(u.cert)));
  }
  $('compose').addEventListener('submit', send);
  for (const id of ['to', 'cc', 'bcc']) $(id).addEventListener('input', updateLocks);
  $('user').addEventListener('change', () => signIn($('user').value));
  $('refresh').addEventListener('click', refresh);
  $('eml').addEventListener('change', async () => {
    const f = $('eml').files[0];
    if (f) await read(new Uint8Array(await f.arrayBuffer()));
  });
  document.body.addEventListener('dragover', (e) => e.preventDefault());
  document.body.addEventListener('drop', async (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) await read(new Uint8Array(await f.arrayBuffer()));
  });
  await signIn($('user').value);
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  $('busy').textContent = `Could not start: ${err.code ?? ''} ${err.message}`;
});
