// Shared by the Node tests: paths, fixtures, the built package and a CLI runner.
// The tests run against pkg/ (run `npm run build` first; `npm test` does).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const PKI = join(ROOT, 'tests/vectors/pki');
export const PKG = join(ROOT, 'pkg');
/** The committed CLI entry (the root package's `bin`), which finds pkg/ itself. */
export const CLI = join(ROOT, 'src/js/cli.js');
/** The verification time the test PKI is made for. */
export const AT = '2030-01-01T00:00:00Z';
export const AT_DATE = new Date(AT);

if (!existsSync(join(PKG, 'index.js'))) {
  throw new Error('pkg/ is not built: run `npm run build` (npm test does) before the Node tests');
}
export const cachet = await import(join(PKG, 'index.js'));

export const pki = (name) => join(PKI, name);
export const read = (name) => readFileSync(pki(name));
export const readText = (name) => readFileSync(pki(name), 'utf8');

export const MESSAGE =
  'From: Alice <alice@example.org>\r\n' +
  'To: Bob <bob@example.org>\r\n' +
  'Subject: Cachet test\r\n' +
  'Date: Tue, 01 Jan 2030 00:00:00 +0000\r\n' +
  'MIME-Version: 1.0\r\n' +
  'Content-Type: text/plain; charset=utf-8\r\n' +
  '\r\n' +
  'Hello Bob,\r\nthis message is signed. Grüße!\r\n';

/** A fresh scratch directory under tests/out/ (git-ignored). */
export function scratch(prefix) {
  const base = join(ROOT, 'tests/out');
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}

/** Run the CLI; `input` goes to standard input. */
export function cli(args, { input, cli: entry = CLI } = {}) {
  const r = spawnSync(process.execPath, [entry, ...args], {
    input: input ?? '',
    cwd: ROOT,
    maxBuffer: 64 << 20,
  });
  const stderr = r.stderr.toString();
  return { status: r.status, stdout: r.stdout, stderr, out: r.stdout.toString() };
}

/** Run a command (openssl) and return { status, stdout, stderr }. */
export function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input: input ?? '', maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr?.toString() ?? String(r.error) };
}

export const hasOpenssl = run('openssl', ['version']).status === 0;

/** Assert a promise rejects with a CachetError of `code`. */
export async function rejectsWith(promise, code) {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof cachet.CachetError)) {
      throw new Error(`expected a CachetError ${code}, got ${err?.name}: ${err?.message}`);
    }
    if (err.code !== code) throw new Error(`expected ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  throw new Error(`expected a rejection with ${code}, but it resolved`);
}

/** For the CLI, which signs at the current time: a Date: header in the past (a Date: well after
 *  the signing time is reported as date-mismatch). */
export const CLI_MESSAGE = MESSAGE.replace('Tue, 01 Jan 2030', 'Thu, 01 Jan 2026');
