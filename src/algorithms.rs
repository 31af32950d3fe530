//! Digest and signature algorithms: identifiers, digests, signature creation and verification.

use alloc::vec::Vec;

use const_oid::db::rfc5912;
use const_oid::ObjectIdentifier;

/// A message digest algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// MD5: recognised only to be reported as weak.
    Md5,
    /// SHA-1: verified, but reported as weak.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// From its OID, if Cachet knows it.
    #[must_use]
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        match *oid {
            rfc5912::ID_MD_5 => Some(Self::Md5),
            rfc5912::ID_SHA_1 => Some(Self::Sha1),
            rfc5912::ID_SHA_224 => Some(Self::Sha224),
            rfc5912::ID_SHA_256 => Some(Self::Sha256),
            rfc5912::ID_SHA_384 => Some(Self::Sha384),
            rfc5912::ID_SHA_512 => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Its OID.
    #[must_use]
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Md5 => rfc5912::ID_MD_5,
            Self::Sha1 => rfc5912::ID_SHA_1,
            Self::Sha224 => rfc5912::ID_SHA_224,
            Self::Sha256 => rfc5912::ID_SHA_256,
            Self::Sha384 => rfc5912::ID_SHA_384,
            Self::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    /// From a name as the CLI and JS API take it: `sha256`, `SHA-256`, ...
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace('-', "").as_str() {
            "sha1" => Some(Self::Sha1),
            "sha224" => Some(Self::Sha224),
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The name used in `micalg` (RFC 5751 §3.4.3.2) and in reports: `sha-256`, ...
    #[must_use]
    pub fn micalg(self) -> &'static str {
        match self {
            Self::Md5 => "md5",
            Self::Sha1 => "sha-1",
            Self::Sha224 => "sha-224",
            Self::Sha256 => "sha-256",
            Self::Sha384 => "sha-384",
            Self::Sha512 => "sha-512",
        }
    }

    /// MD5 and SHA-1 are weak: signatures made with them are reported, never silently valid.
    #[must_use]
    pub fn is_weak(self) -> bool {
        matches!(self, Self::Md5 | Self::Sha1)
    }

    /// Digest `data`. `None` for MD5, which Cachet does not compute.
    #[must_use]
    pub fn digest(self, data: &[u8]) -> Option<Vec<u8>> {
        use sha2::Digest as _;
        Some(match self {
            Self::Md5 => return None,
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        })
    }
}

// ---- interface stubs (replaced by the real implementations on merge) ----

/// A signature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The digest used, when the algorithm has one.
    pub digest: Option<DigestAlgorithm>,
    /// `rsa-pkcs1v15`, `rsa-pss`, `ecdsa` or `ed25519`.
    pub name: &'static str,
}

/// Why a signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// It is wrong.
    Invalid,
    /// The algorithm (OID or name) is not implemented.
    Unsupported(alloc::string::String),
    /// The key is too small to be trusted.
    KeyTooSmall,
}

/// Verify `signature` over `message`.
///
/// # Errors
/// See [`SignatureError`].
pub fn verify_signature(
    spki: &spki::SubjectPublicKeyInfoOwned,
    algorithm: &spki::AlgorithmIdentifierOwned,
    digest: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<Verified, SignatureError> {
    let _ = (spki, digest, message, signature);
    Err(SignatureError::Unsupported(alloc::format!(
        "{}",
        algorithm.oid
    )))
}

/// Sign `message`.
///
/// # Errors
/// `KEY_UNSUPPORTED`.
pub fn sign<R: rand_core::CryptoRng + ?Sized>(
    key: &crate::keys::PrivateKey,
    digest: DigestAlgorithm,
    rsa_pss: bool,
    message: &[u8],
    rng: &mut R,
) -> crate::Result<(spki::AlgorithmIdentifierOwned, Vec<u8>)> {
    let _ = (digest, rsa_pss, message, rng);
    Err(crate::Error::KeyUnsupported {
        algorithm: alloc::string::String::from(key.algorithm_name()),
    })
}
