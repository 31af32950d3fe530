//! Encrypted messages (RFC 8551 §3.3): encrypt, decrypt, and `open` for any nesting of signed and
//! encrypted layers.
//!
//! Header protection (RFC 9788) is not done here: outer headers stay outside as they are.

use alloc::vec::Vec;

use x509_cert::Certificate;

use crate::cms::cipher::ContentCipher;
use crate::cms::envelope::{self, EncryptParams};
use crate::cms::recipient::RsaTransport;
use crate::error::{Error, Result};
use crate::keys::Identity;
use crate::mime::{self, Entity};
use crate::smime::{self, SignerReport, SignerStatus, VerifyOptions};
use crate::time::UnixTime;

/// Deepest nesting of signed/encrypted layers `open` unwraps.
pub const MAX_LAYERS: usize = 8;

/// How to encrypt.
#[derive(Clone, Copy, Debug)]
pub struct EncryptOptions {
    /// The content cipher (default AES-256-GCM, RFC 8551 §2.7).
    pub cipher: ContentCipher,
    /// RSAES-OAEP (SHA-256) instead of PKCS#1 v1.5 for RSA recipients.
    pub rsa_oaep: bool,
    /// Name recipients by subject key identifier (RFC 5652 §6.2) instead of issuer and serial.
    pub by_key_id: bool,
}

impl EncryptOptions {
    /// The CMS-level parameters these options mean.
    fn params(&self) -> EncryptParams {
        EncryptParams {
            cipher: self.cipher,
            rsa: if self.rsa_oaep {
                RsaTransport::OaepSha256
            } else {
                RsaTransport::Pkcs1v15
            },
            by_key_id: self.by_key_id,
        }
    }
}

impl Default for EncryptOptions {
    fn default() -> Self {
        Self {
            cipher: ContentCipher::Aes256Gcm,
            rsa_oaep: false,
            by_key_id: false,
        }
    }
}

/// Encrypt an RFC 5322 message (or a bare entity) to `recipients`: the MIME entity is encrypted,
/// the other header fields stay outside. Returns the complete message, CRLF line ends.
///
/// # Errors
/// `API_MISUSE` (no recipient, decryption-only cipher), `KEY_UNSUPPORTED`, `MIME_MALFORMED`,
/// `INPUT_TOO_LARGE`.
pub fn encrypt_message<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    recipients: &[&Certificate],
    options: &EncryptOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    smime::check_size(message)?;
    let message = mime::to_crlf(message);
    let (outer, content) = smime::split_for_signing(&message)?;
    let mut out = outer;
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(&encrypt_entity(&content, recipients, options, rng)?);
    Ok(out)
}

/// Encrypt a canonical MIME entity; returns the `application/pkcs7-mime` entity (its Content-*
/// fields and body, no outer fields).
///
/// # Errors
/// As [`encrypt_message`].
pub fn encrypt_entity<R: rand_core::CryptoRng + ?Sized>(
    content: &[u8],
    recipients: &[&Certificate],
    options: &EncryptOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let params = options.params();
    let der_bytes = envelope::encrypt(content, recipients, &params, rng)?;
    Ok(pkcs7_entity(&der_bytes, options.cipher.is_authenticated()))
}

/// Split an RFC 5322 message (or a bare entity) for encryption: the outer header fields, and the
/// canonical MIME entity to encrypt. [`join`] puts the encrypted entity back.
///
/// # Errors
/// `MIME_MALFORMED`, `INPUT_TOO_LARGE`.
pub fn split_message(message: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    smime::check_size(message)?;
    smime::split_for_signing(&mime::to_crlf(message))
}

/// [`split_message`] without copying the body when it is canonical as it is (see
/// [`smime::SplitEntity`]; a message with bare LF line ends is converted, so its entity is made).
///
/// # Errors
/// As [`split_message`].
pub fn split_message_in_place(message: &[u8]) -> Result<smime::SplitEntity> {
    smime::check_size(message)?;
    match mime::to_crlf(message) {
        alloc::borrow::Cow::Borrowed(message) => smime::split_entity(message),
        alloc::borrow::Cow::Owned(converted) => {
            let (outer, head) = smime::split_for_signing(&converted)?;
            Ok(smime::SplitEntity {
                outer,
                head,
                body: None,
            })
        }
    }
}

/// [`split_message_in_place`] for a message read in pieces into `skeleton` (see
/// [`mime::skeleton`]), so that the whole message is never held here: `None` when the skeleton
/// cannot say (the message was given up on, or its entity must be re-encoded, or is malformed):
/// the caller then splits the whole message, which also reports any error.
///
/// # Errors
/// `INPUT_TOO_LARGE` for a message over the size limit.
pub fn split_skeleton(skeleton: mime::skeleton::Skeleton) -> Result<Option<smime::SplitEntity>> {
    let total = skeleton.total();
    if total > smime::MAX_MESSAGE_SIZE {
        return Err(Error::InputTooLarge {
            what: "message size",
            limit: smime::MAX_MESSAGE_SIZE,
        });
    }
    Ok(skeleton.finish().as_ref().and_then(split_stand_in))
}

/// [`split_message_in_place`] from a stand-in: `None` unless the entity needs no re-encoding and
/// its body runs from inside the header section (which the stand-in shares with the message) to
/// the end, which is then the end of the message: the body is `start..total` of the message.
#[must_use]
pub fn split_stand_in(stand_in: &mime::skeleton::StandIn) -> Option<smime::SplitEntity> {
    let split = smime::split_entity(&stand_in.bytes).ok()?;
    let body = split
        .body
        .filter(|b| b.start <= stand_in.header_end && b.end == stand_in.bytes.len())?;
    Some(smime::SplitEntity {
        outer: split.outer,
        head: split.head,
        body: Some(body.start..stand_in.total),
    })
}

/// The outer header fields and an (encrypted) entity as one message.
#[must_use]
pub fn join(outer: &[u8], entity: &[u8]) -> Vec<u8> {
    let mut out = start_message(outer, entity.len());
    out.extend_from_slice(entity);
    out
}

/// The outer header fields and `MIME-Version`, with room for an entity of `entity_len` bytes.
fn start_message(outer: &[u8], entity_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(outer.len() + entity_len + 32);
    out.extend_from_slice(outer);
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out
}

/// [`encrypt_entity_external`] and [`join`] in one step, encoding the content where it is: the
/// DER around it is made apart ([`frame_external`]) and base64 runs over the pieces, so the
/// message is the only large buffer made here.
///
/// # Errors
/// As [`encrypt_entity_external`].
pub fn encrypt_message_external<R: rand_core::CryptoRng + ?Sized>(
    outer: &[u8],
    cek: &[u8],
    iv: &[u8],
    data: &[u8],
    recipients: &[&Certificate],
    options: &EncryptOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    external_written(Some(outer), cek, iv, data, recipients, options, rng)
}

/// [`encrypt_entity`] for content the caller encrypted itself (WebCrypto, AES-GCM or AES-CBC):
/// `cek` is the fresh random content key it used, `iv` the nonce or IV, `data` its output over
/// the entity. Returns the `application/pkcs7-mime` entity.
///
/// # Errors
/// As [`crate::cms::envelope::encrypt_external`].
pub fn encrypt_entity_external<R: rand_core::CryptoRng + ?Sized>(
    cek: &[u8],
    iv: &[u8],
    data: &[u8],
    recipients: &[&Certificate],
    options: &EncryptOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    external_written(None, cek, iv, data, recipients, options, rng)
}

/// The message (`outer` given) or entity around WebCrypto's output `data` (GCM: the tag last).
fn external_written<R: rand_core::CryptoRng + ?Sized>(
    outer: Option<&[u8]>,
    cek: &[u8],
    iv: &[u8],
    data: &[u8],
    recipients: &[&Certificate],
    options: &EncryptOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let tag_len = if options.cipher.is_authenticated() {
        16
    } else {
        0
    };
    let (ciphertext, tag) = data.split_at(data.len().saturating_sub(tag_len));
    let frame = frame_external(
        outer,
        cek,
        iv,
        ciphertext.len(),
        tag,
        recipients,
        options,
        rng,
    )?;
    Ok(frame.write(ciphertext))
}

/// An encrypted message (or entity) without its ciphertext, which the caller keeps: the message
/// is `head`, then the base64 lines of `prefix`, the ciphertext and `suffix` (the DER, see
/// [`envelope::frame_external`]) taken as one byte string.
#[derive(Debug)]
pub struct ExternalFrame {
    /// The header fields through the blank line before the base64 body.
    pub head: Vec<u8>,
    /// The DER before the ciphertext.
    pub prefix: Vec<u8>,
    /// The DER after it (the GCM tag; empty for CBC).
    pub suffix: Vec<u8>,
}

impl ExternalFrame {
    /// The length of the whole message for `ciphertext_len` bytes of ciphertext.
    #[must_use]
    pub fn message_len(&self, ciphertext_len: usize) -> usize {
        self.head.len()
            + mime::base64_lines_len(self.prefix.len() + ciphertext_len + self.suffix.len())
    }

    /// The whole message around `ciphertext`.
    #[must_use]
    pub fn write(self, ciphertext: &[u8]) -> Vec<u8> {
        let mut out = self.head;
        mime::base64_encode_parts(&[&self.prefix, ciphertext, &self.suffix], &mut out);
        out
    }
}

/// The frame of a message (`outer` header fields given) or of an entity (`None`) whose content
/// was encrypted elsewhere into `ciphertext_len` bytes (and `tag`, for GCM) with `cek` and `iv`;
/// the content key is wrapped for every recipient.
///
/// # Errors
/// As [`crate::cms::envelope::encrypt_external`].
#[allow(clippy::too_many_arguments)]
pub fn frame_external<R: rand_core::CryptoRng + ?Sized>(
    outer: Option<&[u8]>,
    cek: &[u8],
    iv: &[u8],
    ciphertext_len: usize,
    tag: &[u8],
    recipients: &[&Certificate],
    options: &EncryptOptions,
    rng: &mut R,
) -> Result<ExternalFrame> {
    let params = options.params();
    let (prefix, suffix) =
        envelope::frame_external(cek, iv, ciphertext_len, tag, recipients, &params, rng)?;
    let mut head = match outer {
        Some(outer) => start_message(outer, 0),
        None => Vec::new(),
    };
    head.extend_from_slice(pkcs7_header(options.cipher.is_authenticated()).as_bytes());
    Ok(ExternalFrame {
        head,
        prefix,
        suffix,
    })
}

/// The `application/pkcs7-mime` entity of an (Auth)EnvelopedData.
fn pkcs7_entity(der_bytes: &[u8], authenticated: bool) -> Vec<u8> {
    let header = pkcs7_header(authenticated);
    let mut out = Vec::with_capacity(header.len() + der_bytes.len() / 57 * 78 + 80);
    out.extend_from_slice(header.as_bytes());
    mime::base64_encode_parts(&[der_bytes], &mut out);
    out
}

/// The header fields of an `application/pkcs7-mime` (Auth)EnvelopedData entity, blank line
/// included.
fn pkcs7_header(authenticated: bool) -> alloc::string::String {
    let smime_type = if authenticated {
        "authEnveloped-data"
    } else {
        "enveloped-data"
    };
    alloc::format!(
        "Content-Type: application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n"
    )
}

/// A decrypted message: the outer header fields with the decrypted entity.
#[derive(Debug)]
pub struct DecryptedMessage {
    /// Outer header fields followed by the decrypted MIME entity.
    pub message: Vec<u8>,
    /// The content cipher.
    pub cipher: ContentCipher,
    /// Whether the cipher authenticated the content (AES-GCM).
    pub authenticated: bool,
}

fn outer_fields(entity: &Entity<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    for f in entity.fields.iter().filter(|f| !is_entity_field(f)) {
        out.extend_from_slice(f.raw);
        if !f.raw.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

fn is_entity_field(f: &mime::Field<'_>) -> bool {
    f.is("MIME-Version")
        || f.name
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("content-"))
}

/// Decrypt an encrypted message with the first of `identities` it is addressed to.
///
/// # Errors
/// `NOT_ENCRYPTED`... as [`crate::cms::envelope::decrypt`], plus `MIME_MALFORMED` and
/// `NOT_SIGNED` when the message is not `application/pkcs7-mime`.
pub fn decrypt_message<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    identities: &[&Identity],
    rng: &mut R,
) -> Result<DecryptedMessage> {
    smime::check_size(message)?;
    let message = mime::to_crlf(mime::strip_mbox_separator(message));
    let entity = Entity::parse(&message)?;
    if !smime::is_pkcs7_mime(&entity.content_type()) {
        return Err(Error::NotEncrypted);
    }
    let body = entity.decoded_body()?;
    // Opaque signed data is well-formed CMS, just not encrypted.
    if !envelope::is_enveloped(&body) && crate::cms::verify::parse(&body).is_ok() {
        return Err(Error::NotEncrypted);
    }
    let d = envelope::decrypt(&body, identities, rng)?;
    let mut out = outer_fields(&entity);
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(&mime::to_crlf(&d.content));
    Ok(DecryptedMessage {
        message: out,
        cipher: d.cipher,
        authenticated: d.authenticated,
    })
}

/// The RSA key-transport RecipientInfos of `message`'s outermost layer (when it is encrypted)
/// that `identity` can have decrypted outside the core (WebCrypto's RSA-OAEP, Node's raw RSA):
/// see [`crate::cms::recipient::transport_request`] and [`Identity::unwrapped`]. Empty for
/// anything else.
///
/// # Errors
/// `MIME_MALFORMED`, `CMS_MALFORMED`, `DER_MALFORMED`, `INPUT_TOO_LARGE`.
pub fn transport_requests(
    message: &[u8],
    identity: &Identity,
) -> Result<Vec<crate::cms::recipient::TransportRequest>> {
    if !matches!(identity.key, crate::keys::PrivateKey::Rsa(_)) {
        return Ok(Vec::new()); // not worth parsing the message for
    }
    smime::check_size(message)?;
    let message = mime::to_crlf(mime::strip_mbox_separator(message));
    let entity = Entity::parse(&message)?;
    if !smime::is_pkcs7_mime(&entity.content_type()) {
        return Ok(Vec::new());
    }
    let body = entity.decoded_body()?;
    if !envelope::is_enveloped(&body) {
        return Ok(Vec::new());
    }
    envelope::transport_requests(&body, identity)
}

/// The outermost layer of `message` when it is encrypted with AES-128/256 (GCM or CBC) for one
/// of `identities`: what a caller needs to decrypt it itself (WebCrypto) and hand the
/// plaintext to [`decrypted_message`] or [`open_after`]. `Ok(None)` for anything else, including
/// a message not addressed to them or a key that cannot be unwrapped: [`decrypt_message`] and
/// [`open`] report those.
///
/// # Errors
/// `MIME_MALFORMED`, `CMS_MALFORMED`, `DER_MALFORMED`, `INPUT_TOO_LARGE`.
pub fn external_content<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    identities: &[&Identity],
    rng: &mut R,
) -> Result<Option<envelope::ExternalContent>> {
    smime::check_size(message)?;
    let message = mime::to_crlf(mime::strip_mbox_separator(message));
    let entity = Entity::parse(&message)?;
    if !smime::is_pkcs7_mime(&entity.content_type()) {
        return Ok(None);
    }
    let body = entity.decoded_body()?;
    if !envelope::is_enveloped(&body) {
        return Ok(None);
    }
    let found = envelope::external_content(&body, identities, rng);
    drop(body); // before the caller copies the ciphertext out
    match found {
        Ok(found) => Ok(found),
        Err(Error::NotRecipient | Error::Decryption | Error::UnsupportedAlgorithm { .. }) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Is `header` (a message's header section, through the blank line) that of an S/MIME
/// `application/pkcs7-mime` message with a base64 body, `message_len` bytes in all? Such a body
/// the caller may decode in pieces ([`mime::Base64Decoder`]) and, when the DER's encrypted
/// content is found from its front ([`envelope::locate_content`]), read with
/// [`external_content_hollow`] while the ciphertext stays where it is.
///
/// # Errors
/// `MIME_MALFORMED`, `INPUT_TOO_LARGE`.
pub fn is_base64_pkcs7(header: &[u8], message_len: usize) -> Result<bool> {
    if message_len > smime::MAX_MESSAGE_SIZE {
        return Err(Error::InputTooLarge {
            what: "message size",
            limit: smime::MAX_MESSAGE_SIZE,
        });
    }
    let header = mime::to_crlf(mime::strip_mbox_separator(header));
    let entity = Entity::parse(&header)?;
    Ok(smime::is_pkcs7_mime(&entity.content_type()) && entity.transfer_encoding() == "base64")
}

/// [`external_content`] for an (Auth)EnvelopedData the caller decoded and keeps: `head` and
/// `tail` are its DER before and after the encrypted content at `position` (which the caller
/// keeps; the result's `ciphertext` is empty). `Ok(None)` as for [`external_content`].
///
/// # Errors
/// `CMS_MALFORMED`, `DER_MALFORMED`, `INPUT_TOO_LARGE`.
pub fn external_content_hollow<R: rand_core::CryptoRng + ?Sized>(
    position: &envelope::ContentPosition,
    head: &[u8],
    tail: &[u8],
    identities: &[&Identity],
    rng: &mut R,
) -> Result<Option<envelope::ExternalContent>> {
    let hollowed = envelope::hollow(position, head, tail)?;
    match envelope::external_content(&hollowed, identities, rng) {
        Ok(found) => Ok(found),
        Err(Error::NotRecipient | Error::Decryption | Error::UnsupportedAlgorithm { .. }) => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// [`transport_requests`] for the DER a caller decoded from a large message and keeps, without
/// its encrypted content (`head` before it, `tail` after it: see [`external_content_hollow`]).
///
/// # Errors
/// `CMS_MALFORMED`, `DER_MALFORMED`, `INPUT_TOO_LARGE`.
pub fn transport_requests_hollow(
    position: &envelope::ContentPosition,
    head: &[u8],
    tail: &[u8],
    identity: &Identity,
) -> Result<Vec<crate::cms::recipient::TransportRequest>> {
    if !matches!(identity.key, crate::keys::PrivateKey::Rsa(_)) {
        return Ok(Vec::new());
    }
    envelope::transport_requests(&envelope::hollow(position, head, tail)?, identity)
}

/// [`decrypt_message`]'s result for a message whose content the caller decrypted (see
/// [`external_content`]).
///
/// # Errors
/// `MIME_MALFORMED`, `INPUT_TOO_LARGE`.
pub fn decrypted_message(
    message: &[u8],
    plaintext: &[u8],
    cipher: ContentCipher,
) -> Result<DecryptedMessage> {
    smime::check_size(message)?;
    let mut out = decrypted_head(message)?;
    out.extend_from_slice(&mime::to_crlf(plaintext));
    Ok(DecryptedMessage {
        message: out,
        cipher,
        authenticated: cipher.is_authenticated(),
    })
}

/// What [`decrypted_message`] puts before the plaintext (when it is CRLF already, as it is):
/// the outer header fields of `message` (only its header section is read) and `MIME-Version`.
///
/// # Errors
/// `MIME_MALFORMED`.
pub fn decrypted_head(message: &[u8]) -> Result<Vec<u8>> {
    // Only the outer header fields are needed: normalise the header section, not the body.
    let message = mime::strip_mbox_separator(message);
    let end = [
        mime::find(message, b"\r\n\r\n").map(|i| i + 4),
        mime::find(message, b"\n\n").map(|i| i + 2),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(message.len());
    let header = mime::to_crlf(message.get(..end).unwrap_or(message));
    let entity = Entity::parse(&header)?;
    let mut out = outer_fields(&entity);
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    Ok(out)
}

/// The outermost layer, decrypted by the caller (see [`external_content`]).
#[derive(Debug)]
pub enum FirstLayer<'a> {
    /// The plaintext and its cipher.
    Decrypted {
        /// The decrypted content.
        content: &'a [u8],
        /// The content cipher.
        cipher: ContentCipher,
    },
    /// No content key opened it (`DECRYPTION_FAILED`).
    Failed,
}

/// One layer `open` found, outermost first.
#[derive(Clone, Debug)]
pub enum Layer {
    /// EnvelopedData (AES-CBC, 3DES: not authenticated) or AuthEnvelopedData (AES-GCM).
    Encrypted {
        /// The content cipher.
        cipher: ContentCipher,
        /// AuthEnvelopedData?
        authenticated: bool,
    },
    /// A signature layer, detached or opaque, with one report per signer.
    Signed {
        /// Opaque signed-data?
        opaque: bool,
        /// The per-signer reports, as [`smime::verify_message`] gives them.
        signers: Vec<SignerReport>,
    },
    /// An encryption layer that could not be decrypted (no key for it, decryption failed, or,
    /// inside another layer, malformed): opening stops there.
    Undecryptable {
        /// The error code (`NOT_RECIPIENT`, `DECRYPTION_FAILED`, `DER_MALFORMED`, ...).
        code: &'static str,
    },
}

/// What `open` found.
#[derive(Clone, Debug)]
pub struct OpenReport {
    /// The layers, outermost first.
    pub layers: Vec<Layer>,
    /// The innermost MIME entity (what a mail client displays).
    pub content: Vec<u8>,
    /// The outer header fields of the message.
    pub headers: Vec<u8>,
    /// `true` when the content cannot have been modified undetected: an AEAD layer, or a signature
    /// that verifies cryptographically. `false` for CBC-only encryption (EFAIL): show it as such.
    pub authenticated: bool,
    /// `true` when every signature layer has only valid signers (and there is at least one).
    pub signed_valid: bool,
    /// The RFC 9788 protected header fields of the innermost payload, if it has them, and any
    /// disagreement with the outer header.
    pub protected: Option<crate::smime::protect::Protected>,
}

/// Unwrap every signed and encrypted layer of a message, decrypting with `identities` and
/// verifying with `verify`.
///
/// # Errors
/// `MIME_MALFORMED`, `CMS_MALFORMED`, `DER_MALFORMED`, `INPUT_TOO_LARGE` (nesting past
/// [`MAX_LAYERS`]). Signatures that do not hold and layers that cannot be decrypted are reported,
/// not errors; so is a malformed part inside a layer already opened (an encryption layer as
/// `Undecryptable`, anything else as the content): only the message's outermost layer is
/// required to be well formed.
pub fn open<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    identities: &[&Identity],
    verify: &VerifyOptions<'_>,
    rng: &mut R,
) -> Result<OpenReport> {
    open_after(message, None, identities, verify, rng)
}

/// [`open`], with the outermost (encrypted) layer decrypted by the caller when `first` is given.
///
/// # Errors
/// As [`open`].
pub fn open_after<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    mut first: Option<FirstLayer<'_>>,
    identities: &[&Identity],
    verify: &VerifyOptions<'_>,
    rng: &mut R,
) -> Result<OpenReport> {
    smime::check_size(message)?;
    let message = mime::to_crlf(mime::strip_mbox_separator(message));
    let outer = Entity::parse(&message)?;
    let (headers, from, date) = outer_view(&outer);
    let mut layers = Vec::new();
    let mut current: Vec<u8> = message.to_vec();
    loop {
        if layers.len() >= MAX_LAYERS {
            return Err(Error::InputTooLarge {
                what: "S/MIME layers",
                limit: MAX_LAYERS,
            });
        }
        let entity = match Entity::parse(&current) {
            Ok(e) => e,
            // Inner content need not be MIME (OpenSSL encrypts raw text): it is the content.
            Err(_) if !layers.is_empty() => break,
            Err(e) => return Err(e),
        };
        let ct = entity.content_type();
        let next = if let Some(given) = first.take() {
            if !smime::is_pkcs7_mime(&ct) {
                return Err(Error::misuse("the message is not encrypted"));
            }
            match given {
                FirstLayer::Decrypted { content, cipher } => {
                    layers.push(Layer::Encrypted {
                        cipher,
                        authenticated: cipher.is_authenticated(),
                    });
                    mime::to_crlf(content).into_owned()
                }
                FirstLayer::Failed => {
                    layers.push(Layer::Undecryptable {
                        code: Error::Decryption.code(),
                    });
                    break;
                }
            }
        } else if ct.is("multipart/signed") {
            let report = match smime::verify_entity(&entity, from.clone(), date, verify, &[]) {
                Ok(report) => report,
                // As for application/pkcs7-mime below: inside a layer, the content.
                Err(e) if !layers.is_empty() && (is_malformation(&e) || e == Error::NotSigned) => {
                    break
                }
                Err(e) => return Err(e),
            };
            layers.push(Layer::Signed {
                opaque: false,
                signers: report.signers,
            });
            report.content
        } else if smime::is_pkcs7_mime(&ct) {
            // Inside a layer already opened, a part that only says it is S/MIME (its body not
            // base64, not CMS, or malformed CMS) does not make the whole message unreadable: the
            // layers around it were verified or decrypted, and are reported. An encryption layer
            // is reported as one that could not be decrypted, with the reason; anything else is
            // the content (opening stops there), as an unsigned certs-only part is. The
            // outermost layer of a message is read strictly, as before.
            let inner = !layers.is_empty();
            let body = match entity.decoded_body() {
                Ok(body) => body,
                Err(e) if inner && is_malformation(&e) => break,
                Err(e) => return Err(e),
            };
            if envelope::is_enveloped(&body) {
                match envelope::decrypt(&body, identities, rng) {
                    Ok(d) => {
                        layers.push(Layer::Encrypted {
                            cipher: d.cipher,
                            authenticated: d.authenticated,
                        });
                        mime::to_crlf(&d.content).into_owned()
                    }
                    Err(e @ (Error::Decryption | Error::NotRecipient)) => {
                        layers.push(Layer::Undecryptable { code: e.code() });
                        break;
                    }
                    Err(e) if inner && is_malformation(&e) => {
                        layers.push(Layer::Undecryptable { code: e.code() });
                        break;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                match smime::verify_entity(&entity, from.clone(), date, verify, &[]) {
                    Ok(report) if !report.signers.is_empty() => {
                        layers.push(Layer::Signed {
                            opaque: true,
                            signers: report.signers,
                        });
                        report.content
                    }
                    // certs-only (no signers) or something else: not a layer to unwrap.
                    Ok(_) | Err(Error::NotSigned) => break,
                    Err(e) if inner && is_malformation(&e) => break,
                    Err(e) => return Err(e),
                }
            }
        } else {
            break;
        };
        current = mime::into_crlf(next);
    }
    Ok(conclude(layers, headers, current))
}

/// An error that says the input is not what it claims to be (rather than a limit reached, or a
/// failure of the machine): what `open` tolerates in a part inside a layer it opened.
fn is_malformation(e: &Error) -> bool {
    matches!(
        e,
        Error::DerMalformed { .. }
            | Error::MimeMalformed { .. }
            | Error::CmsMalformed { .. }
            | Error::UnsupportedAlgorithm { .. }
            | Error::CertificateMalformed
            | Error::KeyUnsupported { .. }
    )
}

/// What `open` reads of a message's outer header: its fields, the `From:` address, the date.
fn outer_view(outer: &Entity<'_>) -> (Vec<u8>, Option<String>, Option<UnixTime>) {
    let from = outer
        .field("From")
        .and_then(|f| mime::first_address(&f.value()));
    let date = outer
        .field("Date")
        .and_then(|f| mime::parse_date(&f.value()));
    (outer_fields(outer), from, date)
}

/// The report of the `layers` opened, the innermost content being `current` (or a stand-in for
/// it: only its header section and MIME structure are read here).
fn conclude(layers: Vec<Layer>, headers: Vec<u8>, current: Vec<u8>) -> OpenReport {
    let intact = |s: &SignerReport| {
        !matches!(
            s.status,
            SignerStatus::InvalidSignature
                | SignerStatus::ContentAltered
                | SignerStatus::UnsupportedAlgorithm
        ) && s.code != "CERT_MISSING"
    };
    let authenticated = layers.iter().any(|l| match l {
        Layer::Encrypted { authenticated, .. } => *authenticated,
        Layer::Signed { signers, .. } => signers.iter().any(intact),
        Layer::Undecryptable { .. } => false,
    });
    let mut signed_layers = layers.iter().filter_map(|l| match l {
        Layer::Signed { signers, .. } => Some(signers),
        _ => None,
    });
    let signed_valid = signed_layers.clone().next().is_some()
        && signed_layers
            .all(|s| !s.is_empty() && s.iter().all(|r| r.status == SignerStatus::Valid));
    // Only a payload inside a cryptographic layer can protect headers (RFC 9788 §4.1): one that
    // was decrypted, or one a signature that holds cryptographically covers. A payload whose
    // signature is broken (its `hp` parameter may have been edited) protects nothing.
    let encrypted = layers.iter().any(|l| matches!(l, Layer::Encrypted { .. }));
    let protected = if encrypted || authenticated {
        crate::smime::protect::read(&headers, &current)
            .ok()
            .flatten()
            .map(|mut p| {
                p.mode_mismatch = (p.mode == crate::smime::protect::Mode::Cipher) != encrypted;
                p
            })
    } else {
        None
    };
    OpenReport {
        layers,
        content: current,
        headers,
        authenticated,
        signed_valid,
        protected,
    }
}

/// [`open_after`] for a large message whose outermost layer the caller decrypted (`cipher`),
/// the plaintext read in pieces into `plaintext` ([`mime::skeleton`]: never whole here); when
/// that is a detached signed message, with `detached` found in it and `digests` of its signed
/// content made elsewhere (see [`smime::Detached`]). `message` is the message's header section.
/// Gives the report, whose `content` is left empty, and where that content is in the
/// plaintext; `None` when the plaintext holds more than this reads (an opaque signed or a
/// nested layer, content that is not MIME): the caller then opens the whole plaintext.
///
/// # Errors
/// As [`open`]; `API_MISUSE` for a missing digest or a message that is not encrypted.
pub fn open_stand_in(
    message: &[u8],
    cipher: ContentCipher,
    plaintext: &mime::skeleton::StandIn,
    detached: Option<&smime::Detached>,
    verify: &VerifyOptions<'_>,
    digests: &[(crate::algorithms::DigestAlgorithm, Vec<u8>)],
) -> Result<Option<(OpenReport, core::ops::Range<usize>)>> {
    smime::check_size(message)?;
    let message = mime::to_crlf(mime::strip_mbox_separator(message));
    let outer = Entity::parse(&message)?;
    if !smime::is_pkcs7_mime(&outer.content_type()) {
        return Err(Error::misuse("the message is not encrypted"));
    }
    let (headers, from, date) = outer_view(&outer);
    let mut layers = alloc::vec![Layer::Encrypted {
        cipher,
        authenticated: cipher.is_authenticated(),
    }];
    let Ok(entity) = Entity::parse(&plaintext.bytes) else {
        return Ok(None);
    };
    let ct = entity.content_type();
    let (current, range) = if ct.is("multipart/signed") {
        let Some(found) = detached else {
            return Ok(None);
        };
        found.check(digests)?;
        let report = match smime::verify_entity(&entity, from, date, verify, digests) {
            Ok(report) => report,
            // What the whole plaintext gives then (the part as the content) is for `open_after`.
            Err(e) if is_malformation(&e) || e == Error::NotSigned => return Ok(None),
            Err(e) => return Err(e),
        };
        layers.push(Layer::Signed {
            opaque: false,
            signers: report.signers,
        });
        let inner = plaintext.bytes.get(found.in_stand_in.clone());
        (inner.unwrap_or_default(), found.content.clone())
    } else if smime::is_pkcs7_mime(&ct) {
        return Ok(None);
    } else {
        (plaintext.bytes.as_slice(), 0..plaintext.total)
    };
    // Another layer inside, or content that is not MIME: the whole plaintext is opened.
    let Ok(inner) = Entity::parse(current) else {
        return Ok(None);
    };
    let inner_ct = inner.content_type();
    if inner_ct.is("multipart/signed") || smime::is_pkcs7_mime(&inner_ct) {
        return Ok(None);
    }
    let mut report = conclude(layers, headers, current.to_vec());
    report.content = Vec::new();
    Ok(Some((report, range)))
}

/// A name for a layer type as the CLI and JSON show it.
#[must_use]
pub fn layer_type(layer: &Layer) -> &'static str {
    match layer {
        Layer::Encrypted {
            authenticated: true,
            ..
        } => "authEnveloped",
        Layer::Encrypted { .. } => "enveloped",
        Layer::Signed { .. } => "signed",
        Layer::Undecryptable { .. } => "undecryptable",
    }
}
