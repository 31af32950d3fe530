//! Private keys and signing identities: PKCS#8 (plain and encrypted), PKCS#1, SEC1, PKCS#12.
//!
//! Key material is held in zeroizing types and never printed (`Debug` redacts it). This module
//! does not store keys anywhere: the at-rest format is the caller's (see the key store).

pub mod pkcs12;

use alloc::vec::Vec;

use x509_cert::Certificate;

use crate::error::{Error, Result};

/// A private key Cachet can sign (and later decrypt) with.
pub enum PrivateKey {
    /// RSA, 2048 bits or more for signing.
    Rsa(alloc::boxed::Box<rsa::RsaPrivateKey>),
    /// ECDSA on NIST P-256.
    P256(p256::ecdsa::SigningKey),
    /// ECDSA on NIST P-384.
    P384(p384::ecdsa::SigningKey),
    /// Ed25519 (RFC 8410, RFC 8419).
    Ed25519(ed25519_dalek::SigningKey),
}

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PrivateKey({}, redacted)", self.algorithm_name())
    }
}

impl PrivateKey {
    /// A short name of the key's algorithm: `RSA`, `P-256`, `P-384`, `Ed25519`.
    #[must_use]
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RSA",
            Self::P256(_) => "P-256",
            Self::P384(_) => "P-384",
            Self::Ed25519(_) => "Ed25519",
        }
    }

    /// Parse a private key from PEM or DER: PKCS#8 `PrivateKeyInfo`, PKCS#8
    /// `EncryptedPrivateKeyInfo` (PBES2, needs `password`), PKCS#1 `RSAPrivateKey`, SEC1
    /// `ECPrivateKey`.
    ///
    /// # Errors
    /// `KEY_MALFORMED`, `PASSWORD_REQUIRED`, `BAD_PASSWORD`, `KEY_UNSUPPORTED`, `PEM_MALFORMED`.
    pub fn parse(data: &[u8], password: Option<&str>) -> Result<Self> {
        let _ = (data, password);
        Err(Error::KeyMalformed)
    }

    /// Does this key belong to the public key in `spki`?
    #[must_use]
    pub fn matches(&self, spki: &spki::SubjectPublicKeyInfoOwned) -> bool {
        let _ = spki;
        false
    }
}

/// A signing identity: a private key, its certificate and the chain to send with it.
#[derive(Debug)]
pub struct Identity {
    /// The private key.
    pub key: PrivateKey,
    /// The certificate of `key`.
    pub certificate: Certificate,
    /// Intermediate certificates to include (leaf excluded), nearest first.
    pub chain: Vec<Certificate>,
}

impl Identity {
    /// Load an identity from a key file (PEM/DER key, or a PKCS#12 file) and, unless the key file
    /// is a PKCS#12 that holds it, a certificate file. Extra `chain` certificates are appended.
    ///
    /// # Errors
    /// Those of [`PrivateKey::parse`] and [`pkcs12::parse`], `CERT_MISSING` when no certificate
    /// matches the key, `KEY_CERT_MISMATCH` when the given certificate is not the key's.
    pub fn load(
        key_data: &[u8],
        cert_data: Option<&[u8]>,
        password: Option<&str>,
        chain: &[Certificate],
    ) -> Result<Self> {
        let _ = (key_data, cert_data, password, chain);
        Err(Error::KeyMalformed)
    }
}
