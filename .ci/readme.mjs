// The README's code tables, generated from the core's lists: error codes (src/error.rs CODES,
// through errorCodes()) and signer report codes (src/cms/verify.rs REPORT_CODES, reportCodes()).
//   node .ci/readme.mjs           exit 1 when README.md's table differs (prints the expected one)
//   node .ci/readme.mjs --write   rewrite the table in README.md
// Needs a built pkg/ (npm run build).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const README = fileURLToPath(new URL('../README.md', import.meta.url));
const TABLES = {
  error: { name: 'error-codes', load: async (api) => renderTable(await api.errorCodes()) },
  report: { name: 'report-codes', load: async (api) => renderReport(await api.reportCodes()) },
};

/** The markdown table for `[code, description]` pairs. */
export function renderTable(codes) {
  const esc = (s) => s.replace(/\|/g, '\\|');
  const rows = codes.map(([code, text]) => `| \`${code}\` | ${esc(text)} |`);
  return ['| Code | Meaning |', '|---|---|', ...rows].join('\n') + '\n';
}

/** The markdown table for `[code, status, description]` triples. */
export function renderReport(codes) {
  const esc = (s) => s.replace(/\|/g, '\\|');
  const rows = codes.map(([code, status, text]) => `| \`${code}\` | \`${status}\` | ${esc(text)} |`);
  return ['| Code | Status | Meaning |', '|---|---|---|', ...rows].join('\n') + '\n';
}

/** `{ actual, expected, readme }`: the table in README.md and the one the core's codes give. */
export async function readmeTable(kind = 'error') {
  const table = TABLES[kind];
  const BEGIN = `<!-- ${table.name}:begin -->\n`;
  const END = `<!-- ${table.name}:end -->`;
  const api = await import('../pkg/index.js');
  const readme = readFileSync(README, 'utf8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${BEGIN.trim()} markers`);
  return {
    actual: readme.slice(start + BEGIN.length, end),
    expected: await table.load(api),
    readme,
    start: start + BEGIN.length,
    end,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const kind of Object.keys(TABLES)) {
    const { actual, expected, readme, start, end } = await readmeTable(kind);
    if (actual === expected) {
      console.log(`readme: the ${kind} code table is up to date`);
    } else if (process.argv.includes('--write')) {
      writeFileSync(README, readme.slice(0, start) + expected + readme.slice(end));
      console.log(`readme: ${kind} code table rewritten`);
    } else {
      console.error(`readme: README.md's ${kind} code table differs; expected:\n${expected}`);
      console.error('run: node .ci/readme.mjs --write');
      process.exitCode = 1;
    }
  }
}
