//! Certificates: parsing, names and addresses, fingerprints, path validation and S/MIME policy.
//!
//! Does not fetch anything (no AIA, no OCSP): every certificate and CRL is an input.

pub mod crl;
pub mod path;

use alloc::string::String;
use alloc::vec::Vec;

use x509_cert::Certificate;

use crate::error::{Error, Result};

/// Parse one or many certificates: PEM (any number of `CERTIFICATE` blocks), DER (one or several
/// concatenated), or a PKCS#7/CMS certs-only bundle (`.p7b`, `.p7c`).
///
/// # Errors
/// `CERT_MALFORMED`, `PEM_MALFORMED`.
pub fn parse_certificates(data: &[u8]) -> Result<Vec<Certificate>> {
    let _ = data;
    Err(Error::CertificateMalformed)
}

/// Every email address the certificate names: rfc822Name entries of subjectAltName, then the
/// legacy `emailAddress` attribute of the subject. Lowercased.
#[must_use]
pub fn email_addresses(cert: &Certificate) -> Vec<String> {
    let _ = cert;
    Vec::new()
}

/// The subject as an RFC 4514 string.
#[must_use]
pub fn subject(cert: &Certificate) -> String {
    alloc::format!("{}", cert.tbs_certificate().subject())
}

/// The issuer as an RFC 4514 string.
#[must_use]
pub fn issuer(cert: &Certificate) -> String {
    alloc::format!("{}", cert.tbs_certificate().issuer())
}

/// Does the certificate name `address`?
#[must_use]
pub fn address_matches(cert: &Certificate, address: &str) -> bool {
    email_addresses(cert)
        .iter()
        .any(|a| a.eq_ignore_ascii_case(address))
}

/// The subjectKeyIdentifier extension's value, if the certificate has one.
#[must_use]
pub fn subject_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
        .ok()
        .flatten()
        .map(|(_, ski)| ski.0.as_bytes().to_vec())
}

/// Parse one or many CRLs (PEM `X509 CRL` blocks or DER).
///
/// # Errors
/// `CERT_MALFORMED`, `PEM_MALFORMED`.
pub fn parse_crls(data: &[u8]) -> Result<Vec<x509_cert::crl::CertificateList>> {
    use der::Decode;
    crate::pem::pem_or_der(data)?
        .iter()
        .map(|b| {
            x509_cert::crl::CertificateList::from_der(&b.der)
                .map_err(|_| Error::CertificateMalformed)
        })
        .collect()
}
