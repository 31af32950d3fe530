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
    name_string(cert.tbs_certificate().subject())
}

/// The issuer as an RFC 4514 string.
#[must_use]
pub fn issuer(cert: &Certificate) -> String {
    name_string(cert.tbs_certificate().issuer())
}

/// The short names of the attribute types a mail certificate's names use (X.520, RFC 4519,
/// PKCS #9), as x509-cert names them from `const_oid`'s database (the shortest name,
/// uppercased; a test checks each against it; the database has no name for, e.g.,
/// organizationIdentifier, which both write as `2.5.4.97=#...`). x509-cert's `Display` looks every type up in that whole
/// database, which would add ~33 KiB (brotli) to the wasm for names nobody puts in a DN.
const ATTRIBUTE_NAMES: &[(&str, &str)] = &[
    ("2.5.4.3", "CN"),
    ("2.5.4.4", "SN"),
    ("2.5.4.5", "SERIALNUMBER"),
    ("2.5.4.6", "C"),
    ("2.5.4.7", "L"),
    ("2.5.4.8", "ST"),
    ("2.5.4.9", "STREET"),
    ("2.5.4.10", "O"),
    ("2.5.4.11", "OU"),
    ("2.5.4.12", "TITLE"),
    ("2.5.4.13", "DESCRIPTION"),
    ("2.5.4.15", "BUSINESSCATEGORY"),
    ("2.5.4.16", "POSTALADDRESS"),
    ("2.5.4.17", "POSTALCODE"),
    ("2.5.4.18", "POSTOFFICEBOX"),
    ("2.5.4.20", "TELEPHONENUMBER"),
    ("2.5.4.41", "NAME"),
    ("2.5.4.42", "GN"),
    ("2.5.4.43", "INITIALS"),
    ("2.5.4.44", "GENERATIONQUALIFIER"),
    ("2.5.4.45", "X500UNIQUEIDENTIFIER"),
    ("2.5.4.46", "DNQUALIFIER"),
    ("2.5.4.65", "PSEUDONYM"),
    ("0.9.2342.19200300.100.1.1", "UID"),
    ("0.9.2342.19200300.100.1.25", "DC"),
    ("1.2.840.113549.1.9.1", "EMAIL"),
];

/// A Name as an RFC 4514 string, written as x509-cert's `Display` writes it (RDNs last first,
/// the same escaping) for the types in [`ATTRIBUTE_NAMES`]; any other type, or a value that is
/// not a string, as `OID=#` and the hex of its DER.
#[must_use]
pub fn name_string(name: &x509_cert::name::Name) -> String {
    use core::fmt::Write as _;
    use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, Utf8StringRef};
    use der::{Tag, Tagged as _};
    let mut out = String::new();
    let rdns: Vec<_> = name.iter_rdn().collect();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, atv) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            let value = match atv.value.tag() {
                Tag::PrintableString => PrintableStringRef::try_from(&atv.value)
                    .ok()
                    .map(|s| s.as_str()),
                Tag::Utf8String => Utf8StringRef::try_from(&atv.value).ok().map(|s| s.as_str()),
                Tag::Ia5String => Ia5StringRef::try_from(&atv.value).ok().map(|s| s.as_str()),
                Tag::TeletexString => TeletexStringRef::try_from(&atv.value)
                    .ok()
                    .map(|s| s.as_str()),
                _ => None,
            };
            let oid = alloc::format!("{}", atv.oid);
            let key = ATTRIBUTE_NAMES
                .iter()
                .find(|(o, _)| *o == oid)
                .map(|(_, k)| *k);
            if let (Some(key), Some(value)) = (key, value) {
                out.push_str(key);
                out.push('=');
                let mut chars = value.char_indices().peekable();
                while let Some((at, c)) = chars.next() {
                    match c {
                        '#' if at == 0 => out.push_str("\\#"),
                        ' ' if at == 0 || chars.peek().is_none() => out.push_str("\\ "),
                        '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                            out.push('\\');
                            out.push(c);
                        }
                        '\x00'..='\x1f' | '\x7f' => {
                            let _ = write!(out, "\\{:02x}", u32::from(c));
                        }
                        _ => out.push(c),
                    }
                }
            } else {
                let _ = write!(out, "{oid}=#");
                for b in atv.value.to_der().unwrap_or_default() {
                    let _ = write!(out, "{b:02x}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PKI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/pki/");
    const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/certs/");

    /// `name_string` writes what x509-cert's `Display` (which names types from const-oid's
    /// whole database) writes: for every type in the table, with every escape, several RDNs
    /// and multi-valued ones, other types and non-string values; and for every test
    /// certificate's subject and issuer.
    #[test]
    fn name_string_is_x509_cert_display() {
        use core::str::FromStr as _;
        use der::asn1::{PrintableStringRef, Utf8StringRef};
        use x509_cert::name::Name;
        let hex = |der: Vec<u8>| {
            der.iter()
                .map(|b| alloc::format!("{b:02x}"))
                .collect::<String>()
        };
        let utf8 =
            |v: &str| alloc::format!("#{}", hex(Utf8StringRef::new(v).unwrap().to_der().unwrap()));
        for (oid, key) in ATTRIBUTE_NAMES {
            for value in ["Alice", " lead,\"q\"+<x>;\\#y\u{1}\u{7f} ", "#first", "é ü"] {
                let name = Name::from_str(&alloc::format!(
                    "{oid}={},2.5.4.10={}+1.2.3.4={}",
                    utf8(value),
                    utf8("Org"),
                    utf8("x")
                ))
                .unwrap();
                assert_eq!(name_string(&name), name.to_string(), "{key}");
                assert!(
                    name_string(&name).contains(&alloc::format!("{key}=")),
                    "{key}"
                );
            }
            // PrintableString and a value that is not a string (INTEGER 5).
            let printable = hex(PrintableStringRef::new("Bob").unwrap().to_der().unwrap());
            let name = Name::from_str(&alloc::format!("{oid}=#{printable},{oid}=#020105")).unwrap();
            assert_eq!(name_string(&name), name.to_string(), "{key}");
        }
        let mut seen = 0;
        for dir in [PKI, CERTS] {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                for cert in parse_certificates(&bytes).unwrap_or_default() {
                    let tbs = cert.tbs_certificate();
                    assert_eq!(
                        name_string(tbs.subject()),
                        tbs.subject().to_string(),
                        "{path:?}"
                    );
                    assert_eq!(
                        name_string(tbs.issuer()),
                        tbs.issuer().to_string(),
                        "{path:?}"
                    );
                    seen += 1;
                }
            }
        }
        assert!(seen > 20, "{seen} certificates");
    }

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
