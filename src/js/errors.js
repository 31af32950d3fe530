// Errors: "could not process". Every failure of the public API is a CachetError with a stable
// `code` (see ERROR_CODES). A signature that does not hold is NOT an error: `verify` reports it.
// Messages never carry keys, passwords or plaintext.

import { CODES } from './codes.js';

/** Every error code and its description, `{ CODE: 'description' }`, in a stable order. */
export const ERROR_CODES = Object.freeze(Object.fromEntries(CODES));

/** The error every Cachet function throws (or rejects with). */
export class CachetError extends Error {
  /**
   * @param {string} code one of ERROR_CODES
   * @param {string} message a human explanation (English)
   * @param {{ detail?: string, cause?: unknown }} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'CachetError';
    /** @type {string} */
    this.code = code;
    if (extra.detail !== undefined) {
      /** @type {string | undefined} */
      this.detail = extra.detail;
    }
  }
}

/** An API_MISUSE error (the caller's bug: unknown option, wrong type, bad value). */
export function misuse(detail) {
  return new CachetError('API_MISUSE', `API_MISUSE: ${detail}`, { detail });
}

/** Turn anything thrown by the wasm module into a CachetError. */
export function wrap(err) {
  if (err instanceof CachetError) return err;
  if (err && err.name === 'CachetError' && typeof err.code === 'string') {
    return new CachetError(err.code, err.message, { detail: err.detail });
  }
  // A trap (a bug: the core must not panic) or a failure to load the module.
  const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new CachetError('INTERNAL', `INTERNAL: ${what}`, { cause: err });
}
