//! PKCS#12 (RFC 7292) import: modern (PBES2/AES, HMAC-SHA-256) and legacy (3DES, RC2-40, SHA-1 MAC).

use alloc::vec::Vec;

use x509_cert::Certificate;

use crate::error::{Error, Result};
use crate::keys::PrivateKey;

/// What a PKCS#12 file holds.
#[derive(Debug)]
pub struct Pkcs12 {
    /// The private keys, in file order.
    pub keys: Vec<PrivateKey>,
    /// The certificates, in file order.
    pub certificates: Vec<Certificate>,
}

/// Parse and decrypt a PKCS#12 file.
///
/// # Errors
/// `BAD_PASSWORD` (MAC or decryption fails), `P12_MALFORMED`, `CMS_UNSUPPORTED_ALGORITHM`,
/// `INPUT_TOO_LARGE` (absurd iteration counts).
pub fn parse(data: &[u8], password: &str) -> Result<Pkcs12> {
    let _ = (data, password);
    Err(Error::Pkcs12Malformed {
        detail: "not implemented",
    })
}
