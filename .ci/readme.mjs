// The README's error code table, generated from the core's list (src/error.rs CODES, as the built
// package reports it through errorCodes()).
//   node .ci/readme.mjs           exit 1 when README.md's table differs (prints the expected one)
//   node .ci/readme.mjs --write   rewrite the table in README.md
// Needs a built pkg/ (npm run build).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const BEGIN = '<!-- error-codes:begin -->\n';
const END = '<!-- error-codes:end -->';

/** The markdown table for `[code, description]` pairs. */
export function renderTable(codes) {
  const esc = (s) => s.replace(/\|/g, '\\|');
  const rows = codes.map(([code, text]) => `| \`${code}\` | ${esc(text)} |`);
  return ['| Code | Meaning |', '|---|---|', ...rows].join('\n') + '\n';
}

/** `{ actual, expected, readme }`: the table in README.md and the one the core's codes give. */
export async function readmeTable() {
  const { errorCodes } = await import('../pkg/index.js');
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${BEGIN.trim()} markers`);
  return {
    actual: readme.slice(start + BEGIN.length, end),
    expected: renderTable(await errorCodes()),
    readme,
    start: start + BEGIN.length,
    end,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { actual, expected, readme, start, end } = await readmeTable();
  if (actual === expected) {
    console.log('readme: the error code table is up to date');
  } else if (process.argv.includes('--write')) {
    writeFileSync(README, readme.slice(0, start) + expected + readme.slice(end));
    console.log('readme: error code table rewritten');
  } else {
    console.error(`readme: README.md's error code table differs; expected:\n${expected}`);
    console.error('run: node .ci/readme.mjs --write');
    process.exitCode = 1;
  }
}
