// End to end against a REAL JMAP server: tests/jmap/server.sh installs (when missing) and starts
// Cyrus IMAP (JMAP in cyrus-caldav's httpd) relaying over SMTP to a sink that stores what
// arrives. We seal with the built package, submit through jmap() (and the CLI), and check what
// the sink received: the exact bytes, an SMTP envelope with the Bcc recipient that the message
// does not name, and that OpenSSL verifies and decrypts it. Then every failure mode gives its
// code. Needs root (apt-get, Cyrus's master); skipped otherwise. Everything stops at the end.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { CLI, ROOT, cachet, hasOpenssl, pki, read, rejectsWith, run, scratch } from '../js/helpers.mjs';

const SERVER = join(ROOT, 'tests/jmap/server.sh');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = !isRoot ? 'needs root (apt-get install, Cyrus master)' : !hasOpenssl && 'needs openssl';

let env; // the server's environment (tests/out/jmap/env)
let creds; // { username, password }

function server(...args) {
  const r = spawnSync('bash', [SERVER, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`server.sh ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  if (skip) return;
  const out = server('start');
  env = Object.fromEntries(out.trim().split('\n').map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
  creds = JSON.parse(readFileSync(env.JMAP_CREDENTIALS, 'utf8'));
});

after(() => {
  if (!skip) server('stop');
});

const alice = { privateKey: read('alice-rsa.p12'), password: 'test' };
const transport = (extra = {}) => cachet.jmap({
  sessionUrl: env.JMAP_SESSION_URL,
  auth: { username: creds.username, password: creds.password },
  ...extra,
});

let unique = 0;
/** A fresh message each time (Cyrus refuses to import the same bytes twice into Drafts). */
function mail(subject) {
  unique += 1;
  return {
    from: 'Alice <alice@example.org>',
    to: ['Bob <bob@example.org>'],
    cc: ['"Carol, C." <carol@example.org>'],
    bcc: ['dave@example.net'],
    subject: `${subject} ${process.pid}.${unique}.${Date.now()}`,
    text: 'Hello Bob,\nthe plan is attached.\n',
  };
}

/** Sink files, oldest first: [{ eml, envelope }]. */
function sink() {
  const dir = env.JMAP_SINK_DIR;
  return readdirSync(dir).filter((n) => n.endsWith('.json')).sort().map((n) => ({
    eml: readFileSync(join(dir, n.replace(/\.json$/, '.eml'))),
    envelope: JSON.parse(readFileSync(join(dir, n), 'utf8')),
  }));
}

/** One JMAP API call as alice, to look at the mailbox from outside submit(). */
async function api(methodCalls) {
  const auth = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  const res = await fetch(new URL('/jmap/', env.JMAP_SESSION_URL), {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls,
    }),
  });
  assert.equal(res.status, 200);
  return (await res.json()).methodResponses;
}

async function mailboxIds() {
  const r = await api([
    ['Mailbox/query', { accountId: creds.username, filter: { role: 'drafts' } }, 'd'],
    ['Mailbox/query', { accountId: creds.username, filter: { role: 'sent' } }, 's'],
  ]);
  return { drafts: r[0][1].ids[0], sent: r[1][1].ids[0] };
}

async function countIn(mailboxId) {
  const r = await api([['Email/query', { accountId: creds.username, filter: { inMailbox: mailboxId } }, 'q']]);
  return r[0][1].ids.length;
}

/** A TCP port on 127.0.0.1 where nothing listens. */
async function closedPort() {
  const srv = createServer();
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

test('sign+encrypt, submit with Bcc: the sink gets the exact bytes; OpenSSL decrypts and verifies',
  { skip }, async () => {
    const { drafts, sent } = await mailboxIds();
    const sentBefore = await countIn(sent);
    const before = sink().length;
    const { message, envelope } = await cachet.seal({
      compose: mail('Quarterly'), sign: true, encrypt: true, signingKeys: alice,
      encryptionKeys: [read('bob-rsa.pem'), read('alice-rsa.pem')],
    });
    assert.ok(envelope.rcptTo.includes('dave@example.net'), 'seal puts Bcc in the envelope');
    const result = await cachet.submit({ message, envelope, transport: transport() });
    assert.match(result.id, /\S/);
    assert.match(result.emailId, /\S/);
    assert.match(result.threadId, /\S/);
    assert.equal(result.undoStatus, 'final');
    assert.equal(result.movedToSent, true);

    const got = sink();
    assert.equal(got.length, before + 1, 'exactly one message arrived');
    const { eml, envelope: smtp } = got.at(-1);
    // (a) Byte for byte what was sealed: Cyrus relays the imported blob unchanged.
    assert.ok(eml.equals(Buffer.from(message, 'utf8')), 'the relayed bytes differ from the sealed ones');
    // (c) The Bcc recipient got it through the SMTP envelope, and the message does not name it.
    assert.equal(smtp.mailFrom, 'alice@example.org');
    assert.deepEqual([...smtp.rcptTo].sort(),
      ['bob@example.org', 'carol@example.org', 'dave@example.net']);
    assert.ok(!eml.includes('dave@example.net'), 'the Bcc address leaked into the message');
    // (b) OpenSSL decrypts (as Bob) and verifies what arrived.
    const dir = scratch('jmap');
    const file = join(dir, 'arrived.eml');
    writeFileSync(file, eml);
    const dec = run('openssl', ['cms', '-decrypt', '-in', file, '-inkey', pki('bob-rsa.key'),
      '-recip', pki('bob-rsa.pem')]);
    assert.equal(dec.status, 0, dec.stderr);
    const ver = run('openssl', ['cms', '-verify', '-CAfile', pki('root-ca.pem'), '-purpose', 'smimesign'],
      dec.stdout);
    assert.equal(ver.status, 0, ver.stderr);
    assert.match(ver.stdout.toString(), /the plan is attached/);

    // The Email is in Sent, seen and no longer a draft; Drafts holds nothing more than before.
    const [[, emails]] = await api([['Email/get', { accountId: creds.username, ids: [result.emailId],
      properties: ['mailboxIds', 'keywords', 'size'] }, 'g']]);
    const email = emails.list[0];
    assert.deepEqual(Object.keys(email.mailboxIds), [sent]);
    assert.equal(email.keywords.$seen, true);
    assert.equal(email.keywords.$draft, undefined);
    assert.equal(email.size, Buffer.byteLength(message));
    assert.equal(await countIn(sent), sentBefore + 1);
    assert.equal(await countIn(drafts), 0);
  });

test('signed (clear) message, envelope from its headers plus bcc: openssl cms -verify accepts it',
  { skip }, async () => {
    const before = sink().length;
    const composed = await cachet.compose(mail('Signed'));
    const signed = await cachet.sign({ message: composed, signingKeys: alice });
    const bytes = signed instanceof Uint8Array ? signed : new TextEncoder().encode(signed);
    const result = await cachet.submit({ message: bytes, bcc: ['dave@example.net'], transport: transport() });
    assert.equal(result.movedToSent, true);
    assert.deepEqual(result.envelope, { mailFrom: 'alice@example.org',
      rcptTo: ['bob@example.org', 'carol@example.org', 'dave@example.net'] });
    const got = sink();
    assert.equal(got.length, before + 1);
    const { eml, envelope } = got.at(-1);
    assert.ok(eml.equals(Buffer.from(bytes)), 'the relayed bytes differ from the signed ones');
    assert.deepEqual(envelope.rcptTo, ['bob@example.org', 'carol@example.org', 'dave@example.net']);
    const ver = run('openssl', ['cms', '-verify', '-CAfile', pki('root-ca.pem'), '-purpose', 'smimesign'], eml);
    assert.equal(ver.status, 0, ver.stderr);
  });

test('a 6 MB message arrives byte for byte', { skip }, async () => {
  const data = new Uint8Array(6 << 20);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
  const message = await cachet.compose({ ...mail('Large'),
    attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', data }] });
  const before = sink().length;
  const result = await cachet.submit({ message, transport: transport() });
  assert.equal(result.movedToSent, true);
  assert.equal(sink().length, before + 1);
  assert.ok(sink().at(-1).eml.equals(Buffer.from(message)));
});

test('resending the same bytes submits the existing Email again', { skip }, async () => {
  const message = await cachet.compose(mail('Twice'));
  const first = await cachet.submit({ message, transport: transport() });
  const before = sink().length;
  const second = await cachet.submit({ message, transport: transport() });
  assert.equal(second.emailId, first.emailId);
  assert.notEqual(second.id, first.id);
  assert.equal(sink().length, before + 1);
  assert.ok(sink().at(-1).eml.equals(Buffer.from(message)));
});

test('wrong password: SUBMIT_AUTH, and the password is not in the error', { skip }, async () => {
  const password = `wrong-${creds.password}`;
  const t = cachet.jmap({ sessionUrl: env.JMAP_SESSION_URL, auth: { username: creds.username, password } });
  const before = sink().length;
  const err = await rejectsWith(cachet.submit({ message: await cachet.compose(mail('Auth')), transport: t }),
    'SUBMIT_AUTH');
  assert.ok(!err.message.includes(password) && !String(err.detail).includes(password));
  assert.equal(sink().length, before);
  // A bearer token Cyrus does not know is refused the same way.
  await rejectsWith(cachet.submit({ message: await cachet.compose(mail('Auth')),
    transport: cachet.jmap({ sessionUrl: env.JMAP_SESSION_URL, auth: { bearer: 'nope' } }) }), 'SUBMIT_AUTH');
});

test('server down (nothing listens on the port): SUBMIT_NETWORK', { skip }, async () => {
  const port = await closedPort();
  const t = cachet.jmap({ sessionUrl: `http://127.0.0.1:${port}/jmap/`,
    auth: { username: creds.username, password: creds.password } });
  await rejectsWith(cachet.submit({ message: await cachet.compose(mail('Down')), transport: t }),
    'SUBMIT_NETWORK');
});

test('unknown or non-JMAP session URL: SUBMIT_SESSION', { skip }, async () => {
  const message = await cachet.compose(mail('Session'));
  const t = cachet.jmap({ sessionUrl: new URL('/nope/', env.JMAP_SESSION_URL).href,
    auth: { username: creds.username, password: creds.password } });
  await rejectsWith(cachet.submit({ message, transport: t }), 'SUBMIT_SESSION');
  // An account id the session does not have.
  await rejectsWith(cachet.submit({ message, transport: transport({ accountId: 'mallory@example.org' }) }),
    'SUBMIT_SESSION');
});

test('SMTP sink stopped: SUBMIT_SERVER (serverFail), nothing sent, no draft left', { skip }, async () => {
  const { drafts, sent } = await mailboxIds();
  const sentBefore = await countIn(sent);
  const before = sink().length;
  server('sink-stop');
  try {
    const err = await rejectsWith(cachet.submit({ message: await cachet.compose(mail('Sink down')),
      transport: transport() }), 'SUBMIT_SERVER');
    assert.match(err.detail, /serverFail/);
  } finally {
    server('sink-start');
  }
  assert.equal(sink().length, before);
  assert.equal(await countIn(sent), sentBefore);
  assert.equal(await countIn(drafts), 0, 'the failed submission left a draft behind');
  // And it works again once the sink is back.
  const ok = await cachet.submit({ message: await cachet.compose(mail('Sink back')), transport: transport() });
  assert.equal(ok.movedToSent, true);
  assert.equal(sink().length, before + 1);
});

test('the CORS front (nginx) answers the preflight and proxies submission', { skip }, async (t) => {
  if (!env.JMAP_CORS_SESSION_URL) return t.skip('nginx not started');
  const pre = await fetch(env.JMAP_CORS_SESSION_URL, { method: 'OPTIONS', headers: {
    Origin: 'http://localhost:8080', 'Access-Control-Request-Method': 'POST',
    'Access-Control-Request-Headers': 'authorization,content-type' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'http://localhost:8080');
  assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/i);
  const before = sink().length;
  const message = await cachet.compose(mail('Via nginx'));
  const result = await cachet.submit({ message, transport: transport({ sessionUrl: env.JMAP_CORS_SESSION_URL }) });
  assert.equal(result.movedToSent, true);
  assert.ok(sink().at(-1).eml.equals(Buffer.from(message)));
  assert.equal(sink().length, before + 1);
});

test('in Chromium: a page on another origin submits through the CORS front', { skip }, async (t) => {
  if (!env.JMAP_CORS_SESSION_URL) return t.skip('nginx not started');
  const harness = await import('../browser/harness.mjs');
  if (!existsSync(harness.CHROMIUM)) return t.skip(`no Chromium at ${harness.CHROMIUM}`);
  const web = await harness.startServer();
  const browser = await harness.launchBrowser();
  try {
    const { page, problems } = await harness.openPage(browser.context, web.url);
    const before = sink().length;
    const got = await page.evaluate(async ({ cors, direct, creds: c, p12, bob, me }) => {
      const cachet = await import('/pkg/index.js');
      const { message, envelope } = await cachet.seal({
        compose: { from: 'alice@example.org', to: ['bob@example.org'], bcc: ['dave@example.net'],
          subject: `from Chromium ${Date.now()}`, text: 'Hello from the browser\n' },
        sign: true, encrypt: true, signingKeys: { privateKey: new Uint8Array(p12), password: 'test' },
        encryptionKeys: [new Uint8Array(bob), new Uint8Array(me)],
      });
      const auth = { username: c.username, password: c.password };
      const result = await cachet.submit({ message, envelope,
        transport: cachet.jmap({ sessionUrl: cors, auth }) });
      // Straight to Cyrus, the preflight fails (it answers OPTIONS with 401): a network error.
      let directCode = null;
      try {
        await cachet.submit({ message: message.replace('Hello', 'Hi'), envelope,
          transport: cachet.jmap({ sessionUrl: direct, auth }) });
      } catch (e) {
        directCode = e.code;
      }
      return { result, message, directCode };
    }, { cors: env.JMAP_CORS_SESSION_URL, direct: env.JMAP_SESSION_URL, creds,
      p12: [...read('alice-rsa.p12')], bob: [...read('bob-rsa.pem')], me: [...read('alice-rsa.pem')] });
    assert.equal(got.result.movedToSent, true);
    assert.equal(got.directCode, 'SUBMIT_NETWORK');
    assert.equal(sink().length, before + 1);
    const arrived = sink().at(-1);
    assert.ok(arrived.eml.equals(Buffer.from(got.message)), 'the relayed bytes differ');
    assert.ok(arrived.envelope.rcptTo.includes('dave@example.net'));
    assert.ok(!arrived.eml.includes('dave@example.net'));
    // The failed direct attempt logs a CORS console error; nothing else may go wrong.
    assert.deepEqual(problems.filter((p) => !/CORS|Failed to load resource/i.test(p)), []);
  } finally {
    await browser.close();
    await web.stop();
  }
});

test('cachet submit: prints the email id, exit 0; failures exit 2 with the code', { skip }, async () => {
  const dir = scratch('jmap-cli');
  const file = join(dir, 'msg.eml');
  const message = await cachet.compose(mail('CLI'));
  writeFileSync(file, message);
  const cmd = (args, extraEnv) => spawnSync(process.execPath, [CLI, 'submit', ...args],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...extraEnv } });
  const before = sink().length;
  let r = cmd(['--jmap', env.JMAP_SESSION_URL, '--user', creds.username, '--password-env', 'JMAP_PW',
    '--bcc', 'dave@example.net', '--in', file], { JMAP_PW: creds.password });
  assert.equal(r.status, 0, r.stderr);
  const emailId = r.stdout.trim();
  assert.match(emailId, /^\S+$/);
  const got = sink();
  assert.equal(got.length, before + 1);
  assert.ok(got.at(-1).eml.equals(Buffer.from(message)));
  assert.deepEqual(got.at(-1).envelope.rcptTo, ['bob@example.org', 'carol@example.org', 'dave@example.net']);
  const [[, emails]] = await api([['Email/get', { accountId: creds.username, ids: [emailId] }, 'g']]);
  assert.equal(emails.list.length, 1, 'the printed id is the Email in the account');

  // Standard input, wrong password: exit 2, the code on stderr, the password nowhere.
  const input = await cachet.compose(mail('CLI auth'));
  r = spawnSync(process.execPath, [CLI, 'submit', '--jmap', env.JMAP_SESSION_URL, '--user', creds.username,
    '--password-env', 'JMAP_PW'], { cwd: ROOT, encoding: 'utf8', input,
    env: { ...process.env, JMAP_PW: 'not-the-password' } });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^cachet: SUBMIT_AUTH: /);
  assert.ok(!r.stderr.includes('not-the-password') && r.stdout === '');
  // Server down.
  r = cmd(['--jmap', `http://127.0.0.1:${await closedPort()}/jmap/`, '--user', creds.username,
    '--password-env', 'JMAP_PW', '--in', file], { JMAP_PW: creds.password });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^cachet: SUBMIT_NETWORK: /);
  // Usage: the variable is not set; --jmap missing.
  r = cmd(['--jmap', env.JMAP_SESSION_URL, '--user', creds.username, '--password-env', 'CACHET_UNSET_VAR',
    '--in', file], { CACHET_UNSET_VAR: '' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^cachet: API_MISUSE: /);
  r = cmd(['--user', creds.username, '--password-env', 'JMAP_PW', '--in', file], { JMAP_PW: 'x' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^cachet: API_MISUSE: /);
  assert.equal(sink().length, before + 1, 'no failed run sent anything');
});

test('server.sh stop leaves no process behind', { skip }, async () => {
  const pids = ['sink.pid', 'cyrus/master.pid', 'nginx.pid']
    .map((f) => join(env.JMAP_STATE, f)).filter((f) => existsSync(f))
    .map((f) => Number(readFileSync(f, 'utf8').trim()));
  assert.ok(pids.length >= 2);
  const cyrusState = realpathSync(join(env.JMAP_STATE, 'cyrus'));
  server('stop');
  // Gone, or a zombie that init has not reaped yet (state Z): not running either way.
  const running = (pid) => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
    } catch {
      return false;
    }
  };
  for (const pid of pids) assert.equal(running(pid), false, `process ${pid} still runs`);
  // Nor any child of Cyrus's master (imapd, httpd): their command lines name the state folder.
  const leftovers = () => readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return cmd.includes(env.JMAP_STATE) || cmd.includes(cyrusState);
    } catch {
      return false;
    }
  });
  const describe = (p) => {
    try {
      return `${p}: ${readFileSync(`/proc/${p}/cmdline`, 'utf8').replaceAll('\0', ' ')}`;
    } catch {
      return `${p}: gone`;
    }
  };
  let leftover = leftovers();
  for (let i = 0; i < 50 && leftover.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    leftover = leftovers();
  }
  assert.deepEqual(leftover.map(describe), [], 'processes of the JMAP server are left');
});
