//! S/MIME messages (RFC 8551): sign and verify whole RFC 5322 messages.

use alloc::string::String;
use alloc::vec::Vec;

use x509_cert::Certificate;

use crate::algorithms::DigestAlgorithm;
use crate::error::{Error, Result};
use crate::keys::Identity;
use crate::time::UnixTime;

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

/// Sign an RFC 5322 message (or a bare MIME entity): its MIME entity is signed, other headers stay
/// outside. Returns the complete signed message, CRLF line ends.
///
/// # Errors
/// `MIME_MALFORMED`, `KEY_UNSUPPORTED`, `API_MISUSE` (no signer), `RANDOM_FAILED`.
pub fn sign_message<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    signers: &[&Identity],
    options: &SignOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let _ = (message, signers, options, rng);
    Err(Error::Internal {
        detail: "not implemented",
    })
}

/// Verify a signed message, detached (`multipart/signed`) or opaque.
///
/// # Errors
/// `NOT_SIGNED`, `MIME_MALFORMED`, `CMS_MALFORMED`, `DER_MALFORMED`. A signature that does not
/// hold is not an error: see [`SignerReport::status`].
pub fn verify_message(message: &[u8], options: &VerifyOptions<'_>) -> Result<VerifyReport> {
    let _ = (message, options);
    Err(Error::NotSigned)
}
