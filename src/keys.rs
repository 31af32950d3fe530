//! Private keys and signing identities: PKCS#8 (plain and encrypted), PKCS#1, SEC1, PKCS#12.
//!
//! Key material is held in zeroizing types and never printed (`Debug` redacts it). This module
//! does not store keys anywhere: the at-rest format is the caller's (see the key store). It does
//! not apply signing policy either (RSA key sizes, for one): [`PrivateKey::rsa_bits`] lets the
//! caller decide.

pub mod pkcs12;
pub mod store;

use alloc::string::String;
use alloc::vec::Vec;

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::ber;
use crate::error::{Error, Result};

/// rsaEncryption (RFC 8017).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// id-ecPublicKey (RFC 5480).
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 (RFC 5480).
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// secp384r1 (RFC 5480).
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
/// id-Ed25519 (RFC 8410).
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-X25519 (RFC 8410).
pub(crate) const X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");

/// Smallest RSA modulus (bits) the `rsa` crate can load.
const RSA_MIN_BITS: usize = 1024;
/// Largest RSA modulus (bits) accepted.
const RSA_MAX_BITS: usize = 8192;

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
    /// X25519 (RFC 8410): key agreement only (RFC 8418 recipients), it cannot sign.
    X25519(x25519_dalek::StaticSecret),
}

impl core::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PrivateKey({}, redacted)", self.algorithm_name())
    }
}

/// A name for an algorithm or curve OID, for [`Error::KeyUnsupported`]: the keys people
/// actually have that Cachet does not take, else the dotted OID. (const-oid's whole name
/// database would cost ~33 KiB brotli in the wasm, and lacks secp256k1.)
fn oid_name(oid: &ObjectIdentifier) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("1.2.840.10040.4.1", "DSA"),
        ("1.2.840.10046.2.1", "DH"),
        ("1.3.132.0.10", "secp256k1"),
        ("1.3.132.0.33", "secp224r1"),
        ("1.3.132.0.35", "secp521r1"),
        ("1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1"),
        ("1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1"),
        ("1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1"),
        ("1.3.101.111", "X448"),
        ("1.3.101.113", "Ed448"),
    ];
    let dotted = alloc::format!("{oid}");
    NAMES
        .iter()
        .find(|(o, _)| *o == dotted)
        .map_or(dotted.clone(), |(_, name)| String::from(*name))
}

impl PrivateKey {
    /// A short name of the key's algorithm: `RSA`, `P-256`, `P-384`, `Ed25519`, `X25519`.
    #[must_use]
    pub fn algorithm_name(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RSA",
            Self::P256(_) => "P-256",
            Self::P384(_) => "P-384",
            Self::Ed25519(_) => "Ed25519",
            Self::X25519(_) => "X25519",
        }
    }

    /// The RSA modulus size in bits, `None` for other algorithms.
    #[must_use]
    pub fn rsa_bits(&self) -> Option<usize> {
        use rsa::traits::PublicKeyParts;
        match self {
            Self::Rsa(key) => Some(key.n().bits_vartime() as usize),
            _ => None,
        }
    }

    /// Parse a private key from PEM or DER: PKCS#8 `PrivateKeyInfo` (v1, or v2
    /// `OneAsymmetricKey`), PKCS#8 `EncryptedPrivateKeyInfo` (PBES2 with PBKDF2 or scrypt, or a
    /// PKCS#12 PBE; needs `password`), PKCS#1 `RSAPrivateKey`, SEC1 `ECPrivateKey`.
    ///
    /// PEM is read by label (the first private key block wins); DER is recognised by its shape.
    /// RSA keys of any size from 1024 to 8192 bits load: signing policy is the caller's.
    ///
    /// # Errors
    /// `KEY_MALFORMED`, `PASSWORD_REQUIRED`, `BAD_PASSWORD`, `KEY_UNSUPPORTED`, `PEM_MALFORMED`,
    /// `CMS_UNSUPPORTED_ALGORITHM` (key encryption), `INPUT_TOO_LARGE` (absurd KDF costs).
    pub fn parse(data: &[u8], password: Option<&str>) -> Result<Self> {
        let mut blocks = crate::pem::pem_or_der(data)?;
        let chosen = blocks.iter().position(|block| {
            matches!(
                block.label.as_str(),
                "" | "PRIVATE KEY"
                    | "ENCRYPTED PRIVATE KEY"
                    | "RSA PRIVATE KEY"
                    | "EC PRIVATE KEY"
                    | "DSA PRIVATE KEY"
                    | "OPENSSH PRIVATE KEY"
            )
        });
        // Move the chosen block's bytes into a zeroizing buffer and wipe the others.
        let chosen = chosen.map(|i| blocks.swap_remove(i));
        for other in &mut blocks {
            zeroize::Zeroize::zeroize(&mut other.der);
        }
        let block = chosen.ok_or(Error::KeyMalformed)?;
        let label = block.label;
        let der = Zeroizing::new(block.der);
        match label.as_str() {
            "DSA PRIVATE KEY" => Err(Error::KeyUnsupported {
                algorithm: "DSA".into(),
            }),
            "OPENSSH PRIVATE KEY" => Err(Error::KeyUnsupported {
                algorithm: "OpenSSH key format".into(),
            }),
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "ENCRYPTED PRIVATE KEY" => Self::from_encrypted_pkcs8_der(&der, password),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&der),
            "EC PRIVATE KEY" => Self::from_sec1_der(&der, None),
            _ => Self::from_der_any(&der, password),
        }
    }

    /// Unlabelled DER: tell the formats apart by the shape of the outer SEQUENCE.
    fn from_der_any(der: &[u8], password: Option<&str>) -> Result<Self> {
        let outer = ber::expect_one(der, 0x30).map_err(|_| Error::KeyMalformed)?;
        let items = ber::children(outer.value).map_err(|_| Error::KeyMalformed)?;
        match (items.first().map(|t| t.tag), items.get(1).map(|t| t.tag)) {
            // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
            (Some(0x30), Some(0x04)) => Self::from_encrypted_pkcs8_der(der, password),
            // PrivateKeyInfo ::= SEQUENCE { INTEGER, AlgorithmIdentifier, OCTET STRING, ... }
            (Some(0x02), Some(0x30)) => Self::from_pkcs8_der(der),
            // RSAPrivateKey ::= SEQUENCE { INTEGER (0), INTEGER (n), ... }
            (Some(0x02), Some(0x02)) => Self::from_pkcs1_der(der),
            // ECPrivateKey ::= SEQUENCE { INTEGER (1), OCTET STRING, [0], [1] }
            (Some(0x02), Some(0x04)) => Self::from_sec1_der(der, None),
            _ => Err(Error::KeyMalformed),
        }
    }

    /// Parse an unencrypted PKCS#8 `PrivateKeyInfo`/`OneAsymmetricKey` (RFC 5958) in DER.
    ///
    /// # Errors
    /// `KEY_MALFORMED`, `KEY_UNSUPPORTED`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(|_| Error::KeyMalformed)?;
        let private_key = info.private_key.as_bytes();
        let oid = info.algorithm.oid;
        if oid == RSA_ENCRYPTION {
            Self::from_pkcs1_der(private_key)
        } else if oid == EC_PUBLIC_KEY {
            let curve = match info.algorithm.parameters {
                Some(params) => Some(
                    params
                        .decode_as::<ObjectIdentifier>()
                        .map_err(|_| Error::KeyMalformed)?,
                ),
                None => None,
            };
            Self::from_sec1_der(private_key, curve)
        } else if oid == ED25519 {
            // CurvePrivateKey ::= OCTET STRING (RFC 8410 §7)
            let seed = ber::expect_one(private_key, 0x04).map_err(|_| Error::KeyMalformed)?;
            let seed: &[u8; 32] = seed.value.try_into().map_err(|_| Error::KeyMalformed)?;
            let key = ed25519_dalek::SigningKey::from_bytes(seed);
            if let Some(public) = info.public_key {
                if public.raw_bytes() != key.verifying_key().as_bytes() {
                    return Err(Error::KeyMalformed);
                }
            }
            Ok(Self::Ed25519(key))
        } else if oid == X25519 {
            // CurvePrivateKey ::= OCTET STRING (RFC 8410 §7)
            let raw = ber::expect_one(private_key, 0x04).map_err(|_| Error::KeyMalformed)?;
            let raw: [u8; 32] = raw.value.try_into().map_err(|_| Error::KeyMalformed)?;
            let raw = Zeroizing::new(raw);
            let key = x25519_dalek::StaticSecret::from(*raw);
            if let Some(public) = info.public_key {
                if public.raw_bytes() != x25519_dalek::PublicKey::from(&key).as_bytes() {
                    return Err(Error::KeyMalformed);
                }
            }
            Ok(Self::X25519(key))
        } else {
            Err(Error::KeyUnsupported {
                algorithm: oid_name(&oid),
            })
        }
    }

    /// Parse a PKCS#8 `EncryptedPrivateKeyInfo` in DER.
    ///
    /// # Errors
    /// `PASSWORD_REQUIRED`, `BAD_PASSWORD`, `KEY_MALFORMED`, `KEY_UNSUPPORTED`,
    /// `CMS_UNSUPPORTED_ALGORITHM`, `INPUT_TOO_LARGE`.
    pub fn from_encrypted_pkcs8_der(der: &[u8], password: Option<&str>) -> Result<Self> {
        let outer = ber::expect_one(der, 0x30).map_err(|_| Error::KeyMalformed)?;
        let items = ber::children(outer.value).map_err(|_| Error::KeyMalformed)?;
        let (Some(alg), Some(data), None) = (items.first(), items.get(1), items.get(2)) else {
            return Err(Error::KeyMalformed);
        };
        if alg.tag != 0x30 || data.tag != 0x04 {
            return Err(Error::KeyMalformed);
        }
        let password = password.ok_or(Error::PasswordRequired)?;
        let plain =
            pkcs12::decrypt_any_form(alg.raw, data.value, password).map_err(|e| match e {
                Error::Pkcs12Malformed { .. } | Error::DerMalformed { .. } => Error::KeyMalformed,
                other => other,
            })?;
        // Garbage that passed the padding check (about 1 in 256 wrong passwords) is a wrong
        // password too.
        Self::from_pkcs8_der(&plain).map_err(|e| match e {
            Error::KeyMalformed => Error::BadPassword,
            other => other,
        })
    }

    /// Parse a PKCS#1 `RSAPrivateKey` in DER.
    ///
    /// # Errors
    /// `KEY_MALFORMED`, `KEY_UNSUPPORTED` (multi-prime, or a modulus outside 1024..=8192 bits).
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self> {
        let parsed = pkcs1::RsaPrivateKeyRef::from_der(der).map_err(|_| Error::KeyMalformed)?;
        if parsed.other_prime_infos.is_some() {
            return Err(Error::KeyUnsupported {
                algorithm: "multi-prime RSA".into(),
            });
        }
        let modulus = parsed.modulus.as_bytes();
        let bits = modulus
            .len()
            .saturating_mul(8)
            .saturating_sub(modulus.first().map_or(8, |b| b.leading_zeros() as usize));
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(Error::KeyUnsupported {
                algorithm: alloc::format!("RSA-{bits}"),
            });
        }
        let key = rsa::RsaPrivateKey::try_from(parsed).map_err(|_| Error::KeyMalformed)?;
        Ok(Self::Rsa(alloc::boxed::Box::new(key)))
    }

    /// Parse a SEC1 `ECPrivateKey` (RFC 5915) in DER. `curve` is the curve named outside it
    /// (PKCS#8 algorithm parameters), if any; otherwise the key's own parameters name it.
    ///
    /// # Errors
    /// `KEY_MALFORMED`, `KEY_UNSUPPORTED` (curves other than P-256 and P-384).
    pub fn from_sec1_der(der: &[u8], curve: Option<ObjectIdentifier>) -> Result<Self> {
        let ec = sec1::EcPrivateKey::from_der(der).map_err(|_| Error::KeyMalformed)?;
        let inner = ec.parameters.and_then(|p| p.named_curve());
        let curve = match (curve, inner) {
            (Some(a), Some(b)) if a != b => return Err(Error::KeyMalformed),
            (Some(a), _) | (None, Some(a)) => a,
            // No parameters anywhere: the scalar's length is all there is to go by.
            (None, None) => match ec.private_key.len() {
                32 => SECP256R1,
                48 => SECP384R1,
                _ => return Err(Error::KeyMalformed),
            },
        };
        macro_rules! load {
            ($curve:ident, $variant:ident) => {{
                let secret = $curve::SecretKey::from_slice(ec.private_key)
                    .map_err(|_| Error::KeyMalformed)?;
                if let Some(public) = ec.public_key {
                    let given = $curve::PublicKey::from_sec1_bytes(public)
                        .map_err(|_| Error::KeyMalformed)?;
                    if given != secret.public_key() {
                        return Err(Error::KeyMalformed);
                    }
                }
                Ok(Self::$variant($curve::ecdsa::SigningKey::from(secret)))
            }};
        }
        if curve == SECP256R1 {
            load!(p256, P256)
        } else if curve == SECP384R1 {
            load!(p384, P384)
        } else {
            Err(Error::KeyUnsupported {
                algorithm: oid_name(&curve),
            })
        }
    }

    /// The key's public key as a `SubjectPublicKeyInfo` (as a certificate carries it).
    ///
    /// # Errors
    /// `INTERNAL` if the encoding fails (it should not).
    pub fn public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned> {
        let doc = match self {
            Self::Rsa(key) => key.to_public_key().to_public_key_der(),
            Self::P256(key) => p256::PublicKey::from(key.verifying_key()).to_public_key_der(),
            Self::P384(key) => p384::PublicKey::from(key.verifying_key()).to_public_key_der(),
            Self::Ed25519(key) => key.verifying_key().to_public_key_der(),
            Self::X25519(key) => {
                return Ok(SubjectPublicKeyInfoOwned {
                    algorithm: spki::AlgorithmIdentifierOwned {
                        oid: X25519,
                        parameters: None,
                    },
                    subject_public_key: der::asn1::BitString::from_bytes(
                        x25519_dalek::PublicKey::from(key).as_bytes(),
                    )
                    .map_err(|_| Error::Internal {
                        detail: "public key encoding",
                    })?,
                })
            }
        }
        .map_err(|_| Error::Internal {
            detail: "public key encoding",
        })?;
        SubjectPublicKeyInfoOwned::from_der(doc.as_bytes()).map_err(|_| Error::Internal {
            detail: "public key encoding",
        })
    }

    /// The key as unencrypted PKCS#8 DER (`PrivateKeyInfo`), for the key store to encrypt.
    ///
    /// # Errors
    /// `INTERNAL` if the encoding fails (it should not).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = match self {
            Self::Rsa(key) => key.to_pkcs8_der(),
            Self::P256(key) => p256::SecretKey::from(key).to_pkcs8_der(),
            Self::P384(key) => p384::SecretKey::from(key).to_pkcs8_der(),
            Self::Ed25519(key) => key.to_pkcs8_der(),
            Self::X25519(key) => {
                // PrivateKeyInfo { version 0, { id-X25519 }, OCTET STRING { OCTET STRING (32) } }
                const PREFIX: [u8; 16] = [
                    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04,
                    0x22, 0x04, 0x20,
                ];
                let mut der = Zeroizing::new(Vec::with_capacity(48));
                der.extend_from_slice(&PREFIX);
                der.extend_from_slice(key.as_bytes());
                return Ok(der);
            }
        }
        .map_err(|_| Error::Internal {
            detail: "private key encoding",
        })?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// Does this key belong to the public key in `spki`? Compares the decoded public keys, so
    /// encoding variants (compressed EC points) still match.
    #[must_use]
    pub fn matches(&self, spki: &SubjectPublicKeyInfoOwned) -> bool {
        let Ok(der) = spki.to_der() else {
            return false;
        };
        match self {
            Self::Rsa(key) => rsa::RsaPublicKey::from_public_key_der(&der)
                .is_ok_and(|public| public == key.to_public_key()),
            Self::P256(key) => p256::PublicKey::from_public_key_der(&der)
                .is_ok_and(|public| public == p256::PublicKey::from(key.verifying_key())),
            Self::P384(key) => p384::PublicKey::from_public_key_der(&der)
                .is_ok_and(|public| public == p384::PublicKey::from(key.verifying_key())),
            Self::Ed25519(key) => ed25519_dalek::VerifyingKey::from_public_key_der(&der)
                .is_ok_and(|public| public == key.verifying_key()),
            Self::X25519(key) => {
                spki.algorithm.oid == X25519
                    && spki.subject_public_key.as_bytes()
                        == Some(x25519_dalek::PublicKey::from(key).as_bytes().as_slice())
            }
        }
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
    /// Results of RSA key-transport RecipientInfos decrypted outside the core with this
    /// identity's key (WebCrypto's RSA-OAEP, Node's raw RSA, for the requests
    /// [`crate::cms::recipient::transport_request`] made), taken instead of decrypting those
    /// again. Empty unless a caller fills it for one message; clear it after.
    pub unwrapped: Vec<Unwrapped>,
}

/// The result of decrypting one RSA `encryptedKey` outside the core (see
/// [`Identity::unwrapped`]). `Debug` shows no key.
pub struct Unwrapped {
    /// The RecipientInfo's `encryptedKey`.
    pub encrypted_key: Vec<u8>,
    /// RSAES-OAEP: the content-encryption key. RSAES-PKCS1-v1_5 (`padded`): the whole RSA
    /// block, `encryptedKey^d mod n` as long as the modulus, still padded. `None` when the
    /// decryption failed (the RecipientInfo then fails as if the core had decrypted it).
    pub key: Option<Zeroizing<Vec<u8>>>,
    /// `key` is a raw PKCS#1 v1.5 block: the core checks it against `encryptedKey` with the
    /// public key and removes the padding itself, in constant time.
    pub padded: bool,
}

impl core::fmt::Debug for Unwrapped {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Unwrapped")
            .field("decrypted", &self.key.is_some())
            .field("padded", &self.padded)
            .finish_non_exhaustive()
    }
}

/// Does `data` look like a PKCS#12 PFX: a (BER or DER) SEQUENCE whose first element is
/// `INTEGER 3`?
fn looks_like_pkcs12(data: &[u8]) -> bool {
    if crate::pem::is_pem(data) || data.first() != Some(&0x30) {
        return false;
    }
    let header = match data.get(1) {
        Some(0x80) => 2,
        Some(n @ 0x81..=0x84) => 2 + usize::from(n & 0x7f),
        Some(n) if *n < 0x80 => 2,
        _ => return false,
    };
    data.get(header..header + 3) == Some(&[0x02, 0x01, 0x03][..])
}

/// Every certificate in PEM (blocks labelled `CERTIFICATE`) or DER input.
fn parse_certificates(data: &[u8]) -> Result<Vec<Certificate>> {
    let mut out = Vec::new();
    for block in crate::pem::pem_or_der(data)? {
        if block.label.is_empty() || block.label == "CERTIFICATE" {
            out.push(Certificate::from_der(&block.der).map_err(|_| Error::CertificateMalformed)?);
        }
    }
    if out.is_empty() {
        return Err(Error::CertificateMissing);
    }
    Ok(out)
}

/// Order `others` leaf-upwards: the issuer of the leaf first, then its issuer, and so on; the
/// certificates that do not fit the path follow in their original order.
fn issuer_order(leaf: &Certificate, mut others: Vec<Certificate>) -> Vec<Certificate> {
    let mut ordered: Vec<Certificate> = Vec::with_capacity(others.len());
    let mut issuer = leaf.tbs_certificate().issuer().clone();
    let mut current_subject = leaf.tbs_certificate().subject().clone();
    while issuer != current_subject {
        let Some(pos) = others
            .iter()
            .position(|c| *c.tbs_certificate().subject() == issuer)
        else {
            break;
        };
        let next = others.remove(pos);
        current_subject = next.tbs_certificate().subject().clone();
        issuer = next.tbs_certificate().issuer().clone();
        ordered.push(next);
    }
    ordered.extend(others);
    ordered
}

impl Identity {
    /// Load an identity from a key file (PEM/DER key, or a PKCS#12 file) and, unless the key file
    /// is a PKCS#12 that holds it, a certificate file. Extra `chain` certificates are appended.
    ///
    /// With a PKCS#12 file, the first key that has a matching certificate wins; the file's other
    /// certificates become the chain, in issuer order. `cert_data` (PEM or DER, one or more
    /// certificates), when given, overrides the file's certificates: its first certificate that
    /// matches the key is the leaf, the rest are the chain. A PKCS#12 file without `password`
    /// is tried with the empty password. A PEM key file may also carry the certificates
    /// (`CERTIFICATE` blocks), which are then used like a PKCS#12 file's.
    ///
    /// # Errors
    /// Those of [`PrivateKey::parse`] and [`pkcs12::parse`], `CERT_MISSING` when no certificate
    /// matches the key, `KEY_CERT_MISMATCH` when the given certificate is not the key's,
    /// `P12_NO_KEY` for a PKCS#12 file without a key.
    pub fn load(
        key_data: &[u8],
        cert_data: Option<&[u8]>,
        password: Option<&str>,
        chain: &[Certificate],
    ) -> Result<Self> {
        let load_p12 = || -> Result<(Vec<PrivateKey>, Vec<Certificate>)> {
            let p12 = pkcs12::parse(key_data, password.unwrap_or("")).map_err(|e| match e {
                Error::BadPassword if password.is_none() => Error::PasswordRequired,
                other => other,
            })?;
            if p12.keys.is_empty() {
                return Err(Error::Pkcs12NoKey);
            }
            Ok((p12.keys, p12.certificates))
        };
        let (keys, file_certs) = if looks_like_pkcs12(key_data) {
            load_p12()?
        } else if crate::pem::is_pem(key_data) {
            // A PEM key file may carry its certificates too (`openssl pkcs12 -nodes` output).
            let mut certs = Vec::new();
            for block in crate::pem::decode_all(key_data)? {
                if block.label == "CERTIFICATE" {
                    certs.push(
                        Certificate::from_der(&block.der)
                            .map_err(|_| Error::CertificateMalformed)?,
                    );
                }
            }
            (alloc::vec![PrivateKey::parse(key_data, password)?], certs)
        } else {
            match PrivateKey::parse(key_data, password) {
                Ok(key) => (alloc::vec![key], Vec::new()),
                // Not a key: perhaps a PKCS#12 in an unusual encoding. Keep the key error
                // unless it is one.
                Err(Error::KeyMalformed) => load_p12().map_err(|e| match e {
                    Error::Pkcs12Malformed { .. } => Error::KeyMalformed,
                    other => other,
                })?,
                Err(other) => return Err(other),
            }
        };
        let given = cert_data.is_some();
        let candidates = match cert_data {
            Some(data) => parse_certificates(data)?,
            None => file_certs,
        };
        let mut found = None;
        'keys: for (key_index, key) in keys.iter().enumerate() {
            for (cert_index, cert) in candidates.iter().enumerate() {
                if key.matches(cert.tbs_certificate().subject_public_key_info()) {
                    found = Some((key_index, cert_index));
                    break 'keys;
                }
            }
        }
        let Some((key_index, cert_index)) = found else {
            return Err(if given && !candidates.is_empty() {
                Error::KeyCertificateMismatch
            } else {
                Error::CertificateMissing
            });
        };
        let key = keys.into_iter().nth(key_index).ok_or(Error::Internal {
            detail: "key index",
        })?;
        let mut candidates = candidates;
        if cert_index >= candidates.len() {
            return Err(Error::Internal {
                detail: "certificate index",
            });
        }
        let certificate = candidates.remove(cert_index);
        let mut ordered = if given {
            candidates
        } else {
            issuer_order(&certificate, candidates)
        };
        for extra in chain {
            if !ordered.contains(extra) && *extra != certificate {
                ordered.push(extra.clone());
            }
        }
        Ok(Self {
            key,
            certificate,
            chain: ordered,
            unwrapped: Vec::new(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn pkcs12_detection() {
        assert!(looks_like_pkcs12(&[
            0x30, 0x80, 0x02, 0x01, 0x03, 0x30, 0x80
        ]));
        assert!(looks_like_pkcs12(&[
            0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03
        ]));
        // PKCS#8 (version 0), PKCS#1, PEM, short input
        assert!(!looks_like_pkcs12(&[
            0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00
        ]));
        assert!(!looks_like_pkcs12(b"-----BEGIN PKCS12-----\n"));
        assert!(!looks_like_pkcs12(&[0x30]));
        assert!(!looks_like_pkcs12(&[]));
    }

    #[test]
    fn sec1_without_parameters_goes_by_length() {
        // ECPrivateKey { version 1, privateKey 32 bytes of 0x01 } : P-256 by length
        let mut der = alloc::vec![0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20];
        der.extend_from_slice(&[1; 32]);
        let key = PrivateKey::parse(&der, None).unwrap();
        assert_eq!(key.algorithm_name(), "P-256");
        // 20 bytes: no curve to guess
        let mut der = alloc::vec![0x30, 0x19, 0x02, 0x01, 0x01, 0x04, 0x14];
        der.extend_from_slice(&[1; 20]);
        assert_eq!(
            PrivateKey::parse(&der, None).unwrap_err().code(),
            "KEY_MALFORMED"
        );
    }

    #[test]
    fn ed25519_public_key_must_match() {
        // OneAsymmetricKey v2 (RFC 8410 §10.3 example), its public key, then a wrong one.
        let good = hex::decode(
            "307202010130050603 2b6570042204 20d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842a01f301d060a2a864886f70d01090914310f0c0d437572646c6520436861697273812100 19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1"
                .replace(' ', ""),
        )
        .unwrap();
        let key = PrivateKey::parse(&good, None).unwrap();
        assert_eq!(key.algorithm_name(), "Ed25519");
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(
            PrivateKey::parse(&bad, None).unwrap_err().code(),
            "KEY_MALFORMED"
        );
    }

    #[test]
    fn x25519_key_parses_round_trips_and_matches_its_certificate() {
        let pem = include_bytes!("../tests/vectors/pki/carol-x25519.key");
        let key = PrivateKey::parse(pem, None).unwrap();
        assert_eq!(key.algorithm_name(), "X25519");
        let debug = alloc::format!("{key:?}");
        assert_eq!(debug, "PrivateKey(X25519, redacted)");
        // The PKCS#8 we write is the file's DER (the 48-byte RFC 8410 form).
        let der = crate::pem::pem_or_der(pem).unwrap().remove(0).der;
        assert_eq!(key.to_pkcs8_der().unwrap().as_slice(), der.as_slice());
        let cert = crate::pem::pem_or_der(include_bytes!("../tests/vectors/pki/carol-x25519.pem"))
            .unwrap()
            .remove(0)
            .der;
        let cert = Certificate::from_der(&cert).unwrap();
        let spki = cert.tbs_certificate().subject_public_key_info();
        assert_eq!(&key.public_key_info().unwrap(), spki);
        assert!(key.matches(spki));
        let other = crate::pem::pem_or_der(include_bytes!("../tests/vectors/pki/bob-p256.pem"))
            .unwrap()
            .remove(0)
            .der;
        let other = Certificate::from_der(&other).unwrap();
        assert!(!key.matches(other.tbs_certificate().subject_public_key_info()));
        // A key of the wrong length is malformed.
        let mut short = der.clone();
        short[1] -= 1;
        short[14] -= 1;
        short[15] -= 1;
        short.pop();
        assert_eq!(
            PrivateKey::from_pkcs8_der(&short).unwrap_err().code(),
            "KEY_MALFORMED"
        );
    }
}
