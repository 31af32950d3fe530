// compose and seal with RFC 9788 header protection, through the JS API and the CLI; OpenSSL
// decrypts and verifies what they produce.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import test from 'node:test';
import { readFileSync, writeFileSync } from 'node:fs';

import { cachet, cli, pki, read, readText, rejectsWith, run, scratch } from './helpers.mjs';

const alice = { privateKey: read('alice-rsa.p12'), password: 'test' };
const bob = { privateKey: read('bob-rsa.p12'), password: 'test' };
const root = readText('root-ca.pem');

const mail = {
  from: 'Alice <alice@example.org>',
  to: ['Bob <bob@example.org>'],
  bcc: ['carol@example.org'],
  subject: 'Plans für Montag',
  text: 'Hi Bob,\nsee attached.\n',
  attachments: [{ filename: 'plan.txt', contentType: 'text/plain', data: new TextEncoder().encode('step 1\n') }],
};

test('compose: UTF-8 subject, attachment, no Bcc in the message', async () => {
  const m = await cachet.compose(mail);
  assert.match(m, /^From: /m);
  assert.match(m, /Subject: =\?utf-8\?/i);
  assert.match(m, /filename="?plan\.txt/);
  assert.doesNotMatch(m, /carol@example\.org/);
  await assert.rejects(cachet.compose({ ...mail, subject: 'x\r\nBcc: evil@example.org' }),
    (e) => e.code === 'API_MISUSE');
  await assert.rejects(cachet.compose({ ...mail, nope: 1 }), (e) => e.code === 'API_MISUSE');
});

test('seal sign+encrypt: outer Subject hidden, protected headers read back, envelope has Bcc', async () => {
  const { message, envelope } = await cachet.seal({
    compose: mail, encrypt: true, signingKeys: alice,
    encryptionKeys: [read('bob-rsa.pem'), read('alice-rsa.pem')],
  });
  assert.deepEqual(envelope, { mailFrom: 'alice@example.org', rcptTo: ['bob@example.org', 'carol@example.org'] });
  const outer = message.split('\r\n\r\n')[0];
  assert.match(outer, /^Subject: \[\.\.\.\]$/m);
  assert.doesNotMatch(message, /Montag|carol/);
  const r = await cachet.open({ message, decryptionKeys: bob, trustAnchors: root });
  assert.deepEqual(r.layers.map((l) => l.type), ['authEnveloped', 'signed']);
  assert.ok(r.signedValid, JSON.stringify(r.layers[1].signers));
  assert.equal(r.protectedHeaders.mode, 'cipher');
  assert.deepEqual(r.protectedHeaders.disagreements, []);
  assert.equal(r.protectedHeaders.legacyDisplay, true);
  const subject = r.protectedHeaders.fields.find(([n]) => n === 'Subject')[1];
  assert.equal(subject, 'Plans für Montag');
  // Forged outer From: reported, not silently shown.
  const forged = message.replace(/^From: .*$/m, 'From: CEO <ceo@example.org>');
  const f = await cachet.open({ message: forged, decryptionKeys: bob, trustAnchors: root });
  assert.deepEqual(f.protectedHeaders.disagreements.map((d) => d.name), ['from']);
});

test('seal hcp_shy: no display names or zone outside; text and HTML carry the legacy display', async () => {
  const date = new Date('2026-03-02T09:15:00Z');
  const { message } = await cachet.seal({
    compose: { ...mail, html: '<html><body><p>Hi Bob</p></body></html>', date },
    encrypt: true, signingKeys: alice, hcp: 'hcp_shy',
    encryptionKeys: [read('bob-rsa.pem'), read('alice-rsa.pem')],
  });
  const outer = message.split('\r\n\r\n')[0];
  assert.match(outer, /^From: alice@example\.org$/m);
  assert.match(outer, /^To: bob@example\.org$/m);
  assert.match(outer, /^Date: Mon, 2 Mar 2026 09:15:00 \+0000$/m);
  assert.match(outer, /^Subject: \[\.\.\.\]$/m);
  assert.doesNotMatch(outer, /Alice|Bob/);
  const r = await cachet.open({ message, decryptionKeys: bob, trustAnchors: root });
  assert.ok(r.signedValid);
  assert.deepEqual(r.protectedHeaders.disagreements, []);
  assert.match(r.protectedHeaders.fields.find(([n]) => n === 'From')[1], /^"?Alice"? <alice@example\.org>$/);
  assert.equal(r.protectedHeaders.legacyDisplay, true);
  // The content as a legacy client would render it: both alternatives repeat the hidden fields.
  const content = new TextDecoder().decode(r.content);
  assert.equal((content.match(/hp-legacy-display="1"/g) ?? []).length, 2, content);
  const html = decodeParts(content).find((p) => /text\/html/i.test(p.head));
  assert.match(html.body, /<body><div class="header-protection-legacy-display">\r?\n<pre>From: (&quot;)?Alice(&quot;)? &lt;alice@example\.org&gt;<\/pre>/);
  const plain = decodeParts(content).find((p) => /text\/plain; charset/i.test(p.head) && !/attachment/i.test(p.head));
  assert.match(plain.body, /^From: "?Alice"? <alice@example\.org>\r?\n(?:.*\r?\n)*?\r?\nHi Bob,/);
  assert.match(plain.body, /^Subject: Plans für Montag\r?$/m);
  assert.match(plain.body, /^To: "?Bob"? <bob@example\.org>\r?$/m);
  await assert.rejects(cachet.seal({ compose: mail, signingKeys: alice, hcp: 'hcp_minimal' }),
    (e) => e.code === 'API_MISUSE' && /hcp/.test(e.message));
  // hcp_no_confidentiality: the Subject stays outside, no legacy display.
  const open = await cachet.seal({
    compose: mail, encrypt: true, signingKeys: alice, hcp: 'hcp_no_confidentiality',
    encryptionKeys: [read('bob-rsa.pem'), read('alice-rsa.pem')],
  });
  assert.match(open.message.split('\r\n\r\n')[0], /^Subject: =\?utf-8\?/im);
  const o = await cachet.open({ message: open.message, decryptionKeys: bob, trustAnchors: root });
  assert.equal(o.protectedHeaders.legacyDisplay, false);
  assert.deepEqual(o.protectedHeaders.disagreements, []);
});

/** The leaf parts of a MIME entity (small reader for tests): head and decoded body text. */
function decodeParts(entity) {
  const [head, ...rest] = entity.split(/\r?\n\r?\n/);
  const body = rest.join('\r\n\r\n');
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(head.replace(/\r?\n[ \t]+/g, ' '));
  if (/^content-type:\s*multipart\//im.test(head) && boundary) {
    return body.split(`--${boundary[1]}`).slice(1, -1)
      .flatMap((p) => decodeParts(p.replace(/^\r?\n/, '')));
  }
  let text = body;
  if (/content-transfer-encoding:\s*base64/i.test(head)) text = Buffer.from(body, 'base64').toString('utf8');
  else if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
    text = Buffer.from(body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  }
  return [{ head, body: text }];
}

test('CLI compose --sign --encrypt, open --json headers, and OpenSSL reads it', () => {
  const dir = scratch('compose');
  const body = join(dir, 'body.txt');
  const out = join(dir, 'sealed.eml');
  readFileSync; // (fixtures are files)
  run('sh', ['-c', `printf 'Hello Bob\\n' > ${body}`]);
  let r = cli(['compose', '--from', 'alice@example.org', '--to', 'bob@example.org', '--bcc', 'carol@example.org',
    '--subject', 'Quarterly', '--text', body, '--sign', '--encrypt', '--key', pki('alice-rsa.p12'),
    '--password', 'test', '--recipient-cert', pki('bob-rsa.pem'), pki('alice-rsa.pem'), '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const sealed = readFileSync(out, 'utf8');
  assert.match(sealed, /^Subject: \[\.\.\.\]$/m);
  r = cli(['open', '--key', pki('bob-rsa.p12'), '--password', 'test', '--trust', pki('root-ca.pem'), '--json', '--in', out]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.out);
  assert.equal(json.headers.subject, 'Quarterly');
  assert.equal(json.headerProtection, 'cipher');
  assert.deepEqual(json.headerDisagreements, []);
  const dec = run('openssl', ['cms', '-decrypt', '-in', out, '-inkey', pki('bob-rsa.key'), '-recip', pki('bob-rsa.pem')]);
  assert.equal(dec.status, 0, dec.stderr);
  const ver = run('openssl', ['cms', '-verify', '-CAfile', pki('root-ca.pem'), '-purpose', 'smimesign'], dec.stdout);
  assert.equal(ver.status, 0, ver.stderr);
  assert.match(ver.stdout.toString(), /Subject: Quarterly/);
  // Plain compose, and usage errors.
  r = cli(['compose', '--from', 'alice@example.org', '--to', 'bob@example.org', '--subject', 'x']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, /^Subject: x$/m);
  r = cli(['compose', '--from', 'alice@example.org', '--to', 'bob@example.org', '--subject', 'x', '--encrypt']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /API_MISUSE/);
  // --hcp: the shy policy, and OpenSSL still decrypts and verifies what it produced.
  r = cli(['compose', '--from', 'Alice <alice@example.org>', '--to', 'Bob <bob@example.org>',
    '--subject', 'Shy', '--text', body, '--sign', '--encrypt', '--hcp', 'hcp_shy', '--key', pki('alice-rsa.p12'),
    '--password', 'test', '--recipient-cert', pki('bob-rsa.pem'), pki('alice-rsa.pem'), '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(readFileSync(out, 'utf8'), /^From: alice@example\.org\r?$/m);
  const shy = run('openssl', ['cms', '-decrypt', '-in', out, '-inkey', pki('bob-rsa.key'), '-recip', pki('bob-rsa.pem')]);
  assert.equal(shy.status, 0, shy.stderr);
  const shyVer = run('openssl', ['cms', '-verify', '-CAfile', pki('root-ca.pem'), '-purpose', 'smimesign'], shy.stdout);
  assert.equal(shyVer.status, 0, shyVer.stderr);
  assert.match(shyVer.stdout.toString(), /From: "?Alice"? <alice@example\.org>/);
  r = cli(['compose', '--from', 'alice@example.org', '--to', 'bob@example.org', '--subject', 'x', '--sign',
    '--key', pki('alice-rsa.p12'), '--password', 'test', '--hcp', 'nope']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /API_MISUSE/);
});

test('CLI compose --store: sender from the store, recipients collected from verified mail', () => {
  const dir = scratch('compose-store');
  const store = join(dir, 'store');
  const body = join(dir, 'body.txt');
  run('sh', ['-c', `printf 'Hello Bob\\n' > ${body}`]);
  let r = cli(['import', '--p12', pki('alice-rsa.p12'), '--password', 'test', '--store', store,
    '--passphrase', 'pw', '--iterations', '1000']);
  assert.equal(r.status, 0, r.stderr);
  r = cli(['trust', '--add', pki('root-ca.pem'), '--store', store]);
  assert.equal(r.status, 0, r.stderr);
  const compose = (to, out) => cli(['compose', '--from', 'alice@example.org', '--to', to, '--subject', 'Stored keys',
    '--text', body, '--sign', '--encrypt', '--store', store, '--password', 'pw', '--out', out]);
  // Bob is unknown: nothing is written, and the error names him.
  r = compose('bob@example.org', join(dir, 'none.eml'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /RECIPIENT_NO_CERTIFICATE.*bob@example\.org/);
  // Bob writes a signed mail; verifying it with the store collects his certificate.
  const signed = join(dir, 'from-bob.eml');
  r = cli(['compose', '--from', 'bob@example.org', '--to', 'alice@example.org', '--subject', 'hi', '--sign',
    '--key', pki('bob-rsa.p12'), '--password', 'test', '--out', signed]);
  assert.equal(r.status, 0, r.stderr);
  r = cli(['verify', '--store', store, '--in', signed]);
  assert.equal(r.status, 0, r.stderr + r.out);
  const out = join(dir, 'sealed.eml');
  r = compose('bob@example.org', out);
  assert.equal(r.status, 0, r.stderr);
  r = cli(['open', '--key', pki('bob-rsa.p12'), '--password', 'test', '--trust', pki('root-ca.pem'), '--json', '--in', out]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.out);
  assert.equal(json.headers.subject, 'Stored keys');
  assert.equal(json.layers[1].signers[0].email, 'alice@example.org');
});

test('a message without a From: address is MIME_MALFORMED for seal and envelopeOf (the message, not the call, is at fault)', async () => {
  const message = 'To: Bob <bob@example.org>\r\nSubject: no sender\r\n\r\nHello.\r\n';
  await rejectsWith(cachet.seal({ message, sign: true, signingKeys: alice }), 'MIME_MALFORMED');
  // A From: field without an address, and one only in the body.
  await rejectsWith(cachet.seal({ message: `From: Alice\r\n${message}`, sign: true, signingKeys: alice }),
    'MIME_MALFORMED');
  assert.throws(() => cachet.envelopeOf(`${message}From: alice@example.org\r\n`),
    (err) => err instanceof cachet.CachetError && err.code === 'MIME_MALFORMED');
  assert.deepEqual(cachet.envelopeOf(`From: alice@example.org\r\n${message}`),
    { mailFrom: 'alice@example.org', rcptTo: ['bob@example.org'] });
});

test("seal output: 'bytes' gives the message as a Uint8Array (small and large); OpenSSL decrypts and verifies it; another value is API_MISUSE", async () => {
  const dir = scratch('seal-bytes');
  const text = 'All work and no play makes Jack a dull boy.\r\n';
  for (const [size, body] of [['small', 'Hello Bob.\r\n'], ['large', text.repeat(Math.ceil((1 << 20) / text.length))]]) {
    const message = `From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: bytes\r\n\r\n${body}`;
    const sealed = await cachet.seal({ message, sign: true, encrypt: true, signingKeys: alice,
      encryptionKeys: [read('bob-rsa.pem')], cipher: 'aes256-cbc', output: 'bytes' });
    assert.ok(sealed.message instanceof Uint8Array, size);
    assert.deepEqual(sealed.envelope, { mailFrom: 'alice@example.org', rcptTo: ['bob@example.org'] });
    const file = join(dir, `${size}.eml`);
    writeFileSync(file, sealed.message);
    const dec = run('openssl', ['cms', '-decrypt', '-in', file, '-recip', pki('bob-rsa.pem'),
      '-inkey', pki('bob-rsa.key'), '-out', join(dir, `${size}.signed`)]);
    assert.equal(dec.status, 0, dec.stderr);
    const ver = run('openssl', ['cms', '-verify', '-in', join(dir, `${size}.signed`), '-CAfile', pki('root-ca.pem'),
      '-purpose', 'any', '-out', join(dir, `${size}.txt`)]);
    assert.equal(ver.status, 0, ver.stderr);
    assert.ok(readFileSync(join(dir, `${size}.txt`), 'latin1').includes(body.slice(0, 200)), size);
  }
  await rejectsWith(cachet.seal({ message: 'From: alice@example.org\r\n\r\nx\r\n', signingKeys: alice, output: 'buffer' }),
    'API_MISUSE');
});

test('a Subject that would read otherwise written plain (=?...?= inside, leading white space) is written as encoded-words; Python\'s email parser and open read it back exactly', async () => {
  const subjects = [
    'How to write =?utf-8?B?SGk=?= by hand',
    '\\=?iso-8859-1?q?caf=E9?=:x',
    '   three spaces first',
    '\tTab first',
    `=? ${'Grüße 😀 日本語 '.repeat(6)}?=`,
    'Plans für Montag', // (plain enough: written as mail-builder writes it)
  ];
  const messages = [];
  for (const subject of subjects) {
    const message = await cachet.compose({ ...mail, subject });
    messages.push(message);
    const sealed = await cachet.seal({ message, sign: true, encrypt: true, signingKeys: alice,
      encryptionKeys: [read('bob-rsa.pem'), read('alice-rsa.pem')] });
    const r = await cachet.open({ message: sealed.message, decryptionKeys: bob, trustAnchors: root });
    assert.equal(r.protectedHeaders.fields.find(([n]) => n === 'Subject')[1], subject);
  }
  // A peer: Python's email package (RFC 2047 decoding of its own).
  const script = 'import sys, json, email, email.policy\n'
    + 'out = [str(email.message_from_string(m, policy=email.policy.default)["subject"]) for m in json.load(sys.stdin)]\n'
    + 'print(json.dumps(out))';
  const py = run('python3', ['-c', script], JSON.stringify(messages));
  assert.equal(py.status, 0, py.stderr);
  assert.deepEqual(JSON.parse(py.stdout.toString()), subjects);
});

/** Python's email package (a peer reader) checks each composed message against its options:
 *  Subject, text and HTML bodies, attachments' file names and bytes. Returns its complaints. */
function pythonReads(cases) {
  const script = String.raw`
import sys, json, email, email.policy, base64
out = []
for c in json.load(sys.stdin):
    o = c['opts']; m = email.message_from_string(c['message'], policy=email.policy.default)
    probs = []
    if str(m['subject']) != o['subject']: probs.append(['subject', o['subject'], str(m['subject'])])
    for kind in ('plain', 'html'):
        key = 'text' if kind == 'plain' else 'html'
        if key in o:
            b = m.get_body(preferencelist=(kind,))
            got = b.get_content().replace('\r\n', '\n') if b else None
            if got != o[key]: probs.append([key, o[key], got])
    atts = list(m.iter_attachments())
    if len(atts) != len(o['attachments']): probs.append(['attachments', len(o['attachments']), len(atts)])
    for a, want in zip(atts, o['attachments']):
        if a.get_filename() != want['filename']: probs.append(['filename', want['filename'], a.get_filename()])
        if a.get_payload(decode=True) != base64.b64decode(want['data']): probs.append(['data', want['filename']])
    out.append(probs)
print(json.dumps(out))
`;
  const py = run('python3', ['-c', script], JSON.stringify(cases));
  assert.equal(py.status, 0, py.stderr);
  return JSON.parse(py.stdout.toString());
}

test('compose, and seal then open, of seeded random mail (subjects, bodies, attachment names and bytes): Python\'s email package reads back what was composed', async () => {
  const { prng } = await import('./mutate.mjs');
  const rnd = prng(Number(process.env.CACHET_JS_FUZZ_SEED ?? 0xc0de));
  const pick = (a) => a[rnd.below(a.length)];
  const words = ['Hello', 'Grüße', '😀', '日本語', 'a'.repeat(120), ' ', '  ', '\t', '.', 'From ', '--b-1', '=',
    '=3D', '=?utf-8?B?SGk=?=', '"', '\\', ';', 'x'.repeat(1200), '<p>', '&amp;', ''];
  const line = () => Array.from({ length: rnd.below(6) }, () => pick(words) + (rnd.below(3) ? ' ' : '')).join('');
  const text = () => Array.from({ length: rnd.below(5) }, line).join('\n') + (rnd.below(2) ? '\n' : '');
  const names = ['a.txt', 'résumé.pdf', 'with space.bin', 'q"uote.txt', 'semi;colon.txt', `long-${'n'.repeat(100)}.dat`,
    '日本語.txt', 'x=?utf-8?B?SGk=?=.txt'];
  const cases = [];
  for (let i = 0; i < 40; i += 1) {
    const attachments = Array.from({ length: rnd.below(3) }, () => ({
      filename: pick(names),
      contentType: pick(['application/octet-stream', 'image/png', 'application/pdf']),
      data: Uint8Array.from({ length: rnd.below(3000) }, () => rnd.below(256)),
    }));
    const opts = { from: 'Alice <alice@example.org>', to: ['Bob <bob@example.org>'], subject: line(), attachments };
    const kind = rnd.below(3);
    if (kind !== 1) opts.text = text();
    if (kind !== 0) opts.html = `<p>${text()}</p>`;
    const message = await cachet.compose(opts);
    const expected = { ...opts, attachments: attachments.map((a) => ({ ...a, data: Buffer.from(a.data).toString('base64') })) };
    cases.push({ opts: expected, message });
    // Every other one sealed (signed; encrypted or not) and opened: the content as composed.
    if (i % 2 === 0) {
      const sealed = await cachet.seal({ message, sign: true, encrypt: rnd.below(2) === 1, signingKeys: alice,
        encryptionKeys: [read('bob-rsa.pem')], hcp: pick(['hcp_baseline', 'hcp_shy']), legacyDisplay: false,
        detached: rnd.below(2) === 1 });
      const o = await cachet.open({ message: sealed.message, decryptionKeys: bob, trustAnchors: root });
      assert.ok(o.signedValid, `case ${i}`);
      assert.equal(o.protectedHeaders.fields.find(([n]) => n === 'Subject')[1], opts.subject, `case ${i}`);
      cases.push({ opts: expected, message: new TextDecoder().decode(o.content) });
    }
  }
  const complaints = pythonReads(cases);
  complaints.forEach((p, i) => assert.deepEqual(p, [], `case ${i}: ${JSON.stringify(p).slice(0, 400)}`));
});
