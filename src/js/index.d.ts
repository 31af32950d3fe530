// Types of Cachet's public JavaScript API. Every function is async and takes one options object;
// unknown options and wrong types reject with a CachetError whose code is API_MISUSE.

/** PEM text, or bytes (PEM or DER). */
export type Data = string | Uint8Array | ArrayBuffer;

/** A stable error code (see ERROR_CODES and the README table). New codes may be added. */
export type ErrorCode =
  | 'DER_MALFORMED'
  | 'PEM_MALFORMED'
  | 'MIME_MALFORMED'
  | 'NOT_SIGNED'
  | 'BAD_PASSWORD'
  | 'PASSWORD_REQUIRED'
  | 'P12_MALFORMED'
  | 'P12_NO_KEY'
  | 'KEY_MALFORMED'
  | 'KEY_CERT_MISMATCH'
  | 'KEY_UNSUPPORTED'
  | 'CERT_MALFORMED'
  | 'CERT_MISSING'
  | 'CMS_MALFORMED'
  | 'CMS_UNSUPPORTED_ALGORITHM'
  | 'DECRYPTION_FAILED'
  | 'INPUT_TOO_LARGE'
  | 'API_MISUSE'
  | 'RANDOM_FAILED'
  | 'INTERNAL'
  | 'NOT_RECIPIENT'
  | 'NOT_ENCRYPTED'
  | 'STORE_QUOTA'
  | 'STORE_CORRUPTED'
  | 'STORE_LOCKED'
  | 'STORE_NOT_FOUND'
  | 'STORE_BLOCKED'
  | 'STORE_FAILED'
  | 'RECIPIENT_NO_CERTIFICATE'
  | 'SUBMIT_AUTH'
  | 'SUBMIT_NETWORK'
  | 'SUBMIT_SERVER'
  | 'SUBMIT_UPLOAD'
  | 'SUBMIT_REJECTED'
  | 'SUBMIT_SESSION'
  | (string & {});

/** Thrown (as a rejection) when Cachet could not process its input. */
export class CachetError extends Error {
  constructor(code: string, message: string, extra?: { detail?: string; cause?: unknown });
  readonly name: 'CachetError';
  /** A stable code: branch on this, never on `message`. */
  readonly code: ErrorCode;
  /** Machine-readable detail (DER byte offset, OID, limit), when there is one. */
  readonly detail?: string;
}

/** Every error code with its description, in a stable order. */
export const ERROR_CODES: Readonly<Record<string, string>>;

/** Every error code with its description, as the core lists them. */
export function errorCodes(): Promise<Array<[code: string, description: string]>>;

/**
 * Load the WebAssembly module (done for you on first use). `source`: a `WebAssembly.Module`, the
 * module's bytes, a URL or `Response`, or (Node) a file path. Defaults to the `.wasm` next to
 * this file.
 */
export function init(
  source?: WebAssembly.Module | BufferSource | URL | string | Response | Promise<Response>,
): Promise<void>;

/** A certificate: DER bytes and the PEM text. */
export class Certificate {
  constructor(der: Uint8Array);
  readonly der: Uint8Array;
  readonly pem: string;
  /** JSON.stringify gives the PEM text. */
  toJSON(): string;
}

/** How to find a signing key. */
export interface KeyOptions {
  /** PEM or DER private key (PKCS#8, encrypted PKCS#8, PKCS#1, SEC1) or a PKCS#12 (.p12) file. */
  privateKey: Data;
  /** The key's certificate; optional when `privateKey` is a PKCS#12 file that holds it. */
  certificate?: Data | Certificate;
  /** Decrypts an encrypted key or PKCS#12 file. Never appears in errors. */
  password?: string;
  /** Intermediate certificates to send along (PEM bundles allowed). */
  chain?: Data | Certificate | Array<Data | Certificate>;
}

/** A loaded signing identity. The private key stays inside the WebAssembly module (an RSA key is
 *  also imported, non-extractable, into WebCrypto the first time it signs; `dispose()` drops it). */
export class Identity {
  private constructor();
  readonly certificate: Certificate;
  /** Addresses the certificate names, lowercased. */
  readonly emails: string[];
  /** The certificate subject (RFC 4514). */
  readonly subject: string;
  /** Wipe the private key now (otherwise when garbage collected). */
  dispose(): void;
}

/** Load a signing identity once, to sign several messages with it. */
export function readIdentity(options: KeyOptions): Promise<Identity>;

export interface SignOptions<M extends string | Uint8Array> {
  /** An RFC 5322 message (or a bare MIME entity). Strings are encoded as UTF-8. */
  message: M;
  /** An Identity, how to load one, or (with `store`) the address of an unlocked identity. */
  signingKeys: Identity | KeyOptions | string;
  /** The key store that `signingKeys` names an address in. */
  store?: KeyStore;
  /** `multipart/signed` (default `true`) or opaque `application/pkcs7-mime` (`false`). */
  detached?: boolean;
  /** Default `sha256`. */
  digest?: 'sha256' | 'sha384' | 'sha512';
  /** RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys only). Default `false`. */
  rsaPss?: boolean;
  /** The signing time. Default: now. */
  date?: Date;
}

/** Sign a message. Returns the signed message, of the same type as `message`. */
export function sign(options: SignOptions<string>): Promise<string>;
export function sign(options: SignOptions<Uint8Array>): Promise<Uint8Array>;

export interface VerifyOptions {
  /** The signed message, `multipart/signed` or `application/pkcs7-mime`. */
  message: string | Uint8Array;
  /** Trusted roots (and intermediates trusted directly). One item or a list; PEM bundles OK. */
  trustAnchors?: Data | Certificate | Array<Data | Certificate>;
  /** Extra certificates for chain building. */
  certificates?: Data | Certificate | Array<Data | Certificate>;
  /** Certificate revocation lists (PEM or DER) to check the chain against. */
  crls?: Data | Array<Data>;
  /** The time at which certificates must be valid. Default: now. */
  date?: Date;
  /** A key store whose trust anchors are trusted and whose certificates help build chains. */
  store?: KeyStore;
}

/** What holds for one signer: `valid`, or the first problem found. */
export type SignerStatus =
  | 'valid'
  | 'invalid-signature'
  | 'content-altered'
  | 'untrusted'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'wrong-usage'
  | 'address-mismatch'
  | 'weak-algorithm'
  | 'unsupported-algorithm'
  | 'date-mismatch'
  | (string & {});

export interface SignerReport {
  status: SignerStatus;
  /** A stable, more specific code, e.g. `SIG_VALID`, `CERT_EXPIRED`. */
  code: string;
  /** A human explanation (English). */
  reason: string;
  /** The signer's first address, or `null`. */
  email: string | null;
  emails: string[];
  subject: string | null;
  /** The signing-time attribute, or `null`. */
  signingTime: Date | null;
  /** e.g. `sha-256`. */
  digestAlgorithm: string;
  /** `rsa-pkcs1v15`, `rsa-pss`, `ecdsa`, `ed25519`, or an OID. */
  signatureAlgorithm: string;
  /** The content ciphers the signer advertised (SMIMECapabilities), or `null` if none. */
  capabilities: string[] | null;
  /** The signer certificate, when found. */
  certificate: Certificate | null;
  /** The chain built, leaf first, trust anchor last when one was reached. */
  chain: Certificate[];
}

export interface VerifyResult {
  /** `true` when there is at least one signer and every one is `valid`. */
  valid: boolean;
  /** `true` for `application/pkcs7-mime`, `false` for `multipart/signed`. */
  opaque: boolean;
  /** The address of the message's `From:` header, or `null`. */
  from: string | null;
  /** The signed MIME entity, as signed (CRLF line ends). */
  content: Uint8Array;
  signers: SignerReport[];
}

/**
 * Verify a signed message. Rejects only when it cannot be processed (e.g. `NOT_SIGNED`); a
 * signature that does not hold is reported per signer.
 */
export function verify(options: VerifyOptions): Promise<VerifyResult>;

/** A content cipher Cachet encrypts with. GCM gives AuthEnvelopedData (RFC 5083). */
export type Cipher = 'aes256-gcm' | 'aes128-gcm' | 'chacha20-poly1305' | 'aes256-cbc' | 'aes128-cbc';

export interface EncryptOptions<M extends string | Uint8Array> {
  /** An RFC 5322 message (or a bare MIME entity); outer headers stay outside. */
  message: M;
  /** Recipients' certificates (RSA, P-256, P-384). Add the sender's to keep a readable copy.
   *  With `store`, an address stands for the newest valid encryption certificate stored for it
   *  (and, unless `cipher` or `capabilities` is given, its stored capabilities choose the cipher). */
  encryptionKeys: Data | Certificate | Array<Data | Certificate>;
  /** A key store to look addresses up in (and `signingKeys` by address). */
  store?: KeyStore;
  /** Default `aes256-gcm` (RFC 8551 §2.7). */
  cipher?: Cipher;
  /**
   * Instead of `cipher`: what each recipient advertised (a signer report's `capabilities`, or
   * `null` when unknown). The strongest cipher all of them read is used; unknown recipients are
   * assumed to read AES-256-GCM; with nothing in common, AES-128-CBC.
   */
  capabilities?: Array<string[] | null>;
  /** RSAES-OAEP (SHA-256) for RSA recipients instead of PKCS#1 v1.5. Default `false`. */
  rsaOaep?: boolean;
  /** How RecipientInfos name recipients. Default `issuerAndSerialNumber`. */
  recipientIdentifier?: 'issuerAndSerialNumber' | 'subjectKeyIdentifier';
  /** Sign before encrypting (sign-then-encrypt). */
  signingKeys?: Identity | KeyOptions | string;
  /** Sign, encrypt, then sign again (triple wrap). Needs `signingKeys`. */
  tripleWrap?: boolean;
  /** Signing options, as for `sign`. */
  detached?: boolean;
  digest?: 'sha256' | 'sha384' | 'sha512';
  rsaPss?: boolean;
  date?: Date;
}

/** Encrypt (and optionally sign) a message. Returns the same type as `message`. */
export function encrypt(options: EncryptOptions<string>): Promise<string>;
export function encrypt(options: EncryptOptions<Uint8Array>): Promise<Uint8Array>;

export interface DecryptOptions<M extends string | Uint8Array> {
  message: M;
  /** The identities to try, in order. Default with `store`: its unlocked identities. */
  decryptionKeys?: Identity | KeyOptions | Array<Identity | KeyOptions>;
  store?: KeyStore;
}

export interface DecryptResult<M> {
  /** The outer header fields followed by the decrypted MIME entity. */
  message: M;
  cipher: string;
  /** `true` for AES-GCM; `false` for AES-CBC/3DES, which do not detect modification. */
  authenticated: boolean;
}

/** Decrypt a message. Rejects with NOT_RECIPIENT, DECRYPTION_FAILED (one code for every cause)... */
export function decrypt(options: DecryptOptions<string>): Promise<DecryptResult<string>>;
export function decrypt(options: DecryptOptions<Uint8Array>): Promise<DecryptResult<Uint8Array>>;

export interface OpenOptions extends VerifyOptions {
  /** Default with `store`: its unlocked identities (`store` also supplies anchors, certificates). */
  decryptionKeys?: Identity | KeyOptions | Array<Identity | KeyOptions>;
  /** Called before each stage (after yielding to the event loop, so a page can repaint). */
  onProgress?: (progress: Progress) => void;
}

export type Layer =
  | { type: 'enveloped' | 'authEnveloped'; cipher: string; authenticated: boolean }
  | { type: 'signed'; opaque: boolean; signers: SignerReport[] }
  /** Opening stopped here: no key (`NOT_RECIPIENT`), `DECRYPTION_FAILED`, or, inside another
   *  layer, a malformed encryption layer (`DER_MALFORMED`, `CMS_MALFORMED`, ...). */
  | { type: 'undecryptable'; code: string };

export interface OpenResult {
  /** Outermost first. */
  layers: Layer[];
  /** The innermost MIME entity (what a mail client shows). */
  content: Uint8Array;
  /** The outer header fields (From, To, Subject...) as text. */
  headers: string;
  /** `false` when nothing protects the content against modification (CBC without signature). */
  authenticated: boolean;
  /** `true` when there is a signed layer and every signer of every signed layer is `valid`. */
  signedValid: boolean;
  /** RFC 9788 header protection of the innermost payload, or `null` when it has none. */
  protectedHeaders: ProtectedHeaders | null;
}

export interface ProtectedHeaders {
  /** `clear` (signed) or `cipher` (encrypted). */
  mode: 'clear' | 'cipher';
  /** The protected fields as [name, decoded value]: show these instead of the outer ones. */
  fields: Array<[name: string, value: string]>;
  /** Outer fields that differ from the protected ones (beyond what the sender declared). */
  disagreements: Array<{ name: string; outer: string | null; protected: string | null }>;
  /** The payload starts with a legacy display part: hide it when rendering `fields`. */
  legacyDisplay: boolean;
  /** `hp="cipher"` without encryption, or `hp="clear"` inside encryption: a downgrade. */
  modeMismatch: boolean;
}

/** Unwrap every signed and encrypted layer, in any nesting. */
export function open(options: OpenOptions): Promise<OpenResult>;

/** Every signer report code as `[code, status, description]`. */
export function reportCodes(): Promise<Array<[code: string, status: string, description: string]>>;

export interface Attachment {
  filename: string;
  contentType?: string;
  data: string | Uint8Array | ArrayBuffer;
}

export interface ComposeOptions {
  from: string;
  to?: string | string[];
  cc?: string | string[];
  /** Only in the envelope `seal` returns; never written into the message. */
  bcc?: string | string[];
  replyTo?: string | string[];
  subject?: string;
  text?: string;
  html?: string;
  attachments?: Attachment[];
  inReplyTo?: string;
  references?: string | string[];
  /** Extra header fields. */
  headers?: Record<string, string>;
  /** The Date header. Default: now. */
  date?: Date;
}

/** Compose an RFC 5322 message (CRLF). */
export function compose(options: ComposeOptions): Promise<string>;

/** What `onProgress` receives before each stage of `seal` and `open`. */
export interface Progress {
  /** seal: 'compose', 'sign' (or 'protect'), 'encrypt', 'done'; open: 'decrypt', 'verify' (or 'open'), 'done'. */
  stage: string;
  /** This stage's number, from 1. */
  step: number;
  /** How many stages this call has. */
  steps: number;
  /** The size of the data this stage works on. */
  bytes: number;
}

export interface SealOptions {
  /** Called before each stage (after yielding to the event loop, so a page can repaint). */
  onProgress?: (progress: Progress) => void;
  /** An RFC 5322 message, or... */
  message?: string | Uint8Array;
  /** ...the options to compose one. */
  compose?: ComposeOptions;
  /** Default `true`. */
  sign?: boolean;
  /** Default `false`. */
  encrypt?: boolean;
  signingKeys?: Identity | KeyOptions;
  /** Every recipient's certificate, and the sender's own. */
  encryptionKeys?: Data | Certificate | Array<Data | Certificate>;
  cipher?: Cipher;
  capabilities?: Array<string[] | null>;
  rsaOaep?: boolean;
  detached?: boolean;
  digest?: 'sha256' | 'sha384' | 'sha512';
  rsaPss?: boolean;
  /** RFC 9788 header protection. Default `true`. */
  headerProtection?: boolean;
  /**
   * RFC 9788 Header Confidentiality Policy for encrypted mail: what the outer header shows.
   * `hcp_baseline` (default): Subject "[...]", Keywords/Comments removed; `hcp_shy`: also no
   * display names in From/To/Cc and the Date in UTC; `hcp_no_confidentiality`: nothing hidden.
   */
  hcp?: 'hcp_baseline' | 'hcp_shy' | 'hcp_no_confidentiality';
  /** Repeat what the policy hid at the top of the text and HTML body (RFC 9788 §4.5). Default `true`. */
  legacyDisplay?: boolean;
  /** Blind copies for the envelope (with `message`; `compose.bcc` otherwise). */
  bcc?: string | string[];
  date?: Date;
  /**
   * `'string'` (default) or `'bytes'`: the message as the bytes it is written in (a large message
   * then exists once, not also as a string of its size; `submit` takes either).
   */
  output?: 'string' | 'bytes';
}

export interface Envelope {
  mailFrom: string;
  rcptTo: string[];
}

/** Sign and/or encrypt with header protection; returns the message and its SMTP envelope. */
export function seal(options: SealOptions & { output: 'bytes' }): Promise<{ message: Uint8Array; envelope: Envelope }>;
export function seal(options: SealOptions): Promise<{ message: string; envelope: Envelope }>;

/** The SMTP envelope of a message: From, and To + Cc + `bcc`. Throws MIME_MALFORMED when the message has no From: address. */
export function envelopeOf(message: string, bcc?: string[]): Envelope;
// ---- the key store ---------------------------------------------------------------------------

/** The schema version the key store writes (IndexedDB version, file `version`). */
export const SCHEMA_VERSION: number;

/** Where a KeyStore keeps its records. */
export interface KeyStoreAdapter {
  open(name: string, options: { migrate: (store: string, record: unknown, from: number) => unknown }): Promise<void>;
  getAll(store: StoreName): Promise<Array<[string, unknown]>>;
  /** Apply every op or none. */
  commit(ops: Array<{ store: StoreName; type: 'put' | 'delete' | 'clear' | 'update'; id?: string; record?: unknown; update?: (stored: unknown) => unknown }>): Promise<void>;
  close(): void;
}

/** IndexedDB (browsers; the default there). One database per store name. */
export class IndexedDBAdapter implements KeyStoreAdapter {
  constructor(options?: { indexedDB?: IDBFactory });
  open(name: string, options: { migrate: (store: string, record: unknown, from: number) => unknown }): Promise<void>;
  getAll(store: StoreName): Promise<Array<[string, unknown]>>;
  commit(ops: Array<{ store: StoreName; type: 'put' | 'delete' | 'clear' | 'update'; id?: string; record?: unknown; update?: (stored: unknown) => unknown }>): Promise<void>;
  close(): void;
}

/** One JSON file per store name in `directory`, written atomically under a lock file (Node). */
export class FileAdapter implements KeyStoreAdapter {
  /** `lockTimeout`: ms to wait for another process's lock (10 s); `staleLock`: ms after which a
   *  lock is taken over as abandoned (30 s). */
  constructor(directory: string, options?: { lockTimeout?: number; staleLock?: number });
  /** The store file, once opened. */
  readonly path: string | null;
  open(name: string, options: { migrate: (store: string, record: unknown, from: number) => unknown }): Promise<void>;
  getAll(store: StoreName): Promise<Array<[string, unknown]>>;
  commit(ops: Array<{ store: StoreName; type: 'put' | 'delete' | 'clear' | 'update'; id?: string; record?: unknown; update?: (stored: unknown) => unknown }>): Promise<void>;
  close(): void;
}

/** Records in memory only. */
export class MemoryAdapter implements KeyStoreAdapter {
  open(name: string, options: { migrate: (store: string, record: unknown, from: number) => unknown }): Promise<void>;
  getAll(store: StoreName): Promise<Array<[string, unknown]>>;
  commit(ops: Array<{ store: StoreName; type: 'put' | 'delete' | 'clear' | 'update'; id?: string; record?: unknown; update?: (stored: unknown) => unknown }>): Promise<void>;
  close(): void;
}

export type StoreName = 'identities' | 'otherPeople' | 'trustAnchors';

/** One stored certificate (and, for identities, its chain and lock state). */
export interface StoredItem {
  /** The SHA-1 thumbprint, uppercase hex: the record's id. */
  id: string;
  store: StoreName;
  certificate: Certificate;
  subject: string;
  issuer: string;
  /** Uppercase hex. */
  serial: string;
  emails: string[];
  notBefore: Date;
  notAfter: Date;
  /** SHA-1, uppercase hex, as Windows shows it. */
  thumbprint: string;
  /** SHA-256, lowercase hex. */
  fingerprint: string;
  /** Lowercase hex, or null. */
  subjectKeyId: string | null;
  /** `RSA`, `EC`, `Ed25519` or an OID. */
  keyAlgorithm: string;
  canSign: boolean;
  canEncrypt: boolean;
  isCa: boolean;
  added: Date | null;
  /** Identities only. */
  chain?: Certificate[];
  unlocked?: boolean;
  label?: string | null;
  /** Other people only: SMIMECapabilities (cipher names) and signing time last seen. */
  capabilities?: string[] | null;
  signingTime?: Date | null;
  /** `list()` only: how the certificate stands at `list`'s `date`, judged as `verify` judges a
   *  signer's chain (path to a stored trust anchor, validity, revocation by the `crls` given). */
  status?: CertificateStatus;
  /** `list()` only: the signer report code saying why (`CERT_EXPIRED`, ...); null when valid. */
  statusCode?: string | null;
}

/** A stored certificate's status (a subset of {@link SignerStatus}). */
export type CertificateStatus =
  | 'valid'
  | 'untrusted'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'weak-algorithm'
  | 'unsupported-algorithm'
  | (string & {});

export interface FindOptions {
  store?: StoreName | StoreName[];
  /** Case-insensitive. */
  email?: string;
  /** SHA-1, hex; spaces and colons allowed. */
  thumbprint?: string;
  /** SHA-256, hex; colons allowed. */
  fingerprint?: string;
  issuerSerial?: { issuer: string; serial: string };
  /** subjectKeyIdentifier, hex. */
  keyId?: string;
  usage?: 'sign' | 'encrypt';
  validAt?: Date;
}

/** The user's identities, other people's certificates and the trust anchors. */
export class KeyStore {
  private constructor();
  static open(
    name: string,
    options?: { adapter?: KeyStoreAdapter; iterations?: number; idleTimeout?: number; wrapKeys?: boolean },
  ): Promise<KeyStore>;
  readonly name: string;
  importPkcs12(options: { data: Data; password?: string; passphrase: string; label?: string }): Promise<StoredItem>;
  importKey(options: {
    privateKey: Data; certificate?: Data | Certificate; chain?: Data | Certificate | Array<Data | Certificate>;
    password?: string; passphrase: string; label?: string;
  }): Promise<StoredItem>;
  addCertificate(options: { certificate: Data | Certificate; capabilities?: string[]; signingTime?: Date }): Promise<StoredItem[]>;
  unlockedIdentities(): Promise<Identity[]>;
  collectSigners(options: { report: VerifyResult }): Promise<StoredItem[]>;
  addTrustAnchors(options: { data: Data | Certificate | Array<Data | Certificate> }): Promise<StoredItem[]>;
  replaceTrustAnchors(options: { data: Data | Certificate | Array<Data | Certificate> }): Promise<StoredItem[]>;
  trustAnchors(): Promise<Certificate[]>;
  certificates(): Promise<Certificate[]>;
  unlock(options: { id?: string; email?: string; passphrase: string }): Promise<Identity>;
  unlocked(options: { id?: string; email?: string }): Promise<Identity>;
  lock(options?: { id?: string }): void;
  /** Every item with its `status` at `date` (default now); `crls` (PEM/DER) may revoke. */
  list(options?: { store?: StoreName | StoreName[]; date?: Date; crls?: Data | Data[] }): Promise<{ items: StoredItem[]; corrupted: Array<{ store: StoreName; id: string }> }>;
  find(options: FindOptions): Promise<StoredItem[]>;
  remove(options: { id: string; store?: StoreName | StoreName[] }): Promise<void>;
  exportPkcs12(options: {
    id?: string; email?: string; passphrase: string; password: string; legacy?: boolean; iterations?: number;
    friendlyName?: string;
  }): Promise<Uint8Array>;
  exportCertificate(options: { id: string; format?: 'pem' }): Promise<string>;
  exportCertificate(options: { id: string; format: 'der' }): Promise<Uint8Array>;
  close(): void;
}

// ---- mail submission (submit.js) ------------------------------------------------------------

/** The codes `submit` rejects with (besides API_MISUSE). */
export type SubmitErrorCode =
  | 'SUBMIT_AUTH'
  | 'SUBMIT_NETWORK'
  | 'SUBMIT_SERVER'
  | 'SUBMIT_UPLOAD'
  | 'SUBMIT_REJECTED'
  | 'SUBMIT_SESSION';

/** The SMTP envelope: the sender and EVERY recipient, Bcc included (bare addresses). */
export interface Envelope {
  mailFrom: string;
  rcptTo: string[];
}

/** A transport made by `jmap()` or `http()`. */
export interface Transport {
  readonly kind: 'jmap' | 'http';
}

/** A caller-supplied transport: gets the exact bytes and the envelope; resolves when sent. */
export type TransportFunction<R = unknown> = (bytes: Uint8Array, envelope: Envelope) => Promise<R>;

/** What a JMAP submission resolves with. */
export interface JmapSubmitResult {
  /** The EmailSubmission id. */
  id: string;
  /** The Email id (in Sent once `movedToSent`). */
  emailId: string;
  threadId?: string;
  blobId: string;
  /** "final" once the server has handed it on, "pending" when it can still be undone. */
  undoStatus?: 'pending' | 'final' | 'canceled';
  sendAt?: string;
  envelope: Envelope;
  /** The Email was moved from Drafts to Sent (marked $seen, no longer $draft). */
  movedToSent: boolean;
}

export interface JmapOptions {
  /** The JMAP session resource, e.g. https://mail.example/jmap/ (apiUrl/uploadUrl may be relative). */
  sessionUrl: string | URL;
  /** HTTP Basic or a bearer token; omit when something in between authenticates. */
  auth?: { username: string; password: string } | { bearer: string };
  /** Default: the session's primary submission account. */
  accountId?: string;
  /** Default: the identity whose email is the envelope's MAIL FROM (else the first). */
  identityId?: string;
  fetch?: typeof fetch;
}

/** A JMAP transport (RFC 8620/8621): upload, Email/import into Drafts, EmailSubmission/set with
 *  the explicit envelope, moved to Sent on success. */
export function jmap(options: JmapOptions): Transport;

/** A transport that POSTs message/rfc822, the envelope in X-Envelope-From / X-Envelope-To;
 *  resolves with `{ status, ...JSON answer }`. */
export function http(options: { url: string | URL; headers?: Record<string, string>; fetch?: typeof fetch }): Transport;

export interface SubmitOptions<T> {
  /** The finished message, raw RFC 5322 with CRLF: sent byte for byte. */
  message: string | Uint8Array | ArrayBuffer;
  /** Default: MAIL FROM the message's Sender or From, RCPT TO its To and Cc. */
  envelope?: Envelope;
  /** More recipients for the envelope (Bcc): they never appear in the message. */
  bcc?: string | string[];
  transport: T;
}

/** Submit a finished message. Rejects with a CachetError (SubmitErrorCode or API_MISUSE);
 *  resolves only when the server accepted it. */
export function submit(options: SubmitOptions<Transport>): Promise<JmapSubmitResult & Record<string, unknown>>;
export function submit<R>(options: SubmitOptions<TransportFunction<R>>): Promise<R>;
