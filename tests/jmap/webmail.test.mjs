// The demo web mail against a REAL JMAP server, driven in headless Chromium as two people would:
// Alice points the demo at Cyrus (through the nginx CORS front, as the page's origin differs),
// composes to Bob with Sign and Encrypt, sends through JMAP and opens her Sent copy. Cyrus relays
// it over SMTP to the sink, which delivers it into Bob's Cyrus INBOX over LMTP. Bob then signs
// in (the demo's user switch, then his own JMAP credentials), lists his Inbox, opens the message
// and sees the banners and the protected Subject. Needs root (Cyrus); skipped otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { launchBrowser, openPage, requireBuild, screenshot, startServer } from '../browser/harness.mjs';
import { ROOT } from '../js/helpers.mjs';

const SERVER = join(ROOT, 'tests/jmap/server.sh');
const OUT = join(ROOT, 'tests/out/jmap-webmail');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const skip = !isRoot && 'needs root (apt-get install, Cyrus master)';

function server(...args) {
  const r = spawnSync('bash', [SERVER, ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, CACHET_JMAP_OUT: OUT },
  });
  if (r.status !== 0) throw new Error(`server.sh ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

let env;
let creds;
let bobCreds;
let web;
let browser;
before(async () => {
  if (skip) return;
  requireBuild();
  env = Object.fromEntries(server('start').trim().split('\n').map((l) => {
    const i = l.indexOf('=');
    return [l.slice(0, i), l.slice(i + 1)];
  }));
  creds = JSON.parse(readFileSync(env.JMAP_CREDENTIALS, 'utf8'));
  bobCreds = JSON.parse(readFileSync(env.JMAP_CREDENTIALS_BOB, 'utf8'));
  web = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await web?.stop();
  if (!skip) server('stop');
});

/** The banners shown, as "class|text". */
const bannersOf = (page) => page.$$eval('#banners .banner', (els) => els.map((e) => `${e.className}|${e.textContent}`));

async function openedBanners(page) {
  await page.waitForFunction(() => document.querySelectorAll('#banners .banner').length >= 2
    && !/Opening/.test(document.querySelector('#banners').textContent), null, { timeout: 60_000 });
  return bannersOf(page);
}

/** Sign in to the JMAP server (the Server panel) as the demo's current identity. */
async function useServer(page, username, password) {
  await page.fill('#jmap-user', username);
  await page.fill('#jmap-password', password);
  await page.click('#apply-server');
  await page.waitForFunction((u) => document.querySelector('#server-status').textContent
    .includes(`Using the JMAP server as ${u}`) || /Cannot use it/.test(document.querySelector('#server-status').textContent),
  username, { timeout: 30_000 });
  assert.match(await page.textContent('#server-status'), new RegExp(`^Using the JMAP server as ${username.replace('.', '\\.')}`));
}

/** Wait for the sink's LMTP delivery of its newest message; returns its record. */
async function delivery() {
  const dir = env.JMAP_SINK_DIR;
  for (let i = 0; i < 300; i++) {
    const last = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().at(-1);
    const file = last && join(dir, last.replace(/\.json$/, '.delivery'));
    if (file && existsSync(file)) return { ...JSON.parse(readFileSync(file, 'utf8')), eml: readFileSync(join(dir, last.replace(/\.json$/, '.eml'))) };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the sink did not deliver the message over LMTP');
}

test('Alice sends sign+encrypt through JMAP; Bob signs in, lists his Cyrus Inbox, opens it', { skip }, async () => {
  assert.ok(env.JMAP_CORS_SESSION_URL, 'the nginx CORS front is running');
  const url = `${web.url}mail.html?jmap=${encodeURIComponent(env.JMAP_CORS_SESSION_URL)}&user=${encodeURIComponent(creds.username)}`;
  const { page, problems } = await openPage(browser.context, url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
  assert.equal(await page.inputValue('#jmap-user'), 'alice@example.org', '?user= fills the Server panel');
  await useServer(page, creds.username, creds.password);

  const subject = `JMAP demo ${Date.now()}`;
  await page.fill('#to', 'bob@example.org');
  await page.fill('#bcc', '');
  await page.fill('#subject', subject);
  await page.fill('#body', 'Hello Bob,\nsent through a real JMAP server.\n');
  await page.click('#send');
  await page.waitForFunction(() => /Sent|Not sent/.test(document.querySelector('#send-status').textContent), null, { timeout: 60_000 });
  assert.match(await page.textContent('#send-status'), /^Sent to bob@example\.org/);

  // Alice's copy, in her JMAP Sent mailbox (moved there by the submission); her Inbox is empty.
  await page.click('#refresh');
  await page.waitForSelector('#sent-messages button', { timeout: 30_000 });
  assert.equal(await page.$$eval('#messages button', (els) => els.length), 0);
  assert.equal(await page.textContent('#sent-messages button strong'), '[...]');
  await page.click('#sent-messages button');
  let banners = await openedBanners(page);
  assert.ok(banners.some((b) => /ok\|Encrypted/.test(b)), banners.join('\n'));
  assert.ok(banners.some((b) => /ok\|Signed by alice@example\.org/.test(b)), banners.join('\n'));
  assert.equal(await page.textContent('dd[data-header=subject]'), subject);
  await screenshot(page, 'webmail-jmap-read');

  // What Cyrus relayed reached the sink, which delivered it into Bob's Cyrus INBOX over LMTP.
  const sent = await delivery();
  assert.deepEqual(sent.delivered, ['bob@example.org'], JSON.stringify(sent.failed));
  assert.ok(sent.eml.includes('Subject: [...]'), 'the relayed message hides its Subject');

  // Bob: the demo's user switch, then his own JMAP account (Alice's is not used for him).
  await page.selectOption('#user', 'bob@example.org');
  await page.waitForFunction(() => /Unlocked bob/.test(document.querySelector('#keys-status').textContent), null, { timeout: 30_000 });
  await page.waitForFunction(() => /Sign in to the JMAP server as bob@example\.org/.test(document.querySelector('#server-status').textContent), null, { timeout: 30_000 });
  assert.equal(await page.inputValue('#jmap-user'), 'bob@example.org');
  assert.equal(await page.textContent('#read-h + #banners'), '', 'what Alice opened is no longer shown');
  assert.equal(await page.textContent('#text'), '');
  assert.equal(await page.inputValue('#jmap-password'), '');
  await useServer(page, bobCreds.username, bobCreds.password);
  for (let i = 0; i < 60 && (await page.$$('#messages button')).length === 0; i++) {
    await page.waitForTimeout(500);
    await page.click('#refresh');
  }
  await page.waitForSelector('#messages button', { timeout: 10_000 });
  assert.equal(await page.$$eval('#messages button', (els) => els.length), 1, 'one message in Bob\'s Inbox');
  assert.equal(await page.$$eval('#sent-messages button', (els) => els.length), 0);
  // Until opened, the list shows the Subject the server sees: "[...]" (RFC 9788).
  assert.equal(await page.textContent('#messages button strong'), '[...]');
  assert.match(await page.textContent('#messages button small'), /^From alice@example\.org/);
  await screenshot(page, 'webmail-jmap-bob-inbox');
  await page.click('#messages button');
  banners = await openedBanners(page);
  assert.ok(banners.some((b) => /^banner ok\|Encrypted \(aes256-gcm\)Only the recipients can read it\.$/.test(b)), banners.join('\n'));
  assert.ok(banners.some((b) => /^banner ok\|Signed by alice@example\.orgThe signature is valid and the certificate is trusted\.$/.test(b)), banners.join('\n'));
  assert.ok(!banners.some((b) => /bad|warn/.test(b.split('|')[0])), banners.join('\n'));
  assert.equal(await page.textContent('dd[data-header=subject]'), subject);
  assert.match(await page.textContent('dd[data-header=from]'), /alice@example\.org/);
  assert.match(await page.textContent('#text'), /sent through a real JMAP server/);
  // Opened, the list shows the protected Subject.
  assert.equal(await page.textContent('#messages button strong'), subject);
  await screenshot(page, 'webmail-jmap-bob-read');

  // Back to Alice: her JMAP account is remembered for the page's life, her mailbox comes back.
  await page.selectOption('#user', 'alice@example.org');
  await page.waitForFunction(() => /Using the JMAP server as alice@example\.org/.test(document.querySelector('#server-status').textContent), null, { timeout: 30_000 });
  await page.waitForSelector('#sent-messages button', { timeout: 30_000 });
  assert.equal(await page.$$eval('#messages button', (els) => els.length), 0);
  assert.deepEqual(problems, []);
  await page.close();
});
