// The demo web mail in headless Chromium, driven as a person would: Alice composes to Bob with
// Sign and Encrypt on, sends through the demo's local submission endpoint; Bob opens it from his
// Inbox and sees a banner per layer and the protected Subject. The key manager lists each
// certificate with its status. Screenshots of compose, read and keys go to tests/out/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { openPage, pkiDir, screenshot, serverAndBrowser } from './harness.mjs';

const live = serverAndBrowser();

test('compose, sign+encrypt, send, and read with banners and protected headers', async () => {
  const { page, problems } = await openPage(live.browser.context, `${live.server.url}mail.html`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await page.fill('#to', 'Bob <bob@example.org>');
  await page.fill('#subject', 'Quarterly numbers');
  await page.fill('#body', 'Hi Bob,\nthe numbers are attached.\n');
  await page.setInputFiles('#attach', { name: 'numbers.csv', mimeType: 'text/csv', buffer: Buffer.from('q,n\n1,42\n') });
  // The lock icons come from the key store in the worker: wait for them.
  await page.waitForFunction(() => /🔒 bob@example\.org/.test(document.querySelector('#locks').textContent));
  await screenshot(page, 'webmail-compose');
  await page.click('#send');
  await page.waitForFunction(() => /Sent|Not sent/.test(document.querySelector('#send-status').textContent), null, { timeout: 60_000 });
  assert.match(await page.textContent('#send-status'), /^Sent to bob@example\.org/);
  // Alice's Sent list has it (its outer Subject), her Inbox does not.
  await page.waitForSelector('#sent-messages button', { timeout: 30_000 });
  assert.match(await page.textContent('#sent-messages button'), /^\[\.\.\.\]To bob@example\.org/);
  assert.equal(await page.$$eval('#messages button', (els) => els.length), 0);

  // Bob reads it.
  await page.selectOption('#user', 'bob@example.org');
  await page.waitForFunction(() => /Unlocked bob/.test(document.querySelector('#keys-status').textContent), null, { timeout: 30_000 });
  await page.waitForSelector('#messages button', { timeout: 30_000 });
  const listed = await page.textContent('#messages button strong');
  assert.equal(listed, '[...]', 'the outer Subject is obscured (RFC 9788)');
  assert.match(await page.textContent('#messages button small'), /^From .*alice@example\.org/);
  await page.click('#messages button');
  await page.waitForFunction(() => document.querySelectorAll('#banners .banner').length >= 2
    && !/Opening/.test(document.querySelector('#banners').textContent), null, { timeout: 60_000 });
  const banners = await page.$$eval('#banners .banner', (els) => els.map((e) => `${e.className}|${e.textContent}`));
  // Once opened, the list shows the protected Subject.
  assert.equal(await page.textContent('#messages button strong'), 'Quarterly numbers');
  assert.ok(banners.some((b) => /ok\|Encrypted \(aes256-gcm\)/.test(b)), banners.join('\n'));
  assert.ok(banners.some((b) => /ok\|Signed by alice@example\.org/.test(b)), banners.join('\n'));
  assert.ok(!banners.some((b) => /bad|warn/.test(b.split('|')[0])), banners.join('\n'));
  assert.equal(await page.textContent('dd[data-header=subject]'), 'Quarterly numbers');
  assert.match(await page.textContent('#text'), /the numbers are attached/);
  assert.doesNotMatch(await page.textContent('#text'), /^Subject:/m, 'the legacy display part is hidden');
  assert.match(await page.textContent('#files'), /numbers\.csv/);
  await screenshot(page, 'webmail-read');

  // Encrypting to someone without a certificate fails before anything is sent.
  await page.fill('#to', 'carol@example.org');
  await page.waitForFunction(() => /🔓 carol@example\.org/.test(document.querySelector('#locks').textContent));
  await page.click('#send');
  await page.waitForFunction(() => /Not sent/.test(document.querySelector('#send-status').textContent));
  assert.match(await page.textContent('#send-status'), /RECIPIENT_NO_CERTIFICATE.*carol@example\.org/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a message not addressed to the reader says so', async () => {
  const { page } = await openPage(live.browser.context, `${live.server.url}mail.html`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  // Alice writes to herself only, encrypted; Bob opens the raw message as a dropped file.
  await page.fill('#to', 'alice@example.org');
  await page.click('#send');
  await page.waitForFunction(() => /Sent/.test(document.querySelector('#send-status').textContent), null, { timeout: 60_000 });
  const id = await page.getAttribute('#send-status', 'data-id');
  const raw = await (await fetch(`${live.server.url}outbox/${id}`)).arrayBuffer();
  await page.selectOption('#user', 'bob@example.org');
  await page.waitForFunction(() => /Unlocked bob/.test(document.querySelector('#keys-status').textContent), null, { timeout: 30_000 });
  await page.waitForFunction(() => document.querySelector('#busy').textContent === ''
    && /Unlocked bob/.test(document.querySelector('#keys-status').textContent), null, { timeout: 30_000 });
  await page.setInputFiles('#eml', { name: 'm.eml', mimeType: 'message/rfc822', buffer: Buffer.from(raw) });
  await page.waitForFunction(() => /not for you/.test(document.querySelector('#banners').textContent), null, { timeout: 30_000 });
  await page.close();
});

/** The key list as [store, text, status class] rows. */
const keyRows = (page) => page.$$eval('#keys li', (els) => els.map((e) => ({
  store: e.dataset.store, status: e.dataset.status, title: e.title, text: e.textContent,
  kind: e.querySelector('.status')?.className ?? '',
})));

test('the key manager: identities persist in IndexedDB, a .p12 imports, a backup exports', async () => {
  const { page, problems } = await openPage(live.browser.context, `${live.server.url}mail.html`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  assert.match(await page.textContent('#keys'), /alice@example\.org · my identity/);
  assert.match(await page.textContent('#keys'), /trust anchor/);
  // Each certificate's status, in words (with a symbol) and colour.
  const rows = await keyRows(page);
  for (const who of ['alice@example.org', 'bob@example.org']) {
    const me = rows.find((r) => r.store === 'identities' && r.text.startsWith(who));
    assert.ok(me, `${who} is listed`);
    assert.match(me.text, new RegExp(`^${who.replace('.', '\\.')} · my identity · ✓ valid · usable for signing and decryption · 2025-06-01 to 2035-06-01`));
    assert.equal(me.kind, 'status ok');
  }
  const root = rows.find((r) => r.store === 'trustAnchors');
  assert.match(root.text, /trust anchor · ✓ valid · trusted to issue certificates/);
  // A wrong passphrase does not unlock.
  await page.fill('#passphrase', 'wrong');
  await page.click('#unlock');
  await page.waitForFunction(() => /Cannot unlock/.test(document.querySelector('#keys-status').textContent));
  assert.match(await page.textContent('#keys-status'), /BAD_PASSWORD/);
  await page.fill('#passphrase', 'demo');
  await page.click('#unlock');
  await page.waitForFunction(() => /Unlocked/.test(document.querySelector('#keys-status').textContent));
  // Import another identity from a .p12, protected here with its own passphrase.
  await page.click('summary:has-text("Import a .p12")');
  await page.setInputFiles('#p12', { name: 'p384.p12', mimeType: 'application/x-pkcs12', buffer: readFileSync(join(pkiDir, 'alice-p384.p12')) });
  await page.fill('#p12-password', 'test');
  await page.fill('#p12-passphrase', 'another passphrase');
  await page.click('#import');
  await page.waitForFunction(() => /Imported|Not imported/.test(document.querySelector('#keys-status').textContent), null, { timeout: 30_000 });
  assert.match(await page.textContent('#keys-status'), /Imported p384\.p12/);
  // A backup of the signed-in identity.
  await page.click('summary:has-text("Export a backup")');
  await page.fill('#backup-password', 'backup pw');
  await page.click('#export');
  await page.waitForFunction(() => /Backup ready|No backup/.test(document.querySelector('#keys-status').textContent), null, { timeout: 30_000 });
  assert.match(await page.textContent('#keys-status'), /Backup ready/);
  // Other people's certificates that cannot be relied on say why.
  await page.click('summary:has-text("Add someone\'s certificate")');
  for (const name of ['expired', 'not-yet-valid', 'untrusted-leaf']) {
    await page.setInputFiles('#cert-file', { name: `${name}.pem`, mimeType: 'application/x-pem-file', buffer: readFileSync(join(pkiDir, `${name}.pem`)) });
    await page.click('#add-cert');
    await page.waitForFunction((n) => document.querySelector('#keys-status').textContent.includes(`${n}.pem`), name, { timeout: 30_000 });
    assert.match(await page.textContent('#keys-status'), /^Added alice@example\.org/);
  }
  const others = await keyRows(page);
  const row = (cn) => others.find((r) => r.store === 'otherPeople' && r.title.includes(cn));
  assert.match(row('Alice expired').text, /· other people · ✗ expired · cannot receive encrypted mail · 2020-01-01 to 2021-01-01/);
  assert.equal(row('Alice expired').kind, 'status bad');
  assert.match(row('Alice not-yet-valid').text, /· ◷ not yet valid · /);
  assert.equal(row('Alice not-yet-valid').kind, 'status warn');
  assert.match(row('Alice untrusted-leaf').text, /· ✗ untrusted · cannot receive encrypted mail/);
  assert.equal(row('Alice untrusted-leaf').kind, 'status bad');
  await screenshot(page, 'webmail-keys');
  // Reload: the store is still there.
  await page.reload();
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  assert.ok((await page.$$('#keys li')).length >= 7);
  assert.equal((await keyRows(page)).filter((r) => r.status === 'expired').length, 1);
  assert.deepEqual(problems, []);
  await page.close();
});

test('a large attachment shows its progress: reading, composing, signing, encrypting, sending', async () => {
  const { page, problems } = await openPage(live.browser.context, `${live.server.url}mail.html`);
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await page.waitForFunction(() => /Unlocked alice/.test(document.querySelector('#keys-status').textContent), null, { timeout: 30_000 });
  // Record every state of the busy line and the progress bar while sending.
  await page.evaluate(() => {
    window.seenProgress = [];
    const note = () => {
      const bar = document.querySelector('#progress');
      window.seenProgress.push({ text: document.querySelector('#busy').textContent, hidden: bar.hidden, value: bar.value, max: bar.max });
    };
    new MutationObserver(note).observe(document.querySelector('#busy'), { childList: true, characterData: true, subtree: true });
    new MutationObserver(note).observe(document.querySelector('#progress'), { attributes: true });
  });
  await page.fill('#to', 'bob@example.org');
  await page.fill('#subject', 'The big file');
  await page.fill('#body', 'Attached.\n');
  const big = Buffer.alloc(6 * 1024 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789\n');
  await page.setInputFiles('#attach', { name: 'big.txt', mimeType: 'text/plain', buffer: big });
  await page.waitForFunction(() => /🔒 bob@example\.org/.test(document.querySelector('#locks').textContent));
  await page.click('#send');
  await page.waitForFunction(() => /Sent|Not sent/.test(document.querySelector('#send-status').textContent), null, { timeout: 120_000 });
  assert.match(await page.textContent('#send-status'), /^Sent to bob@example\.org/);
  const seen = await page.evaluate(() => window.seenProgress);
  const texts = seen.map((s) => s.text).join('\n');
  assert.match(texts, /reading attachments \d+%/);
  for (const stage of ['composing', 'signing', 'encrypting', 'sending']) {
    assert.match(texts, new RegExp(`step \\d of 4, ${stage}`), texts);
  }
  // The bar moved forward: visible with values from 0 up to 3 of 4 while sealing and sending.
  const staged = seen.filter((s) => !s.hidden && s.max === 4).map((s) => s.value);
  assert.ok(staged.includes(0) && staged.includes(3), JSON.stringify(seen));
  assert.equal(await page.$eval('#progress', (e) => e.hidden), true, 'hidden when done');
  assert.deepEqual(problems, []);
  await page.close();
});
