//! RecipientInfo: wrapping and unwrapping the content-encryption key.
//!
//! - Key transport (RFC 5652 §6.2.1): RSA PKCS#1 v1.5 (RFC 3370) and RSAES-OAEP (RFC 8017,
//!   RFC 4055 parameters; SHA-1/224/256/384/512 with any MGF1 hash and a label when reading).
//! - Key agreement (RFC 5753): ephemeral-static ECDH on P-256/P-384 with the ANSI X9.63 KDF
//!   (`dhSinglePass-stdDH-sha*kdf-scheme`, also the cofactor variants, identical on these curves)
//!   and AES key wrap (RFC 3394).
//! - Key agreement with X25519 (RFC 8418): ephemeral-static, the same X9.63 KDF schemes over
//!   ECC-CMS-SharedInfo and AES key wrap. Cachet writes `dhSinglePass-stdDH-sha256kdf-scheme`,
//!   which BouncyCastle reads (one of the KDFs RFC 8418 names).
//!
//! Not handled: static-static ECDH (originator by certificate), the HKDF schemes of RFC 8418
//! (`dhSinglePass-stdDH-hkdf-sha*-scheme`: no peer here writes or reads them), X448, KEK,
//! password and KEM recipients.

use alloc::vec::Vec;

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::enveloped_data::{
    KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo, KeyTransRecipientInfo,
    OriginatorIdentifierOrKey, OriginatorPublicKey, RecipientEncryptedKey, RecipientIdentifier,
    RecipientInfo, RecipientKeyIdentifier,
};
use const_oid::ObjectIdentifier;
use der::asn1::{BitString, OctetString};
use der::{Any, Encode, Sequence};
use p256::elliptic_curve::Generate;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::algorithms::DigestAlgorithm;
use crate::error::{Error, Result};
use crate::keys::{Identity, PrivateKey, X25519};
use crate::x509;

/// rsaEncryption (RSA PKCS#1 v1.5 key transport).
pub const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-RSAES-OAEP.
pub const RSAES_OAEP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.7");
const MGF1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.8");
const P_SPECIFIED: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.9");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const AES128_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.5");
const AES192_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.25");
const AES256_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.45");
/// id-alg-CMS3DESwrap (RFC 3217).
const DES3_WRAP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.3.6");
/// dhSinglePass-stdDH-sha1kdf-scheme (RFC 5753 §7.1.4; OpenSSL's default).
const STD_DH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.133.16.840.63.0.2");
const STD_DH_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.0");
const STD_DH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.1");
const STD_DH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.2");
const STD_DH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.11.3");
const COFACTOR_DH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.133.16.840.63.0.3");
const COFACTOR_DH_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.14.0");
const COFACTOR_DH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.14.1");
const COFACTOR_DH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.14.2");
const COFACTOR_DH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.1.14.3");

/// How to transport the key to an RSA recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RsaTransport {
    /// RSAES-PKCS1-v1_5: what every client reads.
    Pkcs1v15,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256, parameters written explicitly.
    OaepSha256,
}

/// `ECC-CMS-SharedInfo` (RFC 5753 §7.2).
#[derive(Sequence)]
struct EccCmsSharedInfo {
    key_info: AlgorithmIdentifierOwned,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    entity_u_info: Option<OctetString>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    supp_pub_info: OctetString,
}

/// The certificate's subjectKeyIdentifier, or the RFC 5280 §4.2.1.2 method 1 value (SHA-1 of
/// the subjectPublicKey) when it has none.
fn key_id(cert: &Certificate) -> Result<SubjectKeyIdentifier> {
    let id = x509::subject_key_id(cert).or_else(|| {
        let key = cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .as_bytes()?;
        DigestAlgorithm::Sha1.digest(key)
    });
    let id = id.ok_or(Error::CertificateMalformed)?;
    Ok(SubjectKeyIdentifier(OctetString::new(id)?))
}

fn issuer_and_serial(cert: &Certificate) -> IssuerAndSerialNumber {
    let tbs = cert.tbs_certificate();
    IssuerAndSerialNumber {
        issuer: tbs.issuer().clone(),
        serial_number: tbs.serial_number().clone(),
    }
}

/// Which kind of key a certificate holds, for encryption.
enum RecipientKey {
    Rsa(rsa::RsaPublicKey),
    P256(p256::PublicKey),
    P384(p384::PublicKey),
    X25519(x25519_dalek::PublicKey),
}

fn recipient_key(cert: &Certificate) -> Result<RecipientKey> {
    let spki = cert.tbs_certificate().subject_public_key_info();
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(Error::CertificateMalformed)?;
    if spki.algorithm.oid == RSA_ENCRYPTION {
        use rsa::pkcs1::DecodeRsaPublicKey;
        use rsa::traits::PublicKeyParts as _;
        let key = rsa::RsaPublicKey::from_pkcs1_der(key_bytes)
            .map_err(|_| Error::CertificateMalformed)?;
        // Sending is held to what signing is: no content key goes to an RSA key too small to
        // keep it (or too large to be a sane one).
        let bits = key.n().bits_vartime() as usize;
        if !crate::algorithms::RSA_SEND_BITS.contains(&bits) {
            return Err(Error::KeyUnsupported {
                algorithm: alloc::format!("RSA-{bits}"),
            });
        }
        return Ok(RecipientKey::Rsa(key));
    }
    if spki.algorithm.oid == EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        return match curve {
            Some(SECP256R1) => Ok(RecipientKey::P256(
                p256::PublicKey::from_sec1_bytes(key_bytes)
                    .map_err(|_| Error::CertificateMalformed)?,
            )),
            Some(SECP384R1) => Ok(RecipientKey::P384(
                p384::PublicKey::from_sec1_bytes(key_bytes)
                    .map_err(|_| Error::CertificateMalformed)?,
            )),
            _ => Err(Error::KeyUnsupported {
                algorithm: alloc::string::String::from("EC curve"),
            }),
        };
    }
    if spki.algorithm.oid == X25519 {
        // RFC 8410 §3: parameters MUST be absent.
        if spki.algorithm.parameters.is_some() {
            return Err(Error::CertificateMalformed);
        }
        let raw: [u8; 32] = key_bytes
            .try_into()
            .map_err(|_| Error::CertificateMalformed)?;
        return Ok(RecipientKey::X25519(x25519_dalek::PublicKey::from(raw)));
    }
    Err(Error::KeyUnsupported {
        algorithm: alloc::format!("{} (not an encryption key)", spki.algorithm.oid),
    })
}

fn wrap_algorithm(cek_len: usize) -> Result<ObjectIdentifier> {
    match cek_len {
        16 => Ok(AES128_WRAP),
        24 => Ok(AES192_WRAP),
        32 => Ok(AES256_WRAP),
        _ => Err(Error::Internal {
            detail: "content keys are 16, 24 or 32 bytes",
        }),
    }
}

/// `wrap` is the key-wrap AlgorithmIdentifier exactly as the KeyAgreeRecipientInfo carries it
/// (absent parameters for AES wrap, NULL for the 3DES wrap).
fn shared_info(
    wrap: &AlgorithmIdentifierOwned,
    ukm: Option<&OctetString>,
    kek_len: usize,
) -> Result<Vec<u8>> {
    let bits = u32::try_from(kek_len * 8).map_err(|_| Error::Internal {
        detail: "key length",
    })?;
    Ok(EccCmsSharedInfo {
        key_info: wrap.clone(),
        entity_u_info: ukm.cloned(),
        supp_pub_info: OctetString::new(bits.to_be_bytes().to_vec())?,
    }
    .to_der()?)
}

/// X9.63 KDF with the hash named by the key-agreement scheme.
fn kdf(scheme: &ObjectIdentifier, z: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    let r = match *scheme {
        STD_DH_SHA1 | COFACTOR_DH_SHA1 => {
            ansi_x963_kdf::derive_key_into::<sha1::Sha1>(z, info, out)
        }
        STD_DH_SHA224 | COFACTOR_DH_SHA224 => {
            ansi_x963_kdf::derive_key_into::<sha2::Sha224>(z, info, out)
        }
        STD_DH_SHA256 | COFACTOR_DH_SHA256 => {
            ansi_x963_kdf::derive_key_into::<sha2::Sha256>(z, info, out)
        }
        STD_DH_SHA384 | COFACTOR_DH_SHA384 => {
            ansi_x963_kdf::derive_key_into::<sha2::Sha384>(z, info, out)
        }
        STD_DH_SHA512 | COFACTOR_DH_SHA512 => {
            ansi_x963_kdf::derive_key_into::<sha2::Sha512>(z, info, out)
        }
        _ => return Err(Error::unsupported(scheme)),
    };
    r.map_err(|_| Error::Decryption)
}

fn aes_wrap(wrap: ObjectIdentifier, kek: &[u8], cek: &[u8]) -> Result<Vec<u8>> {
    use aes_kw::cipher::KeyInit;
    let mut out = alloc::vec![0u8; cek.len() + 8];
    let bad = |_| Error::Internal {
        detail: "wrap key sizes are fixed",
    };
    match wrap {
        AES128_WRAP => aes_kw::KwAes128::new_from_slice(kek)
            .map_err(|_| Error::Internal { detail: "kek" })?
            .wrap_key(cek, &mut out)
            .map_err(bad)?,
        AES192_WRAP => aes_kw::KwAes192::new_from_slice(kek)
            .map_err(|_| Error::Internal { detail: "kek" })?
            .wrap_key(cek, &mut out)
            .map_err(bad)?,
        _ => aes_kw::KwAes256::new_from_slice(kek)
            .map_err(|_| Error::Internal { detail: "kek" })?
            .wrap_key(cek, &mut out)
            .map_err(bad)?,
    };
    Ok(out)
}

/// Triple-DES key unwrap (RFC 3217 §3.2), which OpenSSL uses for 3DES content keys sent to EC
/// recipients. Decryption only.
fn des3_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use cbc::cipher::{block_padding::NoPadding, BlockModeDecrypt, KeyIvInit};
    const IV: [u8; 8] = [0x4a, 0xdd, 0xa2, 0x2c, 0x79, 0xe8, 0x21, 0x05];
    if wrapped.len() != 40 {
        return Err(Error::Decryption);
    }
    let temp3 = cbc::Decryptor::<des::TdesEde3>::new_from_slices(kek, &IV)
        .map_err(|_| Error::Decryption)?
        .decrypt_padded_vec::<NoPadding>(wrapped)
        .map_err(|_| Error::Decryption)?;
    let temp2: Zeroizing<Vec<u8>> = Zeroizing::new(temp3.iter().rev().copied().collect());
    let (iv, temp1) = temp2.split_at(8);
    let cek_icv = Zeroizing::new(
        cbc::Decryptor::<des::TdesEde3>::new_from_slices(kek, iv)
            .map_err(|_| Error::Decryption)?
            .decrypt_padded_vec::<NoPadding>(temp1)
            .map_err(|_| Error::Decryption)?,
    );
    let (cek, icv) = cek_icv.split_at(24);
    let check = DigestAlgorithm::Sha1.digest(cek).ok_or(Error::Decryption)?;
    if !bool::from(subtle::ConstantTimeEq::ct_eq(
        check.get(..8).unwrap_or_default(),
        icv,
    )) {
        return Err(Error::Decryption);
    }
    Ok(Zeroizing::new(cek.to_vec()))
}

fn aes_unwrap(wrap: &ObjectIdentifier, kek: &[u8], wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    use aes_kw::cipher::KeyInit;
    if *wrap == DES3_WRAP {
        return des3_unwrap(kek, wrapped);
    }
    if wrapped.len() < 16 || !wrapped.len().is_multiple_of(8) || wrapped.len() > 72 {
        return Err(Error::Decryption);
    }
    let mut out = Zeroizing::new(alloc::vec![0u8; wrapped.len() - 8]);
    let r = match *wrap {
        AES128_WRAP => aes_kw::KwAes128::new_from_slice(kek)
            .map_err(|_| Error::Decryption)?
            .unwrap_key(wrapped, &mut out)
            .map(|_| ()),
        AES192_WRAP => aes_kw::KwAes192::new_from_slice(kek)
            .map_err(|_| Error::Decryption)?
            .unwrap_key(wrapped, &mut out)
            .map(|_| ()),
        AES256_WRAP => aes_kw::KwAes256::new_from_slice(kek)
            .map_err(|_| Error::Decryption)?
            .unwrap_key(wrapped, &mut out)
            .map(|_| ()),
        other => return Err(Error::unsupported(other)),
    };
    r.map_err(|_| Error::Decryption)?;
    Ok(out)
}

fn wrap_key_len(wrap: &ObjectIdentifier) -> Result<usize> {
    match *wrap {
        AES128_WRAP => Ok(16),
        AES192_WRAP => Ok(24),
        AES256_WRAP => Ok(32),
        DES3_WRAP => Ok(24),
        other => Err(Error::unsupported(other)),
    }
}

/// The RecipientInfo that gives `cek` to the holder of `cert`'s key.
///
/// # Errors
/// `KEY_UNSUPPORTED` for a certificate without an RSA (2048 to 8192 bits), P-256/P-384 or X25519
/// key;
/// `CERT_MALFORMED` (also for an X25519 key of small order, which gives no shared secret).
pub fn wrap<R: rand_core::CryptoRng + ?Sized>(
    cert: &Certificate,
    cek: &[u8],
    rsa: RsaTransport,
    by_key_id: bool,
    rng: &mut R,
) -> Result<RecipientInfo> {
    match recipient_key(cert)? {
        RecipientKey::Rsa(key) => {
            let (key_enc_alg, enc_key) = match rsa {
                RsaTransport::Pkcs1v15 => (
                    AlgorithmIdentifierOwned {
                        oid: RSA_ENCRYPTION,
                        parameters: Some(Any::null()),
                    },
                    key.encrypt(rng, rsa::Pkcs1v15Encrypt, cek).map_err(|_| {
                        Error::KeyUnsupported {
                            algorithm: "RSA".into(),
                        }
                    })?,
                ),
                RsaTransport::OaepSha256 => {
                    let params = rsa::pkcs1::RsaOaepParams::new::<sha2::Sha256>();
                    (
                        AlgorithmIdentifierOwned {
                            oid: RSAES_OAEP,
                            parameters: Some(Any::encode_from(&params)?),
                        },
                        key.encrypt(rng, rsa::Oaep::<sha2::Sha256>::new(), cek)
                            .map_err(|_| Error::KeyUnsupported {
                                algorithm: "RSA".into(),
                            })?,
                    )
                }
            };
            // RFC 5652 §6.2.1: version 0 with issuerAndSerialNumber, 2 with the key identifier.
            let (version, rid) = if by_key_id {
                (
                    CmsVersion::V2,
                    RecipientIdentifier::SubjectKeyIdentifier(key_id(cert)?),
                )
            } else {
                (
                    CmsVersion::V0,
                    RecipientIdentifier::IssuerAndSerialNumber(issuer_and_serial(cert)),
                )
            };
            Ok(RecipientInfo::Ktri(KeyTransRecipientInfo {
                version,
                rid,
                key_enc_alg,
                enc_key: OctetString::new(enc_key)?,
            }))
        }
        RecipientKey::P256(public) => {
            let eph: p256::ecdh::EphemeralSecret = Generate::generate_from_rng(rng);
            let shared = eph.diffie_hellman(&public);
            let eph_pub = eph.public_key().to_sec1_bytes();
            kari(
                cert,
                by_key_id,
                cek,
                STD_DH_SHA256,
                shared.raw_secret_bytes().as_slice(),
                &eph_pub,
            )
        }
        RecipientKey::P384(public) => {
            let eph: p384::ecdh::EphemeralSecret = Generate::generate_from_rng(rng);
            let shared = eph.diffie_hellman(&public);
            let eph_pub = eph.public_key().to_sec1_bytes();
            kari(
                cert,
                by_key_id,
                cek,
                STD_DH_SHA384,
                shared.raw_secret_bytes().as_slice(),
                &eph_pub,
            )
        }
        RecipientKey::X25519(public) => {
            let eph = x25519_dalek::EphemeralSecret::random_from_rng(rng);
            let eph_pub = x25519_dalek::PublicKey::from(&eph);
            let shared = eph.diffie_hellman(&public);
            // RFC 7748 §6.1: an all-zero shared secret (a small-order public key) is refused.
            if !shared.was_contributory() {
                return Err(Error::CertificateMalformed);
            }
            kari_with(
                cert,
                by_key_id,
                cek,
                STD_DH_SHA256,
                shared.as_bytes(),
                AlgorithmIdentifierOwned {
                    oid: X25519,
                    parameters: None,
                },
                eph_pub.as_bytes(),
            )
        }
    }
}

fn kari(
    cert: &Certificate,
    by_key_id: bool,
    cek: &[u8],
    scheme: ObjectIdentifier,
    z: &[u8],
    eph_pub: &[u8],
) -> Result<RecipientInfo> {
    // RFC 5753 §7.1.1: id-ecPublicKey with absent parameters (the curve is the recipient's).
    let algorithm = AlgorithmIdentifierOwned {
        oid: EC_PUBLIC_KEY,
        parameters: None,
    };
    kari_with(cert, by_key_id, cek, scheme, z, algorithm, eph_pub)
}

fn kari_with(
    cert: &Certificate,
    by_key_id: bool,
    cek: &[u8],
    scheme: ObjectIdentifier,
    z: &[u8],
    algorithm: AlgorithmIdentifierOwned,
    eph_pub: &[u8],
) -> Result<RecipientInfo> {
    let wrap_oid = wrap_algorithm(cek.len())?;
    let info = shared_info(
        &AlgorithmIdentifierOwned {
            oid: wrap_oid,
            parameters: None,
        },
        None,
        cek.len(),
    )?;
    let mut kek = Zeroizing::new(alloc::vec![0u8; cek.len()]);
    kdf(&scheme, z, &info, &mut kek)?;
    let wrapped = aes_wrap(wrap_oid, &kek, cek)?;
    Ok(RecipientInfo::Kari(KeyAgreeRecipientInfo {
        version: CmsVersion::V3,
        originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
            algorithm,
            public_key: BitString::from_bytes(eph_pub)?,
        }),
        ukm: None,
        key_enc_alg: AlgorithmIdentifierOwned {
            oid: scheme,
            parameters: Some(Any::encode_from(&AlgorithmIdentifierOwned {
                oid: wrap_oid,
                parameters: None,
            })?),
        },
        recipient_enc_keys: alloc::vec![RecipientEncryptedKey {
            rid: if by_key_id {
                KeyAgreeRecipientIdentifier::RKeyId(RecipientKeyIdentifier {
                    subject_key_identifier: key_id(cert)?,
                    date: None,
                    other: None,
                })
            } else {
                KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(issuer_and_serial(cert))
            },
            enc_key: OctetString::new(wrapped)?,
        }],
    }))
}

fn is_our_cert(
    identity: &Identity,
    isn: Option<&IssuerAndSerialNumber>,
    ski: Option<&[u8]>,
) -> bool {
    let tbs = identity.certificate.tbs_certificate();
    match (isn, ski) {
        (Some(isn), _) => tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number,
        (None, Some(ski)) => x509::key_identifiers(&identity.certificate)
            .iter()
            .any(|id| id.as_slice() == ski),
        (None, None) => false,
    }
}

/// Does this RecipientInfo name `identity`'s certificate?
#[must_use]
pub fn is_for(ri: &RecipientInfo, identity: &Identity) -> bool {
    match ri {
        RecipientInfo::Ktri(k) => match &k.rid {
            RecipientIdentifier::IssuerAndSerialNumber(isn) => {
                is_our_cert(identity, Some(isn), None)
            }
            RecipientIdentifier::SubjectKeyIdentifier(ski) => {
                is_our_cert(identity, None, Some(ski.0.as_bytes()))
            }
        },
        RecipientInfo::Kari(k) => k
            .recipient_enc_keys
            .iter()
            .any(|rek| rek_is_ours(rek, identity)),
        _ => false,
    }
}

fn rek_is_ours(rek: &RecipientEncryptedKey, identity: &Identity) -> bool {
    match &rek.rid {
        KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(isn) => {
            is_our_cert(identity, Some(isn), None)
        }
        KeyAgreeRecipientIdentifier::RKeyId(rkid) => is_our_cert(
            identity,
            None,
            Some(rkid.subject_key_identifier.0.as_bytes()),
        ),
    }
}

/// Recover the content-encryption key of length `cek_len` from a RecipientInfo for `identity`.
///
/// For RSA PKCS#1 v1.5 a wrong padding does not fail here: the RSA layer's implicit rejection
/// gives a pseudo-random key, and a key of the wrong length is replaced by a random one (RFC
/// 3218 §2.3.2), so that content decryption fails the same way in every case.
///
/// # Errors
/// `DECRYPTION_FAILED` for every failure once the RecipientInfo is chosen;
/// `CMS_UNSUPPORTED_ALGORITHM` for algorithms Cachet does not implement.
pub fn unwrap<R: rand_core::CryptoRng + ?Sized>(
    ri: &RecipientInfo,
    identity: &Identity,
    cek_len: usize,
    rng: &mut R,
) -> Result<Zeroizing<Vec<u8>>> {
    match ri {
        RecipientInfo::Ktri(k) => unwrap_ktri(k, &identity.key, &identity.unwrapped, cek_len, rng),
        RecipientInfo::Kari(k) => {
            let rek = k
                .recipient_enc_keys
                .iter()
                .find(|rek| rek_is_ours(rek, identity))
                .ok_or(Error::Decryption)?;
            unwrap_kari(k, rek, &identity.key)
        }
        _ => Err(Error::unsupported("RecipientInfo type")),
    }
}

fn random_key<R: rand_core::CryptoRng + ?Sized>(len: usize, rng: &mut R) -> Zeroizing<Vec<u8>> {
    let mut k = Zeroizing::new(alloc::vec![0u8; len]);
    rng.fill_bytes(&mut k);
    k
}

fn unwrap_ktri<R: rand_core::CryptoRng + ?Sized>(
    k: &KeyTransRecipientInfo,
    key: &PrivateKey,
    unwrapped: &[crate::keys::Unwrapped],
    cek_len: usize,
    rng: &mut R,
) -> Result<Zeroizing<Vec<u8>>> {
    let PrivateKey::Rsa(rsa_key) = key else {
        return Err(Error::Decryption);
    };
    let ct = k.enc_key.as_bytes();
    let outside = |padded: bool| {
        unwrapped
            .iter()
            .find(|u| u.padded == padded && u.encrypted_key.as_slice() == ct)
    };
    let decrypted = if k.key_enc_alg.oid == RSA_ENCRYPTION {
        match outside(true) {
            // A raw block from outside (Node): checked and unpadded here, in constant time.
            Some(u) => {
                return Ok(match &u.key {
                    Some(block) => pkcs1v15_block_key(rsa_key, ct, block, cek_len, rng),
                    None => random_key(cek_len, rng),
                });
            }
            // Implicit rejection (rsa >= 0.10): never an error for bad padding.
            None => rsa_key.decrypt_blinded(rng, rsa::Pkcs1v15Encrypt, ct).ok(),
        }
    } else if k.key_enc_alg.oid == RSAES_OAEP {
        match outside(false) {
            // Decrypted outside (WebCrypto, see `transport_request`); `None`: it failed there.
            Some(u) => u.key.as_ref().map(|key| key.to_vec()),
            None => oaep_decrypt(rsa_key, k.key_enc_alg.parameters.as_ref(), ct, rng)?,
        }
    } else {
        return Err(Error::unsupported(k.key_enc_alg.oid));
    };
    let fallback = random_key(cek_len, rng);
    Ok(match decrypted {
        Some(d) if d.len() == cek_len => Zeroizing::new(d),
        Some(mut d) => {
            zeroize::Zeroize::zeroize(&mut d);
            fallback
        }
        None => fallback,
    })
}

fn hash_of(alg: Option<&AlgorithmIdentifierOwned>) -> Result<DigestAlgorithm> {
    // RFC 4055: an absent hash (or MGF1 hash) means SHA-1.
    let Some(alg) = alg else {
        return Ok(DigestAlgorithm::Sha1);
    };
    match DigestAlgorithm::from_oid(&alg.oid) {
        Some(d) if d != DigestAlgorithm::Md5 => Ok(d),
        _ => Err(Error::unsupported(alg.oid)),
    }
}

/// RSAES-OAEP-params (RFC 4055 §4.1, RFC 8017 A.2.1): the hash, MGF1's hash and the label.
fn oaep_params(params: Option<&Any>) -> Result<(DigestAlgorithm, DigestAlgorithm, Vec<u8>)> {
    let sha1 = DigestAlgorithm::Sha1;
    Ok(match params {
        None => (sha1, sha1, Vec::new()),
        Some(p) if p == &Any::null() => (sha1, sha1, Vec::new()),
        Some(p) => {
            let params: rsa::pkcs1::RsaOaepParams<Any> =
                p.decode_as().map_err(|_| Error::CmsMalformed {
                    detail: "RSAES-OAEP parameters",
                })?;
            let hash = hash_of(Some(&AlgorithmIdentifierOwned {
                oid: params.hash.oid,
                parameters: params.hash.parameters.clone(),
            }))?;
            if params.mask_gen.oid != MGF1 {
                return Err(Error::unsupported(params.mask_gen.oid));
            }
            let mgf_hash = params
                .mask_gen
                .parameters
                .as_ref()
                .map(|a| AlgorithmIdentifierOwned {
                    oid: a.oid,
                    parameters: a.parameters.clone(),
                });
            let mgf = hash_of(mgf_hash.as_ref())?;
            if params.p_source.oid != P_SPECIFIED {
                return Err(Error::unsupported(params.p_source.oid));
            }
            let label = match &params.p_source.parameters {
                Some(a) => a
                    .decode_as::<OctetString>()
                    .map(|o| o.as_bytes().to_vec())
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            (hash, mgf, label)
        }
    })
}

/// How another engine may decrypt a key-transport RecipientInfo for the core (see
/// [`transport_request`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// RSAES-OAEP with this hash for OAEP and MGF1 and no label (WebCrypto's RSA-OAEP): the
    /// engine returns the content-encryption key.
    Oaep(DigestAlgorithm),
    /// RSAES-PKCS1-v1_5: the engine returns the raw RSA block (`encryptedKey^d mod n`, as long as
    /// the modulus; Node's `privateDecrypt` with `RSA_NO_PADDING`), which the core checks and
    /// unpads in constant time ([`Unwrapped::padded`](crate::keys::Unwrapped::padded)).
    RawRsa,
}

/// A key-transport RecipientInfo for an identity whose RSA decryption another engine can do
/// natively (wasm has no 64-bit multiply: an RSA-2048 private-key operation costs several times
/// more in the core). The engine's result goes back in [`Identity::unwrapped`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportRequest {
    /// The RecipientInfo's `encryptedKey`.
    pub encrypted_key: Vec<u8>,
    /// What the engine does with it.
    pub scheme: Transport,
}

/// The [`TransportRequest`] of `ri` for `identity`, when it is one: an RSA key, a RecipientInfo
/// addressed to it, RSAES-PKCS1-v1_5 or RSAES-OAEP with the same hash for OAEP and MGF1 (SHA-1,
/// SHA-256, SHA-384 or SHA-512) and no label.
#[must_use]
pub fn transport_request(ri: &RecipientInfo, identity: &Identity) -> Option<TransportRequest> {
    let RecipientInfo::Ktri(k) = ri else {
        return None;
    };
    if !matches!(identity.key, PrivateKey::Rsa(_)) || !is_for(ri, identity) {
        return None;
    }
    let scheme = if k.key_enc_alg.oid == RSA_ENCRYPTION {
        Transport::RawRsa
    } else if k.key_enc_alg.oid == RSAES_OAEP {
        let (hash, mgf, label) = oaep_params(k.key_enc_alg.parameters.as_ref()).ok()?;
        let webcrypto = matches!(
            hash,
            DigestAlgorithm::Sha1
                | DigestAlgorithm::Sha256
                | DigestAlgorithm::Sha384
                | DigestAlgorithm::Sha512
        );
        if !(webcrypto && mgf == hash && label.is_empty()) {
            return None;
        }
        Transport::Oaep(hash)
    } else {
        return None;
    };
    Some(TransportRequest {
        encrypted_key: k.enc_key.as_bytes().to_vec(),
        scheme,
    })
}

/// The content-encryption key in `block`, a raw RSA block another engine computed from `ct`
/// with `key` ([`Transport::RawRsa`]), when it is `block^e mod n == ct` with PKCS#1 v1.5
/// encryption padding (RFC 8017 §7.2.2) around exactly `cek_len` bytes; otherwise random bytes
/// (RFC 3218 §2.3.2), so that content decryption fails the same way. Whether the padding holds
/// is never branched on: every byte is looked at and the result selected in constant time.
fn pkcs1v15_block_key<R: rand_core::CryptoRng + ?Sized>(
    key: &rsa::RsaPrivateKey,
    ct: &[u8],
    block: &[u8],
    cek_len: usize,
    rng: &mut R,
) -> Zeroizing<Vec<u8>> {
    use rsa::traits::PublicKeyParts;
    use subtle::{ConditionallySelectable, ConstantTimeEq};
    let mut out = random_key(cek_len, rng);
    let k = key.size();
    // Public facts: the sizes, and whether the engine's block is RSA's answer for `ct` (it
    // always is unless the engine is broken; the block itself stays secret).
    if block.len() != k || ct.len() > k || k < cek_len + 11 {
        return out;
    }
    let precision = key.n_bits_precision();
    let (Ok(m), Ok(c)) = (
        rsa::BoxedUint::from_be_slice(block, precision),
        rsa::BoxedUint::from_be_slice(ct, precision),
    ) else {
        return out;
    };
    let m = Zeroizing::new(m);
    if !rsa::hazmat::rsa_encrypt(key, &m).is_ok_and(|e| bool::from(e.ct_eq(&c))) {
        return out;
    }
    // EM = 0x00 || 0x02 || PS (k - cek_len - 3 non-zero bytes) || 0x00 || M (cek_len bytes).
    let Some(([zero, two, padding @ ..], [separator, message @ ..])) =
        block.split_at_checked(k - cek_len - 1)
    else {
        return out;
    };
    let mut ok = zero.ct_eq(&0) & two.ct_eq(&2) & separator.ct_eq(&0);
    for b in padding {
        ok &= !b.ct_eq(&0);
    }
    for (o, m) in out.iter_mut().zip(message) {
        o.conditional_assign(m, ok);
    }
    out
}

fn oaep_decrypt<R: rand_core::CryptoRng + ?Sized>(
    key: &rsa::RsaPrivateKey,
    params: Option<&Any>,
    ct: &[u8],
    rng: &mut R,
) -> Result<Option<Vec<u8>>> {
    let (hash, mgf, label) = oaep_params(params)?;
    macro_rules! run {
        ($d:ty, $m:ty) => {
            Ok(key
                .decrypt_blinded(
                    rng,
                    rsa::Oaep::<$d, $m>::new_with_mgf_hash_and_label(label),
                    ct,
                )
                .ok())
        };
    }
    macro_rules! by_mgf {
        ($d:ty) => {
            match mgf {
                DigestAlgorithm::Sha1 => run!($d, sha1::Sha1),
                DigestAlgorithm::Sha224 => run!($d, sha2::Sha224),
                DigestAlgorithm::Sha256 => run!($d, sha2::Sha256),
                DigestAlgorithm::Sha384 => run!($d, sha2::Sha384),
                _ => run!($d, sha2::Sha512),
            }
        };
    }
    match hash {
        DigestAlgorithm::Sha1 => by_mgf!(sha1::Sha1),
        DigestAlgorithm::Sha224 => by_mgf!(sha2::Sha224),
        DigestAlgorithm::Sha256 => by_mgf!(sha2::Sha256),
        DigestAlgorithm::Sha384 => by_mgf!(sha2::Sha384),
        _ => by_mgf!(sha2::Sha512),
    }
}

fn unwrap_kari(
    k: &KeyAgreeRecipientInfo,
    rek: &RecipientEncryptedKey,
    key: &PrivateKey,
) -> Result<Zeroizing<Vec<u8>>> {
    let OriginatorIdentifierOrKey::OriginatorKey(orig) = &k.originator else {
        return Err(Error::unsupported(
            "static-static ECDH (originator by certificate)",
        ));
    };
    let eph = orig.public_key.as_bytes().ok_or(Error::CmsMalformed {
        detail: "originator key",
    })?;
    let wrap: AlgorithmIdentifierOwned = k
        .key_enc_alg
        .parameters
        .as_ref()
        .ok_or(Error::CmsMalformed {
            detail: "key wrap algorithm missing",
        })?
        .decode_as()
        .map_err(|_| Error::CmsMalformed {
            detail: "key wrap algorithm",
        })?;
    let kek_len = wrap_key_len(&wrap.oid)?;
    let z: Zeroizing<Vec<u8>> = match key {
        PrivateKey::P256(sk) => {
            let public = p256::PublicKey::from_sec1_bytes(eph).map_err(|_| Error::Decryption)?;
            let shared = p256::ecdh::diffie_hellman(sk.as_nonzero_scalar(), public.as_affine());
            Zeroizing::new(shared.raw_secret_bytes().to_vec())
        }
        PrivateKey::P384(sk) => {
            let public = p384::PublicKey::from_sec1_bytes(eph).map_err(|_| Error::Decryption)?;
            let shared = p384::ecdh::diffie_hellman(sk.as_nonzero_scalar(), public.as_affine());
            Zeroizing::new(shared.raw_secret_bytes().to_vec())
        }
        PrivateKey::X25519(sk) => {
            // RFC 8418: the originator key is id-X25519 with 32 raw bytes.
            if orig.algorithm.oid != X25519 {
                return Err(Error::Decryption);
            }
            let raw: [u8; 32] = eph.try_into().map_err(|_| Error::Decryption)?;
            let shared = sk.diffie_hellman(&x25519_dalek::PublicKey::from(raw));
            if !shared.was_contributory() {
                return Err(Error::Decryption);
            }
            Zeroizing::new(shared.as_bytes().to_vec())
        }
        _ => return Err(Error::Decryption),
    };
    let info = shared_info(&wrap, k.ukm.as_ref(), kek_len)?;
    let mut kek = Zeroizing::new(alloc::vec![0u8; kek_len]);
    kdf(&k.key_enc_alg.oid, &z, &info, &mut kek)?;
    aes_unwrap(&wrap.oid, &kek, rek.enc_key.as_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;

    fn key() -> rsa::RsaPrivateKey {
        let pem = include_str!("../../tests/vectors/pki/bob-rsa.key");
        rsa::RsaPrivateKey::from_pkcs8_pem(pem).unwrap()
    }

    /// `block` as RSA ciphertext for `key` (`block^e mod n`).
    fn encrypt_raw(key: &rsa::RsaPrivateKey, block: &[u8]) -> Vec<u8> {
        let m = rsa::BoxedUint::from_be_slice(block, key.n_bits_precision()).unwrap();
        let c = rsa::hazmat::rsa_encrypt(key, &m).unwrap();
        let bytes = c.to_be_bytes();
        bytes[bytes.len() - key.size()..].to_vec()
    }

    /// A PKCS#1 v1.5 encryption block around `message` (padding bytes 0x5a).
    fn padded(k: usize, message: &[u8]) -> Vec<u8> {
        let mut b = alloc::vec![0x5a_u8; k];
        b[0] = 0;
        b[1] = 2;
        b[k - message.len() - 1] = 0;
        b[k - message.len()..].copy_from_slice(message);
        b
    }

    #[test]
    fn a_raw_block_gives_its_key_only_when_checked_and_well_padded() {
        let key = key();
        let k = key.size();
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let cek: Vec<u8> = (1..=32).collect();
        let good = padded(k, &cek);
        // A good block: the key, which the rsa crate's own PKCS#1 v1.5 decryption agrees on.
        let ct = encrypt_raw(&key, &good);
        assert_eq!(key.decrypt(rsa::Pkcs1v15Encrypt, &ct).unwrap(), cek);
        assert_eq!(*pkcs1v15_block_key(&key, &ct, &good, 32, &mut rng), cek);
        // The same block for another key length, or not the block of `ct`: a random key.
        for (ct, block, len) in [
            (&ct, &good, 16),
            (&ct, &good, 24),
            (&encrypt_raw(&key, &padded(k, &[7; 32])), &good, 32),
        ] {
            let got = pkcs1v15_block_key(&key, ct, block, len, &mut rng);
            assert_eq!(got.len(), len);
            assert_ne!(&got[..], &good[k - len..]);
        }
        // A block of the wrong size, or a ciphertext of the wrong size.
        assert_ne!(
            *pkcs1v15_block_key(&key, &ct, &good[1..], 32, &mut rng),
            cek
        );
        assert_ne!(
            *pkcs1v15_block_key(&key, &[&[1], &ct[..]].concat(), &good, 32, &mut rng),
            cek
        );
        // Every way the padding can be wrong: a random key of the right length, each time a
        // different one, never the bytes that sit where the key would.
        let mut bad = Vec::new();
        for (at, value) in [
            (0, 1),
            (1, 1),
            (1, 0),
            (2, 0),
            (9, 0),
            (k - 34, 0),
            (k - 33, 1),
        ] {
            let mut b = good.clone();
            b[at] = value;
            bad.push(b);
        }
        bad.push(padded(k, &[9; 31])); // a 31-byte key (its separator sits one byte later)
        bad.push(padded(k, &[9; 33]));
        for block in &bad {
            let ct = encrypt_raw(&key, block);
            let first = pkcs1v15_block_key(&key, &ct, block, 32, &mut rng);
            let again = pkcs1v15_block_key(&key, &ct, block, 32, &mut rng);
            assert_eq!(first.len(), 32);
            assert_ne!(&first[..], &block[k - 32..]);
            assert_ne!(first, again);
        }
        // The shortest padding allowed (8 bytes) is taken; with a longer key it is not enough.
        let short = padded(k, &[3; 245]);
        let ct = encrypt_raw(&key, &short);
        assert_eq!(
            *pkcs1v15_block_key(&key, &ct, &short, 245, &mut rng),
            [3; 245]
        );
        assert_eq!(key.decrypt(rsa::Pkcs1v15Encrypt, &ct).unwrap(), [3; 245]);
        assert_ne!(
            &pkcs1v15_block_key(&key, &ct, &short, 246, &mut rng)[1..],
            &short[k - 245..]
        );
    }
}
