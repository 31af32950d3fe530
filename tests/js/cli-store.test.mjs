// The `cachet` CLI with a key store (--store DIR): import, trust, list, sign --from, verify with
// the store's anchors (and collecting signers).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { AT, CLI, CLI_MESSAGE as MESSAGE, ROOT, pki, scratch } from './helpers.mjs';

/** Run the CLI with `env` added; `input` on standard input. */
function cachet(args, { input = '', env = {} } = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    input, cwd: ROOT, env: { ...process.env, CACHET_PASSPHRASE: '', ...env }, maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout, out: r.stdout.toString(), stderr: r.stderr.toString() };
}

function assertFails(r, code) {
  assert.equal(r.status, 2, `exit ${r.status}, stderr: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^cachet: ${code}: .+\\n$`));
}

const FAST = ['--iterations', '1000'];

test('import a .p12 and a trust anchor, sign --from, verify with the store alone', () => {
  const dir = scratch('cli-store');
  let r = cachet(['import', '--p12', pki('alice-rsa.p12'), '--password', 'test', '--store', dir,
    '--passphrase', 'my pass phrase', ...FAST]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, /^imported [0-9A-F]{40} +identities +alice@example\.org \(until 2035-06-01\)\n$/);
  r = cachet(['trust', '--add', pki('root-ca.pem'), '--store', dir]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, /^trusted [0-9A-F]{40} +O=Cachet Tests,CN=Cachet Test Root CA\n$/);
  assert.deepEqual(readdirSync(dir), ['default.cachet-store.json']);

  const signed = cachet(['sign', '--store', dir, '--from', 'alice@example.org', '--passphrase',
    'my pass phrase'], { input: MESSAGE });
  assert.equal(signed.status, 0, signed.stderr);
  assert.match(signed.out, /multipart\/signed/);
  const file = join(dir, 'signed.eml');
  writeFileSync(file, signed.stdout);
  r = cachet(['verify', '--store', dir, '--at', AT, '--in', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.out, /^valid: alice@example\.org/);
  // The passphrase from the environment; the only identity needs no --from.
  const viaEnv = cachet(['sign', '--store', dir], { input: MESSAGE, env: { CACHET_PASSPHRASE: 'my pass phrase' } });
  assert.equal(viaEnv.status, 0, viaEnv.stderr);
  // Without the store's anchors the same message is untrusted.
  r = cachet(['verify', '--trust', pki('other-root-ca.pem'), '--at', AT, '--in', file]);
  assert.equal(r.status, 1);
});

test('wrong or missing passphrase, usage errors: exit 2 with the code, no secret echoed', () => {
  const dir = scratch('cli-store');
  assert.equal(cachet(['import', '--p12', pki('alice-p256.p12'), '--password', 'test', '--store', dir,
    ...FAST]).status, 0); // the passphrase defaults to the file's password
  const wrong = cachet(['sign', '--store', dir, '--passphrase', 'hunter2-secret'], { input: MESSAGE });
  assertFails(wrong, 'BAD_PASSWORD');
  assert.ok(!wrong.stderr.includes('hunter2'));
  assert.equal(cachet(['sign', '--store', dir, '--passphrase', 'test'], { input: MESSAGE }).status, 0);
  assertFails(cachet(['sign', '--store', dir], { input: MESSAGE }), 'API_MISUSE'); // no passphrase
  assertFails(cachet(['sign', '--store', dir, '--from', 'carol@example.org', '--passphrase', 'test'],
    { input: MESSAGE }), 'STORE_NOT_FOUND');
  assertFails(cachet(['import', '--p12', pki('alice-p256.p12'), '--password', 'nope', '--store', dir]),
    'BAD_PASSWORD');
  assertFails(cachet(['import', '--p12', pki('alice-p256.p12'), '--password', 'test']), 'API_MISUSE');
  assertFails(cachet(['import', '--store', dir, '--password', 'test']), 'API_MISUSE');
  assertFails(cachet(['import', '--p12', pki('alice-p256.p12'), '--store', dir, '--iterations', 'x']),
    'API_MISUSE');
  assertFails(cachet(['trust', '--store', dir]), 'API_MISUSE');
  assertFails(cachet(['trust', '--add', pki('alice-rsa.key'), '--store', dir]), 'CERT_MALFORMED');
  assertFails(cachet(['list']), 'API_MISUSE');
  // Two identities: --from is needed.
  assert.equal(cachet(['import', '--key', pki('bob-rsa.key'), '--cert', pki('bob-rsa.pem'), '--chain',
    pki('inter-ca.pem'), '--store', dir, '--passphrase', 'test', ...FAST]).status, 0);
  assertFails(cachet(['sign', '--store', dir, '--passphrase', 'test'], { input: MESSAGE }), 'API_MISUSE');
  const bob = cachet(['sign', '--store', dir, '--from', 'bob@example.org', '--passphrase', 'test'],
    { input: MESSAGE });
  assert.equal(bob.status, 0, bob.stderr);
});

test('verify --store remembers valid signers; trust --replace; list --json', () => {
  const dir = scratch('cli-store');
  assert.equal(cachet(['trust', '--add', pki('bundle.p7b'), '--store', dir]).status, 0);
  let list = JSON.parse(cachet(['list', '--store', dir, '--json']).out);
  assert.equal(list.items.length, 3);
  const fromBob = MESSAGE.replace('From: Alice <alice@example.org>', 'From: Bob <bob@example.org>');
  const signed = cachet(['sign', '--key', pki('bob-p256.p12'), '--password', 'test'], { input: fromBob });
  assert.equal(signed.status, 0, signed.stderr);
  const r = cachet(['verify', '--store', dir, '--at', AT], { input: signed.stdout });
  assert.equal(r.status, 0, r.stderr);
  list = JSON.parse(cachet(['list', '--store', dir, '--json']).out);
  const people = list.items.filter((x) => x.store === 'otherPeople');
  assert.deepEqual(people.map((x) => x.emails), [['bob@example.org']]);
  assert.equal(people[0].canEncrypt, true);
  assert.equal(people[0].status, 'valid');
  assert.equal(people[0].statusCode, null);
  // Statuses at another date; the text form says them too.
  list = JSON.parse(cachet(['list', '--store', dir, '--json', '--at', '2099-01-01T00:00:00Z']).out);
  assert.ok(list.items.every((x) => x.status === 'expired'), JSON.stringify(list.items.map((x) => x.status)));
  assert.match(cachet(['list', '--store', dir, '--at', AT]).out, /bob@example\.org \(until \d{4}-\d\d-\d\d\) valid$/m);
  const replaced = cachet(['trust', '--replace', pki('other-root-ca.pem'), '--store', dir]);
  assert.equal(replaced.status, 0, replaced.stderr);
  const anchors = cachet(['trust', '--list', '--store', dir]).out.trim().split('\n');
  assert.equal(anchors.length, 1);
  assert.match(anchors[0], /Cachet Other Root CA/);
  // A corrupted record: list says so (exit 1), the rest still listed.
  const path = join(dir, 'default.cachet-store.json');
  const file = JSON.parse(readFileSync(path, 'utf8'));
  file.stores.otherPeople.BROKEN = { id: 'BROKEN' };
  writeFileSync(path, JSON.stringify(file));
  const broken = cachet(['list', '--store', dir]);
  assert.equal(broken.status, 1);
  assert.match(broken.out, /BROKEN +otherPeople +CORRUPTED/);
  assert.match(broken.out, /bob@example\.org/);
});

test('encrypt --to ADDRESS, decrypt and open --store: recipients and keys from the stores', () => {
  const alice = scratch('cli-store');
  const bob = scratch('cli-store');
  const ok = (r) => assert.equal(r.status, 0, r.stderr);
  ok(cachet(['import', '--p12', pki('alice-rsa.p12'), '--password', 'test', '--store', alice,
    '--passphrase', 'a-pass', ...FAST]));
  ok(cachet(['import', '--p12', pki('bob-p256.p12'), '--password', 'test', '--store', bob,
    '--passphrase', 'b-pass', ...FAST]));
  ok(cachet(['trust', '--add', pki('root-ca.pem'), '--store', bob]));
  ok(cachet(['trust', '--add', pki('root-ca.pem'), '--store', alice]));
  // Alice learns Bob's certificate from a signed mail of his.
  const fromBob = MESSAGE.replace('From: Alice <alice@example.org>', 'From: Bob <bob@example.org>');
  const hello = cachet(['sign', '--store', bob, '--passphrase', 'b-pass'], { input: fromBob });
  ok(hello);
  ok(cachet(['verify', '--store', alice, '--at', AT], { input: hello.stdout }));

  assertFails(cachet(['encrypt', '--store', alice, '--to', 'carol@example.org'], { input: MESSAGE }),
    'STORE_NOT_FOUND');
  const sealed = cachet(['encrypt', '--store', alice, '--to', 'bob@example.org', 'alice@example.org',
    '--from', 'alice@example.org', '--passphrase', 'a-pass'], { input: MESSAGE });
  ok(sealed);
  assert.match(sealed.out, /application\/pkcs7-mime/);

  assertFails(cachet(['decrypt', '--store', bob, '--passphrase', 'wrong'], { input: sealed.stdout }),
    'BAD_PASSWORD');
  const plain = cachet(['decrypt', '--store', bob, '--passphrase', 'b-pass'], { input: sealed.stdout });
  ok(plain);
  assert.match(plain.out, /multipart\/signed/); // signed, then encrypted
  // Alice's Sent copy.
  ok(cachet(['decrypt', '--store', alice], { input: sealed.stdout, env: { CACHET_PASSPHRASE: 'a-pass' } }));
  const opened = cachet(['open', '--store', bob, '--passphrase', 'b-pass', '--at', AT, '--json'],
    { input: sealed.stdout });
  ok(opened);
  const report = JSON.parse(opened.out);
  assert.equal(report.signedValid, true);
  assert.equal(report.layers[0].type, 'authEnveloped');
  assert.equal(report.layers[1].signers[0].email, 'alice@example.org');
});

test('compose --store: signs as --from, encrypts to every recipient and the sender', () => {
  const alice = scratch('cli-store');
  const bob = scratch('cli-store');
  const ok = (r) => assert.equal(r.status, 0, r.stderr);
  ok(cachet(['import', '--p12', pki('alice-p256.p12'), '--password', 'test', '--store', alice,
    '--passphrase', 'a-pass', ...FAST]));
  ok(cachet(['import', '--p12', pki('bob-rsa.p12'), '--password', 'test', '--store', bob,
    '--passphrase', 'b-pass', ...FAST]));
  ok(cachet(['trust', '--add', pki('root-ca.pem'), '--store', bob]));
  const text = join(alice, 'body.txt');
  writeFileSync(text, 'Hello Bob, sealed from the store.\n');
  const base = ['compose', '--store', alice, '--from', 'Alice <alice@example.org>', '--to',
    'Bob <bob@example.org>', '--subject', 'Secret', '--text', text, '--sign', '--encrypt',
    '--password', 'a-pass'];
  assertFails(cachet(base), 'RECIPIENT_NO_CERTIFICATE'); // Alice has no certificate for Bob yet
  const signedByBob = cachet(['sign', '--store', bob, '--passphrase', 'b-pass'], {
    input: MESSAGE.replace('From: Alice <alice@example.org>', 'From: Bob <bob@example.org>'),
  });
  ok(signedByBob);
  ok(cachet(['trust', '--add', pki('root-ca.pem'), '--store', alice]));
  ok(cachet(['verify', '--store', alice, '--at', AT], { input: signedByBob.stdout }));
  const sealed = cachet(base);
  ok(sealed);
  const opened = cachet(['open', '--store', bob, '--passphrase', 'b-pass', '--json'],
    { input: sealed.stdout });
  ok(opened);
  const report = JSON.parse(opened.out);
  assert.equal(report.signedValid, true);
  const signed = report.layers.find((l) => l.type === 'signed');
  assert.equal(signed.signers[0].email, 'alice@example.org');
  // The sender's own copy opens with her store.
  ok(cachet(['open', '--store', alice, '--passphrase', 'a-pass', '--json'], { input: sealed.stdout }));
});

test('export: a PKCS#12 backup from the store imports again (modern and legacy)', () => {
  const dir = scratch('cli-store');
  const ok = (r) => assert.equal(r.status, 0, r.stderr);
  ok(cachet(['import', '--p12', pki('alice-p384.p12'), '--password', 'test', '--store', dir,
    '--passphrase', 'pp', ...FAST]));
  assertFails(cachet(['export', '--store', dir, '--from', 'alice@example.org', '--passphrase', 'pp',
    '--password', 'backup']), 'API_MISUSE'); // no --out
  assertFails(cachet(['export', '--store', dir, '--from', 'alice@example.org', '--passphrase', 'no',
    '--password', 'backup', '--out', join(dir, 'x.p12')]), 'BAD_PASSWORD');
  for (const legacy of [[], ['--legacy']]) {
    const out = join(dir, `backup${legacy.length}.p12`);
    ok(cachet(['export', '--store', dir, '--from', 'alice@example.org', '--passphrase', 'pp',
      '--password', 'backup', '--out', out, ...legacy]));
    const other = scratch('cli-store');
    const r = cachet(['import', '--p12', out, '--password', 'backup', '--store', other, ...FAST]);
    ok(r);
    assert.match(r.out, /alice@example\.org/);
  }
});
