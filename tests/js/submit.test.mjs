// submit() without a real server: option checking, the envelope taken from the headers, the
// function and http() transports (against a local node:http server), and jmap() against a
// scripted fetch that answers like a JMAP server, including every failure a server can report.
// The same flow against a real server (Cyrus) is tests/jmap/submit.test.mjs.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import test from 'node:test';

import { cachet, rejectsWith } from './helpers.mjs';

const MESSAGE =
  'From: "Doe, Alice" <alice@example.org>\r\n' +
  'To: Bob <bob@example.org>, (the boss) carol@example.org,\r\n' +
  ' "Eve \\"E\\" <x@y>" <eve@example.org>\r\n' +
  'Cc: Team: frank@example.org, <@relay.example:gina@example.org>;, bob@EXAMPLE.org\r\n' +
  'Subject: hi\r\n' +
  '\r\n' +
  'To: body@example.org is not a header\r\n';

/** A transport function that records what it got. */
function recorder(result = { ok: true }) {
  const calls = [];
  const fn = async (bytes, envelope) => {
    calls.push({ bytes, envelope });
    return result;
  };
  return { fn, calls };
}

test('submit: envelope from From/To/Cc (quoted names, comments, groups, routes, folding) plus bcc',
  async () => {
    const { fn, calls } = recorder();
    const r = await cachet.submit({ message: MESSAGE, bcc: ['dave@example.net', 'carol@example.org'],
      transport: fn });
    assert.deepEqual(r, { ok: true });
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0].envelope, {
      mailFrom: 'alice@example.org',
      rcptTo: ['bob@example.org', 'carol@example.org', 'eve@example.org', 'frank@example.org',
        'gina@example.org', 'dave@example.net'],
    });
    // The exact bytes (UTF-8 of the string), nothing added.
    assert.deepEqual(Buffer.from(calls[0].bytes), Buffer.from(MESSAGE, 'utf8'));
  });

test('submit: an explicit envelope is used as given; Uint8Array messages pass untouched',
  async () => {
    const { fn, calls } = recorder();
    const bytes = new Uint8Array([...Buffer.from('From: a@x.org\r\nTo: b@x.org\r\n\r\n\xff\n')]);
    await cachet.submit({ message: bytes,
      envelope: { mailFrom: 'bounce@x.org', rcptTo: ['z@x.org'] }, transport: fn });
    assert.equal(calls[0].bytes, bytes);
    assert.deepEqual(calls[0].envelope, { mailFrom: 'bounce@x.org', rcptTo: ['z@x.org'] });
    // Sender wins over From for MAIL FROM.
    await cachet.submit({ message: 'From: a@x.org\r\nSender: s@x.org\r\nTo: b@x.org\r\n\r\n',
      transport: fn });
    assert.equal(calls[1].envelope.mailFrom, 's@x.org');
  });

test('submit: API_MISUSE for caller bugs, before anything is sent', async () => {
  const { fn, calls } = recorder();
  const misuse = (options) => rejectsWith(cachet.submit(options), 'API_MISUSE');
  await misuse({ message: MESSAGE, transport: fn, nope: 1 });
  await misuse({ message: MESSAGE });
  await misuse({ message: MESSAGE, transport: {} });
  await misuse({ message: 42, transport: fn });
  await misuse({ message: '', transport: fn });
  await misuse({ transport: fn });
  await misuse({ message: 'To: b@x.org\r\n\r\nno from\r\n', transport: fn });
  await misuse({ message: 'From: a@x.org\r\n\r\nno recipients\r\n', transport: fn });
  await misuse({ message: MESSAGE, transport: fn, envelope: { mailFrom: 'a@x.org', rcptTo: 'b@x.org' } });
  await misuse({ message: MESSAGE, transport: fn, envelope: { mailFrom: 'a@x.org', rcptTo: [], x: 1 } });
  await misuse({ message: MESSAGE, transport: fn, envelope: { mailFrom: 'a@x.org', rcptTo: [] } });
  // No SMTP command injection through an address.
  await misuse({ message: MESSAGE, transport: fn, bcc: ['x@y.org>\r\nRCPT TO:<evil@z.org'] });
  await misuse({ message: MESSAGE, transport: fn,
    envelope: { mailFrom: 'a@x.org\r\nDATA', rcptTo: ['b@x.org'] } });
  assert.equal(calls.length, 0);
  assert.throws(() => cachet.jmap({ sessionUrl: 'https://x.org/jmap/', nope: 1 }), { code: 'API_MISUSE' });
  assert.throws(() => cachet.jmap({ sessionUrl: 'not a url' }), { code: 'API_MISUSE' });
  assert.throws(() => cachet.jmap({ sessionUrl: 'ftp://x.org/' }), { code: 'API_MISUSE' });
  assert.throws(() => cachet.jmap({ sessionUrl: 'https://u:p@x.org/' }), { code: 'API_MISUSE' });
  assert.throws(() => cachet.jmap({ sessionUrl: 'https://x.org/', auth: { username: 'u' } }),
    { code: 'API_MISUSE' });
  assert.throws(() => cachet.jmap({ sessionUrl: 'https://x.org/', auth: { bearer: 't', password: 'p' } }),
    { code: 'API_MISUSE' });
  assert.throws(() => cachet.http({ url: 'https://x.org/', headers: { 'X-A': 'a\r\nb' } }),
    { code: 'API_MISUSE' });
  assert.throws(() => cachet.http({ url: 'https://x.org/', method: 'PUT' }), { code: 'API_MISUSE' });
});

test('submit: a transport function that throws becomes SUBMIT_SERVER; CachetErrors pass', async () => {
  await rejectsWith(cachet.submit({ message: MESSAGE, transport: async () => {
    throw new Error('boom');
  } }), 'SUBMIT_SERVER');
  await rejectsWith(cachet.submit({ message: MESSAGE, transport: async () => {
    throw new cachet.CachetError('SUBMIT_AUTH', 'SUBMIT_AUTH: no');
  } }), 'SUBMIT_AUTH');
});

test('the SUBMIT_* codes are in ERROR_CODES (the README table)', () => {
  for (const code of ['SUBMIT_AUTH', 'SUBMIT_NETWORK', 'SUBMIT_SERVER', 'SUBMIT_UPLOAD',
    'SUBMIT_REJECTED', 'SUBMIT_SESSION']) {
    assert.ok(cachet.ERROR_CODES[code], code);
  }
});

// ---- http() against a local server ----------------------------------------------------------

async function localServer(handler) {
  const srv = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    handler(req, Buffer.concat(chunks), res);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${srv.address().port}/outbox`, close: () => new Promise((r) => srv.close(r)) };
}

test('http(): POSTs the exact bytes with the envelope headers; status codes map to codes',
  async () => {
    let status = 200;
    const seen = [];
    const srv = await localServer((req, body, res) => {
      seen.push({ headers: req.headers, body, method: req.method });
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: 'm1', size: body.length }));
    });
    try {
      const transport = cachet.http({ url: srv.url, headers: { 'X-Api-Key': 'k' } });
      const r = await cachet.submit({ message: MESSAGE, bcc: 'dave@example.net', transport });
      assert.deepEqual(r, { id: 'm1', size: Buffer.byteLength(MESSAGE), status: 200 });
      assert.equal(seen[0].method, 'POST');
      assert.deepEqual(seen[0].body, Buffer.from(MESSAGE));
      assert.equal(seen[0].headers['content-type'], 'message/rfc822');
      assert.equal(seen[0].headers['x-api-key'], 'k');
      assert.equal(seen[0].headers['x-envelope-from'], 'alice@example.org');
      assert.match(seen[0].headers['x-envelope-to'], /,dave@example\.net$/);
      for (const [s, code] of [[401, 'SUBMIT_AUTH'], [403, 'SUBMIT_AUTH'], [500, 'SUBMIT_SERVER'],
        [503, 'SUBMIT_SERVER'], [413, 'SUBMIT_UPLOAD'], [400, 'SUBMIT_REJECTED']]) {
        status = s;
        await rejectsWith(cachet.submit({ message: MESSAGE, transport }), code);
      }
    } finally {
      await srv.close();
    }
    // Nothing listens there any more.
    await rejectsWith(cachet.submit({ message: MESSAGE, transport: cachet.http({ url: srv.url }) }),
      'SUBMIT_NETWORK');
  });

// ---- jmap() against a scripted fetch --------------------------------------------------------

const SESSION = {
  capabilities: {
    'urn:ietf:params:jmap:core': {}, 'urn:ietf:params:jmap:mail': {},
    'urn:ietf:params:jmap:submission': {},
  },
  accounts: { A1: { name: 'alice', accountCapabilities: { 'urn:ietf:params:jmap:submission': {} } } },
  primaryAccounts: { 'urn:ietf:params:jmap:submission': 'A1' },
  apiUrl: 'api/',
  uploadUrl: '/up/{accountId}/',
};

const json = (value, status = 200) => new Response(JSON.stringify(value),
  { status, headers: { 'Content-Type': 'application/json' } });

/** A fake JMAP server. `tweak` overrides single answers: session, upload, import, submit. */
function fakeJmap(tweak = {}) {
  const log = [];
  const fetch = async (url, init = {}) => {
    const u = new URL(url);
    log.push({ url: u.href, method: init.method, headers: init.headers, body: init.body });
    if (u.pathname === '/.well-known/jmap' || u.pathname === '/jmap/session') {
      return tweak.session ? tweak.session() : json(SESSION);
    }
    if (u.pathname === '/up/A1/') {
      if (tweak.upload) return tweak.upload(init.body);
      return json({ accountId: 'A1', blobId: 'B1', type: 'message/rfc822', size: init.body.length });
    }
    if (u.pathname === '/jmap/api/') {
      const req = JSON.parse(init.body);
      const out = [];
      for (const [name, args, id] of req.methodCalls) {
        if (name === 'Mailbox/query') {
          out.push([name, { ids: [args.filter.role === 'drafts' ? 'MD' : 'MS'] }, id]);
        } else if (name === 'Identity/get') {
          out.push([name, { list: [{ id: 'I0', email: 'other@example.org' },
            { id: 'I1', email: 'Alice@Example.org' }] }, id]);
        } else if (name === 'Email/import') {
          out.push(tweak.import?.(args, id) ??
            [name, { created: { e1: { id: 'E1', blobId: 'B1', threadId: 'T1', size: 10 } } }, id]);
        } else if (name === 'EmailSubmission/set') {
          const answer = tweak.submit?.(args, id) ??
            [name, { created: { s1: { id: 'S1', undoStatus: 'final' } } }, id];
          out.push(answer);
          if (answer[0] === name && answer[1].created) {
            out.push(['Email/set', { updated: { [args.create.s1.emailId.replace('#e1', 'E1')]: null } }, id]);
          }
        } else {
          out.push(tweak.other?.(name, args, id) ?? [name, {}, id]);
        }
      }
      return json({ methodResponses: out, sessionState: '0' });
    }
    return new Response('not found', { status: 404 });
  };
  return { fetch, log };
}

const jmapTransport = (fake, extra = {}) => cachet.jmap({
  sessionUrl: 'https://mail.example/jmap/session', auth: { username: 'alice', password: 'pä:ss' },
  fetch: fake.fetch, ...extra,
});

test('jmap(): session, upload, import into Drafts, submission with the envelope, moved to Sent',
  async () => {
    const fake = fakeJmap();
    const r = await cachet.submit({ message: MESSAGE, bcc: ['dave@example.net'], transport: jmapTransport(fake) });
    assert.deepEqual(r, {
      id: 'S1', emailId: 'E1', blobId: 'B1', threadId: 'T1', undoStatus: 'final', movedToSent: true,
      envelope: { mailFrom: 'alice@example.org', rcptTo: ['bob@example.org', 'carol@example.org',
        'eve@example.org', 'frank@example.org', 'gina@example.org', 'dave@example.net'] },
    });
    // Relative apiUrl/uploadUrl resolved against the session URL; Basic auth of UTF-8.
    assert.deepEqual(fake.log.map((l) => `${l.method} ${l.url}`), [
      'GET https://mail.example/jmap/session',
      'POST https://mail.example/up/A1/',
      'POST https://mail.example/jmap/api/',
      'POST https://mail.example/jmap/api/',
    ]);
    const basic = `Basic ${Buffer.from('alice:pä:ss', 'utf8').toString('base64')}`;
    assert.ok(fake.log.every((l) => l.headers.Authorization === basic));
    assert.equal(fake.log[1].headers['Content-Type'], 'message/rfc822');
    assert.deepEqual(Buffer.from(fake.log[1].body), Buffer.from(MESSAGE));
    const { methodCalls } = JSON.parse(fake.log[3].body);
    assert.deepEqual(methodCalls[0], ['Email/import', { accountId: 'A1', emails: {
      e1: { blobId: 'B1', mailboxIds: { MD: true }, keywords: { $draft: true } } } }, 'import']);
    const [name, sub] = methodCalls[1];
    assert.equal(name, 'EmailSubmission/set');
    assert.equal(sub.create.s1.emailId, '#e1');
    assert.equal(sub.create.s1.identityId, 'I1', 'the identity matching MAIL FROM');
    assert.deepEqual(sub.create.s1.envelope.mailFrom, { email: 'alice@example.org', parameters: null });
    assert.ok(sub.create.s1.envelope.rcptTo.some((r) => r.email === 'dave@example.net'));
    assert.deepEqual(sub.onSuccessUpdateEmail, { '#s1': {
      'mailboxIds/MD': null, 'mailboxIds/MS': true, 'keywords/$draft': null, 'keywords/$seen': true } });

    // A bearer token.
    const fake2 = fakeJmap();
    await cachet.submit({ message: MESSAGE, transport: jmapTransport(fake2, { auth: { bearer: 'tok' } }) });
    assert.ok(fake2.log.every((l) => l.headers.Authorization === 'Bearer tok'));
  });

test('jmap(): each server failure is a typed error, and nothing is reported sent', async () => {
  const fails = async (tweak, code, detail) => {
    const fake = fakeJmap(tweak);
    const err = await rejectsWith(cachet.submit({ message: MESSAGE, transport: jmapTransport(fake) }), code);
    if (detail) assert.match(err.detail ?? '', detail);
    assert.ok(!err.message.includes('pä:ss'));
    return fake;
  };
  await fails({ session: () => new Response('', { status: 401 }) }, 'SUBMIT_AUTH');
  await fails({ session: () => new Response('', { status: 403 }) }, 'SUBMIT_AUTH');
  await fails({ session: () => new Response('', { status: 404 }) }, 'SUBMIT_SESSION');
  await fails({ session: () => new Response('<html>', { status: 200 }) }, 'SUBMIT_SESSION');
  await fails({ session: () => new Response('', { status: 502 }) }, 'SUBMIT_SERVER');
  await fails({ session: () => json({ ...SESSION, capabilities: { 'urn:ietf:params:jmap:core': {},
    'urn:ietf:params:jmap:mail': {} } }) }, 'SUBMIT_SESSION', /submission/);
  await fails({ session: () => {
    throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
  } }, 'SUBMIT_NETWORK');
  await fails({ upload: () => new Response('', { status: 413 }) }, 'SUBMIT_UPLOAD');
  await fails({ upload: () => json({ blobId: 'B1', size: 3 }) }, 'SUBMIT_UPLOAD', /size/);
  await fails({ upload: () => json({ size: 3 }) }, 'SUBMIT_UPLOAD');
  await fails({ import: (a, id) => ['Email/import', { notCreated: { e1: { type: 'overQuota' } } }, id] },
    'SUBMIT_UPLOAD', /overQuota/);
  // alreadyExists whose existing Email holds other bytes: not sent.
  await fails({
    import: (a, id) => ['Email/import', { notCreated: { e1: { type: 'alreadyExists', existingId: 'E0' } } }, id],
    other: (name, a, id) => [name, { list: [{ id: 'E0', blobId: 'OTHER' }] }, id],
  }, 'SUBMIT_UPLOAD', /alreadyExists/);
  await fails({ import: (a, id) => ['error', { type: 'serverFail' }, id] }, 'SUBMIT_SERVER', /serverFail/);
  let fake = await fails({ submit: (a, id) => ['EmailSubmission/set', { notCreated: { s1: {
    type: 'forbiddenFrom', description: 'not yours' } } }, id] }, 'SUBMIT_REJECTED', /forbiddenFrom/);
  // The draft the failed submission left behind is destroyed.
  const last = JSON.parse(fake.log.at(-1).body).methodCalls[0];
  assert.deepEqual(last, ['Email/set', { accountId: 'A1', destroy: ['E1'] }, 'discard']);
  await fails({ submit: (a, id) => ['EmailSubmission/set', { notCreated: { s1: {
    type: 'invalidRecipients', invalidRecipients: ['bob@example.org'] } } }, id] },
  'SUBMIT_REJECTED', /invalidRecipients bob@example\.org/);
  await fails({ submit: (a, id) => ['EmailSubmission/set', { notCreated: { s1: { type: 'serverFail' } } }, id] },
    'SUBMIT_SERVER', /serverFail/);
  await fails({ submit: (a, id) => ['error', { type: 'forbidden' }, id] }, 'SUBMIT_REJECTED');
  // A response without `created` for the submission is not "sent".
  fake = await fails({ submit: (a, id) => ['EmailSubmission/set', {}, id] }, 'SUBMIT_REJECTED');
  // No answer at all to the submission call.
  await fails({ submit: () => ['Other/thing', {}, 'zz'] }, 'SUBMIT_SERVER');
  // A request-level problem.
  const problem = (type, status) => () => new Response(JSON.stringify({ type, status }), { status });
  const session = { ...SESSION, apiUrl: '/bad/' };
  for (const [type, status, code] of [
    ['urn:ietf:params:jmap:error:unknownCapability', 400, 'SUBMIT_SESSION'],
    ['urn:ietf:params:jmap:error:limit', 400, 'SUBMIT_SERVER'],
  ]) {
    const f = fakeJmap({ session: () => json(session) });
    const inner = f.fetch;
    const t = cachet.jmap({ sessionUrl: 'https://mail.example/jmap/session', fetch: async (url, init) =>
      (new URL(url).pathname === '/bad/' ? problem(type, status)() : inner(url, init)) });
    await rejectsWith(cachet.submit({ message: MESSAGE, transport: t }), code);
  }
});

test('jmap(): a duplicate of an Email with the same bytes is submitted again', async () => {
  const fake = fakeJmap({
    import: (a, id) => ['Email/import', { notCreated: { e1: { type: 'alreadyExists', existingId: 'E0' } } }, id],
    other: (name, a, id) => [name, { list: [{ id: 'E0', blobId: 'B1', threadId: 'T0' }] }, id],
    submit: (a, id) => ['EmailSubmission/set', { created: { s1: { id: `S-${a.create.s1.emailId}` } } }, id],
  });
  const r = await cachet.submit({ message: MESSAGE, transport: jmapTransport(fake) });
  assert.equal(r.emailId, 'E0');
  assert.equal(r.id, 'S-E0');
  assert.equal(r.threadId, 'T0');
});
