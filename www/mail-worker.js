// The demo web mail's crypto worker: every Cachet call runs here, off the main thread (as
// OpenPGP.js recommends), so a large attachment never freezes the page. The signed-in user's
// identity (private key) lives only in this worker's WebAssembly memory.
import * as cachet from '/pkg/index.js';

let identity = null;

const ops = {
  async login({ p12, password }) {
    identity?.dispose();
    identity = null;
    identity = await cachet.readIdentity({ privateKey: p12, password });
    return { email: identity.emails[0] ?? null, subject: identity.subject };
  },
  async logout() {
    identity?.dispose();
    identity = null;
    return true;
  },
  async seal({ compose, sign, encrypt, encryptionKeys }) {
    if (!identity) throw Object.assign(new Error('not signed in'), { code: 'API_MISUSE' });
    return cachet.seal({
      compose, sign, encrypt,
      ...(sign ? { signingKeys: identity } : {}),
      ...(encrypt ? { encryptionKeys } : {}),
    });
  },
  async open({ message, trustAnchors }) {
    const r = await cachet.open({
      message, trustAnchors, ...(identity ? { decryptionKeys: identity } : {}),
    });
    // Certificates are class instances: send plain data across.
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
