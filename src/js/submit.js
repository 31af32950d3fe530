// Mail submission: hand a finished (sealed) RFC 5322 message to a server, byte for byte.
//
// `submit({ message, envelope, bcc, transport })` with a transport from `jmap()` (RFC 8620/8621:
// session, blob upload, Email/import into Drafts, EmailSubmission/set with an explicit envelope,
// then moved to Sent), `http()` (POST message/rfc822) or a caller-supplied
// `async (bytes, envelope) => result` function.
//
// The SMTP envelope is how Bcc recipients are reached: a sealed message never names them. Pass
// them in `envelope.rcptTo` or, when the envelope is derived from the message's From/To/Cc, in
// `bcc`. Nothing is reported sent unless the server said it was: every failure is a CachetError
// (SUBMIT_AUTH, SUBMIT_NETWORK, SUBMIT_SERVER, SUBMIT_UPLOAD, SUBMIT_REJECTED, SUBMIT_SESSION).
//
// What this module does not do: compose, sign or encrypt (see compose/seal), alter the message
// (not even its line endings), retry, or keep a copy. No dependencies: global `fetch` only.
// Passwords and bearer tokens go into the Authorization header and nowhere else.

import { CachetError, misuse } from './errors.js';
import { checkOptions } from './options.js';

const JMAP_CORE = 'urn:ietf:params:jmap:core';
const JMAP_MAIL = 'urn:ietf:params:jmap:mail';
const JMAP_SUBMISSION = 'urn:ietf:params:jmap:submission';

const TRANSPORT = Symbol('cachet.transport');

// ---- options and values ---------------------------------------------------------------------

function messageBytes(value) {
  if (typeof value === 'string') return new TextEncoder().encode(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  throw misuse('submit: message: expected a string or a Uint8Array (raw RFC 5322)');
}

// An SMTP mailbox: local@domain, no white space, brackets or line breaks (no SMTP injection).
const MAILBOX = /^[^\s<>()",;:@\\]+@[^\s<>()",;:@\\]+$/u;

function checkAddress(value, what) {
  if (typeof value !== 'string' || !MAILBOX.test(value)) {
    throw misuse(`submit: ${what}: not an address (local@domain)`);
  }
  return value;
}

function checkEnvelope(envelope) {
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) {
    throw misuse('submit: envelope: expected { mailFrom, rcptTo: [...] }');
  }
  for (const key of Object.keys(envelope)) {
    if (key !== 'mailFrom' && key !== 'rcptTo') {
      throw misuse(`submit: envelope: unknown key ${JSON.stringify(key)}`);
    }
  }
  if (!Array.isArray(envelope.rcptTo)) throw misuse('submit: envelope.rcptTo: expected an array');
  return {
    mailFrom: checkAddress(envelope.mailFrom, 'envelope.mailFrom'),
    rcptTo: envelope.rcptTo.map((a) => checkAddress(a, 'envelope.rcptTo')),
  };
}

function dedupe(addresses) {
  const seen = new Set();
  return addresses.filter((a) => {
    const key = a.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// ---- the envelope from the message's headers ------------------------------------------------

const MAX_HEADER_BYTES = 1 << 20;

/** The header section (unfolded), as `[[lowercase name, value], ...]`. Decodes as UTF-8
 *  (RFC 6532), and only the header, so a large body costs nothing. */
export function parseHeaders(bytes) {
  let end = -1;
  const limit = Math.min(bytes.length, MAX_HEADER_BYTES);
  for (let i = 0; i < limit; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i + 1] === 0x0a) { end = i + 1; break; }
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) { end = i + 1; break; }
  }
  if (end < 0) end = limit;
  const text = new TextDecoder('utf-8').decode(bytes.subarray(0, end));
  const headers = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && headers.length > 0) {
      headers[headers.length - 1][1] += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
  }
  return headers;
}

/** The addr-specs of an RFC 5322 address list: display names, quoted strings, comments,
 *  groups (`team: a@x, b@y;`) and obsolete routes (`<@relay:a@x>`) are handled. */
export function parseAddressList(value) {
  const out = [];
  let bare = '';
  let angle = null;
  const flush = () => {
    const spec = (angle ?? bare).trim().replace(/^@[^:]*:/, '');
    if (spec.includes('@')) out.push(spec.replace(/\s+/g, ''));
    bare = '';
    angle = null;
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '"') {
      // A quoted string: a display name, or the local part of a bare address.
      let q = '"';
      for (i++; i < value.length && value[i] !== '"'; i++) {
        if (value[i] === '\\') i++;
        q += value[i] ?? '';
      }
      q += '"';
      if (angle !== null) angle += q; else bare += q;
    } else if (c === '(') {
      let depth = 1;
      for (i++; i < value.length && depth > 0; i++) {
        if (value[i] === '\\') i++;
        else if (value[i] === '(') depth++;
        else if (value[i] === ')') depth--;
      }
      i--;
    } else if (c === '<') {
      angle = '';
      for (i++; i < value.length && value[i] !== '>'; i++) angle += value[i];
    } else if (c === ',' || c === ';') {
      flush();
    } else if (c === ':' && angle === null && !bare.includes('@')) {
      bare = ''; // a group's display name
    } else if (angle === null) {
      bare += c;
    }
  }
  flush();
  return out;
}

/** `{ mailFrom, rcptTo }` from the message's From (or Sender), To and Cc headers. */
export function envelopeFromMessage(bytes) {
  const headers = parseHeaders(bytes);
  const all = (name) => headers.filter(([n]) => n === name).flatMap(([, v]) => parseAddressList(v));
  const from = all('sender')[0] ?? all('from')[0];
  if (from === undefined) {
    throw misuse('submit: the message has no From address: pass envelope.mailFrom');
  }
  return { mailFrom: from, rcptTo: dedupe([...all('to'), ...all('cc')]) };
}

// ---- submit ---------------------------------------------------------------------------------

/**
 * Submit a finished message. `message`: a string or bytes (raw RFC 5322 with CRLF), sent as is.
 * `envelope`: `{ mailFrom, rcptTo: [...] }`; when absent, derived from the message's From
 * (Sender when present), To and Cc. `bcc`: addresses added to the envelope's recipients (they
 * never appear in the message). `transport`: `jmap(...)`, `http(...)` or
 * `async (bytes, envelope) => result`. Resolves with the transport's result (for JMAP:
 * `{ id, emailId, threadId, blobId, undoStatus, envelope, movedToSent }`).
 */
export async function submit(options) {
  checkOptions(options, 'submit', ['message', 'envelope', 'bcc', 'transport']);
  const { message, envelope, bcc, transport } = options;
  if (message === undefined) throw misuse('submit: message is required');
  const bytes = messageBytes(message);
  if (bytes.length === 0) throw misuse('submit: message is empty');
  const send = transportOf(transport);
  const base = envelope === undefined || envelope === null
    ? envelopeFromMessage(bytes) : checkEnvelope(envelope);
  let extra = [];
  if (bcc !== undefined && bcc !== null) {
    extra = (Array.isArray(bcc) ? bcc : [bcc]).map((a) => checkAddress(a, 'bcc'));
  }
  const env = {
    mailFrom: checkAddress(base.mailFrom, 'envelope.mailFrom'),
    rcptTo: dedupe([...base.rcptTo, ...extra].map((a) => checkAddress(a, 'envelope.rcptTo'))),
  };
  if (env.rcptTo.length === 0) throw misuse('submit: no recipients (To, Cc, bcc or envelope)');
  try {
    return await send(bytes, { mailFrom: env.mailFrom, rcptTo: [...env.rcptTo] });
  } catch (err) {
    if (err instanceof CachetError) throw err;
    throw new CachetError('SUBMIT_SERVER',
      `SUBMIT_SERVER: the transport failed: ${err?.message ?? err}`, { cause: err });
  }
}

function transportOf(transport) {
  if (typeof transport === 'function') return transport;
  if (transport && typeof transport === 'object' && typeof transport[TRANSPORT] === 'function') {
    return transport[TRANSPORT];
  }
  throw misuse('submit: transport: expected jmap(...), http(...) or an async function');
}

// ---- HTTP plumbing --------------------------------------------------------------------------

function fail(code, what, extra) {
  return new CachetError(code, `${code}: ${what}`, extra);
}

function checkUrl(value, fn, what) {
  let url;
  try {
    url = new URL(value);
  } catch {
    throw misuse(`${fn}: ${what}: expected an absolute http(s) URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw misuse(`${fn}: ${what}: expected an http(s) URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw misuse(`${fn}: ${what}: credentials go in auth, not in the URL`);
  }
  return url;
}

/** The URL for messages: origin and path, never a query (it could hold a token). */
function shown(url) {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

function base64Utf8(text) {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

function authHeader(auth, fn) {
  if (auth === undefined || auth === null) return undefined;
  if (typeof auth !== 'object' || Array.isArray(auth)) {
    throw misuse(`${fn}: auth: expected { username, password } or { bearer }`);
  }
  const keys = Object.keys(auth).sort().join(',');
  if (keys === 'bearer' && typeof auth.bearer === 'string' && auth.bearer !== '') {
    if (/[\r\n]/.test(auth.bearer)) throw misuse(`${fn}: auth.bearer: no line breaks`);
    return `Bearer ${auth.bearer}`;
  }
  if (keys === 'password,username' && typeof auth.username === 'string' &&
      typeof auth.password === 'string') {
    if (auth.username.includes(':')) throw misuse(`${fn}: auth.username: no colon allowed`);
    return `Basic ${base64Utf8(`${auth.username}:${auth.password}`)}`;
  }
  throw misuse(`${fn}: auth: expected { username, password } or { bearer }`);
}

function fetchOf(value, fn) {
  if (value !== undefined && value !== null) {
    if (typeof value !== 'function') throw misuse(`${fn}: fetch: expected a function`);
    return value;
  }
  if (typeof globalThis.fetch !== 'function') throw misuse(`${fn}: no global fetch: pass one`);
  return (...args) => globalThis.fetch(...args);
}

/** fetch, with a network failure (refused, DNS, reset, CORS) as SUBMIT_NETWORK. */
async function request(doFetch, url, init, what) {
  try {
    return await doFetch(url, init);
  } catch (err) {
    if (err instanceof CachetError) throw err;
    const why = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(err);
    throw fail('SUBMIT_NETWORK', `${what}: ${shown(url)} could not be reached (${why})`,
      { detail: shown(url), cause: err });
  }
}

function checkStatus(res, url, what, otherCode) {
  if (res.ok) return;
  const status = `HTTP ${res.status}`;
  if (res.status === 401 || res.status === 403) {
    throw fail('SUBMIT_AUTH', `${what}: ${shown(url)} refused the credentials (${status})`,
      { detail: status });
  }
  if (res.status >= 500) {
    throw fail('SUBMIT_SERVER', `${what}: ${shown(url)} failed (${status})`, { detail: status });
  }
  throw fail(otherCode, `${what}: ${shown(url)} answered ${status}`, { detail: status });
}

async function readJson(res, url, what, code) {
  let text;
  try {
    text = await res.text();
  } catch (err) {
    throw fail('SUBMIT_NETWORK', `${what}: the answer from ${shown(url)} was cut off`,
      { cause: err });
  }
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object') throw new TypeError('not an object');
    return value;
  } catch {
    throw fail(code, `${what}: ${shown(url)} did not answer with a JSON object`);
  }
}

// ---- JMAP -----------------------------------------------------------------------------------

/**
 * A JMAP transport (RFC 8620, 8621). `sessionUrl`: the session resource (e.g.
 * `https://mail.example/jmap/` or `/.well-known/jmap`); `auth`: `{ username, password }` (HTTP
 * Basic) or `{ bearer }`. Optional: `accountId` and `identityId` (default: the primary
 * submission account, and the identity whose email is the envelope's MAIL FROM), `fetch`.
 */
export function jmap(options) {
  const fn = 'jmap';
  checkOptions(options, fn, ['sessionUrl', 'auth', 'accountId', 'identityId', 'fetch']);
  const sessionUrl = checkUrl(options.sessionUrl, fn, 'sessionUrl');
  const authorization = authHeader(options.auth, fn);
  const doFetch = fetchOf(options.fetch, fn);
  for (const key of ['accountId', 'identityId']) {
    if (options[key] !== undefined && (typeof options[key] !== 'string' || options[key] === '')) {
      throw misuse(`${fn}: ${key}: expected a string`);
    }
  }
  const config = {
    sessionUrl, authorization, doFetch, accountId: options.accountId,
    identityId: options.identityId,
  };
  return Object.freeze({
    kind: 'jmap',
    [TRANSPORT]: (bytes, envelope) => jmapSend(config, bytes, envelope),
  });
}

async function jmapSend(config, bytes, envelope) {
  const headers = (extra) => {
    const h = { Accept: 'application/json', ...extra };
    if (config.authorization) h.Authorization = config.authorization;
    return h;
  };
  const session = await jmapSession(config, headers);
  const { accountId, apiUrl, uploadUrl } = session;

  // Upload the exact bytes.
  const upUrl = new URL(uploadUrl.replaceAll('{accountId}', encodeURIComponent(accountId)),
    session.base);
  const upRes = await request(config.doFetch, upUrl, {
    method: 'POST', headers: headers({ 'Content-Type': 'message/rfc822' }), body: bytes,
  }, 'upload');
  if (upRes.status === 413) {
    throw fail('SUBMIT_UPLOAD',
      `upload: the message (${bytes.length} bytes) is too large for the server`,
      { detail: 'HTTP 413' });
  }
  checkStatus(upRes, upUrl, 'upload', 'SUBMIT_UPLOAD');
  const blob = await readJson(upRes, upUrl, 'upload', 'SUBMIT_UPLOAD');
  if (typeof blob.blobId !== 'string' || blob.blobId === '') {
    throw fail('SUBMIT_UPLOAD', 'upload: the server returned no blobId');
  }
  if (typeof blob.size === 'number' && blob.size !== bytes.length) {
    throw fail('SUBMIT_UPLOAD',
      `upload: the server stored ${blob.size} bytes of ${bytes.length}`, { detail: 'size' });
  }

  const api = (calls) => jmapCall(config, headers, apiUrl, calls);

  // Find Drafts and Sent by role (their ids are the server's), and the sending identity.
  const first = await api([
    ['Mailbox/query', { accountId, filter: { role: 'drafts' } }, 'd'],
    ['Mailbox/query', { accountId, filter: { role: 'sent' } }, 's'],
    ['Identity/get', { accountId, ids: null }, 'i'],
  ]);
  const drafts = methodResult(first, 'd', 'Mailbox/query').ids?.[0];
  const sent = methodResult(first, 's', 'Mailbox/query').ids?.[0];
  if (typeof drafts !== 'string') {
    throw fail('SUBMIT_SESSION', 'the account has no Drafts mailbox (role "drafts")',
      { detail: 'drafts' });
  }
  const identityId = config.identityId ?? pickIdentity(methodResult(first, 'i', 'Identity/get'),
    envelope.mailFrom);

  // One request: import into Drafts, submit with the explicit envelope (the only way Bcc
  // recipients are reached), and on success move it to Sent.
  const update = {
    [`mailboxIds/${drafts}`]: null, 'keywords/$draft': null, 'keywords/$seen': true,
  };
  if (typeof sent === 'string') update[`mailboxIds/${sent}`] = true;
  const submission = (emailId) => ['EmailSubmission/set', {
    accountId,
    create: {
      s1: {
        identityId,
        emailId,
        envelope: {
          mailFrom: { email: envelope.mailFrom, parameters: null },
          rcptTo: envelope.rcptTo.map((email) => ({ email, parameters: null })),
        },
      },
    },
    onSuccessUpdateEmail: { '#s1': update },
  }, 'submit'];
  let responses = await api([
    ['Email/import', {
      accountId,
      emails: {
        e1: { blobId: blob.blobId, mailboxIds: { [drafts]: true }, keywords: { $draft: true } },
      },
    }, 'import'],
    submission('#e1'),
  ]);

  const imported = methodResult(responses, 'import', 'Email/import');
  let email = imported.created?.e1;
  let isNew = true;
  if (!email || typeof email.id !== 'string') {
    // A server may refuse a second Email with the same content (RFC 8621 4.8): resending the
    // same bytes then means submitting the existing Email, once we know it holds these bytes.
    email = await existingEmail(api, accountId, imported.notCreated?.e1, blob.blobId);
    if (!email) {
      throw setError('SUBMIT_UPLOAD', 'the server did not import the message',
        imported.notCreated?.e1);
    }
    isNew = false;
    responses = await api([submission(email.id)]);
  }
  let submitted;
  try {
    submitted = methodResult(responses, 'submit', 'EmailSubmission/set');
  } catch (err) {
    if (isNew) await discardDraft(api, accountId, email.id);
    throw err;
  }
  const created = submitted.created?.s1;
  if (!created || typeof created.id !== 'string') {
    if (isNew) await discardDraft(api, accountId, email.id);
    throw setError('SUBMIT_REJECTED', 'the server did not send the message',
      submitted.notCreated?.s1);
  }
  // The implicit Email/set of onSuccessUpdateEmail: sent, but maybe not moved to Sent.
  const moved = responses.find(([name, , id]) => name === 'Email/set' && id === 'submit');
  const movedToSent = typeof sent === 'string' && Boolean(moved && moved[1]?.updated &&
    Object.prototype.hasOwnProperty.call(moved[1].updated, email.id));
  const result = {
    id: created.id,
    emailId: email.id,
    blobId: email.blobId ?? blob.blobId,
    envelope: { mailFrom: envelope.mailFrom, rcptTo: [...envelope.rcptTo] },
    movedToSent,
  };
  if (typeof email.threadId === 'string') result.threadId = email.threadId;
  if (typeof created.undoStatus === 'string') result.undoStatus = created.undoStatus;
  if (typeof created.sendAt === 'string') result.sendAt = created.sendAt;
  return result;
}

/** For an `alreadyExists` import error: the existing Email when it holds exactly `blobId`. */
async function existingEmail(api, accountId, error, blobId) {
  if (error?.type !== 'alreadyExists' || typeof error.existingId !== 'string') return null;
  const got = methodResult(await api([
    ['Email/get', { accountId, ids: [error.existingId], properties: ['blobId', 'threadId'] }, 'g'],
  ]), 'g', 'Email/get');
  const email = Array.isArray(got.list) ? got.list[0] : undefined;
  if (!email || email.id !== error.existingId || email.blobId !== blobId) return null;
  return email;
}

async function jmapSession(config, headers) {
  const url = config.sessionUrl;
  const res = await request(config.doFetch, url, { method: 'GET', headers: headers() }, 'session');
  checkStatus(res, url, 'session', 'SUBMIT_SESSION');
  const session = await readJson(res, url, 'session', 'SUBMIT_SESSION');
  const caps = session.capabilities ?? {};
  for (const cap of [JMAP_CORE, JMAP_MAIL, JMAP_SUBMISSION]) {
    if (!Object.prototype.hasOwnProperty.call(caps, cap)) {
      throw fail('SUBMIT_SESSION', `session: the server lacks ${cap}`, { detail: cap });
    }
  }
  const accounts = session.accounts ?? {};
  const accountId = config.accountId ?? session.primaryAccounts?.[JMAP_SUBMISSION] ??
    Object.keys(accounts).find((id) => accounts[id]?.accountCapabilities?.[JMAP_SUBMISSION]);
  if (typeof accountId !== 'string' || !accounts[accountId]) {
    throw fail('SUBMIT_SESSION', 'session: no account that may submit mail', { detail: 'account' });
  }
  if (typeof session.apiUrl !== 'string' || typeof session.uploadUrl !== 'string') {
    throw fail('SUBMIT_SESSION', 'session: apiUrl or uploadUrl missing');
  }
  // apiUrl and uploadUrl may be relative: resolve them against the session's (final) URL.
  const base = res.url ? new URL(res.url) : url;
  return { accountId, apiUrl: new URL(session.apiUrl, base), uploadUrl: session.uploadUrl, base };
}

async function jmapCall(config, headers, apiUrl, methodCalls) {
  const res = await request(config.doFetch, apiUrl, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ using: [JMAP_CORE, JMAP_MAIL, JMAP_SUBMISSION], methodCalls }),
  }, 'api');
  if (!res.ok && res.status !== 401 && res.status !== 403 && res.status < 500) {
    // A request-level error (RFC 8620 3.6.1) is a problem-details JSON object.
    let problem = {};
    try {
      problem = JSON.parse(await res.text());
    } catch {
      // not JSON: report the status
    }
    const type = typeof problem?.type === 'string' ? problem.type : `HTTP ${res.status}`;
    const code = type.endsWith(':unknownCapability') ? 'SUBMIT_SESSION' : 'SUBMIT_SERVER';
    throw fail(code, `api: the server refused the request (${type})`, { detail: type });
  }
  checkStatus(res, apiUrl, 'api', 'SUBMIT_SERVER');
  const body = await readJson(res, apiUrl, 'api', 'SUBMIT_SERVER');
  if (!Array.isArray(body.methodResponses)) {
    throw fail('SUBMIT_SERVER', 'api: the answer has no methodResponses');
  }
  return body.methodResponses;
}

/** The arguments of the response to call `id`, or a typed error for a method-level error. */
function methodResult(responses, id, name) {
  const found = responses.find((r) => Array.isArray(r) && r[2] === id &&
    (r[0] === name || r[0] === 'error'));
  if (!found || found[1] === null || typeof found[1] !== 'object') {
    throw fail('SUBMIT_SERVER', `${name}: no response from the server`, { detail: name });
  }
  if (found[0] === 'error') {
    const type = typeof found[1].type === 'string' ? found[1].type : 'error';
    const why = typeof found[1].description === 'string' ? `: ${found[1].description}` : '';
    const code = type === 'forbidden' || type === 'accountReadOnly' ? 'SUBMIT_REJECTED'
      : type === 'accountNotFound' || type === 'accountNotSupportedByMethod' ? 'SUBMIT_SESSION'
        : 'SUBMIT_SERVER';
    throw fail(code, `${name}: ${type}${why}`, { detail: type });
  }
  return found[1];
}

/** A SetError (RFC 8620 5.3) as a CachetError: server trouble is SUBMIT_SERVER, the rest `code`. */
function setError(code, what, error) {
  const type = typeof error?.type === 'string' ? error.type : 'unknown';
  const why = typeof error?.description === 'string' ? `: ${error.description}` : '';
  const server = ['serverFail', 'serverUnavailable', 'serverPartialFail'].includes(type);
  const final = server ? 'SUBMIT_SERVER' : code;
  let detail = type;
  if (Array.isArray(error?.invalidRecipients)) {
    detail += ` ${error.invalidRecipients.filter((a) => typeof a === 'string').join(',')}`;
  }
  return fail(final, `${what} (${type}${why})`, { detail });
}

function pickIdentity(identities, mailFrom) {
  const list = Array.isArray(identities.list) ? identities.list : [];
  const want = mailFrom.toLowerCase();
  const exact = list.find((i) => typeof i?.email === 'string' && i.email.toLowerCase() === want);
  const wildcard = list.find((i) => typeof i?.email === 'string' && i.email.startsWith('*@') &&
    want.endsWith(i.email.slice(1).toLowerCase()));
  const chosen = exact ?? wildcard ?? list[0];
  if (!chosen || typeof chosen.id !== 'string') {
    throw fail('SUBMIT_SESSION', 'the account has no identity to send from',
      { detail: 'identity' });
  }
  return chosen.id;
}

/** After a failed submission, remove the draft it left behind (best effort). */
async function discardDraft(api, accountId, emailId) {
  try {
    await api([['Email/set', { accountId, destroy: [emailId] }, 'discard']]);
  } catch {
    // the submission error is what matters
  }
}

// ---- plain HTTP -----------------------------------------------------------------------------

/**
 * A transport that POSTs the message as `message/rfc822` to `url`, with the envelope in the
 * `X-Envelope-From` and `X-Envelope-To` (comma-separated) headers, plus `headers`. Resolves
 * with `{ status, ...the JSON answer }` (any 2xx). Optional: `fetch`.
 */
export function http(options) {
  const fn = 'http';
  checkOptions(options, fn, ['url', 'headers', 'fetch']);
  const url = checkUrl(options.url, fn, 'url');
  const extra = options.headers ?? {};
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) {
    throw misuse(`${fn}: headers: expected an object of strings`);
  }
  for (const [k, v] of Object.entries(extra)) {
    if (typeof v !== 'string' || /[\r\n]/.test(v) || /[\r\n:]/.test(k)) {
      throw misuse(`${fn}: headers: expected an object of strings`);
    }
  }
  const doFetch = fetchOf(options.fetch, fn);
  return Object.freeze({
    kind: 'http',
    [TRANSPORT]: async (bytes, envelope) => {
      const res = await request(doFetch, url, {
        method: 'POST',
        headers: {
          ...extra,
          'Content-Type': 'message/rfc822',
          'X-Envelope-From': envelope.mailFrom,
          'X-Envelope-To': envelope.rcptTo.join(','),
        },
        body: bytes,
      }, 'submit');
      if (res.status === 413) {
        throw fail('SUBMIT_UPLOAD', 'submit: the message is too large for the server',
          { detail: 'HTTP 413' });
      }
      checkStatus(res, url, 'submit', 'SUBMIT_REJECTED');
      let answer = {};
      try {
        const parsed = JSON.parse(await res.text());
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) answer = parsed;
      } catch {
        // a 2xx without JSON is still accepted
      }
      return { ...answer, status: res.status };
    },
  });
}
