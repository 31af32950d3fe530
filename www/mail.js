// The demo web mail: compose, seal (sign/encrypt with header protection), submit to the demo's
// local outbox or a JMAP server, and open what arrives, with a banner per layer. Cachet runs in a
// Web Worker (mail-worker.js); this file only handles the page. Only the public package API is
// used.

const $ = (id) => document.getElementById(id);

// ---- the crypto worker ----------------------------------------------------------------------

const worker = new Worker('/mail-worker.js', { type: 'module' });
const pending = new Map();
let nextId = 1;
worker.onmessage = ({ data }) => {
  const p = pending.get(data.id);
  if (!p) return;
  if (data.progress) {
    // A stage of a long operation (seal/submit, open): shown as "step n of m: stage".
    p.progress = data.progress;
    updateBusy();
    return;
  }
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
/** What the page is waiting for, in words, and a progress bar for the one that reports stages
 *  (or for reading attachments, by bytes). */
let reading = null;
function updateBusy() {
  const waiting = [...pending.values()];
  const labels = waiting.map((p) => (p.progress
    ? `${p.label}: step ${p.progress.step} of ${p.progress.steps}, ${p.progress.stage}`
    : p.label)).filter(Boolean);
  if (reading) labels.unshift(`reading attachments ${Math.floor((100 * reading.done) / reading.total)}%`);
  $('busy').textContent = labels.length ? `⏳ ${labels.join(', ')}…` : '';
  const bar = $('progress');
  const staged = waiting.find((p) => p.progress);
  if (reading && reading.total > 0) {
    bar.max = reading.total;
    bar.value = reading.done;
  } else if (staged) {
    bar.max = staged.progress.steps;
    bar.value = staged.progress.step - 1;
  }
  bar.hidden = !(reading || staged);
}
/** Read the chosen files, showing how much has been read. */
async function readFiles(files) {
  reading = { done: 0, total: files.reduce((n, f) => n + f.size, 0) };
  try {
    const out = [];
    for (const f of files) {
      const data = new Uint8Array(f.size);
      let at = 0;
      const reader = f.stream().getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        data.set(r.value, at);
        at += r.value.length;
        reading.done += r.value.length;
        updateBusy();
      }
      out.push({ filename: f.name, contentType: f.type || 'application/octet-stream', data });
    }
    return out;
  } finally {
    reading = null;
    updateBusy();
  }
}
const megabytes = (n) => `${(n / 1e6).toFixed(n < 1e5 ? 2 : 1)} MB`;

// ---- identities (the key store lives in the worker) ------------------------------------------

const DEMO_USERS = [
  { email: 'alice@example.org', p12: '/demo/alice.p12' },
  { email: 'bob@example.org', p12: '/demo/bob.p12' },
];
let me = null;

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function signIn(email) {
  me = null;
  clearReader(); // what the previous user opened is not for the next one
  try {
    const who = await call('unlock', { email, passphrase: $('passphrase').value }, 'unlocking key');
    me = { email: who.email ?? email };
    $('keys-status').textContent = `Unlocked ${me.email}.`;
    if (serverMode === 'jmap') {
      // Each identity has its own JMAP account: ask for it the first time.
      $('jmap-user').value = who.jmapUser ?? me.email;
      $('jmap-password').value = '';
      $('server').open ||= !who.jmapUser;
      $('server-status').textContent = who.jmapUser
        ? `Using the JMAP server as ${who.jmapUser}.`
        : `Sign in to the JMAP server as ${me.email}: its password, then "Use this server".`;
    }
  } catch (err) {
    $('keys-status').textContent = `Cannot unlock ${email}: ${err.code}: ${err.message}`;
  }
  await refreshKeys();
  await refresh();
  updateLocks();
}

/** How a certificate's status reads: a symbol and words (never colour alone), and a colour. */
const STATUS = {
  valid: ['✓', 'valid', 'ok'],
  expired: ['✗', 'expired', 'bad'],
  'not-yet-valid': ['◷', 'not yet valid', 'warn'],
  untrusted: ['✗', 'untrusted', 'bad'],
  revoked: ['✗', 'revoked', 'bad'],
  'weak-algorithm': ['⚠', 'weak algorithm', 'warn'],
  'unsupported-algorithm': ['⚠', 'unsupported algorithm', 'warn'],
};
const day = (t) => new Date(t).toISOString().slice(0, 10);

/** What the key may be used for now: only a valid certificate is usable. */
function usage(i) {
  if (i.store === 'trustAnchors') return i.status === 'valid' ? 'trusted to issue certificates' : 'trusts nothing';
  if (i.status !== 'valid') return i.store === 'identities' ? 'not usable' : 'cannot receive encrypted mail';
  if (i.store === 'otherPeople') return i.canEncrypt ? 'can receive encrypted mail' : 'cannot receive encrypted mail';
  const can = [i.canSign && 'signing', i.canEncrypt && 'decryption'].filter(Boolean);
  return can.length ? `usable for ${can.join(' and ')}` : 'not usable for mail';
}

async function refreshKeys() {
  const { items, corrupted } = await call('list', {});
  const current = $('user').value;
  const identities = items.filter((i) => i.store === 'identities');
  $('user').replaceChildren(...identities.map((i) => {
    const o = document.createElement('option');
    o.value = i.emails[0] ?? i.subject;
    o.textContent = o.value;
    return o;
  }));
  if (current && identities.some((i) => i.emails[0] === current)) $('user').value = current;
  $('keys').replaceChildren(...items.map((i) => {
    const li = document.createElement('li');
    const role = { identities: 'my identity', otherPeople: 'other people', trustAnchors: 'trust anchor' }[i.store];
    const who = i.emails[0] ?? i.subject;
    const [symbol, words, kind] = STATUS[i.status] ?? ['?', i.status ?? 'unknown', 'warn'];
    const status = document.createElement('span');
    status.className = `status ${kind}`;
    status.textContent = `${symbol} ${words}`;
    status.title = i.statusCode ? `${i.statusCode} (checked now)` : 'checked now';
    const use = document.createElement('span');
    use.className = 'usage';
    use.textContent = `${usage(i)} · ${day(i.notBefore)} to ${day(i.notAfter)}${i.unlocked ? ' · unlocked' : ''}`;
    li.dataset.status = i.status ?? '';
    li.dataset.store = i.store;
    li.title = i.subject;
    li.append(`${who} · ${role} · `, status, ' · ', use);
    return li;
  }), ...corrupted.map((c) => {
    const li = document.createElement('li');
    li.textContent = `⚠ unreadable record ${c.id} (${c.store})`;
    return li;
  }));
}

// ---- compose and send -----------------------------------------------------------------------

const addresses = (text) => text.split(',').map((a) => a.trim()).filter(Boolean);
const bare = (a) => (/<([^<>]+)>\s*$/.exec(a)?.[1] ?? a).trim().toLowerCase();

let locksSeq = 0;
async function updateLocks() {
  const seq = ++locksSeq;
  const all = [...addresses($('to').value), ...addresses($('cc').value), ...addresses($('bcc').value)]
    .map(bare);
  const can = all.length ? await call('canEncryptTo', { addresses: all }) : {};
  if (seq !== locksSeq) return; // a newer edit is being looked up
  $('locks').replaceChildren(...all.map((a) => {
    const span = document.createElement('span');
    span.className = can[a] ? 'yes' : 'no';
    span.textContent = `${can[a] ? '🔒' : '🔓'} ${a}`;
    span.title = can[a] ? 'can receive encrypted mail' : 'no certificate: cannot receive encrypted mail';
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
  const attachments = await readFiles([...$('attach').files]);
  const size = attachments.reduce((n, a) => n + a.data.length, 0);
  try {
    if (!me) throw Object.assign(new Error('unlock an identity first'), { code: 'STORE_LOCKED' });
    const compose = { from: me.email, to, cc, bcc, subject: $('subject').value, text: $('body').value, attachments };
    const what = [sign && 'signing', encrypt && 'encrypting'].filter(Boolean).join(' and ') || 'composing';
    // The store supplies the signing key and every recipient's certificate (and the sender's, for
    // the Sent copy); a recipient without one stops the send with RECIPIENT_NO_CERTIFICATE.
    const { envelope, sent, size: sentSize } = await call('send', { compose, sign, encrypt, from: me.email },
      `${what} ${megabytes(size + compose.text.length)}`);
    status.textContent = `Sent to ${envelope.rcptTo.join(', ')} (${megabytes(sentSize)}).`;
    status.dataset.id = sent.id ?? sent.emailId ?? '';
    await refresh();
  } catch (err) {
    status.textContent = `Not sent: ${err.code ?? 'ERROR'}: ${err.message}`;
  }
}

// ---- mailbox ---------------------------------------------------------------------------------

let serverMode = 'local';
/** The protected (RFC 9788) Subject of each message opened here, by mailbox and message id: the
 *  server only ever sees the outer one ("[...]" when encrypted). In memory only. */
const openedSubjects = new Map();

let refreshSeq = 0;
async function refresh() {
  const seq = ++refreshSeq;
  let mine = [];
  let note = '';
  try {
    if (serverMode === 'jmap') {
      mine = await call('jmapList', {}, 'listing the JMAP mailbox');
    } else if (me) {
      const list = (await (await fetch('/outbox')).json()).reverse();
      for (const m of list) {
        if (m.rcptTo.map((a) => a.toLowerCase()).includes(me.email)) mine.push({ ...m, folder: 'inbox' });
        if (m.mailFrom.toLowerCase() === me.email) mine.push({ ...m, folder: 'sent' });
      }
    }
  } catch (err) {
    note = `Cannot list the mailbox: ${err.code ?? 'ERROR'}: ${err.message}`;
  }
  if (seq !== refreshSeq) return; // a newer refresh (another user) is under way
  $('box-status').textContent = note;
  const owner = `${serverMode}:${me?.email}`;
  const render = (folder) => mine.filter((m) => m.folder === folder).map((m) => {
    const key = `${owner}:${m.id}`;
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.id = m.id;
    const strong = document.createElement('strong');
    const opened = openedSubjects.get(key);
    strong.textContent = opened ?? (m.subject || '(no subject)');
    if (opened !== undefined) strong.title = `the protected Subject; the server shows "${m.subject}"`;
    const small = document.createElement('small');
    const who = folder === 'sent' ? `To ${m.rcptTo.join(', ')}` : `From ${m.from}`;
    small.textContent = `${who} · ${megabytes(m.size)}`;
    b.append(strong, small);
    b.onclick = async () => {
      for (const x of document.querySelectorAll('.messages button')) x.classList.toggle('active', x === b);
      let raw;
      try {
        raw = serverMode === 'jmap'
          ? await call('jmapDownload', { blobId: m.blobId }, 'downloading')
          : await fetchBytes(`/outbox/${m.id}`);
      } catch (err) {
        $('banners').replaceChildren(banner('bad', 'Cannot download this message', `${err.code ?? 'ERROR'}: ${err.message}`));
        return;
      }
      const subject = await read(raw);
      if (subject !== undefined && subject !== m.subject) {
        openedSubjects.set(key, subject);
        strong.textContent = subject;
        strong.title = `the protected Subject; the server shows "${m.subject}"`;
      }
    };
    li.append(b);
    return li;
  });
  $('messages').replaceChildren(...render('inbox'));
  $('sent-messages').replaceChildren(...render('sent'));
}

async function applyServer() {
  const mode = document.querySelector('input[name=mode]:checked').value;
  const username = $('jmap-user').value;
  try {
    const count = await call('configure', {
      mode, sessionUrl: $('jmap-url').value.trim(), username, password: $('jmap-password').value,
    }, 'connecting');
    serverMode = mode;
    $('server-status').textContent = mode === 'jmap'
      ? `Using the JMAP server as ${username} (${count} message${count === 1 ? '' : 's'}).` : 'Using the local outbox.';
    await refresh();
  } catch (err) {
    $('server-status').textContent = `Cannot use it: ${err.code}: ${err.message}`;
  }
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

function clearReader() {
  $('banners').replaceChildren();
  $('headers').replaceChildren();
  $('text').textContent = '';
  $('files').replaceChildren();
}

/** Open and show a message; resolves to its protected Subject when it has one (RFC 9788). */
async function read(bytes) {
  clearReader();
  $('banners').replaceChildren(banner('info', 'Opening…'));
  let r;
  try {
    r = await call('open', { message: bytes }, `opening ${megabytes(bytes.length)}`);
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
  const protectedSubject = r.protectedHeaders ? shown.get('subject') : undefined;

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
  return protectedSubject;
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
    let text;
    try {
      text = new TextDecoder(ct.p.charset ?? 'utf-8').decode(data);
    } catch {
      text = latin1.decode(data);
    }
    // RFC 9788 §4.5.3.2: the protected headers are shown above, so drop the legacy display
    // element (the header-like lines up to the first blank line).
    if (hideLegacy && ct.p['hp-legacy-display'] === '1') text = text.replace(/^(?:.*\r?\n)*?\r?\n/, '');
    out.text.push(text);
    return;
  }
  if (ct.type === 'text/html' && disposition.type !== 'attachment') return; // shown as text only
  out.files.push({ name: disposition.p.filename ?? ct.p.name ?? 'attachment', data });
}

// ---- wiring ----------------------------------------------------------------------------------

async function importP12() {
  const f = $('p12').files[0];
  if (!f) return;
  try {
    await call('importPkcs12', {
      data: new Uint8Array(await f.arrayBuffer()), password: $('p12-password').value,
      passphrase: $('p12-passphrase').value,
    }, 'importing');
    $('keys-status').textContent = `Imported ${f.name}.`;
  } catch (err) {
    $('keys-status').textContent = `Not imported: ${err.code}: ${err.message}`;
  }
  await refreshKeys();
}

async function addCertificate() {
  const f = $('cert-file').files[0];
  if (!f) return;
  let note;
  try {
    const added = await call('addCertificate', { data: new Uint8Array(await f.arrayBuffer()) }, 'adding');
    note = `Added ${added.map((i) => i.emails[0] ?? i.subject).join(', ')} from ${f.name}.`;
  } catch (err) {
    note = `Not added: ${err.code}: ${err.message}`;
  }
  await refreshKeys();
  $('keys-status').textContent = note; // after the list shows it
}

async function exportBackup() {
  try {
    const p12 = await call('exportPkcs12', {
      email: me?.email, passphrase: $('passphrase').value, password: $('backup-password').value,
    }, 'exporting');
    const a = $('backup');
    a.href = URL.createObjectURL(new Blob([p12], { type: 'application/x-pkcs12' }));
    a.hidden = false;
    $('keys-status').textContent = `Backup ready (${p12.length} bytes).`;
  } catch (err) {
    $('keys-status').textContent = `No backup: ${err.code}: ${err.message}`;
  }
}

async function main() {
  await call('start', { users: DEMO_USERS }, 'opening the key store');
  $('compose').addEventListener('submit', send);
  for (const id of ['to', 'cc', 'bcc']) $(id).addEventListener('input', updateLocks);
  $('user').addEventListener('change', () => signIn($('user').value));
  $('unlock').addEventListener('click', () => signIn($('user').value));
  $('refresh').addEventListener('click', refresh);
  $('apply-server').addEventListener('click', applyServer);
  // A documented option: ?jmap=<session URL>&user=<name> preselects a JMAP server.
  const params = new URLSearchParams(location.search);
  if (params.get('jmap')) {
    $('jmap-url').value = params.get('jmap');
    $('jmap-user').value = params.get('user') ?? '';
    document.querySelector('input[name=mode][value=jmap]').checked = true;
    $('server').open = true;
  }
  $('import').addEventListener('click', importP12);
  $('add-cert').addEventListener('click', addCertificate);
  $('export').addEventListener('click', exportBackup);
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
  await refreshKeys();
  await signIn($('user').value || DEMO_USERS[0].email);
  document.body.dataset.ready = 'true';
}

main().catch((err) => {
  $('busy').textContent = `Could not start: ${err.code ?? ''} ${err.message}`;
});
