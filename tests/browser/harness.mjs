// Shared set-up for the browser tests: the demo server on a free port and a headless Chromium
// (Debian's, driven by playwright-core; never `playwright install`) with a fresh profile.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { after, before } from 'node:test';

import { chromium } from 'playwright-core';

export const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const outDir = join(root, 'tests', 'out');
export const pkiDir = join(root, 'tests', 'vectors', 'pki');

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Start `node www/server.mjs` with PORT=0; resolves to { url, stop }. */
export function startServer() {
  return new Promise((resolveStart, reject) => {
    const child = spawn(process.execPath, [join(root, 'www', 'server.mjs')], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`server did not print its URL: ${out}`));
    }, 10_000);
    child.once('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (match) {
        clearTimeout(timer);
        resolveStart({
          url: match[0],
          stop: () =>
            new Promise((done) => {
              child.removeAllListeners('exit');
              child.once('exit', done);
              child.kill();
            }),
        });
      }
    });
  });
}

/** Launch Chromium with a throw-away profile; resolves to { context, close }. */
export async function launchBrowser() {
  const profile = await mkdtemp(join(tmpdir(), 'cachet-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1100, height: 1400 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Open a page that records uncaught errors and console errors. */
export async function openPage(context, url) {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  if (url) await page.goto(url);
  return { page, problems };
}

export async function screenshot(page, name) {
  await mkdir(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
}

/** Fail early, with the fix, when the package has not been built. */
export function requireBuild() {
  if (!existsSync(join(root, 'pkg', 'index.js'))) {
    throw new Error('pkg/index.js is missing: run `npm run build` first');
  }
}

/**
 * For a test file: the demo server and a headless Chromium, started before its tests (after
 * checking the build) and stopped after them. Returns `{ server, browser }`, filled in by then.
 */
export function serverAndBrowser() {
  const live = {};
  before(async () => {
    requireBuild();
    live.server = await startServer();
    live.browser = await launchBrowser();
  });
  after(async () => {
    await live.browser?.close();
    await live.server?.stop();
  });
  return live;
}
