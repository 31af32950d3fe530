// The demo web mail's crypto worker: every Cachet call runs here, off the main thread (as
// OpenPGP.js recommends), so a large attachment never freezes the page. It owns the key store
// (IndexedDB): private keys are stored encrypted (PKCS#8 PBES2) and, once unlocked, live only in
// this worker's WebAssembly memory.
import * as cachet from '/pkg/index.js';

const STORE = 'cachet-demo-mail';
const DEMO_PASSPHRASE = 'demo'; // the demo users' passphrase at rest; documented in the page
let store = null;
// Where mail goes and comes from: the demo server's local outbox (default) or a JMAP server.
// With JMAP, each identity signs in with its own account; credentials stay in this worker's
// memory (never stored) until the page closes.
let mode = 'local';
const jmapAccounts = new Map(); // identity address -> { sessionUrl, auth }
let current = null; // the unlocked identity's address

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Plain data for postMessage: certificates become PEM text. */
function plain(item) {
  return {
    id: item.id, store: item.store, subject: item.subject, emails: item.emails,
    notBefore: item.notBefore, notAfter: item.notAfter, canSign: item.canSign,
    canEncrypt: item.canEncrypt, isCa: item.isCa, unlocked: item.unlocked ?? false,
    thumbprint: item.thumbprint, status: item.status ?? null, statusCode: item.statusCode ?? null,
  };
}

/** The JMAP account of the signed-in identity; SUBMIT_AUTH until it has signed in. */
function account() {
  const a = jmapAccounts.get(current);
  if (!a) {
    throw Object.assign(new Error(`${current ?? 'this identity'} has not signed in to the JMAP server`),
      { code: 'SUBMIT_AUTH' });
  }
  return a;
}

function jmapHeaders(server = account()) {
  const { username, password } = server.auth;
  return { Accept: 'application/json', Authorization: `Basic ${btoa(`${username}:${password}`)}` };
}

async function jmapSession(server = account()) {
  const r = await fetch(server.sessionUrl, { headers: jmapHeaders(server) });
  if (r.status === 401 || r.status === 403) {
    throw Object.assign(new Error('the JMAP server refused the credentials'), { code: 'SUBMIT_AUTH' });
  }
  if (!r.ok) throw Object.assign(new Error(`JMAP session: HTTP ${r.status}`), { code: 'SUBMIT_SERVER' });
  const s = await r.json();
  const accountId = s.primaryAccounts?.['urn:ietf:params:jmap:mail'] ?? Object.keys(s.accounts ?? {})[0];
  return { ...s, accountId, apiUrl: new URL(s.apiUrl, server.sessionUrl).href };
}

/** The account's newest messages in its Inbox and Sent mailboxes (found by role, RFC 8621
 *  §2), with the Subject as the server sees it (the outer one: "[...]" when encrypted). */
async function jmapList(server = account()) {
  const s = await jmapSession(server);
  const body = {
    using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
    methodCalls: [
      ['Mailbox/get', { accountId: s.accountId, ids: null, properties: ['role'] }, 'm'],
      ['Email/query', { accountId: s.accountId, sort: [{ property: 'receivedAt', isAscending: false }], limit: 100 }, 'q'],
      ['Email/get', { accountId: s.accountId, '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
        properties: ['subject', 'from', 'to', 'blobId', 'size', 'mailboxIds', 'receivedAt'] }, 'g'],
    ],
  };
  const r = await fetch(s.apiUrl, { method: 'POST', headers: { ...jmapHeaders(server), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw Object.assign(new Error(`JMAP: HTTP ${r.status}`), { code: 'SUBMIT_SERVER' });
  const answers = (await r.json()).methodResponses;
  const get = answers.find(([name]) => name === 'Email/get');
  const boxes = answers.find(([name]) => name === 'Mailbox/get');
  if (!get || !boxes) throw Object.assign(new Error('JMAP: no Email/get answer'), { code: 'SUBMIT_SERVER' });
  const role = new Map(boxes[1].list.map((b) => [b.id, b.role]));
  const out = [];
  for (const e of get[1].list) {
    const roles = Object.keys(e.mailboxIds ?? {}).map((id) => role.get(id));
    for (const folder of ['inbox', 'sent']) {
      if (!roles.includes(folder)) continue;
      out.push({
        folder, id: e.id, blobId: e.blobId, size: e.size, subject: e.subject ?? '',
        from: (e.from ?? []).map((a) => a.email).join(', '),
        rcptTo: (e.to ?? []).map((a) => a.email), received: e.receivedAt,
      });
    }
  }
  return out;
}

const ops = {
  /** Open the store; on first use, import the two demo users and the demo root. */
  async start({ users }) {
    store = await cachet.KeyStore.open(STORE, { iterations: 100_000, idleTimeout: 30 * 60_000 });
    const { items } = await store.list({ store: 'identities' });
    if (items.length === 0) {
      for (const u of users) {
        await store.importPkcs12({ data: await fetchBytes(u.p12), password: 'test', passphrase: DEMO_PASSPHRASE });
      }
      await store.replaceTrustAnchors({ data: [await fetchBytes('/demo/root-ca.pem')] });
    }
    return true;
  },
  async unlock({ email, passphrase }) {
    store.lock();
    current = null;
    const id = await store.unlock({ email, passphrase });
    current = id.emails[0] ?? email;
    return { email: current, subject: id.subject, jmapUser: jmapAccounts.get(current)?.auth.username ?? null };
  },
  /** Every stored certificate with its status now (valid, expired, untrusted, ...). */
  async list() {
    const { items, corrupted } = await store.list({ date: new Date() });
    return { items: items.map(plain), corrupted };
  },
  /** Add someone's certificate (PEM or DER), whatever its status: the list shows it. */
  async addCertificate({ data }) {
    return (await store.addCertificate({ certificate: data })).map(plain);
  },
  async canEncryptTo({ addresses }) {
    const out = {};
    for (const a of addresses) {
      const found = await store.find({ email: a, usage: 'encrypt', validAt: new Date(), store: ['otherPeople', 'identities'] });
      out[a] = found.length > 0;
    }
    return out;
  },
  async importPkcs12({ data, password, passphrase }) {
    const added = await store.importPkcs12({ data, password, passphrase });
    return (Array.isArray(added) ? added : [added]).map((x) => (x?.id ? plain(x) : x));
  },
  async exportPkcs12({ email, passphrase, password }) {
    return store.exportPkcs12({ email, passphrase, password });
  },
  /** Seal (sign/encrypt with header protection) and submit through the configured transport:
   *  the demo server's local submission endpoint, over the package's `http()` transport. */
  async send({ compose, sign, encrypt, from }, report) {
    // Stages from the library (compose, sign, encrypt), then sending; `done` is not shown.
    let steps = 0;
    const { message, envelope } = await cachet.seal({
      compose, sign, encrypt, store, ...(sign ? { signingKeys: from } : {}),
      output: 'bytes', // submitted as is: a large message is not also held as a string
      onProgress: (p) => {
        steps = p.steps;
        if (p.stage !== 'done') report({ stage: STAGES[p.stage] ?? p.stage, step: p.step, steps, bytes: p.bytes });
      },
    });
    report({ stage: 'sending', step: steps, steps, bytes: message.length });
    const transport = mode === 'jmap'
      ? cachet.jmap({ sessionUrl: account().sessionUrl, auth: account().auth })
      : cachet.http({ url: new URL('/outbox', self.location.origin).href });
    const sent = await cachet.submit({ message, envelope, transport });
    return { envelope, sent, size: message.length };
  },
  /** Use the local outbox, or a JMAP server (RFC 8620/8621) for sending and the mailbox: the
   *  signed-in identity's account there (kept for when this identity is signed in again). */
  async configure({ mode: wanted, sessionUrl, username, password }) {
    if (wanted === 'jmap') {
      if (!current) throw Object.assign(new Error('unlock an identity first'), { code: 'STORE_LOCKED' });
      cachet.jmap({ sessionUrl, auth: { username, password } }); // validates the options
      const server = { sessionUrl, auth: { username, password } };
      const count = (await jmapList(server)).length; // only credentials that work are kept
      jmapAccounts.set(current, server);
      mode = 'jmap';
      return count;
    }
    mode = 'local';
    return 0;
  },
  /** The JMAP account's newest Inbox and Sent messages (subject as the server shows it). */
  async jmapList() {
    return jmapList();
  },
  async jmapDownload({ blobId }) {
    const s = await jmapSession();
    const url = s.downloadUrl.replace('{accountId}', encodeURIComponent(s.accountId))
      .replace('{blobId}', encodeURIComponent(blobId)).replace('{type}', 'message%2Frfc822')
      .replace('{name}', 'message.eml');
    const r = await fetch(new URL(url, account().sessionUrl), { headers: jmapHeaders() });
    if (!r.ok) throw Object.assign(new Error(`download: HTTP ${r.status}`), { code: 'SUBMIT_SERVER' });
    return new Uint8Array(await r.arrayBuffer());
  },
  async open({ message }, report) {
    const r = await cachet.open({
      message, store,
      onProgress: (p) => {
        if (p.stage !== 'done') report({ stage: STAGES[p.stage] ?? p.stage, step: p.step, steps: p.steps - 1, bytes: p.bytes });
      },
    });
    // Collect the certificates of verified senders (RFC 8551 §2.7.1): newest valid one wins.
    for (const l of r.layers) {
      if (l.type === 'signed') await store.collectSigners({ report: { signers: l.signers } });
    }
    return {
      ...r,
      layers: r.layers.map((l) => (l.signers
        ? { ...l, signers: l.signers.map((s) => ({ ...s, certificate: null, chain: [] })) }
        : l)),
    };
  },
};

/** The library's stage names as the page shows them. */
const STAGES = {
  compose: 'composing', sign: 'signing', protect: 'protecting headers', encrypt: 'encrypting',
  decrypt: 'decrypting', verify: 'verifying', open: 'opening',
};

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    const result = await ops[op](args, (progress) => self.postMessage({ id, progress }));
    self.postMessage({ id, ok: true, result });
  } catch (err) {
    self.postMessage({ id, ok: false, error: { code: err?.code ?? 'INTERNAL', message: String(err?.message ?? err) } });
  }
};
