//! S/MIME messages (RFC 8551): sign and verify whole RFC 5322 messages.

use alloc::string::String;
use alloc::vec::Vec;

use x509_cert::Certificate;

use crate::algorithms::DigestAlgorithm;
use crate::cms;
use crate::error::{Error, Result};
use crate::keys::Identity;
use crate::mime::{self, Entity};
use crate::time::UnixTime;

pub mod envelope;
pub mod protect;
pub mod seal;

/// How to sign.
#[derive(Clone, Debug)]
pub struct SignOptions {
    /// `application/pkcs7-mime; smime-type=signed-data` instead of `multipart/signed`.
    pub opaque: bool,
    /// The digest algorithm (default SHA-256).
    pub digest: DigestAlgorithm,
    /// Sign with RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys only).
    pub rsa_pss: bool,
    /// The signing time written into the signed attributes.
    pub time: UnixTime,
}

/// How to verify.
#[derive(Clone, Debug)]
pub struct VerifyOptions<'a> {
    /// The trust anchors (roots, and intermediates the caller trusts directly).
    pub trust_anchors: &'a [Certificate],
    /// Extra certificates for chain building (e.g. a signer certificate the sender did not embed).
    pub certificates: &'a [Certificate],
    /// Certificate revocation lists to check the chain against (none are fetched).
    pub crls: &'a [x509_cert::crl::CertificateList],
    /// The time at which certificates must be valid.
    pub time: UnixTime,
}

/// What holds for one signer, in order of precedence: the first problem found decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignerStatus {
    /// Signature, content, chain, usage and address all hold.
    Valid,
    /// The signature does not verify with the signer's key.
    InvalidSignature,
    /// The content does not match the signed message-digest.
    ContentAltered,
    /// No chain to a trust anchor (or the signer certificate is missing).
    Untrusted,
    /// A certificate of the chain had expired at the verification time.
    Expired,
    /// A certificate of the chain was not yet valid at the verification time.
    NotYetValid,
    /// The signer certificate may not sign mail (keyUsage, extendedKeyUsage).
    WrongUsage,
    /// The signer certificate does not name the `From:` address.
    AddressMismatch,
    /// The signature verifies but uses MD5 or SHA-1.
    WeakAlgorithm,
    /// An algorithm Cachet does not implement.
    UnsupportedAlgorithm,
    /// A certificate of the chain is revoked by a CRL given.
    Revoked,
    /// Everything holds, but the `Date:` header is well after the signing time.
    DateMismatch,
}

impl SignerStatus {
    /// The stable text form used in JS and JSON: `valid`, `invalid-signature`, ...
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::InvalidSignature => "invalid-signature",
            Self::ContentAltered => "content-altered",
            Self::Untrusted => "untrusted",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::WrongUsage => "wrong-usage",
            Self::AddressMismatch => "address-mismatch",
            Self::WeakAlgorithm => "weak-algorithm",
            Self::UnsupportedAlgorithm => "unsupported-algorithm",
            Self::Revoked => "revoked",
            Self::DateMismatch => "date-mismatch",
        }
    }
}

/// The verification report for one SignerInfo.
#[derive(Clone, Debug)]
pub struct SignerReport {
    /// What holds.
    pub status: SignerStatus,
    /// A stable, more specific code, e.g. `SIG_VALID`, `CERT_EXPIRED`, `CERT_KEY_USAGE`.
    pub code: &'static str,
    /// A human explanation (English).
    pub reason: String,
    /// The signer's first email address, if any.
    pub email: Option<String>,
    /// All addresses the signer certificate names.
    pub emails: Vec<String>,
    /// The signer certificate's subject.
    pub subject: Option<String>,
    /// The signer certificate, when found.
    pub certificate: Option<Certificate>,
    /// The chain built, leaf first, trust anchor last when one was reached.
    pub chain: Vec<Certificate>,
    /// The signing-time attribute.
    pub signing_time: Option<UnixTime>,
    /// The content ciphers the signer advertised (SMIMECapabilities, RFC 8551 §2.5.2) that
    /// Cachet knows, in the signer's order of preference; `None` when the attribute is absent.
    pub capabilities: Option<Vec<crate::cms::cipher::ContentCipher>>,
    /// The digest algorithm (`sha-256`...).
    pub digest_algorithm: String,
    /// The signature algorithm (`rsa-pkcs1v15`, `rsa-pss`, `ecdsa`, `ed25519`, or an OID).
    pub signature_algorithm: String,
}

/// The result of verifying a message.
#[derive(Clone, Debug)]
pub struct VerifyReport {
    /// `true` for `application/pkcs7-mime` signed-data, `false` for `multipart/signed`.
    pub opaque: bool,
    /// The signed MIME entity, as it was signed (CRLF line ends).
    pub content: Vec<u8>,
    /// The address of the message's `From:` header, if any.
    pub from: Option<String>,
    /// One report per SignerInfo, in message order.
    pub signers: Vec<SignerReport>,
}

impl VerifyReport {
    /// `true` when there is at least one signer and every one is [`SignerStatus::Valid`].
    #[must_use]
    pub fn all_valid(&self) -> bool {
        !self.signers.is_empty() && self.signers.iter().all(|s| s.status == SignerStatus::Valid)
    }
}

/// How far the `Date:` header may lie after the signing-time attribute (one hour).
pub const MAX_DATE_AFTER_SIGNING: u64 = 3600;

/// Largest message Cachet signs or verifies (256 MiB).
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

pub(crate) fn check_size(message: &[u8]) -> Result<()> {
    if message.len() > MAX_MESSAGE_SIZE {
        return Err(Error::InputTooLarge {
            what: "message size",
            limit: MAX_MESSAGE_SIZE,
        });
    }
    Ok(())
}

/// Is this header field part of the MIME entity (and so inside the signature)?
fn is_entity_field(field: &mime::Field<'_>) -> bool {
    field.name.len() > 8
        && field
            .name
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("content-"))
}

fn push_field(out: &mut Vec<u8>, raw: &[u8]) {
    out.extend_from_slice(raw);
    if !raw.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
}

/// Does any leaf of this entity need a transfer encoding to travel unchanged?
fn entity_needs_encoding(entity: &Entity<'_>, depth: usize) -> Result<bool> {
    if depth > mime::MAX_DEPTH {
        return Err(Error::InputTooLarge {
            what: "MIME nesting depth",
            limit: mime::MAX_DEPTH,
        });
    }
    let ct = entity.content_type();
    if ct.mime_type.starts_with("multipart/") {
        let Some(boundary) = ct.param("boundary") else {
            return Ok(false);
        };
        for part in mime::split_multipart(entity.body, boundary)? {
            if entity_needs_encoding(&Entity::parse(part)?, depth + 1)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    let cte = entity.transfer_encoding();
    Ok(matches!(cte.as_str(), "7bit" | "8bit" | "binary") && mime::needs_encoding(entity.body))
}

/// Write `entity` (its fields and body) in a form that survives any relay: leaves with 8-bit
/// data, long lines or trailing white space are re-encoded (quoted-printable for text, base64
/// otherwise); everything else is kept byte for byte.
fn write_canonical(
    out: &mut Vec<u8>,
    entity: &Entity<'_>,
    fields: &[&mime::Field<'_>],
    depth: usize,
) -> Result<()> {
    let ct = entity.content_type();
    if !entity_needs_encoding(entity, depth)? {
        for f in fields {
            push_field(out, f.raw);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(entity.body);
        return Ok(());
    }
    if ct.mime_type.starts_with("multipart/") {
        let boundary = ct.param("boundary").unwrap_or_default();
        for f in fields {
            push_field(out, f.raw);
        }
        out.extend_from_slice(b"\r\n");
        for part in mime::split_multipart(entity.body, boundary)? {
            out.extend_from_slice(b"--");
            out.extend_from_slice(boundary.as_bytes());
            out.extend_from_slice(b"\r\n");
            let inner = Entity::parse(part)?;
            let inner_fields: Vec<&mime::Field<'_>> = inner.fields.iter().collect();
            write_canonical(out, &inner, &inner_fields, depth + 1)?;
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"--\r\n");
        return Ok(());
    }
    let text = ct.mime_type.starts_with("text/");
    let has_ct = fields.iter().any(|f| f.is("Content-Type"));
    for f in fields.iter().filter(|f| !f.is("Content-Transfer-Encoding")) {
        push_field(out, f.raw);
    }
    if !has_ct {
        out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8\r\n");
    }
    if text {
        out.extend_from_slice(b"Content-Transfer-Encoding: quoted-printable\r\n\r\n");
        out.extend_from_slice(&mime::qp_encode(entity.body));
    } else {
        out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n\r\n");
        out.extend_from_slice(&mime::base64_encode_lines(entity.body));
    }
    Ok(())
}

/// Split a message into its outer header fields (raw) and its canonical MIME entity.
pub(crate) fn split_for_signing(message: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    let split = split_entity(message)?;
    let content = match split.body {
        Some(body) => {
            let body = message.get(body).unwrap_or_default();
            let mut content = split.head;
            content.extend_from_slice(body);
            content
        }
        None => split.head,
    };
    Ok((split.outer, content))
}

/// A message split for signing or encryption, its canonical entity either made here or, when
/// the message's own body is already canonical, named by where it is in the message.
#[derive(Debug)]
pub struct SplitEntity {
    /// The outer header fields (raw, CRLF).
    pub outer: Vec<u8>,
    /// The entity's header fields and the blank line (`body` is `Some`; empty when they are in
    /// the message just before it, and `body` takes them in), or the whole canonical entity
    /// (`body` is `None`).
    pub head: Vec<u8>,
    /// The entity's body as it is in the message, kept byte for byte.
    pub body: Option<core::ops::Range<usize>>,
}

/// [`split_for_signing`] without copying a body that stays as it is: a CRLF message whose
/// entity needs no re-encoding (see [`write_canonical`]) gives its body as a range of `message`.
pub(crate) fn split_entity(message: &[u8]) -> Result<SplitEntity> {
    let entity = Entity::parse(message)?;
    let mut outer = Vec::new();
    let mut inner_fields = Vec::new();
    for f in &entity.fields {
        if is_entity_field(f) {
            inner_fields.push(f);
        } else if !f.is("MIME-Version") {
            push_field(&mut outer, f.raw);
        }
    }
    let field: alloc::string::String;
    let synthetic;
    let with_body;
    let (entity, fields) = if inner_fields.is_empty() {
        // RFC 2045 §5.2 default, made explicit so the signed entity says what it is.
        let ascii = !mime::needs_encoding(entity.body) || entity.body.iter().all(u8::is_ascii);
        let charset = if ascii { "us-ascii" } else { "utf-8" };
        field = alloc::format!("Content-Type: text/plain; charset={charset}\r\n");
        synthetic = Entity::parse(field.as_bytes())?.fields;
        with_body = Entity {
            fields: synthetic.clone(),
            body: entity.body,
        };
        (&with_body, synthetic.iter().collect::<Vec<_>>())
    } else {
        (&entity, inner_fields)
    };
    // Where the body is in `message` (it borrows from it), when it is kept as it is.
    let start = (entity.body.as_ptr() as usize).wrapping_sub(message.as_ptr() as usize);
    let body = start..start.wrapping_add(entity.body.len());
    let in_message = message.get(body.clone()).map(<[u8]>::as_ptr) == Some(entity.body.as_ptr());
    if in_message && mime::is_crlf(message) && !entity_needs_encoding(entity, 0)? {
        let mut head = Vec::new();
        for f in &fields {
            push_field(&mut head, f.raw);
        }
        head.extend_from_slice(b"\r\n");
        // Often the entity's fields close the header section as they are: then the whole
        // entity is one range of the message.
        let fields_start = body.start.saturating_sub(head.len());
        if message.get(fields_start..body.start) == Some(head.as_slice()) {
            head.clear();
            return Ok(SplitEntity {
                outer,
                head,
                body: Some(fields_start..body.end),
            });
        }
        return Ok(SplitEntity {
            outer,
            head,
            body: Some(body),
        });
    }
    let mut content = Vec::with_capacity(message.len() + 64);
    write_canonical(&mut content, entity, &fields, 0)?;
    Ok(SplitEntity {
        outer,
        head: content,
        body: None,
    })
}

fn random_boundary<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; 12];
    rng.fill_bytes(&mut bytes);
    let mut s = String::from("----=_cachet_");
    for b in bytes {
        s.push_str(&alloc::format!("{b:02x}"));
    }
    s
}

/// Sign an RFC 5322 message (or a bare MIME entity): its MIME entity is signed, other headers stay
/// outside. Returns the complete signed message, CRLF line ends.
///
/// # Errors
/// `MIME_MALFORMED`, `KEY_UNSUPPORTED`, `API_MISUSE` (no signer), `INPUT_TOO_LARGE`.
pub fn sign_message<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    signers: &[&Identity],
    options: &SignOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let (outer, content) = prepare_signing(message)?;
    Ok(envelope::join(
        &outer,
        &sign_entity(&content, signers, options, rng)?,
    ))
}

/// The first half of [`sign_message`]: the outer header fields and the canonical entity to sign
/// (whose digest may then be made elsewhere, see [`sign_entity_with`]).
///
/// # Errors
/// `MIME_MALFORMED`, `INPUT_TOO_LARGE`.
pub fn prepare_signing(message: &[u8]) -> Result<(Vec<u8>, Vec<u8>)> {
    check_size(message)?;
    let message = mime::to_crlf(message);
    split_for_signing(&message)
}

/// Sign a canonical MIME entity; returns the signed entity (`multipart/signed` or opaque
/// `application/pkcs7-mime`: its Content-* header fields and body, no outer fields).
///
/// # Errors
/// As [`sign_message`].
pub fn sign_entity<R: rand_core::CryptoRng + ?Sized>(
    content: &[u8],
    signers: &[&Identity],
    options: &SignOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    sign_entity_with(content, signers, options, None, rng)
}

/// [`sign_entity`] with the digest and signature made elsewhere (see
/// [`cms::sign::sign_with`]): the content comes from [`split_for_signing`] or
/// [`seal::protect_payload`](crate::smime::seal::protect_payload), the signature is over
/// [`cms::sign::to_be_signed`] with the same digest and `options.time`.
///
/// # Errors
/// As [`sign_entity`] and [`cms::sign::sign_with`].
pub fn sign_entity_with<R: rand_core::CryptoRng + ?Sized>(
    content: &[u8],
    signers: &[&Identity],
    options: &SignOptions,
    precomputed: Option<cms::sign::Precomputed<'_>>,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let (mut out, tail) = sign_entity_parts(content, signers, options, precomputed, rng)?;
    if !options.opaque {
        out.reserve(content.len() + tail.len());
        out.extend_from_slice(content);
    }
    out.extend_from_slice(&tail);
    Ok(out)
}

/// [`sign_entity_with`] in two parts, `(head, tail)`, so that a caller who holds the content
/// need not pass it through here twice: detached, the signed entity is `head`, the content,
/// `tail`; opaque, it is `head` alone (`tail` is empty). Detached with `precomputed`, the content
/// is not read (it may be empty).
///
/// # Errors
/// As [`sign_entity_with`].
pub fn sign_entity_parts<R: rand_core::CryptoRng + ?Sized>(
    content: &[u8],
    signers: &[&Identity],
    options: &SignOptions,
    precomputed: Option<cms::sign::Precomputed<'_>>,
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>)> {
    if options.digest.is_weak() {
        return Err(Error::misuse("signing with MD5 or SHA-1 is not allowed"));
    }
    let params = cms::sign::SignParams {
        digest: options.digest,
        rsa_pss: options.rsa_pss,
        time: options.time,
        detached: !options.opaque,
    };
    let der_bytes = cms::sign::sign_with(content, signers, &params, precomputed, rng)?;
    if options.opaque {
        let mut out = Vec::with_capacity(der_bytes.len() * 2 + 256);
        out.extend_from_slice(
            b"Content-Type: application/pkcs7-mime; smime-type=signed-data; name=\"smime.p7m\"\r\n\
              Content-Transfer-Encoding: base64\r\n\
              Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n",
        );
        out.extend_from_slice(&mime::base64_encode_lines(&der_bytes));
        return Ok((out, Vec::new()));
    }
    let mut micalgs: Vec<&str> = Vec::new();
    for s in signers {
        let m = cms::sign::effective_digest(&s.key, options.digest).micalg();
        if !micalgs.contains(&m) {
            micalgs.push(m);
        }
    }
    let boundary = random_boundary(rng);
    let head = alloc::format!(
        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\
         \tmicalg={}; boundary=\"{boundary}\"\r\n\r\n\
         This is a cryptographically signed message in MIME format.\r\n\r\n--{boundary}\r\n",
        micalgs.join(",")
    )
    .into_bytes();
    let mut tail = alloc::format!(
        "\r\n--{boundary}\r\n\
         Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
         Content-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\
         Content-Description: S/MIME Cryptographic Signature\r\n\r\n"
    )
    .into_bytes();
    tail.extend_from_slice(&mime::base64_encode_lines(&der_bytes));
    tail.extend_from_slice(alloc::format!("\r\n--{boundary}--\r\n").as_bytes());
    Ok((head, tail))
}

/// The signature and signed content found in a message.
struct Found<'a> {
    opaque: bool,
    signature: Vec<u8>,
    content: Option<&'a [u8]>,
}

/// Is this the Content-Type of a CMS object sent as a MIME body (`application/pkcs7-mime`, the
/// old `x-` form, or an `octet-stream` named `*.p7m` as some clients label it)?
pub(crate) fn is_pkcs7_mime(ct: &mime::ContentType) -> bool {
    ct.is("application/pkcs7-mime")
        || ct.is("application/x-pkcs7-mime")
        || (ct.is("application/octet-stream")
            && ct
                .param("name")
                .is_some_and(|n| n.to_ascii_lowercase().ends_with(".p7m")))
}

fn find_signature<'a>(entity: &Entity<'a>) -> Result<Found<'a>> {
    let ct = entity.content_type();
    if ct.is("multipart/signed") {
        let boundary = ct.param("boundary").ok_or(Error::MimeMalformed {
            detail: "multipart/signed without boundary",
        })?;
        let parts = mime::split_multipart(entity.body, boundary)?;
        let (Some(content), Some(sig_part)) = (parts.first(), parts.get(1)) else {
            return Err(Error::MimeMalformed {
                detail: "multipart/signed needs two parts",
            });
        };
        let sig_entity = Entity::parse(sig_part)?;
        let sig_ct = sig_entity.content_type();
        if !(sig_ct.is("application/pkcs7-signature") || sig_ct.is("application/x-pkcs7-signature"))
        {
            return Err(Error::NotSigned);
        }
        return Ok(Found {
            opaque: false,
            signature: sig_entity.decoded_body()?,
            content: Some(content),
        });
    }
    if is_pkcs7_mime(&ct) {
        return Ok(Found {
            opaque: true,
            signature: entity.decoded_body()?,
            content: None,
        });
    }
    Err(Error::NotSigned)
}

/// Verify a signed message, detached (`multipart/signed`) or opaque.
///
/// # Errors
/// `NOT_SIGNED`, `MIME_MALFORMED`, `CMS_MALFORMED`, `DER_MALFORMED`, `INPUT_TOO_LARGE`. A
/// signature that does not hold is not an error: see [`SignerReport::status`].
pub fn verify_message(message: &[u8], options: &VerifyOptions<'_>) -> Result<VerifyReport> {
    verify_message_with(message, options, &[])
}

/// [`verify_message`] with digests of the detached content already made (by WebCrypto; see
/// [`detached_content`] for which bytes): used instead of hashing that content here. They
/// apply to a `multipart/signed` message's first part only, never to encapsulated content.
/// When they are used, the report's `content` is left empty: the caller has those bytes.
///
/// # Errors
/// As [`verify_message`].
pub fn verify_message_with(
    message: &[u8],
    options: &VerifyOptions<'_>,
    digests: &[(DigestAlgorithm, Vec<u8>)],
) -> Result<VerifyReport> {
    check_size(message)?;
    let message = mime::to_crlf(mime::strip_mbox_separator(message));
    let entity = Entity::parse(&message)?;
    let date = entity
        .field("Date")
        .and_then(|f| mime::parse_date(&f.value()));
    let from = entity
        .field("From")
        .and_then(|f| mime::first_address(&f.value()));
    verify_entity(&entity, from, date, options, digests)
}

/// Where the signed content of a detached `multipart/signed` message is in `message` (start
/// and end), and the digest algorithms its signers use: what a caller hashes for
/// [`verify_message_with`]. `None` when that does not apply (opaque, not CRLF as given, or
/// anything [`verify_message`] would refuse: it then says why).
#[must_use]
pub fn detached_content(message: &[u8]) -> Option<(usize, usize, Vec<DigestAlgorithm>)> {
    let (start, end, digests, _) = detached_parts(message)?;
    Some((start, end, digests))
}

/// [`detached_content`], and whether the signature also carries content of its own.
fn detached_parts(message: &[u8]) -> Option<(usize, usize, Vec<DigestAlgorithm>, bool)> {
    check_size(message).ok()?;
    let stripped = mime::strip_mbox_separator(message);
    if let alloc::borrow::Cow::Owned(_) = mime::to_crlf(stripped) {
        return None; // line ends were changed: offsets into `message` would be wrong
    }
    let entity = Entity::parse(stripped).ok()?;
    let found = find_signature(&entity).ok()?;
    let content = found.content?;
    let parsed = cms::verify::parse(&found.signature).ok()?;
    let mut digests = Vec::new();
    for (info, _) in &parsed.signers {
        if let Some(d) = DigestAlgorithm::from_oid(&info.digest_alg.oid) {
            if !digests.contains(&d) {
                digests.push(d);
            }
        }
    }
    // Both are slices of `message`; the subtraction finds the offset without unsafe code.
    let start = (content.as_ptr() as usize).checked_sub(message.as_ptr() as usize)?;
    let end = start.checked_add(content.len())?;
    (end <= message.len()).then_some((start, end, digests, parsed.content.is_some()))
}

/// Where a large detached signed message read in pieces ([`mime::skeleton`]) has its signed
/// content, which digests of it the signers need, and what verifies it with those digests made
/// elsewhere, without the message's bytes here.
#[derive(Clone, Debug)]
pub struct Detached {
    /// The signed content's place in the message.
    pub content: core::ops::Range<usize>,
    /// Its place in the stand-in.
    pub(crate) in_stand_in: core::ops::Range<usize>,
    /// The digest algorithms of the signers: a digest of the content for each.
    pub digests: Vec<DigestAlgorithm>,
}

impl Detached {
    /// [`detached_content`] for the message of `stand_in`: `None` where that gives `None`,
    /// and where the signature also carries content.
    #[must_use]
    pub fn find(stand_in: &mime::skeleton::StandIn) -> Option<Self> {
        if stand_in.total > MAX_MESSAGE_SIZE {
            return None;
        }
        let (s, e, digests, encapsulated) = detached_parts(&stand_in.bytes)?;
        if encapsulated {
            return None; // compared with the signed part byte for byte: read whole
        }
        // The content starts after a kept line (its part's header section) and ends with the
        // CRLF before a kept delimiter line.
        let start = stand_in.original(s)?;
        let end = stand_in
            .original(e)
            .or_else(|| stand_in.original(e.checked_add(2)?)?.checked_sub(2))?;
        (start <= end && end <= stand_in.total).then_some(Self {
            content: start..end,
            in_stand_in: s..e,
            digests,
        })
    }

    /// Are there `digests` for every algorithm of [`Self::digests`]?
    ///
    /// # Errors
    /// `API_MISUSE` when one is missing.
    pub(crate) fn check(&self, digests: &[(DigestAlgorithm, Vec<u8>)]) -> Result<()> {
        if self
            .digests
            .iter()
            .all(|d| digests.iter().any(|(a, _)| a == d))
        {
            Ok(())
        } else {
            Err(Error::misuse(
                "verify: a digest of the signed content for every signer's algorithm",
            ))
        }
    }

    /// [`verify_message_with`] for the message of `stand_in`, with `digests` of its signed
    /// content for every algorithm in [`Self::digests`]. The report's `content` is empty (the
    /// caller has it).
    ///
    /// # Errors
    /// `API_MISUSE` when a digest is missing; otherwise as [`verify_message`].
    pub fn verify(
        &self,
        stand_in: &mime::skeleton::StandIn,
        options: &VerifyOptions<'_>,
        digests: &[(DigestAlgorithm, Vec<u8>)],
    ) -> Result<VerifyReport> {
        self.check(digests)?;
        verify_message_with(&stand_in.bytes, options, digests)
    }
}

/// Verify one signed MIME entity; `from` and `date` come from the message's outer header;
/// `digests` are of the detached content (see [`verify_message_with`]).
pub(crate) fn verify_entity(
    entity: &Entity<'_>,
    from: Option<String>,
    date: Option<UnixTime>,
    options: &VerifyOptions<'_>,
    digests: &[(DigestAlgorithm, Vec<u8>)],
) -> Result<VerifyReport> {
    let found = find_signature(entity)?;
    let detached = found.content.is_some();
    let parsed = cms::verify::parse(&found.signature)?;
    // A detached signature that also carries content which differs from the signed part is a
    // confusion attack (one text shown, another signed): every signer is reported altered.
    let mut econtent_mismatch = false;
    let content: &[u8] = match (found.content, &parsed.content) {
        (Some(detached), Some(encapsulated)) => {
            econtent_mismatch = detached != encapsulated.as_slice();
            detached
        }
        (Some(detached), None) => detached,
        (None, Some(encapsulated)) => encapsulated,
        (None, None) => {
            return Err(Error::CmsMalformed {
                detail: "opaque signed-data without content",
            })
        }
    };
    // With digests made elsewhere the caller has the detached content (it hashed it): the
    // report does not copy it again.
    let caller_has_content = detached && !digests.is_empty();
    let signed = cms::verify::SignedContent {
        bytes: content,
        digests: if detached { digests } else { &[] },
    };
    let mut signers = cms::verify::verify_signers_with(&parsed, &signed, options, from.as_deref());
    for s in &mut signers {
        if econtent_mismatch {
            s.status = SignerStatus::ContentAltered;
            s.code = "ECONTENT_MISMATCH";
            s.reason = String::from(
                "the signature carries its own content, which differs from the signed part",
            );
        } else if s.status == SignerStatus::Valid {
            if let (Some(date), Some(signed_at)) = (date, s.signing_time) {
                if date.0 > signed_at.0.saturating_add(MAX_DATE_AFTER_SIGNING) {
                    s.status = SignerStatus::DateMismatch;
                    s.code = "DATE_MISMATCH";
                    s.reason = alloc::format!(
                        "the Date: header ({}) is later than the signing time ({}): the message \
                         may have been re-dated",
                        date.to_rfc3339(),
                        signed_at.to_rfc3339()
                    );
                }
            }
        }
    }
    Ok(VerifyReport {
        opaque: found.opaque,
        content: if caller_has_content {
            Vec::new()
        } else {
            content.to_vec()
        },
        from,
        signers,
    })
}
