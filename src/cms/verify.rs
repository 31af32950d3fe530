//! SignedData verification (RFC 5652 §5.6, RFC 8551 §2.5, RFC 8550 §4).
//!
//! One report per SignerInfo: a signature that does not hold is a status, not an error. Errors are
//! for input that cannot be processed at all.

use alloc::string::String;
use alloc::vec::Vec;

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::{Decode, Encode};
use x509_cert::Certificate;

use crate::algorithms::{self, DigestAlgorithm, SignatureError};
use crate::cms::{
    elements, read_tlv, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_TIME,
};
use crate::error::{Error, Result};
use crate::smime::{SignerReport, SignerStatus, VerifyOptions};
use crate::time::UnixTime;
use crate::x509::{self, path};

/// Most SignerInfos Cachet checks in one SignedData.
pub const MAX_SIGNERS: usize = 64;
/// Most certificates Cachet reads from one SignedData.
pub const MAX_CERTIFICATES: usize = 256;
/// Smallest RSA signer key reported valid (bits); 1024 to 2047 bits verify but are reported
/// `weak-algorithm` / `KEY_TOO_SMALL` (below 1024 the signature is not checked at all).
pub const RSA_MIN_TRUSTED_BITS: usize = 2048;

/// The RSA modulus size of a certificate's key; `None` for other keys.
fn rsa_modulus_bits(cert: &Certificate) -> Option<usize> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid != const_oid::db::rfc5912::RSA_ENCRYPTION
        && spki.algorithm.oid != const_oid::db::rfc5912::ID_RSASSA_PSS
    {
        return None;
    }
    let key = pkcs1::RsaPublicKeyRef::try_from(spki.subject_public_key.as_bytes()?).ok()?;
    let modulus = key.modulus.as_bytes();
    let top = modulus.first()?;
    Some((modulus.len() - 1) * 8 + (8 - top.leading_zeros() as usize))
}

/// A decoded SignedData, with the raw signed attributes of each signer kept as sent.
#[derive(Clone, Debug)]
pub struct ParsedSignedData {
    /// The encapsulated content type.
    pub content_type: const_oid::ObjectIdentifier,
    /// The encapsulated content, when not detached.
    pub content: Option<Vec<u8>>,
    /// Certificates carried in the message.
    pub certificates: Vec<Certificate>,
    /// The signers in message order, each with its signed attributes re-tagged as `SET OF`.
    pub signers: Vec<(SignerInfo, Option<Vec<u8>>)>,
}

/// Decode a DER `ContentInfo` holding SignedData.
///
/// # Errors
/// `NOT_SIGNED` for another content type, `CMS_MALFORMED`/`DER_MALFORMED` for bad encodings,
/// `INPUT_TOO_LARGE` past the limits.
pub fn parse(der_bytes: &[u8]) -> Result<ParsedSignedData> {
    if der_bytes.len() > crate::cms::MAX_CMS_SIZE {
        return Err(Error::InputTooLarge {
            what: "CMS size",
            limit: crate::cms::MAX_CMS_SIZE,
        });
    }
    // NSS, gpgsm, Java and Outlook write BER (indefinite lengths, segmented OCTET STRINGs).
    let normalised = crate::ber::to_der(der_bytes)?;
    crate::cms::check_signed_data_counts(&normalised, MAX_CERTIFICATES, MAX_SIGNERS)?;
    let info = ContentInfo::from_der(&normalised)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(Error::NotSigned);
    }
    let sd_der = info.content.to_der()?;
    let sd = SignedData::from_der(&sd_der)?;
    let content = match &sd.encap_content_info.econtent {
        Some(any) if der::Tagged::tag(any) == der::Tag::OctetString => Some(any.value().to_vec()),
        Some(_) => {
            return Err(Error::CmsMalformed {
                detail: "eContent is not an OCTET STRING",
            })
        }
        None => None,
    };
    let mut certificates = Vec::new();
    if let Some(set) = &sd.certificates {
        for choice in set.0.iter() {
            if let CertificateChoices::Certificate(c) = choice {
                certificates.push(c.clone());
            }
        }
    }
    if certificates.len() > MAX_CERTIFICATES {
        return Err(Error::InputTooLarge {
            what: "certificates",
            limit: MAX_CERTIFICATES,
        });
    }
    // Walk the raw encoding for signer order and the signed attributes exactly as sent: decoding
    // a SET OF sorts it, and re-encoding a badly sorted set would break a valid signature.
    let (outer, _) = read_tlv(&sd_der)?;
    let fields = elements(outer.contents)?;
    let raw_infos = fields.last().ok_or(Error::CmsMalformed {
        detail: "no signerInfos",
    })?;
    let mut signers = Vec::new();
    for raw in elements(raw_infos.contents)? {
        if signers.len() >= MAX_SIGNERS {
            return Err(Error::InputTooLarge {
                what: "signers",
                limit: MAX_SIGNERS,
            });
        }
        let info = SignerInfo::from_der(raw.whole)?;
        let attrs = elements(raw.contents)?
            .into_iter()
            .find(|t| t.tag == 0xa0)
            .map(|t| {
                let mut v = t.whole.to_vec();
                if let Some(first) = v.first_mut() {
                    *first = 0x31; // [0] IMPLICIT SET OF → SET OF (RFC 5652 §5.4)
                }
                v
            });
        signers.push((info, attrs));
    }
    Ok(ParsedSignedData {
        content_type: sd.encap_content_info.econtent_type,
        content,
        certificates,
        signers,
    })
}

/// The problem a signer has, with its stable report code and reason.
struct Verdict {
    status: SignerStatus,
    code: &'static str,
    reason: String,
}

fn verdict(status: SignerStatus, code: &'static str, reason: impl Into<String>) -> Verdict {
    Verdict {
        status,
        code,
        reason: reason.into(),
    }
}

/// Every report code a signer can get, with its status (the README table comes from this list).
pub const REPORT_CODES: &[(&str, &str, &str)] = &[
    (
        "SIG_VALID",
        "valid",
        "signature, content, chain, usage and address hold",
    ),
    (
        "SIG_INVALID",
        "invalid-signature",
        "the signature does not verify with the signer's key",
    ),
    (
        "SIG_ATTRS_INVALID",
        "invalid-signature",
        "signed attributes missing or inconsistent",
    ),
    (
        "CONTENT_ALTERED",
        "content-altered",
        "the content does not match the signed digest",
    ),
    (
        "CERT_MISSING",
        "untrusted",
        "the signer certificate is not in the message nor given",
    ),
    ("CERT_UNTRUSTED", "untrusted", "no chain to a trust anchor"),
    (
        "CERT_CHAIN_INVALID",
        "untrusted",
        "a certificate signature in the chain does not verify",
    ),
    (
        "CERT_NOT_CA",
        "untrusted",
        "an issuer in the chain is not a CA",
    ),
    (
        "CERT_PATH_LENGTH",
        "untrusted",
        "a CA's pathLenConstraint is exceeded",
    ),
    (
        "CERT_MALFORMED",
        "untrusted",
        "a certificate in the chain is malformed",
    ),
    (
        "CERT_EXPIRED",
        "expired",
        "a certificate had expired at the verification time",
    ),
    (
        "CERT_NOT_YET_VALID",
        "not-yet-valid",
        "a certificate was not yet valid at that time",
    ),
    (
        "CERT_KEY_USAGE",
        "wrong-usage",
        "keyUsage lacks digitalSignature/nonRepudiation",
    ),
    (
        "CERT_EXT_KEY_USAGE",
        "wrong-usage",
        "extendedKeyUsage lacks emailProtection",
    ),
    (
        "ADDRESS_MISMATCH",
        "address-mismatch",
        "the certificate does not name the From: address",
    ),
    (
        "CERT_NO_EMAIL",
        "address-mismatch",
        "the certificate names no email address",
    ),
    (
        "WEAK_DIGEST",
        "weak-algorithm",
        "the signature uses MD5 or SHA-1",
    ),
    (
        "CERT_WEAK_SIGNATURE",
        "weak-algorithm",
        "a certificate in the chain is signed with MD5/SHA-1",
    ),
    (
        "KEY_TOO_SMALL",
        "weak-algorithm",
        "the signer key is too small",
    ),
    (
        "UNSUPPORTED_ALGORITHM",
        "unsupported-algorithm",
        "an algorithm Cachet does not implement",
    ),
    (
        "ECONTENT_MISMATCH",
        "content-altered",
        "a detached signature carries its own, different content",
    ),
    (
        "CERT_CRITICAL_EXTENSION",
        "untrusted",
        "a certificate of the chain has a critical extension Cachet does not process",
    ),
    (
        "CERT_REVOKED",
        "revoked",
        "a certificate of the chain is revoked by a CRL given",
    ),
    (
        "DATE_MISMATCH",
        "date-mismatch",
        "the Date: header is over an hour after the signing time",
    ),
];

fn matches_sid(cert: &Certificate, sid: &SignerIdentifier) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => x509::key_identifiers(cert)
            .iter()
            .any(|id| id.as_slice() == ski.0.as_bytes()),
    }
}

fn single_attr(
    info: &SignerInfo,
    oid: const_oid::ObjectIdentifier,
) -> core::result::Result<Option<&der::Any>, ()> {
    let Some(attrs) = &info.signed_attrs else {
        return Ok(None);
    };
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    match (found.next(), found.next()) {
        (None, _) => Ok(None),
        (Some(a), None) if a.values.len() == 1 => Ok(a.values.iter().next()),
        _ => Err(()),
    }
}

fn signature_name(oid: &const_oid::ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.113549.1.1.12"
        | "1.2.840.113549.1.1.13"
        | "1.2.840.113549.1.1.14" => "rsa-pkcs1v15",
        "1.2.840.113549.1.1.10" => "rsa-pss",
        "1.2.840.10045.2.1"
        | "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.2"
        | "1.2.840.10045.4.3.3"
        | "1.2.840.10045.4.3.4" => "ecdsa",
        "1.3.101.112" => "ed25519",
        other => return String::from(other),
    };
    String::from(name)
}

/// Signed content, and digests of it made elsewhere (by WebCrypto, whose SHA-2 is native) that
/// are used instead of hashing it here.
#[derive(Clone, Copy, Debug)]
pub struct SignedContent<'a> {
    /// The content.
    pub bytes: &'a [u8],
    /// Digests of `bytes` already made, by algorithm.
    pub digests: &'a [(DigestAlgorithm, Vec<u8>)],
}

impl SignedContent<'_> {
    fn digest(&self, algorithm: DigestAlgorithm) -> Option<Vec<u8>> {
        match self.digests.iter().find(|(a, _)| *a == algorithm) {
            Some((_, value)) => Some(value.clone()),
            None => algorithm.digest(self.bytes),
        }
    }
}

/// Verify every signer of `parsed` over `content`. `from` is the message's `From:` address,
/// checked against each signer certificate when given.
#[must_use]
pub fn verify_signers(
    parsed: &ParsedSignedData,
    content: &[u8],
    options: &VerifyOptions<'_>,
    from: Option<&str>,
) -> Vec<SignerReport> {
    let content = SignedContent {
        bytes: content,
        digests: &[],
    };
    verify_signers_with(parsed, &content, options, from)
}

/// [`verify_signers`] with digests of the content made elsewhere ([`SignedContent::digests`]).
#[must_use]
pub fn verify_signers_with(
    parsed: &ParsedSignedData,
    content: &SignedContent<'_>,
    options: &VerifyOptions<'_>,
    from: Option<&str>,
) -> Vec<SignerReport> {
    let mut pool: Vec<Certificate> = parsed.certificates.clone();
    pool.extend(options.certificates.iter().cloned());
    parsed
        .signers
        .iter()
        .map(|(info, raw_attrs)| {
            verify_one(
                parsed,
                info,
                raw_attrs.as_deref(),
                content,
                &pool,
                options,
                from,
            )
        })
        .collect()
}

fn verify_one(
    parsed: &ParsedSignedData,
    info: &SignerInfo,
    raw_attrs: Option<&[u8]>,
    content: &SignedContent<'_>,
    pool: &[Certificate],
    options: &VerifyOptions<'_>,
    from: Option<&str>,
) -> SignerReport {
    let digest = DigestAlgorithm::from_oid(&info.digest_alg.oid);
    let candidates: Vec<&Certificate> = pool.iter().filter(|c| matches_sid(c, &info.sid)).collect();
    let signing_time = single_attr(info, ID_SIGNING_TIME)
        .ok()
        .flatten()
        .and_then(|any| any.decode_as::<x509_cert::time::Time>().ok())
        .map(|t| UnixTime::from_x509(&t));
    let capabilities = single_attr(info, crate::cms::ID_SMIME_CAPABILITIES)
        .ok()
        .flatten()
        .and_then(|any| any.decode_as::<Vec<spki::AlgorithmIdentifierOwned>>().ok())
        .map(|caps| {
            caps.iter()
                .filter_map(|c| crate::cms::cipher::ContentCipher::from_oid(&c.oid))
                .collect()
        });
    let mut report = SignerReport {
        capabilities,
        status: SignerStatus::Valid,
        code: "SIG_VALID",
        reason: String::new(),
        email: None,
        emails: Vec::new(),
        subject: None,
        certificate: candidates.first().map(|c| (*c).clone()),
        chain: Vec::new(),
        signing_time,
        digest_algorithm: digest.map_or_else(
            || info.digest_alg.oid.to_string(),
            |d| String::from(d.micalg()),
        ),
        signature_algorithm: signature_name(&info.signature_algorithm.oid),
    };
    let v = check(
        parsed,
        info,
        raw_attrs,
        digest,
        content,
        &candidates,
        pool,
        options,
        from,
        &mut report,
    );
    report.status = v.status;
    report.code = v.code;
    report.reason = v.reason;
    if let Some(cert) = &report.certificate {
        report.emails = x509::email_addresses(cert);
        report.email = report.emails.first().cloned();
        report.subject = Some(x509::subject(cert));
    }
    report
}

#[allow(clippy::too_many_arguments)]
fn check(
    parsed: &ParsedSignedData,
    info: &SignerInfo,
    raw_attrs: Option<&[u8]>,
    digest: Option<DigestAlgorithm>,
    content: &SignedContent<'_>,
    candidates: &[&Certificate],
    pool: &[Certificate],
    options: &VerifyOptions<'_>,
    from: Option<&str>,
    report: &mut SignerReport,
) -> Verdict {
    use SignerStatus as S;
    let Some(digest) = digest else {
        return verdict(
            S::UnsupportedAlgorithm,
            "UNSUPPORTED_ALGORITHM",
            alloc::format!("digest algorithm {} is not supported", info.digest_alg.oid),
        );
    };
    if candidates.is_empty() {
        return verdict(
            S::Untrusted,
            "CERT_MISSING",
            "the signer's certificate is not in the message; pass it as an extra certificate",
        );
    }
    // What the signature covers: the signed attributes (as sent, tagged SET OF) or the content.
    let signed: &[u8] = match raw_attrs {
        Some(attrs) => attrs,
        None => content.bytes,
    };
    let mut chosen = None;
    let mut unsupported = None;
    let mut too_small = false;
    for cert in candidates {
        let spki = cert.tbs_certificate().subject_public_key_info();
        match algorithms::verify_signature(
            spki,
            &info.signature_algorithm,
            Some(digest),
            signed,
            info.signature.as_bytes(),
        ) {
            Ok(v) => {
                report.signature_algorithm = String::from(v.name);
                chosen = Some(*cert);
                break;
            }
            Err(SignatureError::Unsupported(what)) => unsupported = Some(what),
            Err(SignatureError::KeyTooSmall) => too_small = true,
            Err(SignatureError::Invalid) => {}
        }
    }
    let Some(cert) = chosen else {
        if let Some(what) = unsupported {
            return verdict(
                S::UnsupportedAlgorithm,
                "UNSUPPORTED_ALGORITHM",
                alloc::format!("signature algorithm {what} is not supported"),
            );
        }
        if too_small {
            return verdict(
                S::WeakAlgorithm,
                "KEY_TOO_SMALL",
                "the signer's key is too small to be trusted",
            );
        }
        return verdict(
            S::InvalidSignature,
            "SIG_INVALID",
            "the signature does not verify with the signer's public key",
        );
    };
    report.certificate = Some(cert.clone());
    if raw_attrs.is_some() {
        // RFC 5652 §5.3: content-type and message-digest are required, once each.
        match single_attr(info, ID_CONTENT_TYPE) {
            Ok(Some(any))
                if any.decode_as::<const_oid::ObjectIdentifier>().ok()
                    == Some(parsed.content_type) => {}
            _ => {
                return verdict(
                    S::InvalidSignature,
                    "SIG_ATTRS_INVALID",
                    "the content-type attribute is missing or does not match",
                )
            }
        }
        let expected = match single_attr(info, ID_MESSAGE_DIGEST) {
            Ok(Some(any)) => match any.decode_as::<der::asn1::OctetString>() {
                Ok(os) => os,
                Err(_) => {
                    return verdict(
                        S::InvalidSignature,
                        "SIG_ATTRS_INVALID",
                        "the message-digest attribute is malformed",
                    )
                }
            },
            _ => {
                return verdict(
                    S::InvalidSignature,
                    "SIG_ATTRS_INVALID",
                    "the message-digest attribute is missing or repeated",
                )
            }
        };
        match content.digest(digest) {
            Some(actual) if actual.as_slice() == expected.as_bytes() => {}
            Some(_) => {
                return verdict(
                    S::ContentAltered,
                    "CONTENT_ALTERED",
                    "the message was altered after it was signed: its digest does not match",
                )
            }
            None => {
                return verdict(
                    S::UnsupportedAlgorithm,
                    "UNSUPPORTED_ALGORITHM",
                    alloc::format!("cannot compute {}", digest.micalg()),
                )
            }
        }
    }
    let path = path::validate(cert, pool, options.trust_anchors, options.time);
    report.chain = path.chain;
    let weak_chain = path.problem == Some(path::PathProblem::WeakSignature);
    if let Some(problem) = path.problem.filter(|_| !weak_chain) {
        use path::PathProblem as P;
        return match problem {
            P::Untrusted => verdict(
                S::Untrusted,
                "CERT_UNTRUSTED",
                "the signer's certificate does not chain to a trusted anchor",
            ),
            P::Expired => verdict(
                S::Expired,
                "CERT_EXPIRED",
                "a certificate of the signer's chain had expired at the verification time",
            ),
            P::NotYetValid => verdict(
                S::NotYetValid,
                "CERT_NOT_YET_VALID",
                "a certificate of the signer's chain was not yet valid at the verification time",
            ),
            P::BadSignature => verdict(
                S::Untrusted,
                "CERT_CHAIN_INVALID",
                "a certificate of the chain is not signed by its issuer",
            ),
            P::NotCa => verdict(
                S::Untrusted,
                "CERT_NOT_CA",
                "an issuer in the chain is not a certification authority",
            ),
            P::PathLength => verdict(
                S::Untrusted,
                "CERT_PATH_LENGTH",
                "the chain is longer than a CA allows",
            ),
            P::WeakSignature => verdict(
                S::WeakAlgorithm,
                "CERT_WEAK_SIGNATURE",
                "a certificate of the chain is signed with MD5 or SHA-1",
            ),
            P::UnsupportedAlgorithm(what) => verdict(
                S::UnsupportedAlgorithm,
                "UNSUPPORTED_ALGORITHM",
                alloc::format!("the chain uses {what}, which is not supported"),
            ),
            P::Malformed => verdict(
                S::Untrusted,
                "CERT_MALFORMED",
                "a certificate of the chain is malformed",
            ),
            P::UnhandledCriticalExtension(oid) => verdict(
                S::Untrusted,
                "CERT_CRITICAL_EXTENSION",
                alloc::format!("a certificate of the chain has a critical extension ({oid}) Cachet does not process"),
            ),
        };
    }
    if let Some(i) = x509::crl::revoked(&report.chain, options.crls, options.time) {
        let which = if i == 0 {
            "the signer's certificate"
        } else {
            "a CA certificate of the chain"
        };
        return verdict(
            S::Revoked,
            "CERT_REVOKED",
            alloc::format!("{which} is revoked by a CRL"),
        );
    }
    match path::check_signer_usage(cert) {
        Ok(()) => {}
        Err(path::UsageProblem::KeyUsage) => {
            return verdict(
                S::WrongUsage,
                "CERT_KEY_USAGE",
                "the certificate's keyUsage does not allow signing",
            )
        }
        Err(path::UsageProblem::ExtendedKeyUsage) => {
            return verdict(
                S::WrongUsage,
                "CERT_EXT_KEY_USAGE",
                "the certificate is not for email protection (extendedKeyUsage)",
            )
        }
    }
    if let Some(from) = from {
        if x509::email_addresses(cert).is_empty() {
            return verdict(
                S::AddressMismatch,
                "CERT_NO_EMAIL",
                alloc::format!(
                    "the certificate names no email address, so it cannot vouch for {from}"
                ),
            );
        }
        if !x509::address_matches(cert, from) {
            return verdict(
                S::AddressMismatch,
                "ADDRESS_MISMATCH",
                alloc::format!("the certificate does not name the sender {from}"),
            );
        }
    }
    // Last: everything else holds, but the algorithm is no longer safe.
    if let Some(bits) = rsa_modulus_bits(cert).filter(|b| *b < RSA_MIN_TRUSTED_BITS) {
        return verdict(
            S::WeakAlgorithm,
            "KEY_TOO_SMALL",
            alloc::format!(
                "the signature verifies but the signer's RSA key has {bits} bits (fewer than \
                 {RSA_MIN_TRUSTED_BITS})"
            ),
        );
    }
    if digest.is_weak() {
        return verdict(
            S::WeakAlgorithm,
            "WEAK_DIGEST",
            alloc::format!(
                "the signature verifies but uses {}, which is no longer safe",
                digest.micalg()
            ),
        );
    }
    if weak_chain {
        return verdict(
            S::WeakAlgorithm,
            "CERT_WEAK_SIGNATURE",
            "a certificate of the chain is signed with MD5 or SHA-1",
        );
    }
    verdict(
        S::Valid,
        "SIG_VALID",
        "good signature from a trusted certificate",
    )
}
