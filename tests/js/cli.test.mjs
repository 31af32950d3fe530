// The `cachet` CLI: flags, exit codes (0 valid, 1 not valid, 2 could not process), --json,
// --out, standard input/output, and interop with `openssl cms` in both directions.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import {
  AT, CLI_MESSAGE as MESSAGE, PKG, ROOT, cli, hasOpenssl, pki, run, scratch,
} from './helpers.mjs';

const TRUST = ['--trust', pki('root-ca.pem')];
const ALICE = ['--key', pki('alice-rsa.key'), '--cert', pki('alice-rsa.pem'),
  '--chain', pki('inter-ca.pem')];

/** One line on stderr naming the code, exit 2. */
function assertFails(r, code) {
  assert.equal(r.status, 2, `exit ${r.status}, stderr: ${r.stderr}`);
  assert.match(r.stderr, new RegExp(`^cachet: ${code}: .+\\n$`));
}

// ---- usage: holds without the core -------------------------------------------------------

test('help and version', () => {
  for (const args of [['--help'], ['help'], ['-h'], ['sign', '--help']]) {
    const r = cli(args);
    assert.equal(r.status, 0, args.join(' '));
    assert.match(r.out, /cachet sign +--cert FILE --key FILE/);
    assert.match(r.out, /cachet verify +--trust FILE\.\.\./);
  }
  const cargo = readFileSync(join(ROOT, 'Cargo.toml'), 'utf8');
  const version = /^version = "([^"]+)"/m.exec(cargo)[1];
  assert.equal(cli(['--version']).out, `cachet ${version}\n`);
});

test('usage errors exit 2 with API_MISUSE', () => {
  assertFails(cli([]), 'API_MISUSE');
  assertFails(cli(['frobnicate']), 'API_MISUSE');
  assertFails(cli(['sign', '--bogus']), 'API_MISUSE');
  assertFails(cli(['sign', '--cert', pki('alice-rsa.pem')]), 'API_MISUSE'); // no --key
  assertFails(cli(['sign', ...ALICE, '--digest', 'md5']), 'API_MISUSE');
  assertFails(cli(['sign', ...ALICE, '--opaque=yes']), 'API_MISUSE');
  assertFails(cli(['sign', '--key', pki('no-such-file.key')]), 'API_MISUSE');
  assertFails(cli(['verify', '--in', pki('root-ca.pem')]), 'API_MISUSE'); // no --trust
  assertFails(cli(['verify', ...TRUST, '--trust']), 'API_MISUSE');
  assertFails(cli(['verify', ...TRUST, 'stray-argument']), 'API_MISUSE');
  assertFails(cli(['verify', ...TRUST, '--at', '2030-01-01', '--json'], { input: MESSAGE }),
    'API_MISUSE');
});

test('--at: RFC 3339 only', () => {
  for (const bad of ['garbage', '2030-01-01', '2030-02-30T00:00:00Z', '2030-01-01T25:00:00Z',
    '2030-01-01T00:00:00', '1893456000', '2030-01-01T00:00:00+1:00']) {
    assertFails(cli(['verify', ...TRUST, '--at', bad], { input: MESSAGE }), 'API_MISUSE');
  }
});

test('a password never appears in the output', () => {
  const r = cli(['sign', '--key', pki('alice-rsa.p12'), '--password', 'sw0rdfish-secret'],
    { input: MESSAGE });
  assert.equal(r.status, 2);
  assert.ok(!r.stderr.includes('sw0rdfish'), r.stderr);
  assert.ok(!r.out.includes('sw0rdfish'));
});

// ---- sign and verify: need the core ------------------------------------------------------

test('verify of an unsigned message: exit 2, NOT_SIGNED', () => {
  assertFails(cli(['verify', ...TRUST, '--at', AT], { input: MESSAGE }), 'NOT_SIGNED');
});

test('sign stdin -> stdout, verify --in: exit 0 and one line per signer', () => {
  const signed = cli(['sign', ...ALICE], { input: MESSAGE });
  assert.equal(signed.status, 0, signed.stderr);
  assert.match(signed.out, /multipart\/signed/);
  const dir = scratch('cli');
  writeFileSync(join(dir, 'signed.eml'), signed.stdout);
  const r = cli(['verify', ...TRUST, '--at', AT, '--in', join(dir, 'signed.eml')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.out.trimEnd().split('\n');
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^valid: alice@example\.org \(/);
});

test('--json shape, --out writes the content, several trust files after one flag', () => {
  const dir = scratch('cli');
  const input = join(dir, 'msg.eml');
  const signedFile = join(dir, 'signed.eml');
  writeFileSync(input, MESSAGE);
  const s = cli(['sign', '--key', pki('alice-p256.p12'), '--password', 'test', '--opaque',
    '--digest', 'sha384', '--in', input, '--out', signedFile]);
  assert.equal(s.status, 0, s.stderr);
  assert.equal(s.out, '', 'with --out nothing goes to stdout');
  const out = join(dir, 'content.eml');
  const r = cli(['verify', '--trust', pki('other-root-ca.pem'), pki('root-ca.pem'), '--at', AT,
    '--json', '--in', signedFile, '--out', out]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(r.out);
  assert.deepEqual(Object.keys(json), ['signers']);
  assert.equal(json.signers.length, 1);
  const [signer] = json.signers;
  for (const key of ['status', 'code', 'reason', 'email', 'subject']) assert.ok(key in signer, key);
  assert.equal(signer.status, 'valid');
  assert.equal(signer.email, 'alice@example.org');
  assert.match(signer.subject, /Alice/);
  assert.equal(signer.digestAlgorithm, 'sha-384');
  const content = readFileSync(out, 'utf8');
  assert.match(content, /^Content-Type: text\/plain/);
  assert.match(content, /Hello Bob,/);
});

test('not valid: exit 1 (untrusted, repeated flags; tampered; expired at --at)', () => {
  const signed = cli(['sign', ...ALICE], { input: MESSAGE }).out;
  const untrusted = cli(['verify', '--trust', pki('other-root-ca.pem'), '--trust',
    pki('bob-rsa.pem'), '--at', AT, '--json'], { input: signed });
  assert.equal(untrusted.status, 1, untrusted.stderr);
  assert.equal(JSON.parse(untrusted.out).signers[0].status, 'untrusted');

  const tampered = signed.replace('this message is signed', 'this message is forged');
  const t = cli(['verify', ...TRUST, '--at', AT], { input: tampered });
  assert.equal(t.status, 1);
  assert.match(t.out, /^content-altered: alice@example\.org/);

  const e = cli(['verify', ...TRUST, '--at', '2036-01-01T00:00:00+01:00', '--json'],
    { input: signed });
  assert.equal(e.status, 1);
  assert.equal(JSON.parse(e.out).signers[0].status, 'expired');
});

test('the pkg/ copy of the CLI works the same', () => {
  const signed = cli(['sign', ...ALICE, '--rsa-pss'], { input: MESSAGE, cli: join(PKG, 'cli.js') });
  assert.equal(signed.status, 0, signed.stderr);
  const r = cli(['verify', ...TRUST, '--at', AT, '--json'],
    { input: signed.stdout, cli: join(PKG, 'cli.js') });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.out).signers[0].signatureAlgorithm, 'rsa-pss');
});

// ---- interop with OpenSSL through the CLI --------------------------------------------------

const OPENSSL_VERIFY = ['cms', '-verify', '-CAfile', pki('root-ca.pem'), '-certfile',
  pki('inter-ca.pem'), '-attime', String(Date.parse(AT) / 1000)];

for (const opaque of [false, true]) {
  test(`openssl cms -verify accepts cachet sign output (${opaque ? 'opaque' : 'detached'})`,
    { skip: !hasOpenssl && 'openssl not installed' }, () => {
      const dir = scratch('interop');
      const signed = join(dir, 'signed.eml');
      const args = ['sign', '--key', pki('alice-p256.key'), '--cert', pki('alice-p256.pem'),
        '--chain', pki('inter-ca.pem'), '--out', signed];
      const s = cli(opaque ? [...args, '--opaque'] : args, { input: MESSAGE });
      assert.equal(s.status, 0, s.stderr);
      const v = run('openssl', [...OPENSSL_VERIFY, '-in', signed, '-out', join(dir, 'out.eml')]);
      assert.equal(v.status, 0, v.stderr);
      assert.match(v.stderr, /Verification successful/);
      assert.match(readFileSync(join(dir, 'out.eml'), 'utf8'), /Hello Bob,/);
      // ... and a tampered copy is refused, so the check above means something.
      const bad = readFileSync(signed, 'utf8').replace('Hello Bob', 'Hello Eve');
      if (!opaque) {
        writeFileSync(signed, bad);
        assert.notEqual(run('openssl', [...OPENSSL_VERIFY, '-in', signed]).status, 0);
      }
    });
}

for (const detached of [true, false]) {
  test(`cachet verify accepts openssl cms -sign output (${detached ? 'detached' : 'opaque'})`,
    { skip: !hasOpenssl && 'openssl not installed' }, () => {
      const dir = scratch('interop');
      const entity = join(dir, 'entity.eml');
      writeFileSync(entity, 'Content-Type: text/plain\r\n\r\nHello from OpenSSL\r\n');
      const args = ['cms', '-sign', '-signer', pki('alice-rsa.pem'), '-inkey',
        pki('alice-rsa.key'), '-certfile', pki('inter-ca.pem'), '-md', 'sha256',
        '-from', 'alice@example.org', '-to', 'bob@example.org', '-subject', 'interop',
        '-in', entity, '-binary'];
      const s = run('openssl', detached ? args : [...args, '-nodetach']);
      assert.equal(s.status, 0, s.stderr);
      const r = cli(['verify', ...TRUST, '--at', AT, '--json', '--out', join(dir, 'content.eml')],
        { input: s.stdout });
      assert.equal(r.status, 0, `${r.stderr}${r.out}`);
      const [signer] = JSON.parse(r.out).signers;
      assert.equal(signer.status, 'valid');
      assert.equal(signer.email, 'alice@example.org');
      assert.match(readFileSync(join(dir, 'content.eml'), 'utf8'), /Hello from OpenSSL/);
    });
}
