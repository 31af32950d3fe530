// The key store: the user's identities (certificate, chain, private key encrypted at rest), other
// people's certificates and the trust anchors, in IndexedDB (browsers), a file (Node) or memory.
//
// A private key never reaches storage in clear: it is a PKCS#8 EncryptedPrivateKeyInfo (PBES2,
// PBKDF2-HMAC-SHA256, AES-256-CBC) made by the core, optionally wrapped once more with a
// non-extractable WebCrypto AES-GCM key kept in IndexedDB. Unlocked keys live only in the
// WebAssembly module's memory and are wiped by `lock()`, after an idle time, and on `pagehide`.
//
// Every change is ONE adapter commit (one IndexedDB transaction, one atomic file rename): a failed
// import leaves the store as it was. Records are checked when read; a broken record is reported
// by id (`list().corrupted`) while the others stay readable.

import * as wasm from './cachet_wasm.js';
import { CachetError, misuse, wrap } from './errors.js';
import { bytes, checkOptions as check } from './options.js';
import { Certificate, Identity, init } from './index.js';

/** The schema version this code writes. v1: `encryptedKey` on identities; v2: `key` object,
 *  `added` times and the `meta` store. */
export const SCHEMA_VERSION = 2;
const STORES = ['identities', 'otherPeople', 'trustAnchors'];
const DEFAULT_ITERATIONS = 600_000;
const KEY_FORMAT = 'pkcs8-pbes2';
const WRAPPED_FORMAT = 'pkcs8-pbes2+aes-gcm';

function storeError(code, detail) {
  return new CachetError(code, `${code}: ${detail}`, { detail });
}

/** Map a storage failure (DOMException, Node fs error) to a CachetError. */
function storageError(err, what) {
  if (err instanceof CachetError) return err;
  const name = err?.name ?? '';
  const code = err?.code ?? '';
  if (name === 'QuotaExceededError' || code === 'ENOSPC' || code === 'EDQUOT') {
    const message = `STORE_QUOTA: ${what}: storage is full; nothing was written`;
    return new CachetError('STORE_QUOTA', message, { detail: what, cause: err });
  }
  const why = name && name !== 'Error' ? name : code || err?.message || String(err);
  const message = `STORE_FAILED: ${what}: ${why}`;
  return new CachetError('STORE_FAILED', message, { detail: what, cause: err });
}

function checkOptions(options, fn, allowed) {
  return check(options, fn, allowed, { optional: true });
}

function string(value, name, { required = false, nonEmpty = false } = {}) {
  if (value === undefined || value === null) {
    if (required) throw misuse(`${name} is required`);
    return undefined;
  }
  if (typeof value !== 'string') throw misuse(`${name}: expected a string`);
  if (nonEmpty && value === '') throw misuse(`${name}: must not be empty`);
  return value;
}

function list(value, name) {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map((v, i) => bytes(v, `${name}[${i}]`));
}

function wasmCall(fn) {
  try {
    return fn();
  } catch (err) {
    throw wrap(err);
  }
}

function hexNorm(value, name, upper) {
  if (typeof value !== 'string') throw misuse(`${name}: expected a hex string`);
  const hex = value.replace(/[\s:]/g, '');
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw misuse(`${name}: expected a hex string`);
  return upper ? hex.toUpperCase() : hex.toLowerCase();
}

function stripZeros(hex) {
  return hex.replace(/^(00)+(?=..)/, '');
}

// ---- records ---------------------------------------------------------------------------------

/** Facts about a certificate (DER) from the core; throws CERT_MALFORMED. */
function facts(der) {
  return wasmCall(() => wasm.certificateInfo(der));
}

/** Check a stored record and derive its facts; null when it is not a valid record. */
function readRecord(store, id, record) {
  try {
    if (record === null || typeof record !== 'object' || record.id !== id) return null;
    if (!(record.certificate instanceof Uint8Array)) return null;
    const info = facts(record.certificate);
    if (info.thumbprint !== id) return null;
    if (store === 'identities') {
      const key = record.key;
      if (!key || !(key.data instanceof Uint8Array) || key.data.length === 0) return null;
      const wrapped = key.format === WRAPPED_FORMAT && key.iv instanceof Uint8Array;
      if (key.format !== KEY_FORMAT && !wrapped) return null;
      if (!Array.isArray(record.chain) || !record.chain.every((c) => c instanceof Uint8Array)) {
        return null;
      }
    }
    return { record, info };
  } catch {
    return null;
  }
}

/** What `list` and `find` return for one record. */
function summary(store, { record, info }, unlocked) {
  const item = {
    id: record.id,
    store,
    certificate: new Certificate(record.certificate),
    subject: info.subject,
    issuer: info.issuer,
    serial: info.serial,
    emails: info.emails,
    notBefore: new Date(info.notBefore),
    notAfter: new Date(info.notAfter),
    thumbprint: info.thumbprint,
    fingerprint: info.fingerprint,
    subjectKeyId: info.subjectKeyId ?? null,
    keyAlgorithm: info.keyAlgorithm,
    canSign: info.canSign,
    canEncrypt: info.canEncrypt,
    isCa: info.isCa,
    added: record.added ? new Date(record.added) : null,
  };
  if (store === 'identities') {
    item.chain = record.chain.map((der) => new Certificate(der));
    item.unlocked = unlocked;
    item.label = record.label ?? null;
  }
  if (store === 'otherPeople') {
    const caps = record.capabilities;
    const names = Array.isArray(caps) && caps.every((n) => typeof n === 'string');
    item.capabilities = names ? caps : null;
    item.signingTime = record.signingTime ? new Date(record.signingTime) : null;
  }
  return item;
}

/** Upgrade one record from `from` to SCHEMA_VERSION (pure, synchronous: runs inside an IndexedDB
 *  upgrade transaction). Records it cannot understand are left as they are (reported later). */
export function migrateRecord(store, record, from) {
  if (record === null || typeof record !== 'object') return record;
  let out = record;
  if (from < 2) {
    out = { ...out };
    if (store === 'identities' && out.encryptedKey instanceof Uint8Array && !out.key) {
      out.key = { format: KEY_FORMAT, data: out.encryptedKey };
      delete out.encryptedKey;
    }
    out.added ??= 0;
  }
  return out;
}

// ---- adapters --------------------------------------------------------------------------------
//
// An adapter keeps records (structured-cloneable objects holding Uint8Arrays) in three stores.
//   open(name, { migrate })  getAll(store) -> [[id, record]]  commit(ops)  close()
// `commit` applies every op or none: { store, type: 'put', id, record }, { store, type: 'delete',
// id }, { store, type: 'clear' }, or { store, type: 'update', id, update } where `update(stored)`
// (synchronous; `stored` may be undefined or garbage) returns the record to put, read and written
// within the same transaction.

/** Records in memory (tests, short-lived processes). Commits apply to a copy, then swap. */
export class MemoryAdapter {
  #data = null;

  async open() {
    this.#data ??= Object.fromEntries(STORES.map((s) => [s, new Map()]));
  }

  async getAll(store) {
    return [...this.#data[store]].map(([id, record]) => [id, structuredClone(record)]);
  }

  /** Apply one op to `data` (overridable by tests to simulate failures mid-write). */
  apply(data, op) {
    if (op.type === 'clear') data[op.store].clear();
    else if (op.type === 'delete') data[op.store].delete(op.id);
    else if (op.type === 'update') {
      const stored = data[op.store].get(op.id);
      data[op.store].set(op.id, structuredClone(op.update(structuredClone(stored))));
    } else data[op.store].set(op.id, structuredClone(op.record));
  }

  async commit(ops) {
    const copy = Object.fromEntries(STORES.map((s) => [s, new Map(this.#data[s])]));
    for (const op of ops) this.apply(copy, op);
    this.#data = copy;
  }

  /** @internal tests: write a raw record, bypassing every check. */
  async putRaw(store, id, record) {
    this.#data[store].set(id, record);
  }

  close() {}
}

function toJson(value) {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

function fromJson(value) {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$bytes' && typeof value.$bytes === 'string') {
      return new Uint8Array(Buffer.from(value.$bytes, 'base64'));
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJson(v)]));
  }
  return value;
}

/**
 * Records in one JSON file per store name in `directory` (Node). Each commit takes a lock file
 * (`<file>.lock`, created exclusively; one older than `staleLock` ms is taken over), re-reads the
 * file, applies the ops, writes a temporary file, fsyncs it and renames it over the old one: a
 * crash or a full disk leaves the old file whole, and concurrent processes lose no update.
 */
export class FileAdapter {
  #dir;
  #path = null;
  #fs = null;
  #queue = Promise.resolve();
  #migrate = null;
  #lockTimeout;
  #staleLock;

  /**
   * @param {string} directory
   * @param {{ lockTimeout?: number, staleLock?: number }} [options] how long to wait for another
   *   process's lock (default 10 s) and when a lock counts as abandoned (default 30 s)
   */
  constructor(directory, options = {}) {
    if (typeof directory !== 'string' || directory === '') {
      throw misuse('FileAdapter: expected a directory');
    }
    checkOptions(options, 'FileAdapter', ['lockTimeout', 'staleLock']);
    this.#dir = directory;
    this.#lockTimeout = options.lockTimeout ?? 10_000;
    this.#staleLock = options.staleLock ?? 30_000;
  }

  get path() {
    return this.#path;
  }

  async open(name, { migrate } = {}) {
    const fsName = 'node:fs/promises'; // hidden from bundlers
    this.#fs = await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName);
    await this.#fs.mkdir(this.#dir, { recursive: true, mode: 0o700 }).catch((err) => {
      throw storageError(err, `cannot create ${this.#dir}`);
    });
    this.#path = `${this.#dir.replace(/\/+$/, '')}/${encodeURIComponent(name)}.cachet-store.json`;
    this.#migrate = migrate;
    const file = await this.#load();
    if (file.version < SCHEMA_VERSION) await this.commit([]); // writes the migrated form
  }

  async #load() {
    let text;
    try {
      text = await this.#fs.readFile(this.#path, 'utf8');
    } catch (err) {
      if (err.code === 'ENOENT') {
        return { version: SCHEMA_VERSION, stores: Object.fromEntries(STORES.map((s) => [s, {}])) };
      }
      throw storageError(err, `cannot read ${this.#path}`);
    }
    let file;
    try {
      file = JSON.parse(text);
    } catch {
      file = null;
    }
    if (!file || typeof file !== 'object' || typeof file.version !== 'number' || !file.stores) {
      // Never overwrite a file we cannot read: it may hold the only copy of a key.
      throw storeError('STORE_CORRUPTED', `${this.#path} is not a Cachet key store file`);
    }
    if (file.version > SCHEMA_VERSION) {
      throw storeError('STORE_BLOCKED',
        `${this.#path} was written by a newer Cachet (schema ${file.version})`);
    }
    const stores = {};
    for (const s of STORES) {
      const raw = file.stores[s] && typeof file.stores[s] === 'object' ? file.stores[s] : {};
      stores[s] = {};
      for (const [id, record] of Object.entries(raw)) {
        let value = fromJson(record);
        if (file.version < SCHEMA_VERSION && this.#migrate) {
          value = this.#migrate(s, value, file.version);
        }
        stores[s][id] = value;
      }
    }
    return { version: file.version, stores };
  }

  async getAll(store) {
    await this.#queue;
    const file = await this.#load();
    return Object.entries(file.stores[store]);
  }

  commit(ops) {
    const run = this.#queue.then(() => this.#locked(() => this.#commit(ops)));
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Run `fn` holding `<file>.lock` (exclusive create), so that other processes wait. */
  async #locked(fn) {
    const lock = `${this.#path}.lock`;
    const deadline = Date.now() + this.#lockTimeout;
    for (;;) {
      try {
        const handle = await this.#fs.open(lock, 'wx', 0o600);
        await handle.writeFile(`${process.pid}\n`);
        await handle.close();
        break;
      } catch (err) {
        if (err.code !== 'EEXIST') throw storageError(err, `cannot lock ${this.#path}`);
        const info = await this.#fs.stat(lock).catch(() => null);
        if (info && Date.now() - info.mtimeMs > this.#staleLock) {
          await this.#fs.rm(lock, { force: true }); // abandoned by a crashed process
          continue;
        }
        if (Date.now() > deadline) {
          throw storeError('STORE_BLOCKED', `${lock} is held by another process`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
      }
    }
    try {
      return await fn();
    } finally {
      await this.#fs.rm(lock, { force: true }).catch(() => {});
    }
  }

  async #commit(ops) {
    const file = await this.#load();
    for (const op of ops) {
      if (op.type === 'clear') file.stores[op.store] = {};
      else if (op.type === 'delete') delete file.stores[op.store][op.id];
      else if (op.type === 'update') {
        file.stores[op.store][op.id] = op.update(file.stores[op.store][op.id]);
      } else file.stores[op.store][op.id] = op.record;
    }
    const json = JSON.stringify({
      format: 'cachet-keystore',
      version: SCHEMA_VERSION,
      stores: Object.fromEntries(STORES.map((s) => [s, toJson(file.stores[s])])),
    }, null, 1);
    await this.writeAtomically(json);
  }

  /** Write `text` to a temporary file, fsync, rename over the store file. Overridable (tests). */
  async writeAtomically(text) {
    const rand = Math.random().toString(36).slice(2);
    const tmp = `${this.#path}.${process.pid}.${rand}.tmp`;
    let handle;
    try {
      handle = await this.#fs.open(tmp, 'wx', 0o600);
      await handle.writeFile(text, 'utf8');
      await handle.sync();
      await handle.close();
      handle = undefined;
      await this.#fs.rename(tmp, this.#path);
    } catch (err) {
      await handle?.close().catch(() => {});
      await this.#fs.rm(tmp, { force: true }).catch(() => {});
      throw storageError(err, `cannot write ${this.#path}`);
    }
  }

  close() {}
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * Records in IndexedDB (browsers). One database per store name, one object store per kind plus
 * `meta` (the WebCrypto wrapping key). Schema upgrades run in `onupgradeneeded`; when another tab
 * upgrades, this one closes its connection (`versionchange`) and reopens on next use.
 */
export class IndexedDBAdapter {
  #db = null;
  #connecting = null;
  #name = null;
  #migrate = null;
  #factory;

  /** @param {{ indexedDB?: IDBFactory }} [options] */
  constructor(options = {}) {
    checkOptions(options, 'IndexedDBAdapter', ['indexedDB']);
    this.#factory = options.indexedDB ?? globalThis.indexedDB;
    if (!this.#factory) throw misuse('IndexedDBAdapter: no indexedDB in this environment');
  }

  get supportsCryptoKeys() {
    return true;
  }

  async open(name, { migrate } = {}) {
    this.#name = name;
    this.#migrate = migrate;
    await this.#connect();
  }

  #connect() {
    if (this.#db) return Promise.resolve(this.#db);
    // One connection at a time: concurrent callers share the pending open.
    this.#connecting ??= this.#openConnection().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  /** A transaction on the current connection; reconnects once if another tab's upgrade or the
   *  browser closed it in the meantime (nothing was done on the closed one). */
  async #transaction(names, mode) {
    for (let attempt = 0; ; attempt++) {
      const db = await this.#connect();
      try {
        return db.transaction(names, mode);
      } catch (err) {
        if (err?.name !== 'InvalidStateError' || attempt > 0) {
          throw storageError(err, 'transaction');
        }
        if (this.#db === db) this.#db = null;
      }
    }
  }

  #openConnection() {
    return new Promise((resolve, reject) => {
      let req;
      try {
        req = this.#factory.open(this.#name, SCHEMA_VERSION);
      } catch (err) {
        reject(storageError(err, 'indexedDB.open'));
        return;
      }
      let blocked = false;
      req.onupgradeneeded = (event) => this.#upgrade(req.result, req.transaction, event.oldVersion);
      req.onblocked = () => {
        blocked = true;
        reject(storeError('STORE_BLOCKED',
          'another tab holds an older version of the key store open; close it and retry'));
      };
      req.onerror = () => {
        const err = req.error;
        if (err?.name === 'VersionError') {
          reject(storeError('STORE_BLOCKED',
            'the key store was upgraded by a newer Cachet; reload'));
        } else {
          reject(storageError(err, 'indexedDB.open'));
        }
      };
      req.onsuccess = () => {
        const db = req.result;
        if (blocked) {
          db.close(); // the caller was already told; do not keep a connection it does not know of
          return;
        }
        db.onversionchange = () => {
          db.close();
          if (this.#db === db) this.#db = null;
        };
        db.onclose = () => {
          if (this.#db === db) this.#db = null;
        };
        this.#db = db;
        resolve(db);
      };
    });
  }

  #upgrade(db, tx, oldVersion) {
    for (const s of STORES) {
      if (!db.objectStoreNames.contains(s)) db.createObjectStore(s);
    }
    if (!db.objectStoreNames.contains('meta')) db.createObjectStore('meta');
    if (oldVersion === 0 || !this.#migrate) return;
    for (const s of STORES) {
      const cursorReq = tx.objectStore(s).openCursor();
      cursorReq.onsuccess = () => {
        const cursor = cursorReq.result;
        if (!cursor) return;
        let migrated;
        try {
          migrated = this.#migrate(s, cursor.value, oldVersion);
        } catch {
          migrated = cursor.value; // left as it was: reported as corrupted when read
        }
        if (migrated !== cursor.value) cursor.update(migrated);
        cursor.continue();
      };
    }
  }

  async getAll(store) {
    const tx = await this.#transaction(store, 'readonly');
    try {
      const os = tx.objectStore(store);
      const [keys, values] = await Promise.all([request(os.getAllKeys()), request(os.getAll())]);
      return keys.map((k, i) => [k, values[i]]);
    } catch (err) {
      throw storageError(err, `reading ${store}`);
    }
  }

  /** Put one record in `os` (overridable by tests to simulate a quota failure mid-write). */
  put(os, id, record) {
    os.put(record, id);
  }

  async commit(ops) {
    const names = [...new Set(ops.map((op) => op.store))];
    if (names.length === 0) return;
    const tx = await this.#transaction(names, 'readwrite');
    await new Promise((resolve, reject) => {
      // A failed request aborts the whole transaction (its default action): all or nothing.
      let failure = null;
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(storageError(failure ?? tx.error, 'commit'));
      try {
        for (const op of ops) {
          const os = tx.objectStore(op.store);
          if (op.type === 'clear') os.clear();
          else if (op.type === 'delete') os.delete(op.id);
          else if (op.type === 'update') {
            const get = os.get(op.id);
            get.onsuccess = () => {
              try {
                this.put(os, op.id, op.update(get.result));
              } catch (err) {
                failure = err;
                tx.abort();
              }
            };
          } else this.put(os, op.id, op.record);
        }
      } catch (err) {
        failure = err;
        tx.abort();
      }
    });
  }

  async getMeta(key) {
    const tx = await this.#transaction('meta', 'readonly');
    return request(tx.objectStore('meta').get(key));
  }

  /** Store `value` under `key` unless one is there already (another tab may have been first);
   *  returns the stored value. Never overwrites: a replaced wrapping key would lose keys. */
  async addMeta(key, value) {
    const tx = await this.#transaction('meta', 'readwrite');
    const os = tx.objectStore('meta');
    const existing = await request(os.get(key));
    if (existing !== undefined) return existing;
    os.add(value, key);
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onabort = () => reject(storageError(tx.error, 'meta'));
    });
    return value;
  }

  close() {
    this.#db?.close();
    this.#db = null;
  }
}

// ---- the store -------------------------------------------------------------------------------

const FIND_OPTIONS = ['store', 'email', 'thumbprint', 'fingerprint', 'issuerSerial', 'keyId',
  'usage', 'validAt'];

/** The user's identities, other people's certificates and the trust anchors. */
export class KeyStore {
  #adapter;
  #name;
  #iterations;
  #idleTimeout;
  #idleTimer = null;
  #unlocked = new Map();
  #wrapKeys;
  #closed = false;
  #onPageHide = null;

  constructor(token, adapter, name, options) {
    if (token !== OPEN) throw misuse('use KeyStore.open()');
    this.#adapter = adapter;
    this.#name = name;
    this.#iterations = options.iterations;
    this.#idleTimeout = options.idleTimeout;
    this.#wrapKeys = options.wrapKeys;
  }

  /**
   * Open (or create) the store `name`.
   * Options: `adapter` (an IndexedDBAdapter, FileAdapter or MemoryAdapter; default IndexedDB
   * where there is one), `iterations` (PBKDF2 iterations for keys at rest, default 600,000),
   * `idleTimeout` (ms after the last use before unlocked keys are wiped; default 15 minutes, 0 =
   * never), `wrapKeys` (IndexedDB only: also wrap keys with a non-extractable AES-GCM key).
   */
  static async open(name, options = {}) {
    if (typeof name !== 'string' || name === '') throw misuse('KeyStore.open: expected a name');
    checkOptions(options, 'KeyStore.open', ['adapter', 'iterations', 'idleTimeout', 'wrapKeys']);
    const iterations = options.iterations ?? DEFAULT_ITERATIONS;
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) {
      throw misuse('KeyStore.open: iterations: expected an integer in 1..10000000');
    }
    const idleTimeout = options.idleTimeout ?? 15 * 60_000;
    // setTimeout fires at once beyond 2^31 - 1 ms (about 24.8 days).
    if (typeof idleTimeout !== 'number' || !(idleTimeout >= 0 && idleTimeout <= 2 ** 31 - 1)) {
      throw misuse('KeyStore.open: idleTimeout: expected milliseconds (0 = never)');
    }
    let adapter = options.adapter;
    if (adapter === undefined) {
      if (!globalThis.indexedDB) {
        throw misuse('KeyStore.open: no IndexedDB here: pass { adapter: new FileAdapter(dir) } ' +
          'or a MemoryAdapter');
      }
      adapter = new IndexedDBAdapter();
    }
    if (!adapter || typeof adapter.commit !== 'function' || typeof adapter.getAll !== 'function') {
      throw misuse(
        'KeyStore.open: adapter: expected an IndexedDBAdapter, FileAdapter or MemoryAdapter');
    }
    const wrapKeys = options.wrapKeys ?? false;
    if (typeof wrapKeys !== 'boolean') throw misuse('KeyStore.open: wrapKeys: expected a boolean');
    if (wrapKeys && !adapter.supportsCryptoKeys) {
      throw misuse('KeyStore.open: wrapKeys needs an adapter that stores CryptoKeys (IndexedDB)');
    }
    await init();
    await adapter.open(name, { migrate: migrateRecord });
    const store = new KeyStore(OPEN, adapter, name, { iterations, idleTimeout, wrapKeys });
    if (typeof globalThis.addEventListener === 'function' && typeof window !== 'undefined') {
      store.#onPageHide = () => store.lock();
      globalThis.addEventListener('pagehide', store.#onPageHide);
    }
    return store;
  }

  /** The store's name. */
  get name() {
    return this.#name;
  }

  #touch() {
    if (this.#closed) throw storeError('STORE_LOCKED', 'the key store is closed');
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.#idleTimeout > 0 && this.#unlocked.size > 0) {
      this.#idleTimer = setTimeout(() => this.lock(), this.#idleTimeout);
      this.#idleTimer.unref?.();
    }
  }

  /** Every valid record of `store` and the ids of the broken ones. */
  async #read(store) {
    const rows = await this.#adapter.getAll(store);
    const items = [];
    const corrupted = [];
    for (const [id, record] of rows) {
      const ok = typeof id === 'string' ? readRecord(store, id, record) : null;
      if (ok) items.push(ok);
      else corrupted.push(String(id));
    }
    return { items, corrupted };
  }

  async #commit(ops) {
    try {
      await this.#adapter.commit(ops);
    } catch (err) {
      throw storageError(err, 'commit');
    }
  }

  // ---- identities ----

  async #protect(identity, passphrase) {
    const data = wasmCall(() => wasm.protectKey(identity, passphrase, this.#iterations));
    if (!this.#wrapKeys) return { format: KEY_FORMAT, data };
    const key = await this.#wrappingKey();
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const wrapped = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, data));
    return { format: WRAPPED_FORMAT, data: wrapped, iv };
  }

  async #wrappingKey() {
    const key = await this.#adapter.getMeta('wrapping-key');
    if (key) return key;
    const fresh = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false,
      ['encrypt', 'decrypt']);
    return this.#adapter.addMeta('wrapping-key', fresh);
  }

  async #keyBytes(key) {
    if (key.format === KEY_FORMAT) return key.data;
    const wrappingKey = await this.#adapter.getMeta?.('wrapping-key');
    if (!wrappingKey) throw storeError('STORE_CORRUPTED', 'the WebCrypto wrapping key is missing');
    try {
      const algorithm = { name: 'AES-GCM', iv: key.iv };
      return new Uint8Array(await crypto.subtle.decrypt(algorithm, wrappingKey, key.data));
    } catch {
      throw storeError('STORE_CORRUPTED', 'the wrapped key does not unwrap');
    }
  }

  async #addIdentity(inner, passphrase, label) {
    try {
      const certificate = inner.certificate;
      const info = facts(certificate);
      const record = {
        id: info.thumbprint,
        certificate,
        chain: inner.chain,
        key: await this.#protect(inner, passphrase),
        label: label ?? null,
        added: Date.now(),
      };
      await this.#commit([{ store: 'identities', type: 'put', id: record.id, record }]);
      return summary('identities', { record, info }, false);
    } finally {
      inner.free();
    }
  }

  /**
   * Import a PKCS#12 file: `data` (the .p12), `password` (the file's), `passphrase` (protects
   * the key at rest; may equal `password`), optional `label`. Returns the identity's summary.
   */
  async importPkcs12(options) {
    checkOptions(options, 'importPkcs12', ['data', 'password', 'passphrase', 'label']);
    if (options.data === undefined) throw misuse('importPkcs12: data is required');
    const data = bytes(options.data, 'importPkcs12: data');
    const password = string(options.password, 'importPkcs12: password') ?? '';
    const passphrase = string(options.passphrase, 'importPkcs12: passphrase',
      { required: true, nonEmpty: true });
    const label = string(options.label, 'importPkcs12: label');
    this.#touch();
    const inner = wasmCall(() => wasm.loadIdentity(data, undefined, password, []));
    return this.#addIdentity(inner, passphrase, label);
  }

  /**
   * Import a private key (PEM/DER, possibly encrypted with `password`) with its `certificate`
   * and `chain`; `passphrase` protects it at rest.
   */
  async importKey(options) {
    checkOptions(options, 'importKey',
      ['privateKey', 'certificate', 'chain', 'password', 'passphrase', 'label']);
    if (options.privateKey === undefined) throw misuse('importKey: privateKey is required');
    const key = bytes(options.privateKey, 'importKey: privateKey');
    const cert = options.certificate === undefined ? undefined
      : bytes(options.certificate, 'importKey: certificate');
    const chain = list(options.chain, 'importKey: chain');
    const password = string(options.password, 'importKey: password');
    const passphrase = string(options.passphrase, 'importKey: passphrase',
      { required: true, nonEmpty: true });
    const label = string(options.label, 'importKey: label');
    this.#touch();
    const inner = wasmCall(() => wasm.loadIdentity(key, cert, password, chain));
    return this.#addIdentity(inner, passphrase, label);
  }

  async #identityRecord(options, fn) {
    const { items } = await this.#read('identities');
    let found;
    if (options.id !== undefined) {
      const id = hexNorm(options.id, `${fn}: id`, true);
      found = items.find((it) => it.record.id === id);
    } else if (options.email !== undefined) {
      const email = string(options.email, `${fn}: email`).trim().toLowerCase();
      const now = Date.now();
      found = items
        .filter((it) => it.info.emails.some((e) => e.toLowerCase() === email) && it.info.canSign)
        .sort((a, b) => rank(b, now) - rank(a, now))[0];
    } else {
      throw misuse(`${fn}: id or email is required`);
    }
    if (!found) throw storeError('STORE_NOT_FOUND', `${fn}: no such identity`);
    return found;
  }

  /**
   * Unlock an identity (by `id` or `email`) with its `passphrase`. The key stays in the
   * WebAssembly module until `lock()`, the idle timeout or `pagehide`. Returns an Identity to pass
   * to `sign` as `signingKeys`.
   */
  async unlock(options) {
    checkOptions(options, 'unlock', ['id', 'email', 'passphrase']);
    const passphrase = string(options.passphrase, 'unlock: passphrase', { required: true });
    this.#touch();
    const { record } = await this.#identityRecord(options, 'unlock');
    const keyBytes = await this.#keyBytes(record.key);
    const inner = wasmCall(() =>
      wasm.loadIdentity(keyBytes, record.certificate, passphrase, record.chain));
    this.#unlocked.get(record.id)?.dispose();
    const identity = new Identity(inner);
    this.#unlocked.set(record.id, identity);
    this.#touch();
    return identity;
  }

  /** The unlocked Identity for `id` or `email`; STORE_LOCKED when it is not unlocked. */
  async unlocked(options) {
    checkOptions(options, 'unlocked', ['id', 'email']);
    this.#touch();
    const { record } = await this.#identityRecord(options, 'unlocked');
    const identity = this.#unlocked.get(record.id);
    if (!identity) throw storeError('STORE_LOCKED', 'the identity is locked: unlock it first');
    return identity;
  }

  /** Every unlocked Identity (for `decrypt` and `open`). */
  async unlockedIdentities() {
    this.#touch();
    return [...this.#unlocked.values()];
  }

  /** Wipe every unlocked key (or only `{ id }`'s) from memory. */
  lock(options = {}) {
    checkOptions(options, 'lock', ['id']);
    const ids = options.id === undefined ? [...this.#unlocked.keys()]
      : [hexNorm(options.id, 'lock: id', true)];
    for (const id of ids) {
      this.#unlocked.get(id)?.dispose();
      this.#unlocked.delete(id);
    }
    if (this.#unlocked.size === 0 && this.#idleTimer) {
      clearTimeout(this.#idleTimer);
      this.#idleTimer = null;
    }
  }

  /** Export an identity as a PKCS#12 backup: its `passphrase` unlocks it, `password` protects the
   *  file; `legacy` for old importers (3DES, SHA-1 MAC). */
  async exportPkcs12(options) {
    checkOptions(options, 'exportPkcs12', ['id', 'email', 'passphrase', 'password', 'legacy',
      'iterations', 'friendlyName']);
    const passphrase = string(options.passphrase, 'exportPkcs12: passphrase', { required: true });
    const password = string(options.password, 'exportPkcs12: password', { required: true });
    const legacy = options.legacy ?? false;
    if (typeof legacy !== 'boolean') throw misuse('exportPkcs12: legacy: expected a boolean');
    const iterations = options.iterations ?? (legacy ? 2048 : DEFAULT_ITERATIONS);
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) {
      throw misuse('exportPkcs12: iterations: expected an integer in 1..10000000');
    }
    const friendlyName = string(options.friendlyName, 'exportPkcs12: friendlyName');
    this.#touch();
    const { record } = await this.#identityRecord(options, 'exportPkcs12');
    const keyBytes = await this.#keyBytes(record.key);
    const inner = wasmCall(() =>
      wasm.loadIdentity(keyBytes, record.certificate, passphrase, record.chain));
    try {
      return wasmCall(() => wasm.exportPkcs12(inner, password, legacy, iterations, friendlyName));
    } finally {
      inner.free();
    }
  }

  // ---- certificates ----

  /**
   * Add other people's certificates (`certificate`: PEM/DER, bundles allowed), with the
   * SMIMECapabilities (`capabilities`: cipher names, as a `verify` signer report gives them) and
   * `signingTime` last seen from them. An existing entry keeps the newer signing time (and the
   * capabilities that came with it).
   */
  async addCertificate(options) {
    checkOptions(options, 'addCertificate', ['certificate', 'capabilities', 'signingTime']);
    if (options.certificate === undefined) throw misuse('addCertificate: certificate is required');
    const data = bytes(options.certificate, 'addCertificate: certificate');
    const capabilities = options.capabilities ?? null;
    const names = (v) => Array.isArray(v) && v.every((n) => typeof n === 'string');
    if (capabilities !== null && !names(capabilities)) {
      throw misuse('addCertificate: capabilities: expected cipher names, as verify reports them');
    }
    const signingTime = options.signingTime ?? null;
    const badTime = !(signingTime instanceof Date) || Number.isNaN(signingTime?.getTime());
    if (signingTime !== null && badTime) {
      throw misuse('addCertificate: signingTime: expected a valid Date');
    }
    this.#touch();
    const ders = wasmCall(() => wasm.parseCertificates(data));
    // Merged with the stored record inside the commit (one transaction), so that two tabs
    // remembering the same sender at once keep the newer signing time.
    const merged = [];
    const ops = ders.map((der, i) => {
      const info = facts(der);
      return {
        store: 'otherPeople',
        type: 'update',
        id: info.thumbprint,
        update: (stored) => {
          const old = stored && typeof stored === 'object' ? stored : {};
          const oldTime = typeof old.signingTime === 'number' ? old.signingTime : null;
          const oldCaps = names(old.capabilities) ? old.capabilities : null;
          const newer = signingTime !== null
            && (oldTime === null || signingTime.getTime() > oldTime);
          const record = {
            id: info.thumbprint,
            certificate: der,
            capabilities: (newer || !stored ? capabilities : null) ?? oldCaps,
            signingTime: newer ? signingTime.getTime() : oldTime,
            added: typeof old.added === 'number' && old.added > 0 ? old.added : Date.now(),
          };
          merged[i] = { record, info };
          return record;
        },
      };
    });
    await this.#commit(ops);
    return merged.map((it) => summary('otherPeople', it, false));
  }

  /** Remember the certificates of the valid signers of a `verify` report (RFC 8551 §2.7.1). */
  async collectSigners(options) {
    checkOptions(options, 'collectSigners', ['report']);
    const signers = options.report?.signers;
    if (!Array.isArray(signers)) throw misuse('collectSigners: report: expected a verify() report');
    const out = [];
    for (const s of signers) {
      if (s.status !== 'valid' || !s.certificate) continue;
      out.push(...await this.addCertificate({
        certificate: s.certificate.der ?? s.certificate,
        signingTime: s.signingTime ?? undefined,
        capabilities: Array.isArray(s.capabilities) ? s.capabilities : undefined,
      }));
    }
    return out;
  }

  #anchorOps(data) {
    const items = Array.isArray(data) ? data : [data];
    if (items.length === 0) throw misuse('trust anchors: data is empty');
    const ops = [];
    const out = [];
    for (const [i, item] of items.entries()) {
      for (const der of wasmCall(() => wasm.parseCertificates(bytes(item, `data[${i}]`)))) {
        const info = facts(der);
        const record = { id: info.thumbprint, certificate: der, added: Date.now() };
        ops.push({ store: 'trustAnchors', type: 'put', id: record.id, record });
        out.push(summary('trustAnchors', { record, info }, false));
      }
    }
    return { ops, out };
  }

  /** Add trust anchors: `data` is PEM (any number of certificates), DER, or a .p7b bundle (or an
   *  array of them). All or nothing. */
  async addTrustAnchors(options) {
    checkOptions(options, 'addTrustAnchors', ['data']);
    if (options.data === undefined) throw misuse('addTrustAnchors: data is required');
    this.#touch();
    const { ops, out } = this.#anchorOps(options.data);
    await this.#commit(ops);
    return out;
  }

  /** Replace every trust anchor with those in `data`, in one transaction. */
  async replaceTrustAnchors(options) {
    checkOptions(options, 'replaceTrustAnchors', ['data']);
    if (options.data === undefined) throw misuse('replaceTrustAnchors: data is required');
    this.#touch();
    const { ops, out } = this.#anchorOps(options.data);
    await this.#commit([{ store: 'trustAnchors', type: 'clear' }, ...ops]);
    return out;
  }

  /** The trust anchors, as Certificates for `verify({ trustAnchors })`. */
  async trustAnchors() {
    this.#touch();
    const { items } = await this.#read('trustAnchors');
    return items.map((it) => new Certificate(it.record.certificate));
  }

  /** Certificates to help build chains in `verify({ certificates })`: identities' chains and
   *  other people's certificates. */
  async certificates() {
    this.#touch();
    const out = [];
    for (const it of (await this.#read('identities')).items) {
      out.push(new Certificate(it.record.certificate));
      out.push(...it.record.chain.map((d) => new Certificate(d)));
    }
    for (const it of (await this.#read('otherPeople')).items) {
      out.push(new Certificate(it.record.certificate));
    }
    return out;
  }

  // ---- lookups ----

  /**
   * Every record: `{ items, corrupted }`, `corrupted` as `[{ store, id }]`. Each item has a
   * `status` at `date` (default now), judged as `verify` judges a signer's chain: a path through
   * the stored certificates to a stored trust anchor, then revocation by `crls` (PEM/DER, as for
   * `verify`): `valid`, `untrusted`, `expired`, `not-yet-valid`, `revoked`, `weak-algorithm` or
   * `unsupported-algorithm`, and `statusCode` (the signer report code, `null` when valid).
   */
  async list(options = {}) {
    checkOptions(options, 'list', ['store', 'date', 'crls']);
    const stores = storesOf(options.store, 'list');
    const date = options.date ?? new Date();
    if (!(date instanceof Date) || Number.isNaN(date.getTime())) {
      throw misuse('list: date: expected a valid Date');
    }
    const crls = list(options.crls, 'list: crls');
    this.#touch();
    const read = {};
    for (const s of STORES) read[s] = await this.#read(s);
    // Paths are built through every stored certificate, as verify({ store }) builds them.
    const pool = [];
    for (const it of read.identities.items) pool.push(it.record.certificate, ...it.record.chain);
    for (const it of read.otherPeople.items) pool.push(it.record.certificate);
    const anchors = read.trustAnchors.items.map((it) => it.record.certificate);
    const items = [];
    const corrupted = [];
    for (const s of stores) {
      const ders = read[s].items.map((it) => it.record.certificate);
      const statuses = ders.length === 0 ? [] : wasmCall(() =>
        wasm.certificateStatuses(ders, pool, anchors, crls, date.getTime()));
      read[s].items.forEach((it, i) => {
        const item = summary(s, it, this.#unlocked.has(it.record.id));
        item.status = statuses[i].status;
        item.statusCode = statuses[i].code ?? null;
        items.push(item);
      });
      for (const id of read[s].corrupted) corrupted.push({ store: s, id });
    }
    return { items, corrupted };
  }

  /**
   * Find certificates by `email` (case-insensitive), `thumbprint` (SHA-1), `fingerprint`
   * (SHA-256), `issuerSerial` ({ issuer, serial }), `keyId` (subject key id, hex); filtered by
   * `usage` ('sign' | 'encrypt') and `validAt` (a Date). Newest first (RFC 8551 §2.7.1).
   */
  async find(options) {
    checkOptions(options, 'find', FIND_OPTIONS);
    const stores = storesOf(options.store, 'find');
    const tests = [];
    if (options.email !== undefined) {
      const email = string(options.email, 'find: email').trim().toLowerCase();
      tests.push((info) => info.emails.some((e) => e.toLowerCase() === email));
    }
    if (options.thumbprint !== undefined) {
      const t = hexNorm(options.thumbprint, 'find: thumbprint', true);
      tests.push((info) => info.thumbprint === t);
    }
    if (options.fingerprint !== undefined) {
      const f = hexNorm(options.fingerprint, 'find: fingerprint', false);
      tests.push((info) => info.fingerprint === f);
    }
    if (options.issuerSerial !== undefined) {
      const is = options.issuerSerial;
      if (!is || typeof is.issuer !== 'string' || typeof is.serial !== 'string') {
        throw misuse('find: issuerSerial: expected { issuer, serial }');
      }
      const serial = stripZeros(hexNorm(is.serial, 'find: issuerSerial.serial', true));
      tests.push((info) => info.issuer === is.issuer && stripZeros(info.serial) === serial);
    }
    if (options.keyId !== undefined) {
      const k = hexNorm(options.keyId, 'find: keyId', false);
      tests.push((info) => info.subjectKeyId === k);
    }
    if (options.usage !== undefined) {
      if (options.usage === 'sign') tests.push((info) => info.canSign);
      else if (options.usage === 'encrypt') tests.push((info) => info.canEncrypt);
      else throw misuse("find: usage: expected 'sign' or 'encrypt'");
    }
    if (options.validAt !== undefined) {
      if (!(options.validAt instanceof Date) || Number.isNaN(options.validAt.getTime())) {
        throw misuse('find: validAt: expected a valid Date');
      }
      const t = options.validAt.getTime();
      tests.push((info) => info.notBefore <= t && t <= info.notAfter);
    }
    this.#touch();
    const out = [];
    for (const s of stores) {
      for (const it of (await this.#read(s)).items) {
        if (tests.every((test) => test(it.info))) {
          out.push(summary(s, it, this.#unlocked.has(it.record.id)));
        }
      }
    }
    out.sort((a, b) => b.notBefore - a.notBefore);
    return out;
  }

  /** Remove a record (`id`, optionally `store`) from every store that holds it. */
  async remove(options) {
    checkOptions(options, 'remove', ['id', 'store']);
    const id = hexNorm(string(options.id, 'remove: id', { required: true }), 'remove: id', true);
    const stores = storesOf(options.store, 'remove');
    this.#touch();
    const ops = [];
    for (const s of stores) {
      const rows = await this.#adapter.getAll(s);
      if (rows.some(([k]) => k === id)) ops.push({ store: s, type: 'delete', id });
    }
    if (ops.length === 0) throw storeError('STORE_NOT_FOUND', 'remove: no such record');
    this.lock({ id });
    await this.#commit(ops);
  }

  /** A stored certificate (`id`) as PEM text or DER bytes. */
  async exportCertificate(options) {
    checkOptions(options, 'exportCertificate', ['id', 'format']);
    const given = string(options.id, 'exportCertificate: id', { required: true });
    const id = hexNorm(given, 'exportCertificate: id', true);
    const format = options.format ?? 'pem';
    if (format !== 'pem' && format !== 'der') {
      throw misuse("exportCertificate: format: expected 'pem' or 'der'");
    }
    this.#touch();
    for (const s of STORES) {
      const found = (await this.#read(s)).items.find((it) => it.record.id === id);
      if (found) {
        const cert = new Certificate(found.record.certificate);
        return format === 'pem' ? cert.pem : cert.der;
      }
    }
    throw storeError('STORE_NOT_FOUND', 'exportCertificate: no such certificate');
  }

  /** Lock everything and close the storage connection. */
  close() {
    this.lock();
    this.#closed = true;
    if (this.#onPageHide) globalThis.removeEventListener('pagehide', this.#onPageHide);
    this.#adapter.close();
  }
}

const OPEN = Symbol('KeyStore.open');

function storesOf(value, fn) {
  if (value === undefined) return STORES;
  const list = Array.isArray(value) ? value : [value];
  for (const s of list) {
    if (!STORES.includes(s)) throw misuse(`${fn}: store: expected one of ${STORES.join(', ')}`);
  }
  return list;
}

/** Prefer certificates valid now, then the newest. */
function rank(item, now) {
  const valid = item.info.notBefore <= now && now <= item.info.notAfter ? 1 : 0;
  return valid * 1e15 + item.info.notBefore;
}
