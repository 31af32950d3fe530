// The demo web mail's crypto worker: every Cachet call runs here, off the main thread (as
// OpenPGP.js recommends), so a large attachment never freezes the page. It owns the key store
// (IndexedDB): private keys are stored encrypted (PKCS#8 PBES2) and, once unlocked, live only in
// this worker's WebAssembly memory.
import * as cachet from '/pkg/index.js';

const STORE = 'cachet-demo-mail';
const DEMO_PASSPHRASE = 'demo'; // the demo users' passphrase at rest; documented in the page
let store = null;
// Where mail goes and comes from: the demo server's local outbox (default) or a JMAP server.
let server = { mode: 'local' };

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

function jmapHeaders() {
  const { username, password } = server.auth;
  return { Accept: 'application/json', Authorization: `Basic ${btoa(`${username}:${password}`)}` };
}

async function jmapSession() {
  const r = await fetch(server.sessionUrl, { headers: jmapHeaders() });
  if (r.status === 401 || r.status === 403) {
    throw Object.assign(new Error('the JMAP server refused the credentials'), { code: 'SUBMIT_AUTH' });
  }
  if (!r.ok) throw Object.assign(new Error(`JMAP session: HTTP ${r.status}`), { code: 'SUBMIT_SERVER' });
  const s = await r.json();
  const accountId = s.primaryAccounts?.['urn:ietf:params:jmap:mail'] ?? Object.keys(s.accounts ?? {})[0];
  return { ...s, accountId, apiUrl: new URL(s.apiUrl, server.sessionUrl).href };
}

async function jmapList() {
  const s = await jmapSession();
  const body = {
    using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'],
    methodCalls: [
      ['Email/query', { accountId: s.accountId, sort: [{ property: 'receivedAt', isAscending: false }], limit: 50 }, 'q'],
      ['Email/get', { accountId: s.accountId, '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' },
        properties: ['subject', 'from', 'to', 'blobId', 'size'] }, 'g'],
    ],
  };
  const r = await fetch(s.apiUrl, { method: 'POST', headers: { ...jmapHeaders(), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  if (!r.ok) throw Object.assign(new Error(`JMAP: HTTP ${r.status}`), { code: 'SUBMIT_SERVER' });
  const get = (await r.json()).methodResponses.find(([name]) => name === 'Email/get');
  if (!get) throw Object.assign(new Error('JMAP: no Email/get answer'), { code: 'SUBMIT_SERVER' });
  return get[1].list.map((e) => ({
    id: e.id, blobId: e.blobId, size: e.size, subject: e.subject ?? '',
    from: (e.from ?? []).map((a) => a.email).join(', '),
    rcptTo: (e.to ?? []).map((a) => a.email),
  }));
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
    const id = await store.unlock({ email, passphrase });
    return { email: id.emails[0] ?? email, subject: id.subject };
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
  async send({ compose, sign, encrypt, from }) {
    const { message, envelope } = await cachet.seal({
      compose, sign, encrypt, store, ...(sign ? { signingKeys: from } : {}),
    });
    const transport = server.mode === 'jmap'
      ? cachet.jmap({ sessionUrl: server.sessionUrl, auth: server.auth })
      : cachet.http({ url: new URL('/outbox', self.location.origin).href });
    const sent = await cachet.submit({ message, envelope, transport });
    return { envelope, sent, size: message.length };
  },
  /** Use the local outbox, or a JMAP server (RFC 8620/8621) for sending and the mailbox. */
  async configure({ mode, sessionUrl, username, password }) {
    if (mode === 'jmap') {
      cachet.jmap({ sessionUrl, auth: { username, password } }); // validates the options
      server = { mode, sessionUrl, auth: { username, password } };
      return (await jmapList()).length;
    }
    server = { mode: 'local' };
    return 0;
  },
  /** The JMAP account's newest messages (subject as the server shows it, i.e. the outer one). */
  async jmapList() {
    return jmapList();
  },
  async jmapDownload({ blobId }) {
    const s = await jmapSession();
    const url = s.downloadUrl.replace('{accountId}', encodeURIComponent(s.accountId))
      .replace('{blobId}', encodeURIComponent(blobId)).replace('{type}', 'message%2Frfc822')
      .replace('{name}', 'message.eml');
    const r = await fetch(new URL(url, server.sessionUrl), { headers: jmapHeaders() });
    if (!r.ok) throw Object.assign(new Error(`download: HTTP ${r.status}`), { code: 'SUBMIT_SERVER' });
    return new Uint8Array(await r.arrayBuffer());
  },
  async open({ message }) {
    const r = await cachet.open({ message, store });
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

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    const result = await ops[op](args);
    self.postMessage({ id, ok: true, result });
  } catch (err) {
    self.postMessage({ id, ok: false, error: { code: err?.code ?? 'INTERNAL', message: String(err?.message ?? err) } });
  }
};
