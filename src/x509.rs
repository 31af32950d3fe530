//! Certificates: parsing, names and addresses, fingerprints, path validation and S/MIME policy.
//!
//! Does not fetch anything (no AIA, no OCSP): every certificate and CRL is an input.

pub mod crl;
pub mod path;

use alloc::string::String;
use alloc::vec::Vec;

use der::{Decode as _, Encode as _, Reader as _};
use x509_cert::Certificate;

use crate::error::{Error, Result};

/// Most certificates [`parse_certificates`] returns from one input.
pub const MAX_CERTIFICATES: usize = 1000;

/// Parse one or many certificates: PEM (any number of `CERTIFICATE`, `X509 CERTIFICATE`,
/// `TRUSTED CERTIFICATE` or `PKCS7`/`CMS` blocks; other blocks are skipped), DER (one or several
/// concatenated), or a PKCS#7/CMS certs-only bundle (`.p7b`, `.p7c`, DER).
///
/// # Errors
/// `CERT_MALFORMED` when nothing parses as certificates (or a certificate block is broken),
/// `PEM_MALFORMED` for broken PEM armour, `INPUT_TOO_LARGE` beyond [`MAX_CERTIFICATES`].
pub fn parse_certificates(data: &[u8]) -> Result<Vec<Certificate>> {
    let mut certs = Vec::new();
    if crate::pem::is_pem(data) {
        for block in crate::pem::decode_all(data)? {
            match block.label.as_str() {
                "CERTIFICATE" | "X509 CERTIFICATE" => certs.push(parse_one(&block.der)?),
                // OpenSSL's trusted form: a certificate followed by trust settings.
                "TRUSTED CERTIFICATE" => certs.push(parse_first(&block.der)?),
                "PKCS7" | "CMS" => certs.extend(parse_pkcs7(&block.der)?),
                _ => {}
            }
            if certs.len() > MAX_CERTIFICATES {
                return Err(too_many());
            }
        }
    } else {
        match parse_concatenated(data) {
            Ok(list) => certs = list,
            Err(e @ Error::InputTooLarge { .. }) => return Err(e),
            Err(_) => certs = parse_pkcs7(data)?,
        }
    }
    if certs.is_empty() {
        return Err(Error::CertificateMalformed);
    }
    if certs.len() > MAX_CERTIFICATES {
        return Err(too_many());
    }
    Ok(certs)
}

fn too_many() -> Error {
    Error::InputTooLarge {
        what: "certificates",
        limit: MAX_CERTIFICATES,
    }
}

fn parse_one(der_bytes: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der_bytes).map_err(|_| Error::CertificateMalformed)
}

/// The first certificate in `der_bytes`, ignoring what follows it.
fn parse_first(der_bytes: &[u8]) -> Result<Certificate> {
    let mut reader = der::SliceReader::new(der_bytes).map_err(|_| Error::CertificateMalformed)?;
    Certificate::decode(&mut reader).map_err(|_| Error::CertificateMalformed)
}

/// One or more DER certificates back to back.
fn parse_concatenated(der_bytes: &[u8]) -> Result<Vec<Certificate>> {
    let mut reader = der::SliceReader::new(der_bytes).map_err(|_| Error::CertificateMalformed)?;
    let mut certs = Vec::new();
    while !reader.is_finished() {
        if certs.len() >= MAX_CERTIFICATES {
            return Err(too_many());
        }
        certs.push(Certificate::decode(&mut reader).map_err(|_| Error::CertificateMalformed)?);
    }
    if certs.is_empty() {
        return Err(Error::CertificateMalformed);
    }
    Ok(certs)
}

/// The certificates of a CMS `ContentInfo` holding `SignedData` (RFC 5652 §5.1): a certs-only
/// bundle or any signature. DER, or BER as signers such as BouncyCastle write it.
fn parse_pkcs7(der_bytes: &[u8]) -> Result<Vec<Certificate>> {
    use cms::cert::CertificateChoices;
    use der::EncodingRules;
    if let Ok(normalised) = crate::ber::to_der(der_bytes) {
        crate::cms::check_signed_data_counts(&normalised, MAX_CERTIFICATES, MAX_CERTIFICATES)?;
    }
    let mut reader = der::SliceReader::new_with_encoding_rules(der_bytes, EncodingRules::Ber)
        .map_err(|_| Error::CertificateMalformed)?;
    let info = cms::content_info::ContentInfo::decode(&mut reader)
        .map_err(|_| Error::CertificateMalformed)?;
    if !reader.is_finished() || info.content_type != const_oid::db::rfc5911::ID_SIGNED_DATA {
        return Err(Error::CertificateMalformed);
    }
    let signed: cms::signed_data::SignedData = info
        .content
        .decode_as_encoding(EncodingRules::Ber)
        .map_err(|_| Error::CertificateMalformed)?;
    Ok(signed
        .certificates
        .map(|set| {
            set.0
                .iter()
                .filter_map(|choice| match choice {
                    CertificateChoices::Certificate(cert) => Some(cert.clone()),
                    CertificateChoices::Other(_) => None,
                })
                .collect()
        })
        .unwrap_or_default())
}

/// `local@domain` with the domain lowercased, or `None` when `text` is not an address.
fn normalize_address(text: &str) -> Option<String> {
    let text = text.trim();
    let at = text.rfind('@')?;
    let local = text.get(..at)?;
    let domain = text.get(at + 1..)?;
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    if local.is_empty() || domain.is_empty() || (local.contains('@') && !quoted) {
        return None;
    }
    Some(alloc::format!("{local}@{}", domain.to_lowercase()))
}

/// Every email address the certificate names: rfc822Name entries of subjectAltName, then the
/// legacy `emailAddress` attribute (PKCS #9) of the subject, IA5String or UTF8String. The local
/// part is kept as written, the domain lowercased; duplicates are dropped (first one kept).
#[must_use]
pub fn email_addresses(cert: &Certificate) -> Vec<String> {
    use x509_cert::ext::pkix::name::GeneralName;
    let mut found: Vec<String> = Vec::new();
    let mut add = |text: &str| {
        if let Some(address) = normalize_address(text) {
            if !found.iter().any(|a| a.eq_ignore_ascii_case(&address)) {
                found.push(address);
            }
        }
    };
    if let Ok(Some((_, san))) = cert
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::SubjectAltName>()
    {
        for name in &san.0 {
            if let GeneralName::Rfc822Name(address) = name {
                add(address.as_str());
            }
        }
    }
    for atv in cert.tbs_certificate().subject().iter() {
        if atv.oid != const_oid::db::rfc2985::PKCS_9_AT_EMAIL_ADDRESS {
            continue;
        }
        if let Ok(address) = atv.value.decode_as::<der::asn1::Ia5String>() {
            add(address.as_str());
        } else if let Ok(address) = atv.value.decode_as::<String>() {
            add(&address);
        }
    }
    found
}

/// Does the certificate name `address` (RFC 8550 §3)? The whole address is compared without
/// regard to ASCII case: domains are case-insensitive, and although RFC 5321 lets a server treat
/// local parts case-sensitively, no mail system in use does, and Thunderbird and Outlook match
/// them case-insensitively too.
#[must_use]
pub fn address_matches(cert: &Certificate, address: &str) -> bool {
    let Some(wanted) = normalize_address(address) else {
        return false;
    };
    email_addresses(cert)
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&wanted))
}

fn hex(bytes: &[u8], upper: bool) -> String {
    use core::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = if upper {
            write!(out, "{b:02X}")
        } else {
            write!(out, "{b:02x}")
        };
    }
    out
}

/// The SHA-1 thumbprint of the certificate's DER, uppercase hex without separators, as Windows
/// shows it. Empty if the certificate cannot be re-encoded.
#[must_use]
pub fn sha1_thumbprint(cert: &Certificate) -> String {
    cert.to_der()
        .ok()
        .and_then(|der| crate::algorithms::DigestAlgorithm::Sha1.digest(&der))
        .map(|d| hex(&d, true))
        .unwrap_or_default()
}

/// The SHA-256 fingerprint of the certificate's DER, lowercase hex without separators. Empty if
/// the certificate cannot be re-encoded.
#[must_use]
pub fn sha256_fingerprint(cert: &Certificate) -> String {
    cert.to_der()
        .ok()
        .and_then(|der| crate::algorithms::DigestAlgorithm::Sha256.digest(&der))
        .map(|d| hex(&d, false))
        .unwrap_or_default()
}

/// The subjectKeyIdentifier extension's value, if present and well formed.
#[must_use]
pub fn subject_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    let (_, ski) = cert
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
        .ok()??;
    Some(ski.0.as_bytes().to_vec())
}

/// The authorityKeyIdentifier's keyIdentifier, if present and well formed.
#[must_use]
pub fn authority_key_id(cert: &Certificate) -> Option<Vec<u8>> {
    let (_, aki) = cert
        .tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::AuthorityKeyIdentifier>()
        .ok()??;
    Some(aki.key_identifier?.as_bytes().to_vec())
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PKI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/pki/");
    const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/certs/");

    pub(crate) fn read(path: &str) -> Vec<u8> {
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    pub(crate) fn pki(stem: &str) -> Certificate {
        let mut certs = parse_certificates(&read(&format!("{PKI}{stem}.pem"))).unwrap();
        assert_eq!(certs.len(), 1, "{stem}");
        certs.remove(0)
    }

    fn pem(label: &str, der: &[u8]) -> Vec<u8> {
        use base64ct::Encoding as _;
        let b64 = base64ct::Base64::encode_string(der);
        let mut out = format!("-----BEGIN {label}-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(core::str::from_utf8(chunk).unwrap());
            out.push('\n');
        }
        out.push_str(&format!("-----END {label}-----\n"));
        out.into_bytes()
    }

    #[test]
    fn parses_pem_der_concatenated_and_pkcs7() {
        let alice = pki("alice-rsa");
        let inter = pki("inter-ca");
        let root = pki("root-ca");
        let alice_der = alice.to_der().unwrap();

        // PEM with several blocks and text between them.
        let multi = parse_certificates(&read(&format!("{PKI}bundle.pem"))).unwrap();
        assert_eq!(multi.len(), 4);
        assert_eq!(multi[0], alice);
        assert_eq!(multi[3], root);
        let mut text = b"Bag Attributes\n    friendlyName: x\n".to_vec();
        text.extend(read(&format!("{PKI}alice-rsa.key")));
        text.extend(read(&format!("{PKI}chain.pem")));
        assert_eq!(parse_certificates(&text).unwrap(), vec![inter.clone()]);

        // DER, one and concatenated.
        assert_eq!(parse_certificates(&alice_der).unwrap(), vec![alice.clone()]);
        let mut cat = alice_der.clone();
        cat.extend(inter.to_der().unwrap());
        cat.extend(root.to_der().unwrap());
        assert_eq!(
            parse_certificates(&cat).unwrap(),
            vec![alice.clone(), inter.clone(), root.clone()]
        );

        // PKCS#7 certs-only, DER and PEM (label PKCS7). The SET OF comes back sorted.
        for file in ["bundle.p7b", "bundle.p7b.pem"] {
            let certs = parse_certificates(&read(&format!("{PKI}{file}"))).unwrap();
            assert_eq!(certs.len(), 3, "{file}");
            for c in [&alice, &inter, &root] {
                assert!(certs.contains(c), "{file}");
            }
        }

        // Other PEM labels.
        assert_eq!(
            parse_certificates(&pem("X509 CERTIFICATE", &alice_der)).unwrap(),
            vec![alice.clone()]
        );
        let mut trusted = alice_der.clone();
        trusted.extend([
            0x30, 0x0c, 0xa0, 0x0a, 0x06, 0x08, 0x2b, 6, 1, 5, 5, 7, 3, 4,
        ]);
        assert_eq!(
            parse_certificates(&pem("TRUSTED CERTIFICATE", &trusted)).unwrap(),
            vec![alice]
        );
    }

    #[test]
    fn garbage_is_rejected_with_codes() {
        let alice_der = pki("alice-rsa").to_der().unwrap();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (Vec::new(), "CERT_MALFORMED"),
            (b"hello".to_vec(), "CERT_MALFORMED"),
            (alice_der[..alice_der.len() - 1].to_vec(), "CERT_MALFORMED"),
            (
                [alice_der.clone(), vec![0x30, 0x00]].concat(),
                "CERT_MALFORMED",
            ),
            (vec![0x30, 0x84, 0xff, 0xff, 0xff, 0xff], "CERT_MALFORMED"),
            (
                pem("CERTIFICATE", b"\x30\x03\x02\x01\x01"),
                "CERT_MALFORMED",
            ),
            (read(&format!("{PKI}alice-rsa.key")), "CERT_MALFORMED"),
            (pem("PKCS7", &alice_der), "CERT_MALFORMED"),
            (
                b"-----BEGIN CERTIFICATE-----\nMIIB\n".to_vec(),
                "PEM_MALFORMED",
            ),
            (
                b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n".to_vec(),
                "PEM_MALFORMED",
            ),
        ];
        for (i, (data, code)) in cases.iter().enumerate() {
            assert_eq!(
                parse_certificates(data).unwrap_err().code(),
                *code,
                "case {i}"
            );
        }
        // Every truncation of a real certificate fails cleanly.
        for n in 0..alice_der.len() {
            assert!(parse_certificates(&alice_der[..n]).is_err());
        }
    }

    #[test]
    fn corpus_certificates_parse() {
        for name in [
            "CarlRSASelf.cer",
            "AliceRSASignByCarl.cer",
            "CarlDSSSelf.cer",
            "validator.root.crt",
            "validator.fakeRoot.crt",
            "StartComCertificationAuthority.crt",
            "StartComClass1PrimaryIntermediateClientCA.crt",
            "TestCA.pem",
        ] {
            let certs = parse_certificates(&read(&format!("{CERTS}{name}")))
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(certs.len(), 1, "{name}");
        }
        let carl = parse_certificates(&read(&format!("{CERTS}CarlRSASelf.cer"))).unwrap();
        assert!(
            subject(&carl[0]).contains("CN=CarlRSA"),
            "{}",
            subject(&carl[0])
        );
        assert_eq!(subject(&carl[0]), issuer(&carl[0]));
    }

    #[test]
    fn email_addresses_and_matching() {
        assert_eq!(
            email_addresses(&pki("alice-rsa")),
            vec!["alice@example.org"]
        );
        assert_eq!(email_addresses(&pki("bob-p256")), vec!["bob@example.org"]);
        assert_eq!(
            email_addresses(&pki("legacy-email")),
            vec!["alice@example.org"]
        );
        assert!(email_addresses(&pki("no-email")).is_empty());
        assert!(email_addresses(&pki("root-ca")).is_empty());
        // SAN and subject both say Alice.Smith@Example.ORG: domain lowercased, local part kept,
        // one entry.
        let mixed = pki("mixed-case");
        assert_eq!(email_addresses(&mixed), vec!["Alice.Smith@example.org"]);

        let alice = pki("alice-rsa");
        for yes in [
            "alice@example.org",
            "alice@EXAMPLE.ORG",
            " Alice@example.org ",
        ] {
            assert!(address_matches(&alice, yes), "{yes}");
        }
        assert!(address_matches(&pki("legacy-email"), "alice@example.org"));
        assert!(address_matches(&mixed, "alice.smith@example.org"));
        for no in [
            "bob@example.org",
            "alice@example.org.evil",
            "alice",
            "",
            "@example.org",
            "alice@",
        ] {
            assert!(!address_matches(&alice, no), "{no}");
        }
        assert!(!address_matches(&pki("no-email"), "alice@example.org"));

        assert_eq!(normalize_address("a@b@C.d"), None);
        assert_eq!(
            normalize_address("X.Y@Ex.COM").as_deref(),
            Some("X.Y@ex.com")
        );
    }

    #[test]
    fn fingerprints_and_key_ids() {
        // Values from `openssl x509 -fingerprint -sha1/-sha256 -ext subjectKeyIdentifier`.
        let alice = pki("alice-rsa");
        assert_eq!(
            sha1_thumbprint(&alice),
            "10313C6A2A8DDB4766B51071319EE529E62445E8"
        );
        assert_eq!(
            sha256_fingerprint(&alice),
            "1c8a77c34540deffbaed44ed61431d12fe86c52c5a6dbd8501d370a0b64a62d6"
        );
        assert_eq!(
            subject_key_id(&alice).unwrap(),
            hex::decode("5645112BB1E606D5CE23D887754DDAD7C238EAA0").unwrap()
        );
        let inter = pki("inter-ca");
        assert_eq!(
            subject_key_id(&inter).unwrap(),
            hex::decode("40016F116810B7CA53984EDF7CAAE6B113170EBC").unwrap()
        );
        assert_eq!(authority_key_id(&alice), subject_key_id(&inter));
        assert_eq!(authority_key_id(&pki("root-ca")), None);
        let carl = parse_certificates(&read(&format!("{CERTS}CarlRSASelf.cer"))).unwrap();
        assert_eq!(sha256_fingerprint(&carl[0]).len(), 64);
    }
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

/// The key identifiers a certificate answers to: its subjectKeyIdentifier extension and the
/// SHA-1 of its subjectPublicKey (RFC 5280 §4.2.1.2 method 1), which Outlook uses for
/// certificates that have no such extension.
#[must_use]
pub fn key_identifiers(cert: &Certificate) -> Vec<Vec<u8>> {
    let mut ids: Vec<Vec<u8>> = subject_key_id(cert).into_iter().collect();
    // Outlook also hashes the whole SubjectPublicKeyInfo.
    if let Ok(spki) = der::Encode::to_der(cert.tbs_certificate().subject_public_key_info()) {
        if let Some(sha1) = crate::algorithms::DigestAlgorithm::Sha1.digest(&spki) {
            ids.push(sha1);
        }
    }
    if let Some(key) = cert
        .tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
    {
        if let Some(sha1) = crate::algorithms::DigestAlgorithm::Sha1.digest(key) {
            if !ids.contains(&sha1) {
                ids.push(sha1);
            }
        }
    }
    ids
}
