// Option checking shared by the public API (index.js) and the key store (keystore.js), and the
// test for Node shared with websign.js.
import { misuse } from './errors.js';

/** One options object with only `allowed` keys, else API_MISUSE. `undefined` counts as `{}`
 *  when `optional`. */
export function checkOptions(options, fn, allowed, { optional = false } = {}) {
  if (options === undefined && optional) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw misuse(`${fn}: expected one options object`);
  }
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw misuse(`${fn}: unknown option ${JSON.stringify(key)}`);
  }
  return options;
}

const encoder = new TextEncoder();

/** Whether this runs in Node (where node:crypto and node:fs exist), not a browser. */
export const isNode =
  typeof process === 'object' && process !== null && typeof process.versions?.node === 'string';

/** string (UTF-8) | Uint8Array | ArrayBuffer | view | object with `der` -> Uint8Array. Never
 *  echoes the value. */
export function bytes(value, name) {
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  if (value !== null && typeof value === 'object' && value.der instanceof Uint8Array) {
    return value.der; // a Certificate
  }
  throw misuse(`${name}: expected a string or a Uint8Array`);
}
