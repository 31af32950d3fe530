//! The WebAssembly boundary: the only code that names `wasm_bindgen`.
//!
//! Each function converts JS values, calls one core function and maps [`Error`] to a JS `Error`
//! named `CachetError` with a stable `code` (and a `detail` when there is one). No logic lives
//! here: the public JS API (`src/js/index.js`) checks options, this module checks types.

use alloc::string::String;
use alloc::vec::Vec;

use der::Encode;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::algorithms::DigestAlgorithm;
use crate::cms::cipher::ContentCipher;
use crate::error::{Error, CODES};
use crate::smime::envelope::{self, EncryptOptions, Layer};
use crate::smime::{self, SignOptions, SignerReport, VerifyOptions};
use crate::time::UnixTime;

/// Map a core error to a JS `Error` named `CachetError`, with `code` and optional `detail`.
fn to_js(err: Error) -> JsValue {
    let js = js_sys::Error::new(&alloc::format!("{err}"));
    js.set_name("CachetError");
    let _ = Reflect::set(&js, &"code".into(), &err.code().into());
    if let Some(detail) = err.detail() {
        let _ = Reflect::set(&js, &"detail".into(), &detail.into());
    }
    js.into()
}

/// Each element of `list` as bytes; anything but a `Uint8Array` is `API_MISUSE`.
fn byte_arrays(list: &Array, what: &str) -> Result<Vec<Vec<u8>>, Error> {
    list.iter()
        .map(|v| {
            v.dyn_into::<Uint8Array>()
                .map(|a| a.to_vec())
                .map_err(|_| Error::misuse(alloc::format!("{what}: expected Uint8Array items")))
        })
        .collect()
}

/// Parse every element of `list` (PEM or DER, each possibly holding several certificates).
fn certificates(list: &Array, what: &str) -> Result<Vec<Certificate>, Error> {
    let mut out = Vec::new();
    for data in byte_arrays(list, what)? {
        out.extend(crate::x509::parse_certificates(&data)?);
    }
    Ok(out)
}

fn der(cert: &Certificate) -> Result<Uint8Array, Error> {
    Ok(Uint8Array::from(cert.to_der()?.as_slice()))
}

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    // Reflect.set on a fresh plain object cannot fail.
    let _ = Reflect::set(obj, &key.into(), &value.into());
}

/// Trust anchors, extra certificates and CRLs as the boundary receives them, parsed once.
struct VerifyInputs {
    anchors: Vec<Certificate>,
    extra: Vec<Certificate>,
    crls: Vec<x509_cert::crl::CertificateList>,
    time: UnixTime,
}

/// Digests of detached content made in JS, by algorithm.
type ContentDigests = Vec<(DigestAlgorithm, Vec<u8>)>;

impl VerifyInputs {
    fn parse(anchors: &Array, extra: &Array, crls: &Array, time_ms: f64) -> Result<Self, Error> {
        let mut revocations = Vec::new();
        for data in byte_arrays(crls, "crls")? {
            revocations.extend(crate::x509::parse_crls(&data)?);
        }
        Ok(Self {
            anchors: certificates(anchors, "trustAnchors")?,
            extra: certificates(extra, "certificates")?,
            crls: revocations,
            time: UnixTime::from_millis(time_ms),
        })
    }

    /// [`Self::parse`], and the digests of detached content made in JS (`[name, bytes]` pairs).
    fn with_digests(
        anchors: &Array,
        extra: &Array,
        crls: &Array,
        time_ms: f64,
        digests: &Array,
    ) -> Result<(Self, ContentDigests), JsValue> {
        let inputs = Self::parse(anchors, extra, crls, time_ms).map_err(to_js)?;
        Ok((inputs, content_digests(digests).map_err(to_js)?))
    }

    fn options(&self) -> VerifyOptions<'_> {
        VerifyOptions {
            trust_anchors: &self.anchors,
            certificates: &self.extra,
            crls: &self.crls,
            time: self.time,
        }
    }
}

/// Signing options from the boundary's arguments; an unknown digest name is `API_MISUSE`.
fn sign_options(
    opaque: bool,
    digest: &str,
    rsa_pss: bool,
    time_ms: f64,
) -> Result<SignOptions, Error> {
    let digest = DigestAlgorithm::from_name(digest)
        .ok_or_else(|| Error::misuse(alloc::format!("unknown digest {digest:?}")))?;
    Ok(SignOptions {
        opaque,
        digest,
        rsa_pss,
        time: UnixTime::from_millis(time_ms),
    })
}

/// A signing identity: a private key, its certificate and chain. Call `free()` when done.
#[wasm_bindgen]
pub struct Identity(crate::keys::Identity);

/// Load a signing identity (see [`crate::keys::Identity::load`]).
#[wasm_bindgen(js_name = loadIdentity)]
pub fn load_identity(
    key: &[u8],
    cert: Option<Vec<u8>>,
    password: Option<String>,
    chain: Array,
) -> Result<Identity, JsValue> {
    // Zeroizing, so that the password's copy in wasm memory is wiped when loading is done.
    let password = password.map(Zeroizing::new);
    let chain = certificates(&chain, "chain").map_err(to_js)?;
    crate::keys::Identity::load(
        key,
        cert.as_deref(),
        password.as_deref().map(|p| p.as_str()),
        &chain,
    )
    .map(Identity)
    .map_err(to_js)
}

#[wasm_bindgen]
impl Identity {
    /// The certificate, DER.
    #[wasm_bindgen(getter)]
    pub fn certificate(&self) -> Result<Vec<u8>, JsValue> {
        self.0.certificate.to_der().map_err(|e| to_js(e.into()))
    }

    /// The addresses the certificate names, lowercased.
    #[wasm_bindgen(getter)]
    pub fn emails(&self) -> Vec<String> {
        crate::x509::email_addresses(&self.0.certificate)
    }

    /// The certificate's subject (RFC 4514).
    #[wasm_bindgen(getter)]
    pub fn subject(&self) -> String {
        crate::x509::subject(&self.0.certificate)
    }

    /// The chain (leaf excluded, nearest first), DER each.
    #[wasm_bindgen(getter)]
    pub fn chain(&self) -> Result<Array, JsValue> {
        let out = Array::new();
        for cert in &self.0.chain {
            let item = der(cert).map_err(to_js)?;
            out.push(&item);
        }
        Ok(out)
    }
}

/// The identity's private key as PKCS#8 `EncryptedPrivateKeyInfo` DER, for the key store (see
/// [`crate::keys::store::protect_key`]).
#[wasm_bindgen(js_name = protectKey)]
pub fn protect_key(
    identity: &Identity,
    passphrase: &str,
    iterations: u32,
) -> Result<Vec<u8>, JsValue> {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    crate::keys::store::protect_key(&identity.0.key, passphrase, iterations, &mut rng)
        .map_err(to_js)
}

/// The identity as a PKCS#12 file (see [`crate::keys::store::export_pkcs12`]).
#[wasm_bindgen(js_name = exportPkcs12)]
pub fn export_pkcs12(
    identity: &Identity,
    password: &str,
    legacy: bool,
    iterations: u32,
    friendly_name: Option<String>,
) -> Result<Vec<u8>, JsValue> {
    let options = crate::keys::store::ExportOptions {
        legacy,
        iterations,
        friendly_name,
    };
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    crate::keys::store::export_pkcs12(&identity.0, password, &options, &mut rng).map_err(to_js)
}

/// Every certificate in `data` (PEM, DER, or a PKCS#7 certs-only bundle), DER each.
#[wasm_bindgen(js_name = parseCertificates)]
pub fn parse_certificates(data: &[u8]) -> Result<Array, JsValue> {
    let out = Array::new();
    for cert in crate::x509::parse_certificates(data).map_err(to_js)? {
        let item = der(&cert).map_err(to_js)?;
        out.push(&item);
    }
    Ok(out)
}

/// The facts the key store indexes about one certificate (see
/// [`crate::keys::store::certificate_info`]), as a plain object; times in milliseconds.
#[wasm_bindgen(js_name = certificateInfo)]
pub fn certificate_info(der_bytes: &[u8]) -> Result<JsValue, JsValue> {
    use der::Decode as _;
    let cert = Certificate::from_der(der_bytes).map_err(|_| to_js(Error::CertificateMalformed))?;
    let info = crate::keys::store::certificate_info(&cert);
    let obj = Object::new();
    set(&obj, "subject", info.subject);
    set(&obj, "issuer", info.issuer);
    set(&obj, "serial", info.serial);
    set(
        &obj,
        "emails",
        info.emails.iter().map(JsValue::from).collect::<Array>(),
    );
    #[allow(clippy::cast_precision_loss)] // seconds since 1970 stay far below 2^53
    let ms = |t: UnixTime| t.0 as f64 * 1000.0;
    set(&obj, "notBefore", ms(info.not_before));
    set(&obj, "notAfter", ms(info.not_after));
    set(&obj, "thumbprint", info.thumbprint);
    set(&obj, "fingerprint", info.fingerprint);
    set(&obj, "subjectKeyId", info.subject_key_id);
    set(&obj, "canSign", info.can_sign);
    set(&obj, "canEncrypt", info.can_encrypt);
    set(&obj, "isCa", info.is_ca);
    set(&obj, "keyAlgorithm", info.key_algorithm);
    Ok(obj.into())
}

/// Sign a message (see [`smime::sign_message`]). `time_ms` is milliseconds since the epoch.
#[wasm_bindgen(js_name = signMessage)]
pub fn sign_message(
    message: &[u8],
    identity: &Identity,
    opaque: bool,
    digest: &str,
    rsa_pss: bool,
    time_ms: f64,
) -> Result<Vec<u8>, JsValue> {
    let options = sign_options(opaque, digest, rsa_pss, time_ms).map_err(to_js)?;
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    smime::sign_message(message, &[&identity.0], &options, &mut rng).map_err(to_js)
}

/// A message from its outer header fields and its (signed or encrypted) entity.
#[wasm_bindgen(js_name = joinMessage)]
#[must_use]
pub fn join_message(outer: &[u8], entity: &[u8]) -> Vec<u8> {
    envelope::join(outer, entity)
}

/// Encryption options from the boundary's arguments; an unknown cipher name is `API_MISUSE`.
fn encrypt_options(cipher: &str, rsa_oaep: bool, by_key_id: bool) -> Result<EncryptOptions, Error> {
    let cipher = ContentCipher::from_name(cipher)
        .ok_or_else(|| Error::misuse(alloc::format!("unknown cipher {cipher:?}")))?;
    Ok(EncryptOptions {
        cipher,
        rsa_oaep,
        by_key_id,
    })
}

/// `seal`'s last step when the core encrypts: encrypt `entity` to `recipients` and join it to
/// `outer`.
#[wasm_bindgen(js_name = encryptAndJoin)]
pub fn encrypt_and_join(
    outer: &[u8],
    entity: &[u8],
    recipients: Array,
    cipher: &str,
    rsa_oaep: bool,
) -> Result<Vec<u8>, JsValue> {
    (|| {
        let certs = certificates(&recipients, "encryptionKeys")?;
        let refs: Vec<&Certificate> = certs.iter().collect();
        let options = encrypt_options(cipher, rsa_oaep, false)?;
        let mut rng: SysRng = rand_core::UnwrapErr(getrandom::SysRng);
        let encrypted = envelope::encrypt_entity(entity, &refs, &options, &mut rng)?;
        Ok(envelope::join(outer, &encrypted))
    })()
    .map_err(to_js)
}

#[wasm_bindgen]
impl Identity {
    /// The private key as PKCS#8 DER for `crypto.subtle.importKey` when signatures with it may
    /// be made by WebCrypto (RSA of 2048 bits or more, see
    /// [`crate::cms::sign::can_precompute`]); `undefined` otherwise. The caller imports it
    /// non-extractable and wipes these bytes; the copy in wasm memory is wiped here.
    #[wasm_bindgen(js_name = webCryptoSigningKey)]
    pub fn web_crypto_signing_key(&self, digest: &str) -> Result<Option<Uint8Array>, JsValue> {
        let digest = DigestAlgorithm::from_name(digest)
            .ok_or_else(|| to_js(Error::misuse(alloc::format!("unknown digest {digest:?}"))))?;
        if !crate::cms::sign::can_precompute(&self.0.key, digest) {
            return Ok(None);
        }
        let der = self.0.key.to_pkcs8_der().map_err(to_js)?;
        Ok(Some(Uint8Array::from(der.as_slice())))
    }

    /// The digest this key signs with when `digest` is asked for (Ed25519: always SHA-512),
    /// by name (`sha256`, ...).
    #[wasm_bindgen(js_name = signingDigest)]
    pub fn signing_digest(&self, digest: &str) -> Result<String, JsValue> {
        let options = sign_options(false, digest, false, 0.0).map_err(to_js)?;
        let effective = crate::cms::sign::effective_digest(&self.0.key, options.digest);
        Ok(String::from(effective.micalg()).replace('-', ""))
    }

    /// The bytes to sign (DER signed attributes) for content with digest `digest_value`.
    #[wasm_bindgen(js_name = toBeSigned)]
    pub fn to_be_signed(
        &self,
        digest_value: &[u8],
        digest: &str,
        time_ms: f64,
    ) -> Result<Vec<u8>, JsValue> {
        let options = sign_options(false, digest, false, time_ms).map_err(to_js)?;
        let effective = crate::cms::sign::effective_digest(&self.0.key, options.digest);
        if digest_value.len() != effective.output_len() {
            return Err(to_js(Error::misuse(
                "the precomputed digest has the wrong length",
            )));
        }
        crate::cms::sign::to_be_signed(&self.0, digest_value, options.time).map_err(to_js)
    }

    /// Sign `content` (from `splitMessage` or `sealMessage(..., "protect")`) with the digest
    /// and (RSA) the signature over `toBeSigned` made by WebCrypto; an empty `signature`: the
    /// core signs. Returns `[head, tail]` (see [`smime::sign_entity_parts`]; detached, the
    /// content goes between them and need not be passed in).
    #[wasm_bindgen(js_name = signEntityParts)]
    #[allow(clippy::too_many_arguments)]
    pub fn sign_entity_parts(
        &self,
        content: &[u8],
        digest_value: &[u8],
        signature: &[u8],
        opaque: bool,
        digest: &str,
        rsa_pss: bool,
        time_ms: f64,
    ) -> Result<JsValue, JsValue> {
        let options = sign_options(opaque, digest, rsa_pss, time_ms).map_err(to_js)?;
        let mut rng: SysRng = rand_core::UnwrapErr(getrandom::SysRng);
        let precomputed = crate::cms::sign::Precomputed {
            digest: digest_value,
            signature: (!signature.is_empty()).then_some(signature),
        };
        let (head, tail) =
            smime::sign_entity_parts(content, &[&self.0], &options, Some(precomputed), &mut rng)
                .map_err(to_js)?;
        Ok(pair(&head, &tail))
    }
}

/// `[name, digest]` pairs from JS (WebCrypto's digests of the detached content).
fn content_digests(list: &Array) -> Result<Vec<(DigestAlgorithm, Vec<u8>)>, Error> {
    let mut out = Vec::new();
    for item in list.iter() {
        let pair: Array = item
            .dyn_into()
            .map_err(|_| Error::misuse("digests: expected [name, bytes] pairs"))?;
        let name = pair.get(0).as_string().unwrap_or_default();
        let algorithm = DigestAlgorithm::from_name(&name)
            .ok_or_else(|| Error::misuse(alloc::format!("digests: unknown digest {name:?}")))?;
        let value: Uint8Array = pair
            .get(1)
            .dyn_into()
            .map_err(|_| Error::misuse("digests: expected [name, bytes] pairs"))?;
        let value = value.to_vec();
        if value.len() != algorithm.output_len() {
            return Err(Error::misuse("digests: a digest has the wrong length"));
        }
        out.push((algorithm, value));
    }
    Ok(out)
}

/// Where the detached signed content is in `message` and which digests its signers use (see
/// [`smime::detached_content`]): `[start, end, ["sha-256", ...]]`, or `undefined`.
#[wasm_bindgen(js_name = detachedContent)]
#[must_use]
pub fn detached_content(message: &[u8]) -> JsValue {
    let Some((start, end, digests)) = smime::detached_content(message) else {
        return JsValue::UNDEFINED;
    };
    content_where(start, end, &digests)
}

/// `[start, end, ["sha-256", ...]]`.
fn content_where(
    start: usize,
    end: usize,
    digests: &[crate::algorithms::DigestAlgorithm],
) -> JsValue {
    let names: Array = digests
        .iter()
        .map(|d| JsValue::from_str(d.micalg()))
        .collect();
    #[allow(clippy::cast_precision_loss)] // message sizes are far below 2^53
    let (start, end) = (start as f64, end as f64);
    Array::of3(&JsValue::from_f64(start), &JsValue::from_f64(end), &names).into()
}

/// Verify a signed message (see [`smime::verify_message`]); returns a plain JS report object.
#[wasm_bindgen(js_name = verifyMessage)]
pub fn verify_message(
    message: &[u8],
    trust_anchors: Array,
    certificates: Array,
    crls: Array,
    time_ms: f64,
    digests: Array,
) -> Result<JsValue, JsValue> {
    let (inputs, digests) =
        VerifyInputs::with_digests(&trust_anchors, &certificates, &crls, time_ms, &digests)?;
    let report = smime::verify_message_with(message, &inputs.options(), &digests).map_err(to_js)?;
    report_object(&report)
}

/// A verify report as a plain JS object.
fn report_object(report: &smime::VerifyReport) -> Result<JsValue, JsValue> {
    let signers = Array::new();
    for signer in &report.signers {
        let item = signer_object(signer).map_err(to_js)?;
        signers.push(&item);
    }
    let obj = Object::new();
    set(&obj, "opaque", report.opaque);
    set(&obj, "content", Uint8Array::from(report.content.as_slice()));
    set(&obj, "from", report.from.clone());
    set(&obj, "signers", signers);
    Ok(obj.into())
}

fn signer_object(s: &SignerReport) -> Result<Object, Error> {
    let obj = Object::new();
    set(&obj, "status", s.status.as_str());
    set(&obj, "code", s.code);
    set(&obj, "reason", s.reason.as_str());
    set(&obj, "email", s.email.clone());
    set(
        &obj,
        "emails",
        s.emails.iter().map(JsValue::from).collect::<Array>(),
    );
    set(&obj, "subject", s.subject.clone());
    #[allow(clippy::cast_precision_loss)] // seconds since 1970 stay far below 2^53
    let time = s.signing_time.map(|t| t.0 as f64 * 1000.0);
    set(&obj, "signingTime", time);
    set(&obj, "digestAlgorithm", s.digest_algorithm.as_str());
    let caps = s.capabilities.as_ref().map_or(JsValue::NULL, |list| {
        list.iter()
            .map(|c| JsValue::from(c.name()))
            .collect::<Array>()
            .into()
    });
    set(&obj, "capabilities", caps);
    set(&obj, "signatureAlgorithm", s.signature_algorithm.as_str());
    let cert = s.certificate.as_ref().map(der).transpose()?;
    set(
        &obj,
        "certificate",
        cert.map_or(JsValue::NULL, JsValue::from),
    );
    let chain = Array::new();
    for c in &s.chain {
        let item = der(c)?;
        chain.push(&item);
    }
    set(&obj, "chain", chain);
    Ok(obj)
}

/// Every error code with its description, as `[code, description]` pairs, in a stable order.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Array {
    CODES
        .iter()
        .map(|(code, text)| Array::of2(&(*code).into(), &(*text).into()))
        .collect()
}

/// How each of `certs` stands at `time_ms` (see [`crate::keys::store::certificate_status`]):
/// `{ status, code }` each, `code` undefined when valid. `pool` helps build paths to
/// `trust_anchors`; `crls` may revoke. For the key store's `list()`.
#[wasm_bindgen(js_name = certificateStatuses)]
pub fn certificate_statuses(
    certs: Array,
    pool: Array,
    trust_anchors: Array,
    crls: Array,
    time_ms: f64,
) -> Result<Array, JsValue> {
    let inputs = VerifyInputs::parse(&trust_anchors, &pool, &crls, time_ms).map_err(to_js)?;
    let out = Array::new();
    for cert in certificates(&certs, "certificates").map_err(to_js)? {
        let (pool, anchors) = (&inputs.extra, &inputs.anchors);
        let s =
            crate::keys::store::certificate_status(&cert, pool, anchors, &inputs.crls, inputs.time);
        let obj = Object::new();
        set(&obj, "status", s.status.as_str());
        set(&obj, "code", s.code);
        out.push(&obj);
    }
    Ok(out)
}

// ---- encryption (RFC 8551 §3.3) and open ----------------------------------------------------

/// Encrypt a message to the certificates in `recipients` (PEM or DER, each possibly several).
#[wasm_bindgen(js_name = encryptMessage)]
pub fn encrypt_message(
    message: &[u8],
    recipients: Array,
    cipher: &str,
    rsa_oaep: bool,
    by_key_id: bool,
) -> Result<Vec<u8>, JsValue> {
    let certs = certificates(&recipients, "encryptionKeys").map_err(to_js)?;
    let cipher = ContentCipher::from_name(cipher)
        .ok_or_else(|| to_js(Error::misuse(alloc::format!("unknown cipher {cipher:?}"))))?;
    let refs: Vec<&Certificate> = certs.iter().collect();
    let options = EncryptOptions {
        cipher,
        rsa_oaep,
        by_key_id,
    };
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    envelope::encrypt_message(message, &refs, &options, &mut rng).map_err(to_js)
}

#[wasm_bindgen]
impl Identity {
    /// `[[encryptedKey, scheme], ...]` of the RSA key-transport RecipientInfos of `message` for
    /// this identity that a native engine can decrypt (see
    /// [`crate::smime::envelope::transport_requests`]): `scheme` is the OAEP hash (`sha-1`,
    /// `sha-256`, ...: WebCrypto's RSA-OAEP) or `raw` (PKCS#1 v1.5: the raw RSA block, Node's
    /// `RSA_NO_PADDING`); each result goes to `unwrapped`.
    #[wasm_bindgen(js_name = transportRequests)]
    pub fn transport_requests(&self, message: &[u8]) -> Result<Array, JsValue> {
        Ok(requests_array(
            envelope::transport_requests(message, &self.0).map_err(to_js)?,
        ))
    }

    /// `transportRequests` for the DER of a large message without its encrypted content, as
    /// `externalContentHollow` takes it (`[]` when the content is not located there).
    #[wasm_bindgen(js_name = transportRequestsHollow)]
    pub fn transport_requests_hollow(
        &self,
        head: &[u8],
        content_length: usize,
        tail: &[u8],
    ) -> Result<Array, JsValue> {
        let Some(position) = hollow_position(head, content_length) else {
            return Ok(Array::new());
        };
        let requests = envelope::transport_requests_hollow(&position, head, tail, &self.0);
        Ok(requests_array(requests.map_err(to_js)?))
    }

    /// What the engine made of `encryptedKey` (`undefined`: it failed): the content-encryption
    /// key (OAEP) or, with `padded`, the raw RSA block (PKCS#1 v1.5, checked and unpadded by the
    /// core). Taken by the next `decryptMessage` or `openMessage` only, and wiped then (the
    /// caller wipes its own array).
    pub fn unwrapped(&mut self, encrypted_key: &[u8], key: Option<Vec<u8>>, padded: bool) {
        self.0.unwrapped.push(crate::keys::Unwrapped {
            encrypted_key: encrypted_key.to_vec(),
            key: key.map(Zeroizing::new),
            padded,
        });
    }

    /// Decrypt a message addressed to this identity: `{ message, cipher, authenticated }`.
    #[wasm_bindgen(js_name = decryptMessage)]
    pub fn decrypt_message(&mut self, message: &[u8]) -> Result<JsValue, JsValue> {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let d = envelope::decrypt_message(message, &[&self.0], &mut rng);
        self.0.unwrapped.clear(); // for this message only
        let d = d.map_err(to_js)?;
        let obj = Object::new();
        set(&obj, "message", Uint8Array::from(d.message.as_slice()));
        set(&obj, "cipher", d.cipher.name());
        set(&obj, "authenticated", d.authenticated);
        Ok(obj.into())
    }

    /// Open a message (every signed and encrypted layer), decrypting with this identity.
    #[wasm_bindgen(js_name = openMessage)]
    pub fn open_message(
        &mut self,
        message: &[u8],
        trust_anchors: Array,
        certificates: Array,
        crls: Array,
        time_ms: f64,
    ) -> Result<JsValue, JsValue> {
        let report = open_with(
            message,
            &[&self.0],
            &trust_anchors,
            &certificates,
            &crls,
            time_ms,
        );
        self.0.unwrapped.clear(); // for this message only
        report
    }
}

/// Open a message without a decryption key (signature layers only; encrypted layers are
/// reported undecryptable).
#[wasm_bindgen(js_name = openMessage)]
pub fn open_message(
    message: &[u8],
    trust_anchors: Array,
    certificates: Array,
    crls: Array,
    time_ms: f64,
) -> Result<JsValue, JsValue> {
    open_with(message, &[], &trust_anchors, &certificates, &crls, time_ms)
}

fn open_with(
    message: &[u8],
    identities: &[&crate::keys::Identity],
    trust_anchors: &Array,
    extra: &Array,
    crls: &Array,
    time_ms: f64,
) -> Result<JsValue, JsValue> {
    let inputs = VerifyInputs::parse(trust_anchors, extra, crls, time_ms).map_err(to_js)?;
    let options = inputs.options();
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let report = envelope::open(message, identities, &options, &mut rng).map_err(to_js)?;
    open_object(&report).map_err(to_js)
}

fn open_object(report: &envelope::OpenReport) -> Result<JsValue, Error> {
    let layers = Array::new();
    for layer in &report.layers {
        let obj = Object::new();
        set(&obj, "type", envelope::layer_type(layer));
        match layer {
            Layer::Encrypted {
                cipher,
                authenticated,
            } => {
                set(&obj, "cipher", cipher.name());
                set(&obj, "authenticated", *authenticated);
            }
            Layer::Signed { opaque, signers } => {
                set(&obj, "opaque", *opaque);
                let list = Array::new();
                for s in signers {
                    let item = signer_object(s)?;
                    list.push(&item);
                }
                set(&obj, "signers", list);
            }
            Layer::Undecryptable { code } => set(&obj, "code", *code),
        }
        layers.push(&obj);
    }
    let obj = Object::new();
    set(&obj, "layers", layers);
    set(&obj, "content", Uint8Array::from(report.content.as_slice()));
    set(&obj, "headers", Uint8Array::from(report.headers.as_slice()));
    set(&obj, "authenticated", report.authenticated);
    set(&obj, "signedValid", report.signed_valid);
    let protected = report
        .protected
        .as_ref()
        .map_or(JsValue::NULL, protected_object);
    set(&obj, "protected", protected);
    Ok(obj.into())
}

/// Every signer report code as `[code, status, description]`, in a stable order.
#[wasm_bindgen(js_name = reportCodes)]
pub fn report_codes() -> Array {
    crate::cms::verify::REPORT_CODES
        .iter()
        .map(|(code, status, text)| Array::of3(&(*code).into(), &(*status).into(), &(*text).into()))
        .collect()
}

/// The content cipher to use for recipients who advertised `capabilities` (one entry per
/// recipient: an array of cipher names, or `null` when nothing is known). See
/// [`crate::cms::cipher::choose`].
#[wasm_bindgen(js_name = chooseCipher)]
pub fn choose_cipher(capabilities: Array) -> Result<String, JsValue> {
    let mut lists: Vec<Option<Vec<ContentCipher>>> = Vec::new();
    for entry in capabilities.iter() {
        if entry.is_null() || entry.is_undefined() {
            lists.push(None);
            continue;
        }
        let names = entry.dyn_into::<Array>().map_err(|_| {
            to_js(Error::misuse(
                "capabilities: expected arrays of names or null",
            ))
        })?;
        let known = names
            .iter()
            .filter_map(|n| n.as_string())
            .filter_map(|n| ContentCipher::ALL.into_iter().find(|c| c.name() == n))
            .collect();
        lists.push(Some(known));
    }
    let refs: Vec<Option<&[ContentCipher]>> = lists.iter().map(|l| l.as_deref()).collect();
    Ok(String::from(crate::cms::cipher::choose(&refs).name()))
}

// ---- compose and seal (RFC 9788 header protection) ------------------------------------------

/// Compose an RFC 5322 message (see [`crate::mime::compose::compose`]). `attachments` holds
/// `{ filename, contentType, data }` objects, `headers` `[name, value]` pairs.
#[wasm_bindgen(js_name = composeMessage)]
#[allow(clippy::too_many_arguments)]
pub fn compose_message(
    from: String,
    to: Vec<String>,
    cc: Vec<String>,
    bcc: Vec<String>,
    reply_to: Vec<String>,
    subject: String,
    text: Option<String>,
    html: Option<String>,
    attachments: Array,
    in_reply_to: Option<String>,
    references: Vec<String>,
    headers: Array,
    time_ms: f64,
) -> Result<Vec<u8>, JsValue> {
    let options = crate::mime::compose::ComposeOptions {
        from,
        to,
        cc,
        bcc,
        reply_to,
        subject,
        text,
        html,
        attachments: attachment_list(&attachments).map_err(to_js)?,
        in_reply_to,
        references,
        headers: header_pairs(&headers).map_err(to_js)?,
        time: UnixTime::from_millis(time_ms),
    };
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    crate::mime::compose::compose(&options, &mut rng).map_err(to_js)
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn attachment_list(list: &Array) -> Result<Vec<crate::mime::compose::Attachment>, Error> {
    list.iter()
        .map(|a| {
            let data = get(&a, "data")
                .dyn_into::<Uint8Array>()
                .map_err(|_| Error::misuse("attachments: data must be a Uint8Array"))?;
            Ok(crate::mime::compose::Attachment {
                filename: get(&a, "filename")
                    .as_string()
                    .ok_or_else(|| Error::misuse("attachments: filename must be a string"))?,
                content_type: get(&a, "contentType").as_string().unwrap_or_default(),
                data: data.to_vec(),
            })
        })
        .collect()
}

fn header_pairs(list: &Array) -> Result<Vec<(String, String)>, Error> {
    list.iter()
        .map(|pair| {
            let pair = Array::from(&pair);
            match (pair.get(0).as_string(), pair.get(1).as_string()) {
                (Some(n), Some(v)) => Ok((n, v)),
                _ => Err(Error::misuse(
                    "headers: expected [name, value] string pairs",
                )),
            }
        })
        .collect()
}

type SysRng = rand_core::UnwrapErr<getrandom::SysRng>;

/// `seal` in one step, or its first half (`prepare`: `[outer, entity]` to encrypt elsewhere), or
/// only header protection (`protect`: `[outer, payload]` to sign and encrypt elsewhere).
enum SealStep {
    Whole,
    Prepare,
    Protect,
}

impl SealStep {
    fn from_name(name: &str) -> Result<Self, Error> {
        match name {
            "whole" => Ok(Self::Whole),
            "prepare" => Ok(Self::Prepare),
            "protect" => Ok(Self::Protect),
            _ => Err(Error::misuse(alloc::format!("unknown seal step {name:?}"))),
        }
    }
}

fn pair(a: &[u8], b: &[u8]) -> JsValue {
    Array::of2(&Uint8Array::from(a), &Uint8Array::from(b)).into()
}

#[allow(clippy::too_many_arguments)]
fn seal_with(
    message: &[u8],
    signers: &[&crate::keys::Identity],
    recipients: &Array,
    cipher: &str,
    rsa_oaep: bool,
    sign: SignOptions,
    header_protection: bool,
    policy: &str,
    legacy_display: bool,
    step: &SealStep,
) -> Result<JsValue, Error> {
    let certs = certificates(recipients, "encryptionKeys")?;
    let policy = crate::smime::protect::Policy::from_name(policy).ok_or_else(|| {
        Error::misuse(alloc::format!(
            "hcp: expected hcp_baseline, hcp_shy or hcp_no_confidentiality, got {policy:?}"
        ))
    })?;
    let refs: Vec<&Certificate> = certs.iter().collect();
    let cipher = ContentCipher::from_name(cipher)
        .ok_or_else(|| Error::misuse(alloc::format!("unknown cipher {cipher:?}")))?;
    let options = crate::smime::seal::SealOptions {
        signers,
        sign,
        recipients: &refs,
        encrypt: EncryptOptions {
            cipher,
            rsa_oaep,
            by_key_id: false,
        },
        header_protection,
        policy,
        legacy_display,
    };
    let mut rng: SysRng = rand_core::UnwrapErr(getrandom::SysRng);
    Ok(match step {
        SealStep::Whole => {
            Uint8Array::from(crate::smime::seal::seal(message, &options, &mut rng)?.as_slice())
                .into()
        }
        SealStep::Prepare => {
            let (outer, entity) = crate::smime::seal::prepare(message, &options, &mut rng)?;
            pair(&outer, &entity)
        }
        SealStep::Protect => {
            let (outer, payload) = crate::smime::seal::protect_payload(message, &options)?;
            pair(&outer, &payload)
        }
    })
}

#[wasm_bindgen]
impl Identity {
    /// Sign (and, with recipients, encrypt) a message with header protection.
    #[wasm_bindgen(js_name = sealMessage)]
    #[allow(clippy::too_many_arguments)]
    pub fn seal_message(
        &self,
        message: &[u8],
        recipients: Array,
        cipher: &str,
        rsa_oaep: bool,
        opaque: bool,
        digest: &str,
        rsa_pss: bool,
        header_protection: bool,
        legacy_display: bool,
        time_ms: f64,
        hcp: &str,
        step: &str,
    ) -> Result<JsValue, JsValue> {
        let sign = sign_options(opaque, digest, rsa_pss, time_ms).map_err(to_js)?;
        let (hp, legacy) = (header_protection, legacy_display);
        let step = SealStep::from_name(step).map_err(to_js)?;
        seal_with(
            message,
            &[&self.0],
            &recipients,
            cipher,
            rsa_oaep,
            sign,
            hp,
            hcp,
            legacy,
            &step,
        )
        .map_err(to_js)
    }
}

/// Encrypt (without signing) a message with header protection.
#[wasm_bindgen(js_name = sealMessageUnsigned)]
#[allow(clippy::too_many_arguments)]
pub fn seal_message_unsigned(
    message: &[u8],
    recipients: Array,
    cipher: &str,
    rsa_oaep: bool,
    header_protection: bool,
    legacy_display: bool,
    hcp: &str,
    step: &str,
) -> Result<JsValue, JsValue> {
    let step = SealStep::from_name(step).map_err(to_js)?;
    let sign = SignOptions {
        opaque: false,
        digest: DigestAlgorithm::Sha256,
        rsa_pss: false,
        time: UnixTime(0),
    };
    let (hp, legacy) = (header_protection, legacy_display);
    seal_with(
        message,
        &[],
        &recipients,
        cipher,
        rsa_oaep,
        sign,
        hp,
        hcp,
        legacy,
        &step,
    )
    .map_err(to_js)
}

fn protected_object(p: &crate::smime::protect::Protected) -> JsValue {
    let obj = Object::new();
    set(&obj, "mode", p.mode.as_str());
    let fields = Array::new();
    for (name, value) in &p.fields {
        fields.push(&Array::of2(&name.as_str().into(), &value.as_str().into()));
    }
    set(&obj, "fields", fields);
    let list = Array::new();
    for d in &p.disagreements {
        let item = Object::new();
        set(&item, "name", d.name.as_str());
        set(&item, "outer", d.outer.clone());
        set(&item, "protected", d.protected.clone());
        list.push(&item);
    }
    set(&obj, "disagreements", list);
    set(&obj, "legacyDisplay", p.legacy_display);
    set(&obj, "modeMismatch", p.mode_mismatch);
    obj.into()
}

// ---- bulk AES (GCM, CBC) through WebCrypto -----------------------------------------------------
//
// Wasm has no AES instructions; WebCrypto does. For large content the JS shim encrypts and
// decrypts the content itself with WebCrypto AES-GCM, and everything else (header protection,
// signatures, RecipientInfos, key unwrapping, DER, MIME) stays here.

/// `[outer, head, start, end]` of a message for signing or encryption: its outer header fields,
/// and the canonical entity, which is `head` followed by `message[start..end]` (the body kept as
/// it is; `start == end` when `head` is the whole entity; see
/// [`envelope::split_message_in_place`]).
#[wasm_bindgen(js_name = splitMessage)]
pub fn split_message(message: &[u8]) -> Result<Array, JsValue> {
    let split = envelope::split_message_in_place(message).map_err(to_js)?;
    Ok(split_array(split))
}

/// `[outer, head, start, end]` (`start == end` when `head` is the whole entity).
fn split_array(split: crate::smime::SplitEntity) -> Array {
    let body = split.body.unwrap_or(0..0);
    let parts = Array::of2(
        &Uint8Array::from(split.outer.as_slice()),
        &Uint8Array::from(split.head.as_slice()),
    );
    parts.push(&JsValue::from_f64(body.start as f64));
    parts.push(&JsValue::from_f64(body.end as f64));
    parts
}

/// `[[encryptedKey, scheme], ...]` (see `Identity.transportRequests`).
fn requests_array(requests: Vec<crate::cms::recipient::TransportRequest>) -> Array {
    use crate::cms::recipient::Transport;
    let out = Array::new();
    for r in requests {
        let scheme = match r.scheme {
            Transport::Oaep(hash) => hash.micalg(),
            Transport::RawRsa => "raw",
        };
        let pair = Array::of2(
            &Uint8Array::from(r.encrypted_key.as_slice()),
            &JsValue::from_str(scheme),
        );
        out.push(&pair);
    }
    out
}

/// Where the encrypted content is, when `head` is the DER up to it and it is `content_length`
/// long (see `Identity.externalContentHollow`).
fn hollow_position(
    head: &[u8],
    content_length: usize,
) -> Option<crate::cms::envelope::ContentPosition> {
    crate::cms::envelope::locate_content(head)
        .filter(|p| p.content.start == head.len() && p.content.len() == content_length)
}

/// A large message read in pieces, never whole in wasm memory (see [`crate::mime::skeleton`]):
/// `new MessageSkeleton()`, `feed(piece)` for each piece in order (`false`: given up on, stop),
/// then one of: `split()`: `[outer, head, start, end]` as `splitMessage` gives; `detached()`:
/// `[start, end, names]` as `detachedContent` gives, then `verify(...)` as `verifyMessage` with
/// those digests; for a decrypted plaintext, `detached()` and then `open(...)`. `undefined`
/// from any of them: the whole message has to go to `splitMessage`, `detachedContent` and
/// `verifyMessage`, or `openDecrypted`, after all.
#[wasm_bindgen(js_name = MessageSkeleton)]
pub struct WasmSkeleton {
    reading: Option<crate::mime::skeleton::Skeleton>,
    read: Option<crate::mime::skeleton::StandIn>,
    detached: Option<smime::Detached>,
}

#[wasm_bindgen(js_class = MessageSkeleton)]
impl WasmSkeleton {
    /// Start reading a message.
    #[wasm_bindgen(constructor)]
    #[must_use]
    pub fn new() -> WasmSkeleton {
        Self {
            reading: Some(crate::mime::skeleton::Skeleton::new()),
            read: None,
            detached: None,
        }
    }

    /// Read the next piece; `false` once the message is given up on (or read).
    pub fn feed(&mut self, piece: &[u8]) -> bool {
        self.reading.as_mut().is_some_and(|s| s.feed(piece))
    }

    /// The split (instead of the others), or `undefined`.
    pub fn split(&mut self) -> Result<JsValue, JsValue> {
        let skeleton = self
            .reading
            .take()
            .ok_or_else(|| to_js(Error::misuse("MessageSkeleton: read already")))?;
        let Some(split) = envelope::split_skeleton(skeleton).map_err(to_js)? else {
            return Ok(JsValue::UNDEFINED);
        };
        Ok(split_array(split).into())
    }

    /// `seal`'s header protection (instead of the others; `encrypt`: the message is to be
    /// encrypted): `[outer, prefix, start]`, the payload being `prefix` and then the message from
    /// `start` on; or `undefined`.
    pub fn protect(
        &mut self,
        encrypt: bool,
        header_protection: bool,
        legacy_display: bool,
        hcp: &str,
    ) -> Result<JsValue, JsValue> {
        let policy = crate::smime::protect::Policy::from_name(hcp)
            .ok_or_else(|| to_js(Error::misuse(alloc::format!("unknown hcp {hcp:?}"))))?;
        let skeleton = self
            .reading
            .take()
            .ok_or_else(|| to_js(Error::misuse("MessageSkeleton: read already")))?;
        let total = skeleton.total();
        let Some(stand_in) = skeleton.finish() else {
            return Ok(JsValue::UNDEFINED);
        };
        let options = crate::smime::seal::SealOptions {
            signers: &[],
            sign: SignOptions {
                opaque: false,
                digest: DigestAlgorithm::Sha256,
                rsa_pss: false,
                time: UnixTime(0),
            },
            recipients: &[],
            encrypt: EncryptOptions::default(),
            header_protection,
            policy,
            legacy_display,
        };
        let found = crate::smime::seal::protect_payload_stand_in(&stand_in, encrypt, &options)
            .map_err(to_js)?;
        let Some(spliced) = found else {
            return Ok(JsValue::UNDEFINED);
        };
        let (outer, prefix, start) = (spliced.outer, spliced.prefix, spliced.start);
        debug_assert!(start <= total);
        let parts = Array::of2(
            &Uint8Array::from(outer.as_slice()),
            &Uint8Array::from(prefix.as_slice()),
        );
        #[allow(clippy::cast_precision_loss)] // message sizes are far below 2^53
        parts.push(&JsValue::from_f64(start as f64));
        Ok(parts.into())
    }

    /// Where the detached signed content is, and its signers' digests, or `undefined`.
    pub fn detached(&mut self) -> JsValue {
        if let Some(skeleton) = self.reading.take() {
            self.read = skeleton.finish();
        }
        self.detached = self.read.as_ref().and_then(smime::Detached::find);
        self.detached.as_ref().map_or(JsValue::UNDEFINED, |d| {
            content_where(d.content.start, d.content.end, &d.digests)
        })
    }

    /// Verify the message `detached()` found, with a digest for each of its names.
    pub fn verify(
        &self,
        trust_anchors: Array,
        certificates: Array,
        crls: Array,
        time_ms: f64,
        digests: Array,
    ) -> Result<JsValue, JsValue> {
        let (Some(read), Some(found)) = (&self.read, &self.detached) else {
            return Err(to_js(Error::misuse("MessageSkeleton: detached() first")));
        };
        let (inputs, digests) =
            VerifyInputs::with_digests(&trust_anchors, &certificates, &crls, time_ms, &digests)?;
        report_object(
            &found
                .verify(read, &inputs.options(), &digests)
                .map_err(to_js)?,
        )
    }

    /// `openDecrypted` for this plaintext (after `detached()`; `digests` as for `verify`, empty
    /// when it found nothing) of a message whose header section is `message`: the report, its
    /// `content` left out and `contentRange: [start, end]` of the plaintext instead; or
    /// `undefined`.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        &self,
        message: &[u8],
        cipher: &str,
        trust_anchors: Array,
        certificates: Array,
        crls: Array,
        time_ms: f64,
        digests: Array,
    ) -> Result<JsValue, JsValue> {
        let Some(read) = &self.read else {
            return Ok(JsValue::UNDEFINED);
        };
        let cipher = ContentCipher::from_name(cipher)
            .ok_or_else(|| to_js(Error::misuse(alloc::format!("unknown cipher {cipher:?}"))))?;
        let (inputs, digests) =
            VerifyInputs::with_digests(&trust_anchors, &certificates, &crls, time_ms, &digests)?;
        let opened = envelope::open_stand_in(
            message,
            cipher,
            read,
            self.detached.as_ref(),
            &inputs.options(),
            &digests,
        )
        .map_err(to_js)?;
        let Some((report, range)) = opened else {
            return Ok(JsValue::UNDEFINED);
        };
        let obj: Object = open_object(&report).map_err(to_js)?.unchecked_into();
        #[allow(clippy::cast_precision_loss)] // message sizes are far below 2^53
        let range = Array::of2(&(range.start as f64).into(), &(range.end as f64).into());
        set(&obj, "contentRange", range);
        Ok(obj.into())
    }
}

impl Default for WasmSkeleton {
    fn default() -> Self {
        Self::new()
    }
}

/// The encrypted message without its ciphertext, which stays in JS (WebCrypto AES-GCM or
/// AES-CBC made it with `cek` and `iv`): `[head, prefix, suffix, length]`. The message is `head`
/// then the base64 lines (`base64Lines`) of prefix, ciphertext and suffix as one byte string, in
/// all `length` bytes. `ciphertextLength` excludes the GCM `tag` (empty for CBC). The content key
/// is wrapped for every recipient; `cek` is wiped (here and in the caller's array).
#[wasm_bindgen(js_name = frameExternal)]
#[allow(clippy::too_many_arguments)]
pub fn frame_external(
    outer: &[u8],
    cek: &mut [u8],
    iv: &[u8],
    ciphertext_length: usize,
    tag: &[u8],
    recipients: Array,
    cipher: &str,
    rsa_oaep: bool,
    by_key_id: bool,
) -> Result<Array, JsValue> {
    let result = (|| {
        let certs = certificates(&recipients, "encryptionKeys")?;
        let refs: Vec<&Certificate> = certs.iter().collect();
        let options = encrypt_options(cipher, rsa_oaep, by_key_id)?;
        let mut rng: SysRng = rand_core::UnwrapErr(getrandom::SysRng);
        envelope::frame_external(
            Some(outer),
            cek,
            iv,
            ciphertext_length,
            tag,
            &refs,
            &options,
            &mut rng,
        )
    })();
    zeroize::Zeroize::zeroize(cek);
    let frame = result.map_err(to_js)?;
    let length = frame.message_len(ciphertext_length);
    let parts = Array::of3(
        &Uint8Array::from(frame.head.as_slice()),
        &Uint8Array::from(frame.prefix.as_slice()),
        &Uint8Array::from(frame.suffix.as_slice()),
    );
    parts.push(&JsValue::from_f64(length as f64));
    Ok(parts)
}

/// `data` as base64 in CRLF-ended lines of 76 characters (the last one shorter when `data`'s
/// length is not a multiple of 57), written into `out` (exactly that long or longer): one piece
/// of a base64 body written in steps, in place. Gives how many bytes it wrote.
#[wasm_bindgen(js_name = base64Lines)]
pub fn base64_lines(data: &[u8], out: &mut [u8]) -> Result<usize, JsValue> {
    copy_into(&crate::mime::base64_encode_lines(data), out)
}

/// `bytes` at the front of `out`; their length.
fn copy_into(bytes: &[u8], out: &mut [u8]) -> Result<usize, JsValue> {
    out.get_mut(..bytes.len())
        .ok_or_else(|| to_js(Error::misuse("the output array is too short")))?
        .copy_from_slice(bytes);
    Ok(bytes.len())
}

/// The AES-GCM tag of content whose keystream WebCrypto's AES-CTR applies in chunks (see
/// [`crate::cms::cipher::GcmTag`]): `new GcmTag(key, nonce, aad)` (the key is wiped, here and
/// in the caller's array), `update(ciphertext)` for each chunk in order, then `finish()` for the
/// tag or `verify(tag)`. Call `free()` when done.
#[wasm_bindgen(js_name = GcmTag)]
pub struct WasmGcmTag(Option<crate::cms::cipher::GcmTag>);

#[wasm_bindgen(js_class = GcmTag)]
impl WasmGcmTag {
    /// Start a tag.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &mut [u8], nonce: &[u8], aad: &[u8]) -> Result<WasmGcmTag, JsValue> {
        let tag = crate::cms::cipher::GcmTag::new(key, nonce, aad);
        zeroize::Zeroize::zeroize(key);
        Ok(Self(Some(tag.map_err(to_js)?)))
    }

    /// Hash the next chunk of ciphertext.
    pub fn update(&mut self, ciphertext: &[u8]) {
        if let Some(tag) = self.0.as_mut() {
            tag.update(ciphertext);
        }
    }

    /// The tag (once).
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        let tag = self
            .0
            .take()
            .ok_or_else(|| to_js(Error::misuse("GcmTag: finished")))?;
        Ok(tag.finish().to_vec())
    }

    /// Does `tag` match (constant time; once)?
    pub fn verify(&mut self, tag: &[u8]) -> Result<bool, JsValue> {
        let mine = self
            .0
            .take()
            .ok_or_else(|| to_js(Error::misuse("GcmTag: finished")))?;
        Ok(mine.verify(tag))
    }
}

/// The AES-GCM tag of content that WebCrypto's AES-GCM seals chunk by chunk (see
/// [`crate::cms::gcm`]): `new GcmChunks(key, nonce, aad)` (the key is wiped, here and in the
/// caller's array), `iv(offset)` for the 16-byte IV of the chunk at `offset`, `absorb(offset,
/// length, tag)` (or `absorbAad`, for an empty seal with the chunk as AAD) for each chunk's tag
/// in order, then `finish()` for the tag or `verify(tag)`.
/// Call `free()` when done.
#[wasm_bindgen(js_name = GcmChunks)]
pub struct WasmGcmChunks(Option<crate::cms::gcm::GcmChunks>);

#[wasm_bindgen(js_class = GcmChunks)]
impl WasmGcmChunks {
    /// Start a tag.
    #[wasm_bindgen(constructor)]
    pub fn new(key: &mut [u8], nonce: &[u8], aad: &[u8]) -> Result<WasmGcmChunks, JsValue> {
        let chunks = crate::cms::gcm::GcmChunks::new(key, nonce, aad);
        zeroize::Zeroize::zeroize(key);
        Ok(Self(Some(chunks.map_err(to_js)?)))
    }

    fn state(&mut self) -> Result<&mut crate::cms::gcm::GcmChunks, JsValue> {
        self.0
            .as_mut()
            .ok_or_else(|| to_js(Error::misuse("GcmChunks: finished")))
    }

    /// The IV of the chunk at byte `offset`.
    pub fn iv(&mut self, offset: usize) -> Result<Vec<u8>, JsValue> {
        Ok(self.state()?.iv(offset as u64).map_err(to_js)?.to_vec())
    }

    /// Take the tag of the `length`-byte chunk at `offset`.
    pub fn absorb(&mut self, offset: usize, length: usize, tag: &[u8]) -> Result<(), JsValue> {
        self.state()?
            .absorb(offset as u64, length as u64, tag)
            .map_err(to_js)
    }

    /// Take the tag of nothing sealed with the `length`-byte chunk at `offset` as its AAD.
    #[wasm_bindgen(js_name = absorbAad)]
    pub fn absorb_aad(&mut self, offset: usize, length: usize, tag: &[u8]) -> Result<(), JsValue> {
        self.state()?
            .absorb_aad(offset as u64, length as u64, tag)
            .map_err(to_js)
    }

    /// The tag (once).
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        let chunks = self
            .0
            .take()
            .ok_or_else(|| to_js(Error::misuse("GcmChunks: finished")))?;
        Ok(chunks.finish().map_err(to_js)?.to_vec())
    }

    /// Does `tag` match (constant time; once)?
    pub fn verify(&mut self, tag: &[u8]) -> Result<bool, JsValue> {
        let chunks = self
            .0
            .take()
            .ok_or_else(|| to_js(Error::misuse("GcmChunks: finished")))?;
        chunks.verify(tag).map_err(to_js)
    }
}

/// `{ cipher, keys, iv, aad, tag }` of content for WebCrypto to decrypt (the keys to wipe after
/// use).
fn external_object(found: &crate::cms::envelope::ExternalContent) -> Object {
    let obj = Object::new();
    set(&obj, "cipher", found.cipher.name());
    let keys = Array::new();
    for k in &found.keys {
        keys.push(&Uint8Array::from(k.as_slice()));
    }
    set(&obj, "keys", keys);
    set(&obj, "iv", Uint8Array::from(found.iv.as_slice()));
    set(&obj, "aad", Uint8Array::from(found.aad.as_slice()));
    set(&obj, "tag", Uint8Array::from(found.tag.as_slice()));
    obj
}

/// Is `header` (a header section) that of a `messageLength`-byte S/MIME `application/pkcs7-mime`
/// message with a base64 body (see [`envelope::is_base64_pkcs7`])?
#[wasm_bindgen(js_name = isBase64Pkcs7)]
pub fn is_base64_pkcs7(header: &[u8], message_length: usize) -> Result<bool, JsValue> {
    envelope::is_base64_pkcs7(header, message_length).map_err(to_js)
}

/// Where the encrypted content of a DER (Auth)EnvelopedData is, from the front of its encoding:
/// `[start, end]`, or `null` (BER, or not found in `prefix`; see
/// [`crate::cms::envelope::locate_content`]).
#[wasm_bindgen(js_name = locateContent)]
#[must_use]
pub fn locate_content(prefix: &[u8]) -> JsValue {
    match crate::cms::envelope::locate_content(prefix) {
        Some(p) => {
            let range = Array::new();
            range.push(&JsValue::from_f64(p.content.start as f64));
            range.push(&JsValue::from_f64(p.content.end as f64));
            range.into()
        }
        None => JsValue::NULL,
    }
}

/// What `decryptedMessage` puts before a CRLF plaintext: the outer header fields of the
/// message whose header section is `header`, and `MIME-Version`.
#[wasm_bindgen(js_name = decryptedHead)]
pub fn decrypted_head(header: &[u8]) -> Result<Vec<u8>, JsValue> {
    envelope::decrypted_head(header).map_err(to_js)
}

/// Are all line ends in `data` CRLF? (Pieces cut right after an LF answer for the whole.)
#[wasm_bindgen(js_name = isCrlf)]
#[must_use]
pub fn is_crlf(data: &[u8]) -> bool {
    crate::mime::is_crlf(data)
}

/// Base64 decoding in pieces (a large message body; see [`crate::mime::Base64Decoder`]):
/// `feed(piece)` gives the bytes decoded so far, `finish()` the last ones. Errors as
/// `MIME_MALFORMED`.
#[wasm_bindgen(js_name = Base64Decoder)]
pub struct WasmBase64Decoder(Option<crate::mime::Base64Decoder>);

#[wasm_bindgen(js_class = Base64Decoder)]
impl WasmBase64Decoder {
    /// A decoder at the start of a body.
    #[wasm_bindgen(constructor)]
    #[must_use]
    pub fn new() -> WasmBase64Decoder {
        Self(Some(crate::mime::Base64Decoder::default()))
    }

    /// Decode the next piece into `out` (room for `piece.length / 4 * 3 + 3` bytes, or fewer when
    /// that is all the body can decode to); gives how many bytes it wrote. Writing into the
    /// caller's array leaves no garbage behind each piece of a large body.
    pub fn feed(&mut self, piece: &[u8], out: &mut [u8]) -> Result<usize, JsValue> {
        let decoder = self
            .0
            .as_mut()
            .ok_or_else(|| to_js(Error::misuse("finished")))?;
        let mut bytes = Vec::with_capacity(piece.len() / 4 * 3 + 3);
        decoder.feed(piece, &mut bytes).map_err(to_js)?;
        copy_into(&bytes, out)
    }

    /// The last bytes (once).
    pub fn finish(&mut self) -> Result<Vec<u8>, JsValue> {
        let decoder = self
            .0
            .take()
            .ok_or_else(|| to_js(Error::misuse("finished")))?;
        let mut out = Vec::new();
        decoder.finish(&mut out).map_err(to_js)?;
        Ok(out)
    }
}

impl Default for WasmBase64Decoder {
    fn default() -> Self {
        Self::new()
    }
}

/// A decrypted message, as `decryptMessage` gives it, from content WebCrypto decrypted.
#[wasm_bindgen(js_name = decryptedMessage)]
pub fn decrypted_message(
    message: &[u8],
    plaintext: &[u8],
    cipher: &str,
) -> Result<JsValue, JsValue> {
    let cipher = ContentCipher::from_name(cipher)
        .ok_or_else(|| to_js(Error::misuse(alloc::format!("unknown cipher {cipher:?}"))))?;
    let d = envelope::decrypted_message(message, plaintext, cipher).map_err(to_js)?;
    let obj = Object::new();
    set(&obj, "message", Uint8Array::from(d.message.as_slice()));
    set(&obj, "cipher", d.cipher.name());
    set(&obj, "authenticated", d.authenticated);
    Ok(obj.into())
}

#[wasm_bindgen]
impl Identity {
    /// For a message whose outermost layer is encrypted with AES-128/256 (GCM or CBC) for this
    /// identity: `{ cipher, keys, iv, aad, data }` (candidate content keys, to wipe after use;
    /// for GCM `data` is ciphertext and tag) for WebCrypto. `null` otherwise (use
    /// `decryptMessage` or `openMessage`, which report why).
    #[wasm_bindgen(js_name = externalContent)]
    pub fn external_content(&self, message: &[u8]) -> Result<JsValue, JsValue> {
        let mut rng: SysRng = rand_core::UnwrapErr(getrandom::SysRng);
        let Some(found) =
            envelope::external_content(message, &[&self.0], &mut rng).map_err(to_js)?
        else {
            return Ok(JsValue::NULL);
        };
        let obj = external_object(&found);
        // Ciphertext then tag, copied straight into one JS array (not joined in wasm first).
        let data = Uint8Array::new_with_length(
            u32::try_from(found.ciphertext.len() + found.tag.len())
                .map_err(|_| to_js(Error::misuse("content too large")))?,
        );
        let split = u32::try_from(found.ciphertext.len()).unwrap_or(u32::MAX);
        data.subarray(0, split).copy_from(&found.ciphertext);
        data.subarray(split, data.length()).copy_from(&found.tag);
        set(&obj, "data", data);
        Ok(obj.into())
    }

    /// `externalContent` for the DER the caller decoded from a large message's base64 body
    /// (`isBase64Pkcs7`, `Base64Decoder`) and keeps: `head` is the DER before the encrypted
    /// content (`locateContent`), `contentLength` its length, `tail` the DER after it. Gives
    /// `{ cipher, keys, iv, aad, tag }` (no `data`: the caller has the ciphertext), or `null`
    /// (not addressed to this identity, another cipher, or not located: use `externalContent`
    /// or `decryptMessage`, which report why).
    #[wasm_bindgen(js_name = externalContentHollow)]
    pub fn external_content_hollow(
        &mut self,
        head: &[u8],
        content_length: usize,
        tail: &[u8],
    ) -> Result<JsValue, JsValue> {
        let Some(position) = hollow_position(head, content_length) else {
            self.0.unwrapped.clear();
            return Ok(JsValue::NULL);
        };
        let mut rng: SysRng = rand_core::UnwrapErr(getrandom::SysRng);
        let found = envelope::external_content_hollow(&position, head, tail, &[&self.0], &mut rng);
        self.0.unwrapped.clear(); // for this message only
        let found = found.map_err(to_js)?;
        Ok(found.map_or(JsValue::NULL, |f| external_object(&f).into()))
    }

    /// `openMessage` for a message whose outermost layer WebCrypto decrypted: `plaintext`, or
    /// `undefined` when no content key opened it (reported as `DECRYPTION_FAILED`). Only the
    /// header section of `message` is read: it may be all that is passed.
    #[wasm_bindgen(js_name = openDecrypted)]
    #[allow(clippy::too_many_arguments)]
    pub fn open_decrypted(
        &self,
        message: &[u8],
        plaintext: Option<Vec<u8>>,
        cipher: &str,
        trust_anchors: Array,
        certificates: Array,
        crls: Array,
        time_ms: f64,
    ) -> Result<JsValue, JsValue> {
        let cipher = ContentCipher::from_name(cipher)
            .ok_or_else(|| to_js(Error::misuse(alloc::format!("unknown cipher {cipher:?}"))))?;
        let first = match plaintext.as_deref() {
            Some(content) => envelope::FirstLayer::Decrypted { content, cipher },
            None => envelope::FirstLayer::Failed,
        };
        let inputs =
            VerifyInputs::parse(&trust_anchors, &certificates, &crls, time_ms).map_err(to_js)?;
        let options = inputs.options();
        let mut rng: SysRng = rand_core::UnwrapErr(getrandom::SysRng);
        let report = envelope::open_after(message, Some(first), &[&self.0], &options, &mut rng)
            .map_err(to_js)?;
        open_object(&report).map_err(to_js)
    }
}
