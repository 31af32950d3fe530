// README.md: its error code table is the core's list, and its JS example runs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

import { readmeTable } from '../../.ci/readme.mjs';
import { ROOT, cachet, read, readText } from './helpers.mjs';

test('the README error code table equals errorCodes() (regenerate: node .ci/readme.mjs --write)',
  async () => {
    const { actual, expected } = await readmeTable();
    assert.equal(actual, expected);
  });

test('the README signer report code table equals reportCodes()', async () => {
  const { actual, expected } = await readmeTable('report');
  assert.equal(actual, expected);
});

test('the README JS example runs and prints what its comment says (needs the core)', async () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(readme)[1];
  const importLine = "import { sign, verify } from 'cachet';\n";
  assert.ok(block.startsWith(importLine));
  const body = block.slice(importLine.length);
  const comment = /console\.log\(.*\); \/\/ (.*)$/m.exec(body)[1];
  const logged = [];
  const AsyncFunction = (async () => {}).constructor;
  const example = new AsyncFunction('sign', 'verify', 'aliceP12', 'rootCa', 'console', body);
  await example(cachet.sign, cachet.verify, read('alice-rsa.p12'), readText('root-ca.pem'),
    { log: (...args) => logged.push(args.join(' ')) });
  assert.deepEqual(logged, [comment]);
});
