#!/usr/bin/env node
// The `cachet` command: sign and verify S/MIME messages from the shell. No dependencies.
// Flags, exit codes and the --json shape are API (see README.md).
//
// Exit codes: 0 = done (verify: every signature valid), 1 = processed but not every signature
// valid (or no signer), 2 = could not process (usage error, malformed input); then one line on
// stderr names the error code: `cachet: NOT_SIGNED: ...`.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const USAGE = `Usage:
  cachet sign    --cert FILE --key FILE [--password PW] [--chain FILE]... [--opaque]
                 [--digest sha256|sha384|sha512] [--rsa-pss] [--in FILE] [--out FILE]
  cachet verify  --trust FILE... [--cert FILE]... [--crl FILE]... [--at RFC3339-TIME] [--json]
                 [--in FILE] [--out FILE]
  cachet encrypt --to FILE... [--cipher aes128-gcm|aes256-gcm|aes128-cbc|aes256-cbc|chacha20-poly1305]
                 [--rsa-oaep] [--sign-cert FILE --sign-key FILE [--password PW]] [--in FILE] [--out FILE]
  cachet decrypt --cert FILE --key FILE [--password PW] [--in FILE] [--out FILE]
  cachet open    [--cert FILE --key FILE [--password PW]] [--trust FILE]... [--crl FILE]...
                 [--at RFC3339-TIME] [--json] [--in FILE] [--out FILE]
  cachet compose --from ADDR --to ADDR... [--cc ADDR]... [--bcc ADDR]... --subject TEXT
                 [--text FILE] [--html FILE] [--attach FILE]... [--sign] [--encrypt]
                 [--store DIR --password PW] [--key FILE [--cert FILE]] [--recipient-cert FILE]...
                 [--hcp hcp_baseline|hcp_shy|hcp_no_confidentiality] [--out FILE]
  cachet submit  --jmap SESSION-URL --user USER --password-env VAR [--bcc ADDR]... [--in FILE]
  cachet import  --p12 FILE [--password PW] --store DIR [--passphrase PW] [--iterations N]
  cachet import  --key FILE --cert FILE [--chain FILE]... [--password PW] --store DIR
                 [--passphrase PW] [--iterations N]
  cachet trust   --add FILE... | --replace FILE... | --list  --store DIR
  cachet list    --store DIR [--at RFC3339-TIME] [--json]
  cachet export  --store DIR --from ADDRESS [--passphrase PW] --password PW [--legacy] --out FILE
  cachet help | --help | --version

sign     signs the message read from --in (default: standard input) and writes the signed
         message to --out (default: standard output). --key takes a PEM/DER private key or a
         PKCS#12 file (.p12, then --cert is optional); --password decrypts it. Detached
         (multipart/signed) unless --opaque.
verify   verifies a signed message against the --trust anchors (PEM or DER files, several
         certificates per file allowed) at --at (default: now). Prints one line per signer, or
         with --json {"signers":[{"status","code","reason","email","subject",...}]}.
         --out writes the signed content. --cert adds certificates for chain building.
encrypt  encrypts to every --to certificate (AES-256-GCM by default; CBC for old clients),
         signing first with --sign-key/--sign-cert when given (sign-then-encrypt).
decrypt  decrypts with --key/--cert (a .p12 as --key needs no --cert) and writes the message.
compose  composes a message (UTF-8 headers, text/HTML, attachments; Bcc only in the envelope)
         and, with --sign/--encrypt, seals it with RFC 9788 header protection. Keys come from
         --store (see import) or from --key/--cert and --recipient-cert files. --hcp picks
         what an encrypted message shows outside (default hcp_baseline: Subject "[...]").
submit   submits the finished message read from --in (default: standard input), byte for byte,
         to a JMAP server (RFC 8620/8621; --jmap is the session URL, e.g. https://host/jmap/)
         as USER with the password in the environment variable VAR. The SMTP envelope: the
         message's From, To and Cc, plus every --bcc. Prints the JMAP email id; exit 0 only
         when the server accepted the message (else 2, e.g. "cachet: SUBMIT_AUTH: ...").
open     unwraps every signed and encrypted layer (any nesting); --out writes the innermost
         content; --json prints {"layers":[{"type","cipher","signers":[...]}],"authenticated"}.

Key store (--store DIR: a directory holding one file, created on first use):
import   imports an identity (a .p12, or a key and its certificate) into the store; its private
         key is kept encrypted with --passphrase (default: the --password; or $CACHET_PASSPHRASE).
trust    adds trust anchors (PEM, DER or .p7b), replaces all of them, or lists them.
list     lists the identities, other people's certificates and trust anchors, each with its
         status at --at (default: now): valid, untrusted, expired, not-yet-valid, ...
export   writes the identity for ADDRESS as a PKCS#12 backup protected by --password (AES-256,
         SHA-256 MAC; --legacy: 3DES and a SHA-1 MAC for old importers).
sign --store DIR [--from ADDRESS] [--passphrase PW]   signs with the stored identity for
         ADDRESS (needed when the store holds several), unlocked with --passphrase or
         $CACHET_PASSPHRASE.
encrypt --store DIR --to ADDRESS...   encrypts to the newest valid certificate stored for each
         address (a --to naming an existing file is still read as a file); without --cipher,
         what the recipients last advertised chooses it. --from ADDRESS signs first.
decrypt --store DIR, open --store DIR   decrypt with every stored identity the passphrase
         unlocks; open also trusts the store's anchors.
compose --store DIR [--password PW] --sign --encrypt   signs as --from (unlocked with
         --password or $CACHET_PASSPHRASE) and encrypts to each recipient's and the sender's
         newest valid certificate in the store.
verify --store DIR   also trusts the store's anchors, builds chains with its certificates, and
         remembers the certificates of valid signers (other people).

Exit status: 0 all signatures valid (sign, encrypt, decrypt: done; open: every signature
valid, or none), 1 processed but not all valid (verify: or no signer), 2 could not process
(the error code is printed: "cachet: CODE: ..."; open: also a layer it could not decrypt).`;

class UsageError extends Error {}

// ---- locate the package: pkg/ itself, or the repository's src/js/ next to a built pkg/ ------

async function loadApi() {
  const here = new URL('./', import.meta.url);
  const base = existsSync(new URL('cachet_wasm.js', here)) ? here : new URL('../../pkg/', here);
  if (!existsSync(new URL('index.js', base))) {
    throw new UsageError('INTERNAL: the package is not built: run `npm run build`');
  }
  const api = await import(new URL('index.js', base).href);
  let version = '0.0.0';
  try {
    version = JSON.parse(readFileSync(new URL('package.json', base), 'utf8')).version;
  } catch {
    // version stays unknown
  }
  return { ...api, version };
}

// ---- arguments -----------------------------------------------------------------------------

const SPECS = {
  sign: {
    cert: 'one', key: 'one', password: 'one', chain: 'many', opaque: 'flag', digest: 'one',
    'rsa-pss': 'flag', in: 'one', out: 'one',
  },
  verify: {
    trust: 'many', cert: 'many', crl: 'many', at: 'one', json: 'flag', in: 'one', out: 'one',
  },
  encrypt: {
    to: 'many', cipher: 'one', 'rsa-oaep': 'flag', 'sign-cert': 'one', 'sign-key': 'one',
    password: 'one', in: 'one', out: 'one',
  },
  decrypt: { cert: 'one', key: 'one', password: 'one', in: 'one', out: 'one' },
  compose: {
    from: 'one', to: 'many', cc: 'many', bcc: 'many', subject: 'one', text: 'one', html: 'one',
    attach: 'many', sign: 'flag', encrypt: 'flag', store: 'one', password: 'one', key: 'one',
    cert: 'one', 'recipient-cert': 'many', cipher: 'one', hcp: 'one', out: 'one',
  },
  open: {
    cert: 'one', key: 'one', password: 'one', trust: 'many', crl: 'many', at: 'one',
    json: 'flag', in: 'one', out: 'one',
  },
};

/** `--name value`, `--name=value`, and for list options `--name a b c` or repeated flags. */
function parseArgs(command, argv) {
  const spec = SPECS[command];
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/s.exec(arg);
    if (!m) throw new UsageError(`API_MISUSE: unexpected argument ${JSON.stringify(arg)}`);
    const [, name, inline] = m;
    const kind = spec[name];
    if (!kind) throw new UsageError(`API_MISUSE: unknown option --${name} for ${command}`);
    if (kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`API_MISUSE: --${name} takes no value`);
      out[name] = true;
      continue;
    }
    const values = inline !== undefined ? [inline] : [];
    if (inline === undefined) {
      while (i + 1 < argv.length && (!argv[i + 1].startsWith('--') || argv[i + 1] === '--')) {
        values.push(argv[++i]);
        if (kind === 'one') break;
      }
    }
    if (values.length === 0) throw new UsageError(`API_MISUSE: --${name} needs a value`);
    if (kind === 'one') {
      if (out[name] !== undefined) throw new UsageError(`API_MISUSE: --${name} given twice`);
      out[name] = values[0];
    } else {
      out[name] = [...(out[name] ?? []), ...values];
    }
  }
  return out;
}

function readInput(path, what) {
  try {
    return new Uint8Array(readFileSync(path === '-' ? 0 : path));
  } catch (err) {
    const why = err.code ?? err.message;
    throw new UsageError(`API_MISUSE: cannot read ${what} ${JSON.stringify(path)}: ${why}`);
  }
}

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

async function writeOutput(path, data) {
  if (path === undefined || path === '-') {
    await new Promise((resolve, reject) =>
      process.stdout.write(data, (err) => (err ? reject(err) : resolve())));
    return;
  }
  try {
    writeFileSync(path, data);
  } catch (err) {
    const why = err.code ?? err.message;
    throw new UsageError(`API_MISUSE: cannot write ${JSON.stringify(path)}: ${why}`);
  }
}

/** Strict RFC 3339 date-time (`2030-01-01T00:00:00Z`, `...+01:00`, fractions allowed). */
function parseRfc3339(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/
    .exec(text);
  if (m) {
    const [, y, mo, d, h, mi, s] = m.map(Number);
    const days = new Date(Date.UTC(y, mo, 0)).getUTCDate(); // days in month `mo`
    const off = m[8].length === 6 ? Number(m[8].slice(4, 6)) : 0;
    if (mo >= 1 && mo <= 12 && d >= 1 && d <= days && h <= 23 && mi <= 59 && s <= 60 && off <= 59) {
      const date = new Date(text.replace(' ', 'T'));
      if (!Number.isNaN(date.getTime())) return date;
    }
  }
  throw new UsageError(`API_MISUSE: --at: not an RFC 3339 time: ${JSON.stringify(text)}`);
}

// ---- commands ------------------------------------------------------------------------------

async function sign(api, opts) {
  if (!opts.key && !opts.store) {
    throw new UsageError('API_MISUSE: sign needs --key (and --cert unless .p12), or --store');
  }
  const digest = opts.digest ?? 'sha256';
  if (!['sha256', 'sha384', 'sha512'].includes(digest)) {
    throw new UsageError(`API_MISUSE: --digest must be sha256, sha384 or sha512`);
  }
  const signingKeys = !opts.key ? await storeSigningKeys(api, opts) : {
    privateKey: readInput(opts.key, '--key'),
    certificate: opts.cert === undefined ? undefined : readInput(opts.cert, '--cert'),
    password: opts.password,
    chain: (opts.chain ?? []).map((f) => readInput(f, '--chain')),
  };
  const message = opts.in === undefined ? await readStdin() : readInput(opts.in, '--in');
  const signed = await api.sign({
    message, signingKeys, detached: !opts.opaque, digest, rsaPss: Boolean(opts['rsa-pss']),
  });
  await writeOutput(opts.out, signed);
  return 0;
}

async function verify(api, opts) {
  if (!opts.trust && !opts.store) {
    throw new UsageError('API_MISUSE: verify needs --trust FILE... or --store');
  }
  const date = opts.at === undefined ? new Date() : parseRfc3339(opts.at);
  const store = opts.store ? await openStore(api, opts.store) : null;
  const trustAnchors = (opts.trust ?? []).map((f) => readInput(f, '--trust'));
  const certificates = (opts.cert ?? []).map((f) => readInput(f, '--cert'));
  if (store) {
    trustAnchors.push(...await store.trustAnchors());
    certificates.push(...await store.certificates());
  }
  const crls = (opts.crl ?? []).map((f) => readInput(f, '--crl'));
  const message = opts.in === undefined ? await readStdin() : readInput(opts.in, '--in');
  const report = await api.verify({ message, trustAnchors, certificates, crls, date });
  if (store) await store.collectSigners({ report });
  if (opts.out !== undefined) await writeOutput(opts.out, report.content);
  if (opts.json) {
    const signers = report.signers.map((s) => ({
      status: s.status,
      code: s.code,
      reason: s.reason,
      email: s.email ?? null,
      subject: s.subject ?? null,
      emails: s.emails,
      signingTime: s.signingTime ? s.signingTime.toISOString() : null,
      digestAlgorithm: s.digestAlgorithm,
      signatureAlgorithm: s.signatureAlgorithm,
    }));
    process.stdout.write(`${JSON.stringify({ signers })}\n`);
  } else if (report.signers.length === 0) {
    process.stdout.write('no signers\n');
  } else {
    for (const s of report.signers) {
      const who = s.email ?? s.subject ?? 'unknown signer';
      process.stdout.write(`${s.status}: ${who} (${s.code}: ${s.reason})\n`);
    }
  }
  return report.valid ? 0 : 1;
}

// ---- encrypt, decrypt, open ----------------------------------------------------------------

const CLI_CIPHERS = ['aes128-gcm', 'aes256-gcm', 'aes128-cbc', 'aes256-cbc', 'chacha20-poly1305'];

function keyOptions(opts, keyFlag, certFlag) {
  if (!opts[keyFlag]) return undefined;
  return {
    privateKey: readInput(opts[keyFlag], `--${keyFlag}`),
    certificate: opts[certFlag] === undefined ? undefined : readInput(opts[certFlag], `--${certFlag}`),
    password: opts.password,
  };
}

async function encrypt(api, opts) {
  if (!opts.to) throw new UsageError('API_MISUSE: encrypt needs --to FILE...');
  const cipher = opts.cipher ?? 'aes256-gcm';
  if (!CLI_CIPHERS.includes(cipher)) {
    throw new UsageError(`API_MISUSE: --cipher must be one of ${CLI_CIPHERS.join(', ')}`);
  }
  if (opts['sign-cert'] && !opts['sign-key']) {
    throw new UsageError('API_MISUSE: --sign-cert needs --sign-key');
  }
  const store = opts.store ? await openStore(api, opts.store) : undefined;
  const encryptionKeys = opts.to.map((f) => (store && isAddress(f) ? f : readInput(f, '--to')));
  const signingKeys = keyOptions(opts, 'sign-key', 'sign-cert')
    ?? (store && opts.from ? await storeSigningKeys(api, opts) : undefined);
  const message = opts.in === undefined ? await readStdin() : readInput(opts.in, '--in');
  const out = await api.encrypt({
    message, encryptionKeys, rsaOaep: Boolean(opts['rsa-oaep']),
    // With a store and no --cipher, what the recipients advertised chooses the cipher.
    ...(opts.cipher || !store ? { cipher } : {}),
    ...(signingKeys ? { signingKeys } : {}),
    ...(store ? { store } : {}),
  });
  await writeOutput(opts.out, out);
  return 0;
}

async function decrypt(api, opts) {
  if (!opts.key && !opts.store) {
    throw new UsageError('API_MISUSE: decrypt needs --key (and --cert unless .p12), or --store');
  }
  const decryptionKeys = opts.key
    ? keyOptions(opts, 'key', 'cert')
    : await storeIdentities(api, opts);
  const message = opts.in === undefined ? await readStdin() : readInput(opts.in, '--in');
  const d = await api.decrypt({ message, decryptionKeys });
  await writeOutput(opts.out, d.message);
  return 0;
}

function signerJson(s) {
  return {
    status: s.status,
    code: s.code,
    reason: s.reason,
    email: s.email ?? null,
    subject: s.subject ?? null,
    emails: s.emails,
    signingTime: s.signingTime ? s.signingTime.toISOString() : null,
    digestAlgorithm: s.digestAlgorithm,
    signatureAlgorithm: s.signatureAlgorithm,
  };
}

async function open(api, opts) {
  if (opts.cert && !opts.key) throw new UsageError('API_MISUSE: --cert needs --key');
  const date = opts.at === undefined ? new Date() : parseRfc3339(opts.at);
  const store = opts.store ? await openStore(api, opts.store) : undefined;
  const decryptionKeys = keyOptions(opts, 'key', 'cert')
    ?? (store && hasPassphrase(opts) ? await storeIdentities(api, opts) : undefined);
  const message = opts.in === undefined ? await readStdin() : readInput(opts.in, '--in');
  const report = await api.open({
    ...(store ? { store } : {}),
    message,
    trustAnchors: (opts.trust ?? []).map((f) => readInput(f, '--trust')),
    crls: (opts.crl ?? []).map((f) => readInput(f, '--crl')),
    date,
    ...(decryptionKeys ? { decryptionKeys } : {}),
  });
  if (opts.out !== undefined) await writeOutput(opts.out, report.content);
  const layers = report.layers.map((l) => {
    if (l.type === 'signed') return { type: 'signed', opaque: l.opaque, signers: l.signers.map(signerJson) };
    if (l.type === 'undecryptable') return { type: 'undecryptable', code: l.code };
    return { type: l.type, cipher: l.cipher, authenticated: l.authenticated };
  });
  const headers = effectiveHeaders(report);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({
      layers, authenticated: report.authenticated, signedValid: report.signedValid, headers,
      headerProtection: report.protectedHeaders?.mode ?? null,
      headerDisagreements: report.protectedHeaders?.disagreements ?? [],
      headerProtectionDowngrade: report.protectedHeaders?.modeMismatch ?? false,
    })}\n`);
  } else {
    for (const l of layers) {
      if (l.type === 'signed') {
        for (const s of l.signers) {
          const who = s.email ?? s.subject ?? 'unknown signer';
          process.stdout.write(`signed: ${s.status}: ${who} (${s.code}: ${s.reason})\n`);
        }
      } else if (l.type === 'undecryptable') {
        process.stdout.write(`encrypted: cannot decrypt (${l.code})\n`);
      } else {
        process.stdout.write(`encrypted: ${l.cipher}${l.authenticated ? ' (authenticated)' : ''}\n`);
      }
    }
    for (const d of report.protectedHeaders?.disagreements ?? []) {
      process.stdout.write(`warning: ${d.name}: outer ${JSON.stringify(d.outer)} but protected ${JSON.stringify(d.protected)}\n`);
    }
    if (!report.authenticated) {
      process.stdout.write('warning: the content is not protected against modification\n');
    }
  }
  const undecryptable = layers.find((l) => l.type === 'undecryptable');
  if (undecryptable) {
    throw new UsageError(`${undecryptable.code}: a layer could not be decrypted`);
  }
  const allValid = layers.every((l) => l.type !== 'signed' || (l.signers.length > 0
    && l.signers.every((s) => s.status === 'valid')));
  return allValid ? 0 : 1;
}

/** The header fields a reader should show: the protected ones when present, else the outer. */
function effectiveHeaders(report) {
  const out = {};
  const names = ['from', 'to', 'cc', 'subject', 'date', 'message-id', 'reply-to', 'in-reply-to',
    'references'];
  if (report.protectedHeaders) {
    for (const [name, value] of report.protectedHeaders.fields) {
      const key = name.toLowerCase();
      if (names.includes(key) && !(key in out)) out[key] = value;
    }
    return out;
  }
  const unfolded = report.headers.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const i = line.indexOf(':');
    const key = line.slice(0, i).trim().toLowerCase();
    if (i > 0 && names.includes(key) && !(key in out)) out[key] = line.slice(i + 1).trim();
  }
  return out;
}

async function compose(api, opts) {
  for (const flag of ['from', 'to', 'subject']) {
    if (opts[flag] === undefined) throw new UsageError(`API_MISUSE: compose needs --${flag}`);
  }
  const text = opts.text === undefined ? undefined : new TextDecoder().decode(readInput(opts.text, '--text'));
  const html = opts.html === undefined ? undefined : new TextDecoder().decode(readInput(opts.html, '--html'));
  const attachments = (opts.attach ?? []).map((f) => ({
    filename: f.split('/').pop(),
    contentType: 'application/octet-stream',
    data: readInput(f, '--attach'),
  }));
  const composeOptions = {
    from: opts.from, to: opts.to, cc: opts.cc ?? [], bcc: opts.bcc ?? [], subject: opts.subject,
    ...(text !== undefined ? { text } : {}), ...(html !== undefined ? { html } : {}), attachments,
  };
  if (!opts.sign && !opts.encrypt) {
    await writeOutput(opts.out, await api.compose(composeOptions));
    return 0;
  }
  const keys = await composeKeys(api, opts);
  const sealed = await api.seal({
    compose: composeOptions, sign: Boolean(opts.sign), encrypt: Boolean(opts.encrypt),
    ...(keys.signingKeys ? { signingKeys: keys.signingKeys } : {}),
    ...(opts.encrypt && !keys.store ? { encryptionKeys: keys.encryptionKeys } : {}),
    ...(keys.store ? { store: keys.store } : {}),
    ...(opts.cipher ? { cipher: opts.cipher } : {}),
    ...(opts.hcp ? { hcp: opts.hcp } : {}),
    output: 'bytes',
  });
  await writeOutput(opts.out, sealed.message);
  return 0;
}

/** Keys for compose from files (--key/--cert, --recipient-cert). */
async function composeKeys(api, opts) {
  if (opts.store !== undefined) return storeKeys(api, opts);
  if (opts.sign && !opts.key) throw new UsageError('API_MISUSE: --sign needs --store or --key');
  const signingKeys = opts.sign ? keyOptions(opts, 'key', 'cert') : undefined;
  const encryptionKeys = (opts['recipient-cert'] ?? []).map((f) => readInput(f, '--recipient-cert'));
  if (opts.encrypt && encryptionKeys.length === 0) {
    throw new UsageError('API_MISUSE: --encrypt needs --store or --recipient-cert FILE... (recipients and yourself)');
  }
  return { signingKeys, encryptionKeys };
}

/** compose --store DIR --password PW: the sender's identity, unlocked with PW (or --passphrase,
 *  CACHET_PASSPHRASE), and the store, which seal searches for every recipient's certificate. */
async function storeKeys(api, opts) {
  const store = await openStore(api, opts.store);
  const passphrase = opts.password ?? passphraseOf(opts);
  const signingKeys = opts.sign
    ? await store.unlock({ email: addrOf(opts.from), passphrase })
    : undefined;
  return { signingKeys, store };
}

function addrOf(text) {
  return (/<([^<>]+)>\s*$/.exec(text)?.[1] ?? text).trim();
}

const COMMANDS = { sign, verify, encrypt, decrypt, open, compose };

// ---- key store commands (`--store DIR`: src/js/keystore.js over a FileAdapter) -------------

SPECS.import = {
  p12: 'one', key: 'one', cert: 'one', chain: 'many', password: 'one', passphrase: 'one',
  store: 'one', iterations: 'one',
};
SPECS.trust = { add: 'many', replace: 'many', list: 'flag', store: 'one' };
SPECS.list = { store: 'one', json: 'flag', at: 'one' };
SPECS.export = {
  store: 'one', from: 'one', passphrase: 'one', password: 'one', legacy: 'flag', out: 'one',
};
SPECS.sign.store = 'one';
SPECS.sign.from = 'one';
SPECS.sign.passphrase = 'one';
SPECS.verify.store = 'one';
Object.assign(SPECS.encrypt, { store: 'one', from: 'one', passphrase: 'one' });
Object.assign(SPECS.decrypt, { store: 'one', passphrase: 'one' });
Object.assign(SPECS.open, { store: 'one', passphrase: 'one' });
SPECS.compose.passphrase = 'one';

const STORE_NAME = 'default';

function hasPassphrase(opts) {
  return opts.passphrase !== undefined || Boolean(process.env.CACHET_PASSPHRASE);
}

/** `--to bob@example.org` (with --store): an address, unless a file of that name exists. */
function isAddress(value) {
  return /^[^\s@<>"/]+@[^\s@<>"/]+$/.test(value) && !existsSync(value);
}

function openStore(api, dir, iterations) {
  return api.KeyStore.open(STORE_NAME, {
    adapter: new api.FileAdapter(dir), idleTimeout: 0, ...(iterations ? { iterations } : {}),
  });
}

function needStore(opts, command) {
  if (!opts.store) throw new UsageError(`API_MISUSE: ${command} needs --store DIR`);
}

function passphraseOf(opts, fallback) {
  const value = opts.passphrase ?? (process.env.CACHET_PASSPHRASE || undefined) ?? fallback;
  if (value === undefined || value === '') {
    throw new UsageError('API_MISUSE: give --passphrase (or set CACHET_PASSPHRASE)');
  }
  return value;
}

function describeItem(item) {
  const who = item.emails[0] ?? item.subject;
  const until = item.notAfter.toISOString().slice(0, 10);
  return `${item.id}  ${item.store.padEnd(12)} ${who} (until ${until})`;
}

async function importCommand(api, opts) {
  needStore(opts, 'import');
  if (!opts.p12 === !opts.key) {
    throw new UsageError('API_MISUSE: import needs --p12 FILE or --key FILE');
  }
  let iterations;
  if (opts.iterations !== undefined) {
    iterations = Number(opts.iterations);
    if (!/^\d+$/.test(opts.iterations) || iterations < 1 || iterations > 10_000_000) {
      throw new UsageError('API_MISUSE: --iterations must be an integer in 1..10000000');
    }
  }
  const passphrase = passphraseOf(opts, opts.password);
  const store = await openStore(api, opts.store, iterations);
  const item = opts.p12
    ? await store.importPkcs12({
      data: readInput(opts.p12, '--p12'), password: opts.password ?? '', passphrase,
    })
    : await store.importKey({
      privateKey: readInput(opts.key, '--key'),
      certificate: opts.cert === undefined ? undefined : readInput(opts.cert, '--cert'),
      chain: (opts.chain ?? []).map((f) => readInput(f, '--chain')),
      password: opts.password,
      passphrase,
    });
  process.stdout.write(`imported ${describeItem(item)}\n`);
  return 0;
}

async function trustCommand(api, opts) {
  needStore(opts, 'trust');
  const actions = [opts.add, opts.replace, opts.list].filter((x) => x !== undefined).length;
  if (actions !== 1) {
    throw new UsageError('API_MISUSE: trust needs one of --add, --replace, --list');
  }
  const store = await openStore(api, opts.store);
  if (opts.list) {
    for (const item of (await store.list({ store: 'trustAnchors' })).items) {
      process.stdout.write(`${item.id}  ${item.subject}\n`);
    }
    return 0;
  }
  const flag = opts.add ? '--add' : '--replace';
  const data = (opts.add ?? opts.replace).map((f) => readInput(f, flag));
  const items = opts.add
    ? await store.addTrustAnchors({ data })
    : await store.replaceTrustAnchors({ data });
  for (const item of items) process.stdout.write(`trusted ${item.id}  ${item.subject}\n`);
  return 0;
}

async function listCommand(api, opts) {
  needStore(opts, 'list');
  const store = await openStore(api, opts.store);
  const date = opts.at === undefined ? new Date() : parseRfc3339(opts.at);
  const { items, corrupted } = await store.list({ date });
  if (opts.json) {
    const out = items.map((x) => ({
      id: x.id, store: x.store, subject: x.subject, emails: x.emails, notBefore: x.notBefore,
      notAfter: x.notAfter, fingerprint: x.fingerprint, canSign: x.canSign,
      canEncrypt: x.canEncrypt, status: x.status, statusCode: x.statusCode,
    }));
    process.stdout.write(`${JSON.stringify({ items: out, corrupted })}\n`);
  } else {
    for (const item of items) process.stdout.write(`${describeItem(item)} ${item.status}\n`);
    for (const c of corrupted) process.stdout.write(`${c.id}  ${c.store.padEnd(12)} CORRUPTED\n`);
  }
  return corrupted.length > 0 ? 1 : 0;
}

/** `sign --store DIR [--from ADDRESS]`: the stored identity, unlocked. */
async function storeSigningKeys(api, opts) {
  const store = await openStore(api, opts.store);
  const passphrase = passphraseOf(opts);
  if (opts.from) return store.unlock({ email: opts.from, passphrase });
  const identities = (await store.list({ store: 'identities' })).items.filter((x) => x.canSign);
  if (identities.length !== 1) {
    throw new UsageError(
      `API_MISUSE: the store holds ${identities.length} signing identities: give --from ADDRESS`);
  }
  return store.unlock({ id: identities[0].id, passphrase });
}

/** `decrypt --store DIR` / `open --store DIR`: every stored identity the passphrase unlocks. */
async function storeIdentities(api, opts) {
  const store = await openStore(api, opts.store);
  const passphrase = passphraseOf(opts);
  const unlocked = [];
  for (const item of (await store.list({ store: 'identities' })).items) {
    try {
      unlocked.push(await store.unlock({ id: item.id, passphrase }));
    } catch (err) {
      if (err?.code !== 'BAD_PASSWORD') throw err;
    }
  }
  if (unlocked.length === 0) {
    throw new UsageError('BAD_PASSWORD: the passphrase unlocks no identity in the store');
  }
  return unlocked;
}

async function exportCommand(api, opts) {
  needStore(opts, 'export');
  if (!opts.from) throw new UsageError('API_MISUSE: export needs --from ADDRESS');
  if (!opts.password) throw new UsageError('API_MISUSE: export needs --password (of the file)');
  if (!opts.out || opts.out === '-') throw new UsageError('API_MISUSE: export needs --out FILE');
  const store = await openStore(api, opts.store);
  const p12 = await store.exportPkcs12({
    email: opts.from, passphrase: passphraseOf(opts), password: opts.password,
    legacy: Boolean(opts.legacy),
  });
  await writeOutput(opts.out, p12);
  return 0;
}

Object.assign(COMMANDS, {
  import: importCommand, trust: trustCommand, list: listCommand, export: exportCommand,
});

// ---- mail submission (`cachet submit`: src/js/submit.js) ----------------------------------

SPECS.submit = { jmap: 'one', user: 'one', 'password-env': 'one', bcc: 'many', in: 'one' };

async function submitCommand(api, opts) {
  for (const flag of ['jmap', 'user', 'password-env']) {
    if (opts[flag] === undefined) throw new UsageError(`API_MISUSE: submit needs --${flag}`);
  }
  const variable = opts['password-env'];
  const password = process.env[variable];
  if (password === undefined || password === '') {
    throw new UsageError('API_MISUSE: --password-env: the environment variable '
      + `${JSON.stringify(variable)} is not set`);
  }
  const message = opts.in === undefined ? await readStdin() : readInput(opts.in, '--in');
  const transport = api.jmap({ sessionUrl: opts.jmap, auth: { username: opts.user, password } });
  const sent = await api.submit({ message, bcc: opts.bcc ?? [], transport });
  process.stdout.write(`${sent.emailId}\n`);
  return 0;
}

Object.assign(COMMANDS, { submit: submitCommand });

async function main(argv) {
  const [command, ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === '--version' || command === '-V' || command === 'version') {
    const { version } = await loadApi();
    process.stdout.write(`cachet ${version}\n`);
    return 0;
  }
  if (!(command in SPECS)) {
    const what =
      command === undefined ? 'no command' : `unknown command ${JSON.stringify(command)}`;
    throw new UsageError(`API_MISUSE: ${what} (try cachet --help)`);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const opts = parseArgs(command, rest);
  const api = await loadApi();
  return COMMANDS[command](api, opts);
}

function report(err) {
  if (err instanceof UsageError) return err.message;
  if (err && typeof err.code === 'string' && err.name === 'CachetError') {
    const msg = String(err.message).split('\n')[0];
    return msg.startsWith(`${err.code}:`) ? msg : `${err.code}: ${msg}`;
  }
  return `INTERNAL: ${err?.message ?? err}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`cachet: ${report(err)}\n`);
    process.exitCode = 2;
  },
);
