// The demo web mail's crypto worker: every Cachet call runs here, off the main thread (as
// OpenPGP.js recommends), so a large attachment never freezes the page. It owns the key store
// (IndexedDB): private keys are stored encrypted (PKCS#8 PBES2) and, once unlocked, live only in
// this worker's WebAssembly memory.
import * as cachet from '/pkg/index.js';

const STORE = 'cachet-demo-mail';
const DEMO_PASSPHRASE = 'demo'; // the demo users' passphrase at rest; documented in the page
let store = null;

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** Plain data for postMessage: certificates become PEM text. */
function plain(item) {
  return {
    id: item.id, store: item.store, subject: item.subject, emails: item.emails,
    notAfter: item.notAfter, canSign: item.canSign, canEncrypt: item.canEncrypt,
    unlocked: item.unlocked ?? false, thumbprint: item.thumbprint,
  };
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
  async list() {
    const { items, corrupted } = await store.list();
    return { items: items.map(plain), corrupted };
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
    const transport = cachet.http({ url: new URL('/outbox', self.location.origin).href });
    const sent = await cachet.submit({ message, envelope, transport });
    return { envelope, sent };
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
