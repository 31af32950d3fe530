// The demo web mail against a REAL JMAP server, driven in headless Chromium as a person would:
// Alice points the demo at Cyrus (through the nginx CORS front, as the page's origin differs),
// composes to Bob with Sign and Encrypt, sends through JMAP, opens her Sent copy from the JMAP
// mailbox, and Bob opens what the SMTP sink received. Needs root (Cyrus); skipped otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
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
  web = await startServer();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await web?.stop();
  if (!skip) server('stop');
});

test('compose, sign+encrypt, send through JMAP, read from the JMAP mailbox and the sink', { skip }, async () => {
  assert.ok(env.JMAP_CORS_SESSION_URL, 'the nginx CORS front is running');
  const url = `${web.url}mail.html?jmap=${encodeURIComponent(env.JMAP_CORS_SESSION_URL)}&user=${encodeURIComponent(creds.username)}`;
  const { page, problems } = await openPage(browser.context, url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
  await page.fill('#jmap-password', creds.password);
  await page.click('#apply-server');
  await page.waitForFunction(() => /Using the JMAP server|Cannot use it/.test(document.querySelector('#server-status').textContent), null, { timeout: 30_000 });
  assert.match(await page.textContent('#server-status'), /Using the JMAP server/);

  const subject = `JMAP demo ${Date.now()}`;
  await page.fill('#to', 'bob@example.org');
  await page.fill('#bcc', '');
  await page.fill('#subject', subject);
  await page.fill('#body', 'Hello Bob,\nsent through a real JMAP server.\n');
  await page.click('#send');
  await page.waitForFunction(() => /Sent|Not sent/.test(document.querySelector('#send-status').textContent), null, { timeout: 60_000 });
  assert.match(await page.textContent('#send-status'), /^Sent to bob@example\.org/);

  // Alice's copy, from the JMAP mailbox (moved to Sent by the submission).
  await page.click('#refresh');
  await page.waitForSelector('#messages button', { timeout: 30_000 });
  await page.click('#messages button');
  await page.waitForFunction(() => document.querySelectorAll('#banners .banner').length >= 2
    && !/Opening/.test(document.querySelector('#banners').textContent), null, { timeout: 60_000 });
  let banners = await page.$$eval('#banners .banner', (els) => els.map((e) => `${e.className}|${e.textContent}`));
  assert.ok(banners.some((b) => /ok\|Encrypted/.test(b)), banners.join('\n'));
  assert.ok(banners.some((b) => /ok\|Signed by alice@example\.org/.test(b)), banners.join('\n'));
  assert.equal(await page.textContent('dd[data-header=subject]'), subject);
  await screenshot(page, 'webmail-jmap-read');

  // Bob opens what the SMTP sink received, byte for byte what was sealed.
  const sink = readdirSync(env.JMAP_SINK_DIR).filter((f) => f.endsWith('.eml')).sort();
  const raw = readFileSync(join(env.JMAP_SINK_DIR, sink.at(-1)));
  await page.selectOption('#user', 'bob@example.org');
  await page.waitForFunction(() => /Unlocked bob/.test(document.querySelector('#keys-status').textContent), null, { timeout: 30_000 });
  await page.setInputFiles('#eml', { name: 'received.eml', mimeType: 'message/rfc822', buffer: raw });
  await page.waitForFunction(() => /Signed by/.test(document.querySelector('#banners').textContent), null, { timeout: 60_000 });
  banners = await page.$$eval('#banners .banner', (els) => els.map((e) => `${e.className}|${e.textContent}`));
  assert.ok(banners.some((b) => /ok\|Signed by alice@example\.org/.test(b)), banners.join('\n'));
  assert.equal(await page.textContent('dd[data-header=subject]'), subject);
  assert.deepEqual(problems, []);
  await page.close();
});
