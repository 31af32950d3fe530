// The demo page in headless Chromium: sign, verify, tamper, the error path, and the README's
// JavaScript example, all through the public package served at /pkg/.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';

import { openPage, pkiDir, root, screenshot, serverAndBrowser } from './harness.mjs';

const live = serverAndBrowser();

/** Open the demo and wait until the package has initialised. */
async function openDemo() {
  const opened = await openPage(live.browser.context, live.server.url);
  await opened.page.waitForSelector('html[data-ready]');
  const ready = await opened.page.getAttribute('html', 'data-ready');
  assert.equal(ready, 'true', `the package did not load: ${await opened.page.textContent('#error')}`);
  return opened;
}

/** Click a button and wait for the page to finish (a result or an error appears). */
async function run(page, button) {
  await page.click(button);
  await page.waitForFunction(
    () =>
      !document.body.hasAttribute('aria-busy') &&
      (!document.getElementById('result').hidden || !document.getElementById('error').hidden ||
        /Signed\./.test(document.getElementById('status').textContent)),
  );
}

async function errorText(page) {
  return (await page.isHidden('#error')) ? '' : await page.textContent('#error');
}

async function signersOnPage(page) {
  return page.$$eval('#banners .banner', (boxes) =>
    boxes.map((b) => ({ status: b.dataset.status, text: b.textContent })),
  );
}

test('the server serves the page, the package and the demo files, and nothing else', async () => {
  const get = (path) => fetch(new URL(path, live.server.url));
  for (const [path, type] of [
    ['/', 'text/html'],
    ['/app.js', 'text/javascript'],
    ['/pkg/index.js', 'text/javascript'],
    ['/demo/alice.p12', 'application/x-pkcs12'],
    ['/demo/root-ca.pem', 'application/x-pem-file'],
  ]) {
    const response = await get(path);
    assert.equal(response.status, 200, path);
    assert.ok(response.headers.get('content-type').startsWith(type), `${path}: ${type}`);
  }
  const pkg = JSON.parse(await readFile(join(root, 'pkg', 'package.json'), 'utf8').catch(() => '{}'));
  const wasm = (pkg.files ?? []).find((f) => f.endsWith('.wasm'));
  if (wasm) {
    const response = await get(`/pkg/${wasm}`);
    assert.equal(response.headers.get('content-type'), 'application/wasm');
  }
  for (const path of [
    '/server.mjs',
    '/../Cargo.toml',
    '/%2e%2e/Cargo.toml',
    '/pkg/..%2f..%2fCargo.toml',
    '/demo/alice-rsa.key',
    '/tests/vectors/pki/alice-rsa.key',
  ]) {
    assert.equal((await get(path)).status, 404, path);
  }
});

test('sign with the demo identity, then verify: valid for alice@example.org', async () => {
  const { page, problems } = await openDemo();
  await run(page, '#sign');
  assert.equal(await errorText(page), '');
  const signed = await page.inputValue('#message');
  assert.match(signed, /multipart\/signed/i);
  assert.match(signed, /application\/(x-)?pkcs7-signature/i);

  await run(page, '#verify');
  assert.equal(await errorText(page), '');
  const signers = await signersOnPage(page);
  await screenshot(page, 'demo-valid');
  assert.equal(signers.length, 1);
  assert.equal(signers[0].status, 'valid');
  assert.match(signers[0].text, /alice@example\.org/);
  assert.equal(await page.getAttribute('#result', 'data-valid'), 'true');
  assert.match(await page.textContent('#content'), /lunch on Friday/);
  assert.deepEqual(problems, []);
  await page.close();
});

test('opaque signing with SHA-512 verifies too', async () => {
  const { page } = await openDemo();
  await page.check('input[name="format"][value="opaque"]');
  await page.selectOption('#digest', 'sha512');
  await run(page, '#sign');
  assert.equal(await errorText(page), '');
  assert.match(await page.inputValue('#message'), /application\/(x-)?pkcs7-mime/i);
  await run(page, '#verify');
  const signers = await signersOnPage(page);
  assert.equal(signers[0]?.status, 'valid', JSON.stringify(signers));
  assert.match(signers[0].text, /sha-?512/i);
  await page.close();
});

test('a tampered message is reported altered, not valid', async () => {
  const { page } = await openDemo();
  await run(page, '#sign');
  const signed = await page.inputValue('#message');
  const tampered = signed.replace('at noon', 'at one');
  assert.notEqual(tampered, signed, 'the body text is in the signed message');
  await page.fill('#message', tampered);
  await run(page, '#verify');
  assert.equal(await errorText(page), '');
  const signers = await signersOnPage(page);
  await screenshot(page, 'demo-tampered');
  assert.equal(signers.length, 1);
  assert.equal(signers[0].status, 'content-altered');
  assert.equal(await page.getAttribute('#result', 'data-valid'), 'false');
  assert.equal(await page.getAttribute('#banners .banner', 'class'), 'banner invalid');
  await page.close();
});

test('without the demo root the signer is untrusted', async () => {
  const { page } = await openDemo();
  await run(page, '#sign');
  await page.uncheck('#demo-anchor');
  await run(page, '#verify');
  const signers = await signersOnPage(page);
  assert.equal(signers[0]?.status, 'untrusted', JSON.stringify(signers));
  await page.close();
});

test('own .p12 with a wrong password: the error code reaches the page', async () => {
  const { page } = await openDemo();
  await page.check('input[name="identity"][value="own"]');
  await page.setInputFiles('#p12-file', join(pkiDir, 'alice-rsa.p12'));
  await page.fill('#p12-password', 'not the password');
  await run(page, '#sign');
  assert.match(await errorText(page), /^BAD_PASSWORD: /);
  // The right password then works, with the user's own root as anchor.
  await page.fill('#p12-password', 'test');
  await run(page, '#sign');
  assert.equal(await errorText(page), '');
  await page.uncheck('#demo-anchor');
  await page.setInputFiles('#anchor-files', join(pkiDir, 'root-ca.pem'));
  await run(page, '#verify');
  const signers = await signersOnPage(page);
  assert.equal(signers[0]?.status, 'valid', JSON.stringify(signers));
  await page.close();
});

test('a pinned verification time after expiry reports expired', async () => {
  const { page } = await openDemo();
  await run(page, '#sign');
  await page.fill('#date', '2040-01-01T00:00:00');
  await run(page, '#verify');
  const signers = await signersOnPage(page);
  assert.equal(signers[0]?.status, 'expired', JSON.stringify(signers));
  await page.close();
});

/** The README's JS example: between `<!-- example -->` markers, else the first ```js block. */
export async function readmeExample() {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const marked = readme.match(/<!--\s*example\s*-->([\s\S]*?)<!--\s*\/example\s*-->/);
  const region = marked ? marked[1] : readme;
  const block = region.match(/```(?:js|javascript|mjs)\n([\s\S]*?)```/);
  assert.ok(block, 'README.md has a ```js example');
  return block[1];
}

test("the README's JavaScript example runs in the page", async () => {
  const code = await readmeExample();
  const comment = /console\.log\(.*\); \/\/ (.*)$/m.exec(code)?.[1];
  const { page, problems } = await openDemo();
  // The example's free variables (`aliceP12`, `rootCa`) are the demo identity and root; the
  // page's import map resolves `cachet` to /pkg/index.js, as a bundler would.
  const outcome = await page.evaluate(async (source) => {
    globalThis.aliceP12 = new Uint8Array(await (await fetch('/demo/alice.p12')).arrayBuffer());
    globalThis.rootCa = await (await fetch('/demo/root-ca.pem')).text();
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    const logged = [];
    const log = console.log;
    console.log = (...args) => logged.push(args.join(' '));
    try {
      await import(url);
      return { ok: true, logged };
    } catch (error) {
      return { ok: false, logged, error: `${error?.code ?? ''} ${error?.stack ?? error}` };
    } finally {
      console.log = log;
      URL.revokeObjectURL(url);
    }
  }, code);
  await screenshot(page, 'readme-example');
  assert.ok(outcome.ok, `the example threw: ${outcome.error}`);
  if (comment) assert.deepEqual(outcome.logged, [comment]);
  assert.deepEqual(problems, []);
  await page.close();
});
