//! SignedData creation (RFC 5652 §5, RFC 8551 §2.5).

use alloc::vec::Vec;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode, Sequence, Tag};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::algorithms::{self, DigestAlgorithm};
use crate::cms::{
    ID_AES128_CBC, ID_AES256_CBC, ID_CONTENT_TYPE, ID_DATA, ID_MESSAGE_DIGEST, ID_SIGNED_DATA,
    ID_SIGNING_CERTIFICATE_V2, ID_SIGNING_TIME, ID_SMIME_CAPABILITIES,
};
use crate::error::{Error, Result};
use crate::keys::{Identity, PrivateKey};
use crate::time::UnixTime;

/// How one SignedData is made.
#[derive(Clone, Copy, Debug)]
pub struct SignParams {
    /// The digest algorithm (Ed25519 signers always use SHA-512, RFC 8419 §3).
    pub digest: DigestAlgorithm,
    /// RSASSA-PSS for RSA signers.
    pub rsa_pss: bool,
    /// The signing-time attribute.
    pub time: UnixTime,
    /// Leave the content out (for `multipart/signed`).
    pub detached: bool,
}

/// The digest a signer actually uses.
#[must_use]
pub fn effective_digest(key: &PrivateKey, requested: DigestAlgorithm) -> DigestAlgorithm {
    match key {
        PrivateKey::Ed25519(_) => DigestAlgorithm::Sha512,
        _ => requested,
    }
}

/// `ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT id-sha256, certHash, issuerSerial OPTIONAL }`
/// (RFC 5035 §4); the hash is SHA-256, so `hashAlgorithm` is omitted.
#[derive(Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: Option<IssuerSerial>,
}

/// `IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }`
#[derive(Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// `SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies OPTIONAL }`
#[derive(Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// The ciphers Cachet can decrypt, strongest first (RFC 8551 §2.5.2): AES-GCM
/// (AuthEnvelopedData) before AES-CBC.
fn smime_capabilities() -> Vec<AlgorithmIdentifierOwned> {
    [
        crate::cms::cipher::AES256_GCM,
        crate::cms::cipher::AES128_GCM,
        ID_AES256_CBC,
        ID_AES128_CBC,
    ]
    .into_iter()
    .map(|oid| AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    })
    .collect()
}

fn attribute(oid: const_oid::ObjectIdentifier, value: Any) -> Result<Attribute> {
    let mut values = SetOfVec::new();
    values.insert(value)?;
    Ok(Attribute { oid, values })
}

fn signed_attributes(
    identity: &Identity,
    message_digest: &[u8],
    time: UnixTime,
) -> Result<SetOfVec<Attribute>> {
    let cert_der = identity.certificate.to_der()?;
    let cert_hash = DigestAlgorithm::Sha256
        .digest(&cert_der)
        .ok_or(Error::Internal {
            detail: "SHA-256 is always available",
        })?;
    let tbs = identity.certificate.tbs_certificate();
    let signing_cert = SigningCertificateV2 {
        certs: alloc::vec![EssCertIdV2 {
            cert_hash: OctetString::new(cert_hash)?,
            issuer_serial: Some(IssuerSerial {
                issuer: alloc::vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            }),
        }],
    };
    let mut attrs = SetOfVec::new();
    attrs.insert(attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?)?;
    attrs.insert(attribute(
        ID_SIGNING_TIME,
        Any::encode_from(&time.to_x509()?)?,
    )?)?;
    attrs.insert(attribute(
        ID_MESSAGE_DIGEST,
        Any::new(Tag::OctetString, message_digest)?,
    )?)?;
    attrs.insert(attribute(
        ID_SMIME_CAPABILITIES,
        Any::encode_from(&smime_capabilities())?,
    )?)?;
    attrs.insert(attribute(
        ID_SIGNING_CERTIFICATE_V2,
        Any::encode_from(&signing_cert)?,
    )?)?;
    Ok(attrs)
}

/// Sign `content` (the canonical MIME entity) and return a DER `ContentInfo` holding SignedData.
///
/// # Errors
/// `API_MISUSE` without signers, `KEY_UNSUPPORTED`, `DER_MALFORMED` for unencodable input.
pub fn sign<R: rand_core::CryptoRng + ?Sized>(
    content: &[u8],
    signers: &[&Identity],
    params: &SignParams,
    rng: &mut R,
) -> Result<Vec<u8>> {
    sign_with(content, signers, params, None, rng)
}

/// What was computed outside the core for a single signer (by WebCrypto, whose SHA-2 and RSA
/// run natively): the content's digest and, for RSA, the signature over [`to_be_signed`]'s
/// bytes.
#[derive(Clone, Copy, Debug)]
pub struct Precomputed<'a> {
    /// The digest of the content, with the signer's [`effective_digest`] (SHA-2).
    pub digest: &'a [u8],
    /// The signature over [`to_be_signed`] for that digest (RSA only; see
    /// [`can_precompute`]); `None`: the core signs.
    pub signature: Option<&'a [u8]>,
}

/// Can a signature with this key be made outside the core (RSA PKCS#1 v1.5 or PSS, SHA-2)?
/// Other keys are fast enough here (ECDSA, Ed25519) and are always signed by the core.
#[must_use]
pub fn can_precompute(key: &PrivateKey, digest: DigestAlgorithm) -> bool {
    matches!(key, PrivateKey::Rsa(_))
        && key
            .rsa_bits()
            .is_some_and(|bits| bits >= algorithms::RSA_MIN_SIGN_BITS)
        && !digest.is_weak()
}

/// The bytes a signer signs (the DER `SET OF` signed attributes, RFC 5652 §5.4) for content
/// whose digest is `message_digest`, at `time`.
///
/// # Errors
/// `DER_MALFORMED` for unencodable input.
pub fn to_be_signed(identity: &Identity, message_digest: &[u8], time: UnixTime) -> Result<Vec<u8>> {
    Ok(signed_attributes(identity, message_digest, time)?.to_der()?)
}

/// [`sign`], with the digest and signature of the one signer made elsewhere when `precomputed`
/// is given. The signature is checked against the signer's certificate before it is used, so
/// a wrong key or a broken signer never leaves here as a signed message.
///
/// # Errors
/// Those of [`sign`]; `API_MISUSE` when `precomputed` comes with other than one RSA signer, a
/// digest of the wrong length, or a signature the certificate does not verify.
pub fn sign_with<R: rand_core::CryptoRng + ?Sized>(
    content: &[u8],
    signers: &[&Identity],
    params: &SignParams,
    precomputed: Option<Precomputed<'_>>,
    rng: &mut R,
) -> Result<Vec<u8>> {
    if let Some(given) = precomputed {
        let [identity] = signers else {
            return Err(Error::misuse(
                "a precomputed signature is for exactly one signer",
            ));
        };
        let digest = effective_digest(&identity.key, params.digest);
        if given.signature.is_some() && !can_precompute(&identity.key, digest) {
            return Err(Error::misuse(
                "a precomputed signature needs an RSA key and SHA-2",
            ));
        }
        if given.digest.len() != digest.output_len() {
            return Err(Error::misuse("the precomputed digest has the wrong length"));
        }
    }
    if signers.is_empty() {
        return Err(Error::misuse("at least one signer is needed"));
    }
    let mut digest_algorithms = SetOfVec::new();
    let mut signer_infos = SetOfVec::new();
    let mut certificates = SetOfVec::new();
    for identity in signers {
        let digest = effective_digest(&identity.key, params.digest);
        let digest_alg = AlgorithmIdentifierOwned {
            oid: digest.oid(),
            parameters: None,
        };
        if !digest_algorithms
            .iter()
            .any(|d: &AlgorithmIdentifierOwned| d.oid == digest_alg.oid)
        {
            digest_algorithms.insert(digest_alg.clone())?;
        }
        let message_digest = match precomputed {
            Some(given) => given.digest.to_vec(),
            None => digest.digest(content).ok_or(Error::Internal {
                detail: "signing digests are computable",
            })?,
        };
        let attrs = signed_attributes(identity, &message_digest, params.time)?;
        let to_be_signed = attrs.to_der()?;
        let (signature_algorithm, signature) = match precomputed.and_then(|p| p.signature) {
            Some(given) => {
                let algorithm = algorithms::rsa_signature_algorithm(digest, params.rsa_pss)?;
                let spki = identity
                    .certificate
                    .tbs_certificate()
                    .subject_public_key_info();
                algorithms::verify_signature(spki, &algorithm, Some(digest), &to_be_signed, given)
                    .map_err(|_| {
                        Error::misuse(
                            "the precomputed signature does not verify with the certificate",
                        )
                    })?;
                (algorithm, given.to_vec())
            }
            None => algorithms::sign(&identity.key, digest, params.rsa_pss, &to_be_signed, rng)?,
        };
        let tbs = identity.certificate.tbs_certificate();
        signer_infos.insert(SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: tbs.issuer().clone(),
                serial_number: tbs.serial_number().clone(),
            }),
            digest_alg,
            signed_attrs: Some(attrs),
            signature_algorithm,
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        })?;
        for cert in core::iter::once(&identity.certificate).chain(identity.chain.iter()) {
            let choice = CertificateChoices::Certificate(cert.clone());
            if !certificates.iter().any(|c| c == &choice) {
                certificates.insert(choice)?;
            }
        }
    }
    let econtent = if params.detached {
        None
    } else {
        Some(Any::new(Tag::OctetString, content)?)
    };
    let signed_data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent,
        },
        certificates: Some(CertificateSet(certificates)),
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    let info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(info.to_der()?)
}
