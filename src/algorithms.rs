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

    /// The length of the digest in bytes.
    #[must_use]
    pub fn output_len(self) -> usize {
        match self {
            Self::Md5 => 16,
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
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

/// `ecdsa-with-SHA1` (RFC 3279 §2.2.3); absent from `const_oid`'s RFC 5912 module.
const ECDSA_WITH_SHA_1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");

/// Smallest RSA modulus accepted for verification (bits). Signing needs 2048.
const RSA_MIN_VERIFY_BITS: usize = 1024;
/// Smallest RSA modulus accepted for signing (bits).
pub(crate) const RSA_MIN_SIGN_BITS: usize = 2048;
/// Largest RSA modulus accepted (bits): bigger keys cost too much to verify.
const RSA_MAX_BITS: usize = 8192;
/// RSA moduli (bits) Cachet sends with: signs with, and encrypts a content key to.
pub(crate) const RSA_SEND_BITS: core::ops::RangeInclusive<usize> = RSA_MIN_SIGN_BITS..=RSA_MAX_BITS;

/// A signature that verified: how it was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The digest the signature covers; `None` for Ed25519 (which hashes internally).
    pub digest: Option<DigestAlgorithm>,
    /// The scheme: `rsa-pkcs1v15`, `rsa-pss`, `ecdsa` or `ed25519`.
    pub name: &'static str,
}

/// Why a signature did not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature is wrong (or malformed, or does not fit the key).
    Invalid,
    /// An algorithm, curve or parameter set Cachet does not verify (the OID or a name).
    Unsupported(alloc::string::String),
    /// The key is too small to be trusted (RSA below 1024 bits).
    KeyTooSmall,
}

/// The signature scheme an `AlgorithmIdentifier` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    RsaPkcs1v15,
    RsaPss,
    Ecdsa,
    Ed25519,
}

fn unsupported(what: impl core::fmt::Display) -> SignatureError {
    SignatureError::Unsupported(alloc::format!("{what}"))
}

/// Map a signature `AlgorithmIdentifier` (plus the CMS digest hint) to a scheme and digest.
fn scheme_of(
    algorithm: &spki::AlgorithmIdentifierOwned,
    hint: Option<DigestAlgorithm>,
) -> Result<(Scheme, Option<DigestAlgorithm>), SignatureError> {
    use const_oid::db::rfc8410::ID_ED_25519;
    use DigestAlgorithm as D;
    let need_hint =
        |what: &str| hint.ok_or_else(|| unsupported(alloc::format!("{what} without a digest")));
    Ok(match algorithm.oid {
        rfc5912::SHA_1_WITH_RSA_ENCRYPTION => (Scheme::RsaPkcs1v15, Some(D::Sha1)),
        rfc5912::SHA_224_WITH_RSA_ENCRYPTION => (Scheme::RsaPkcs1v15, Some(D::Sha224)),
        rfc5912::SHA_256_WITH_RSA_ENCRYPTION => (Scheme::RsaPkcs1v15, Some(D::Sha256)),
        rfc5912::SHA_384_WITH_RSA_ENCRYPTION => (Scheme::RsaPkcs1v15, Some(D::Sha384)),
        rfc5912::SHA_512_WITH_RSA_ENCRYPTION => (Scheme::RsaPkcs1v15, Some(D::Sha512)),
        rfc5912::MD_5_WITH_RSA_ENCRYPTION => return Err(unsupported("md5")),
        rfc5912::MD_2_WITH_RSA_ENCRYPTION => return Err(unsupported("md2")),
        rfc5912::RSA_ENCRYPTION => (Scheme::RsaPkcs1v15, Some(need_hint("rsaEncryption")?)),
        rfc5912::ID_RSASSA_PSS => (Scheme::RsaPss, Some(pss_digest(algorithm)?)),
        ECDSA_WITH_SHA_1 => (Scheme::Ecdsa, Some(D::Sha1)),
        rfc5912::ECDSA_WITH_SHA_224 => (Scheme::Ecdsa, Some(D::Sha224)),
        rfc5912::ECDSA_WITH_SHA_256 => (Scheme::Ecdsa, Some(D::Sha256)),
        rfc5912::ECDSA_WITH_SHA_384 => (Scheme::Ecdsa, Some(D::Sha384)),
        rfc5912::ECDSA_WITH_SHA_512 => (Scheme::Ecdsa, Some(D::Sha512)),
        rfc5912::ID_EC_PUBLIC_KEY => (Scheme::Ecdsa, Some(need_hint("id-ecPublicKey")?)),
        ID_ED_25519 => (Scheme::Ed25519, None),
        other => return Err(unsupported(other)),
    })
}

/// The digest of RSASSA-PSS parameters (RFC 4055 §3.1; absent parameters mean SHA-1). The MGF1
/// hash must be the same digest: the `rsa` crate uses one hash for both.
fn pss_digest(
    algorithm: &spki::AlgorithmIdentifierOwned,
) -> Result<DigestAlgorithm, SignatureError> {
    let params: pkcs1::RsaPssParams<der::Any> = match &algorithm.parameters {
        None => pkcs1::RsaPssParams::default(),
        Some(any) => any.decode_as().map_err(|_| SignatureError::Invalid)?,
    };
    let hash =
        DigestAlgorithm::from_oid(&params.hash.oid).ok_or_else(|| unsupported(params.hash.oid))?;
    if params.mask_gen.oid != rfc5912::ID_MGF_1 {
        return Err(unsupported(params.mask_gen.oid));
    }
    let mgf_hash = params.mask_gen.parameters.as_ref().map(|p| p.oid);
    if mgf_hash != Some(hash.oid()) {
        return Err(unsupported(
            "rsassa-pss with an MGF1 hash unlike the message hash",
        ));
    }
    Ok(hash)
}

/// Verify `signature` over `message` (the data itself, hashed here) with the public key `spki`.
///
/// `algorithm` is the signature algorithm of a certificate or a CMS `SignerInfo`. When it names
/// only the key type (`rsaEncryption` or `id-ecPublicKey`, as CMS allows), `digest` says which
/// hash to use. Handles RSA PKCS#1 v1.5 (SHA-1 and SHA-2), RSASSA-PSS (any salt length, MGF1
/// with the same hash), ECDSA on P-256 and P-384 with any SHA-1/SHA-2 hash (truncated to the
/// curve as FIPS 186 says) and Ed25519. RSA keys from 1024 to 8192 bits.
///
/// # Errors
/// [`SignatureError::Invalid`] when the signature is wrong, malformed or does not fit the key,
/// [`SignatureError::Unsupported`] for an algorithm, curve or digest Cachet does not verify
/// (MD5 among them), [`SignatureError::KeyTooSmall`] for RSA below 1024 bits.
pub fn verify_signature(
    spki: &spki::SubjectPublicKeyInfoOwned,
    algorithm: &spki::AlgorithmIdentifierOwned,
    digest: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<Verified, SignatureError> {
    let (scheme, digest) = scheme_of(algorithm, digest)?;
    let key_oid = spki.algorithm.oid;
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or(SignatureError::Invalid)?;
    if scheme == Scheme::Ed25519 {
        if key_oid != const_oid::db::rfc8410::ID_ED_25519 {
            return Err(SignatureError::Invalid);
        }
        let key_bytes: &[u8; 32] = key_bytes.try_into().map_err(|_| SignatureError::Invalid)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(key_bytes)
            .map_err(|_| SignatureError::Invalid)?;
        let sig =
            ed25519_dalek::Signature::from_slice(signature).map_err(|_| SignatureError::Invalid)?;
        key.verify_strict(message, &sig)
            .map_err(|_| SignatureError::Invalid)?;
        return Ok(Verified {
            digest: None,
            name: "ed25519",
        });
    }
    let digest = digest.ok_or(SignatureError::Invalid)?;
    let hashed = digest
        .digest(message)
        .ok_or_else(|| unsupported(digest.micalg()))?;
    match scheme {
        Scheme::RsaPkcs1v15 | Scheme::RsaPss => {
            // An id-RSASSA-PSS key (RFC 4055 §1.2) may only make PSS signatures.
            let key_fits = key_oid == rfc5912::RSA_ENCRYPTION
                || (key_oid == rfc5912::ID_RSASSA_PSS && scheme == Scheme::RsaPss);
            if !key_fits {
                return Err(SignatureError::Invalid);
            }
            let key = rsa_public_key(key_bytes)?;
            let ok = if scheme == Scheme::RsaPss {
                rsa_pss_verify(&key, digest, &hashed, signature)
            } else {
                rsa_pkcs1v15_verify(&key, digest, &hashed, signature)
            };
            ok.map_err(|_| SignatureError::Invalid)?;
            let name = if scheme == Scheme::RsaPss {
                "rsa-pss"
            } else {
                "rsa-pkcs1v15"
            };
            Ok(Verified {
                digest: Some(digest),
                name,
            })
        }
        Scheme::Ecdsa => {
            if key_oid != rfc5912::ID_EC_PUBLIC_KEY {
                return Err(SignatureError::Invalid);
            }
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as().ok());
            match curve {
                Some(rfc5912::SECP_256_R_1) => ecdsa_verify!(p256, key_bytes, &hashed, signature),
                Some(rfc5912::SECP_384_R_1) => ecdsa_verify!(p384, key_bytes, &hashed, signature),
                Some(other) => return Err(unsupported(other)),
                None => return Err(unsupported("EC key without a named curve")),
            }
            Ok(Verified {
                digest: Some(digest),
                name: "ecdsa",
            })
        }
        Scheme::Ed25519 => Err(SignatureError::Invalid),
    }
}

/// Decode an RSA public key (PKCS#1 `RSAPublicKey`) of 1024 to 8192 bits.
fn rsa_public_key(der_bytes: &[u8]) -> Result<rsa::RsaPublicKey, SignatureError> {
    let pkcs1_key =
        pkcs1::RsaPublicKeyRef::try_from(der_bytes).map_err(|_| SignatureError::Invalid)?;
    let modulus = pkcs1_key.modulus.as_bytes();
    let bits = match modulus.first() {
        Some(&top) => (modulus.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    };
    if bits < RSA_MIN_VERIFY_BITS {
        return Err(SignatureError::KeyTooSmall);
    }
    if bits > RSA_MAX_BITS {
        return Err(unsupported(alloc::format!("RSA-{bits}")));
    }
    rsa::RsaPublicKey::try_from(pkcs1_key).map_err(|_| SignatureError::Invalid)
}

fn rsa_pkcs1v15_verify(
    key: &rsa::RsaPublicKey,
    digest: DigestAlgorithm,
    hashed: &[u8],
    signature: &[u8],
) -> rsa::Result<()> {
    use rsa::Pkcs1v15Sign;
    let scheme = match digest {
        DigestAlgorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        DigestAlgorithm::Sha224 => Pkcs1v15Sign::new::<sha2::Sha224>(),
        DigestAlgorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        DigestAlgorithm::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
        DigestAlgorithm::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
        DigestAlgorithm::Md5 => return Err(rsa::Error::Verification),
    };
    key.verify(scheme, hashed, signature)
}

/// RSASSA-PSS verification accepting any salt length (the `rsa` crate detects it).
fn rsa_pss_verify(
    key: &rsa::RsaPublicKey,
    digest: DigestAlgorithm,
    hashed: &[u8],
    signature: &[u8],
) -> rsa::Result<()> {
    fn any_salt<D: sha2::Digest>() -> rsa::Pss<D> {
        rsa::Pss {
            blinded: false,
            digest: D::new(),
            salt_len: None,
        }
    }
    match digest {
        DigestAlgorithm::Sha1 => key.verify(any_salt::<sha1::Sha1>(), hashed, signature),
        DigestAlgorithm::Sha224 => key.verify(any_salt::<sha2::Sha224>(), hashed, signature),
        DigestAlgorithm::Sha256 => key.verify(any_salt::<sha2::Sha256>(), hashed, signature),
        DigestAlgorithm::Sha384 => key.verify(any_salt::<sha2::Sha384>(), hashed, signature),
        DigestAlgorithm::Sha512 => key.verify(any_salt::<sha2::Sha512>(), hashed, signature),
        DigestAlgorithm::Md5 => Err(rsa::Error::Verification),
    }
}

/// ECDSA verification of a DER `Ecdsa-Sig-Value` over a prehash of any length (truncated to the
/// curve order's size, as FIPS 186-5 §6.4.2 says).
macro_rules! ecdsa_verify {
    ($curve:ident, $point:expr, $hashed:expr, $signature:expr) => {{
        use signature::hazmat::PrehashVerifier as _;
        let key = $curve::ecdsa::VerifyingKey::from_sec1_bytes($point)
            .map_err(|_| SignatureError::Invalid)?;
        let sig =
            $curve::ecdsa::Signature::from_der($signature).map_err(|_| SignatureError::Invalid)?;
        key.verify_prehash($hashed, &sig)
            .map_err(|_| SignatureError::Invalid)?
    }};
}
use ecdsa_verify;

/// The `signatureAlgorithm` of an RSA signature with `digest`: `sha*WithRSAEncryption` (PKCS#1
/// v1.5), or with `pss` `id-RSASSA-PSS` with MGF1 of the same hash and a salt as long as the hash
/// (RFC 4056). MD5 and SHA-1 are refused.
///
/// # Errors
/// `CMS_UNSUPPORTED_ALGORITHM` for MD5 and SHA-1.
pub fn rsa_signature_algorithm(
    digest: DigestAlgorithm,
    pss: bool,
) -> crate::Result<spki::AlgorithmIdentifierOwned> {
    use crate::error::Error;
    use spki::AlgorithmIdentifierOwned as AlgId;
    if pss {
        fn params<D>() -> crate::Result<der::Any>
        where
            D: digest::Digest + const_oid::AssociatedOid,
        {
            // The salt is as long as the hash: at most 64 bytes.
            let salt_len = u8::try_from(<D as digest::Digest>::output_size()).map_err(|_| {
                Error::Internal {
                    detail: "hash length",
                }
            })?;
            der::Any::encode_from(&pkcs1::RsaPssParamsRef::new::<D>(salt_len)).map_err(|_| {
                Error::Internal {
                    detail: "PSS parameters",
                }
            })
        }
        let parameters = match digest {
            DigestAlgorithm::Sha224 => params::<sha2::Sha224>()?,
            DigestAlgorithm::Sha256 => params::<sha2::Sha256>()?,
            DigestAlgorithm::Sha384 => params::<sha2::Sha384>()?,
            DigestAlgorithm::Sha512 => params::<sha2::Sha512>()?,
            DigestAlgorithm::Md5 | DigestAlgorithm::Sha1 => {
                return Err(Error::unsupported(digest.oid()))
            }
        };
        return Ok(AlgId {
            oid: rfc5912::ID_RSASSA_PSS,
            parameters: Some(parameters),
        });
    }
    let oid = match digest {
        DigestAlgorithm::Sha224 => rfc5912::SHA_224_WITH_RSA_ENCRYPTION,
        DigestAlgorithm::Sha256 => rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
        DigestAlgorithm::Sha384 => rfc5912::SHA_384_WITH_RSA_ENCRYPTION,
        DigestAlgorithm::Sha512 => rfc5912::SHA_512_WITH_RSA_ENCRYPTION,
        DigestAlgorithm::Md5 | DigestAlgorithm::Sha1 => {
            return Err(Error::unsupported(digest.oid()))
        }
    };
    Ok(AlgId {
        oid,
        parameters: Some(der::Any::null()),
    })
}

/// Sign `message` (the data itself, hashed here) with `key`.
///
/// Returns the signature algorithm identifier to put beside the signature and the signature:
/// RSA PKCS#1 v1.5 as `sha256WithRSAEncryption` etc. (NULL parameters); RSA-PSS (`rsa_pss`) as
/// `id-RSASSA-PSS` with explicit parameters (hash and MGF1 hash = `digest`, salt as long as the
/// hash, random); ECDSA as `ecdsa-with-SHA256` etc. (no parameters, DER signature, RFC 6979 nonce
/// hedged with `rng`); Ed25519 as `id-Ed25519` (pure; `digest` is not used).
///
/// # Errors
/// `KEY_UNSUPPORTED` for RSA keys under 2048 bits, `CMS_UNSUPPORTED_ALGORITHM` for MD5 and
/// SHA-1 (Cachet does not make new signatures with weak digests), `INTERNAL` if the signature
/// primitive fails.
pub fn sign<R: rand_core::CryptoRng + ?Sized>(
    key: &crate::keys::PrivateKey,
    digest: DigestAlgorithm,
    rsa_pss: bool,
    message: &[u8],
    rng: &mut R,
) -> crate::Result<(spki::AlgorithmIdentifierOwned, Vec<u8>)> {
    use crate::error::Error;
    use crate::keys::PrivateKey;
    use spki::AlgorithmIdentifierOwned as AlgId;

    if let PrivateKey::X25519(_) = key {
        return Err(Error::KeyUnsupported {
            algorithm: "X25519 (key agreement only, it cannot sign)".into(),
        });
    }
    if let PrivateKey::Ed25519(key) = key {
        use signature::Signer as _;
        let sig = key.sign(message).to_bytes().to_vec();
        return Ok((
            AlgId {
                oid: const_oid::db::rfc8410::ID_ED_25519,
                parameters: None,
            },
            sig,
        ));
    }
    if digest.is_weak() {
        return Err(Error::unsupported(digest.oid()));
    }
    let hashed = digest
        .digest(message)
        .ok_or_else(|| Error::unsupported(digest.oid()))?;
    fn failed<E>(_: E) -> crate::error::Error {
        crate::error::Error::Internal {
            detail: "signature primitive failed",
        }
    }
    match key {
        PrivateKey::Rsa(key) => {
            use rsa::traits::PublicKeyParts as _;
            let bits = key.n().bits_vartime() as usize;
            if bits < RSA_MIN_SIGN_BITS {
                return Err(Error::KeyUnsupported {
                    algorithm: alloc::format!("RSA-{bits}"),
                });
            }
            let algorithm = rsa_signature_algorithm(digest, rsa_pss)?;
            // The PSS salt is as long as the hash (what rsa_signature_algorithm says).
            let salt = hashed.len();
            let sig = match (digest, rsa_pss) {
                (DigestAlgorithm::Sha224, true) => {
                    key.sign_with_rng(rng, rsa::Pss::<sha2::Sha224>::new_with_salt(salt), &hashed)
                }
                (DigestAlgorithm::Sha256, true) => {
                    key.sign_with_rng(rng, rsa::Pss::<sha2::Sha256>::new_with_salt(salt), &hashed)
                }
                (DigestAlgorithm::Sha384, true) => {
                    key.sign_with_rng(rng, rsa::Pss::<sha2::Sha384>::new_with_salt(salt), &hashed)
                }
                (DigestAlgorithm::Sha512, true) => {
                    key.sign_with_rng(rng, rsa::Pss::<sha2::Sha512>::new_with_salt(salt), &hashed)
                }
                (DigestAlgorithm::Sha224, false) => {
                    key.sign_with_rng(rng, rsa::Pkcs1v15Sign::new::<sha2::Sha224>(), &hashed)
                }
                (DigestAlgorithm::Sha256, false) => {
                    key.sign_with_rng(rng, rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed)
                }
                (DigestAlgorithm::Sha384, false) => {
                    key.sign_with_rng(rng, rsa::Pkcs1v15Sign::new::<sha2::Sha384>(), &hashed)
                }
                (DigestAlgorithm::Sha512, false) => {
                    key.sign_with_rng(rng, rsa::Pkcs1v15Sign::new::<sha2::Sha512>(), &hashed)
                }
                (DigestAlgorithm::Md5 | DigestAlgorithm::Sha1, _) => {
                    return Err(Error::unsupported(digest.oid()))
                }
            }
            .map_err(failed)?;
            Ok((algorithm, sig))
        }
        PrivateKey::P256(_) | PrivateKey::P384(_) => {
            use signature::hazmat::RandomizedPrehashSigner as _;
            let oid = match digest {
                DigestAlgorithm::Sha224 => rfc5912::ECDSA_WITH_SHA_224,
                DigestAlgorithm::Sha256 => rfc5912::ECDSA_WITH_SHA_256,
                DigestAlgorithm::Sha384 => rfc5912::ECDSA_WITH_SHA_384,
                DigestAlgorithm::Sha512 => rfc5912::ECDSA_WITH_SHA_512,
                DigestAlgorithm::Md5 | DigestAlgorithm::Sha1 => {
                    return Err(Error::unsupported(digest.oid()))
                }
            };
            let sig = match key {
                PrivateKey::P256(key) => {
                    let sig: p256::ecdsa::DerSignature =
                        key.sign_prehash_with_rng(rng, &hashed).map_err(failed)?;
                    sig.as_bytes().to_vec()
                }
                PrivateKey::P384(key) => {
                    let sig: p384::ecdsa::DerSignature =
                        key.sign_prehash_with_rng(rng, &hashed).map_err(failed)?;
                    sig.as_bytes().to_vec()
                }
                _ => {
                    return Err(Error::Internal {
                        detail: "key type changed",
                    })
                }
            };
            Ok((
                AlgId {
                    oid,
                    parameters: None,
                },
                sig,
            ))
        }
        PrivateKey::Ed25519(_) | PrivateKey::X25519(_) => Err(Error::Internal {
            detail: "Ed25519 and X25519 handled above",
        }),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::keys::PrivateKey;
    use der::{Decode as _, DecodePem as _, Encode as _};
    use pkcs8::DecodePrivateKey as _;
    use x509_cert::Certificate;

    const PKI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/pki/");
    const CERTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/certs/");

    fn read(path: &str) -> Vec<u8> {
        std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn pki_cert(stem: &str) -> Certificate {
        Certificate::from_pem(read(&format!("{PKI}{stem}.pem"))).unwrap()
    }

    fn corpus_cert(name: &str) -> Certificate {
        let data = read(&format!("{CERTS}{name}"));
        Certificate::from_pem(&data)
            .or_else(|_| Certificate::from_der(&data))
            .unwrap()
    }

    fn pki_key(stem: &str) -> PrivateKey {
        let pem = String::from_utf8(read(&format!("{PKI}{stem}.key"))).unwrap();
        if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(&pem) {
            return PrivateKey::Rsa(Box::new(k));
        }
        if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(&pem) {
            return PrivateKey::P256(k);
        }
        if let Ok(k) = p384::ecdsa::SigningKey::from_pkcs8_pem(&pem) {
            return PrivateKey::P384(k);
        }
        PrivateKey::Ed25519(ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap())
    }

    fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
        rand_core::UnwrapErr(getrandom::SysRng)
    }

    fn spki_of(cert: &Certificate) -> &spki::SubjectPublicKeyInfoOwned {
        cert.tbs_certificate().subject_public_key_info()
    }

    /// Verify `cert`'s signature with `issuer`'s key.
    fn verify_cert(cert: &Certificate, issuer: &Certificate) -> Result<Verified, SignatureError> {
        let tbs = cert.tbs_certificate().to_der().unwrap();
        let sig = cert.signature().as_bytes().unwrap();
        verify_signature(spki_of(issuer), cert.signature_algorithm(), None, &tbs, sig)
    }

    const DIGESTS: [DigestAlgorithm; 4] = [
        DigestAlgorithm::Sha224,
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ];

    #[test]
    fn sign_verify_round_trip_every_key_and_digest() {
        let msg = b"Content-Type: text/plain\r\n\r\nhello\r\n";
        for stem in ["alice-rsa", "alice-p256", "alice-p384", "alice-ed25519"] {
            let key = pki_key(stem);
            let cert = pki_cert(stem);
            let pss_modes: &[bool] = if matches!(key, PrivateKey::Rsa(_)) {
                &[false, true]
            } else {
                &[false]
            };
            for &pss in pss_modes {
                for digest in DIGESTS {
                    let (alg, sig) = sign(&key, digest, pss, msg, &mut rng()).unwrap();
                    let v = verify_signature(spki_of(&cert), &alg, None, msg, &sig)
                        .unwrap_or_else(|e| panic!("{stem} {digest:?} pss={pss}: {e:?}"));
                    let expected_name = match (&key, pss) {
                        (PrivateKey::Rsa(_), false) => "rsa-pkcs1v15",
                        (PrivateKey::Rsa(_), true) => "rsa-pss",
                        (PrivateKey::Ed25519(_), _) => "ed25519",
                        _ => "ecdsa",
                    };
                    assert_eq!(v.name, expected_name);
                    if v.name == "ed25519" {
                        assert_eq!(v.digest, None);
                        assert_eq!(alg.oid, const_oid::db::rfc8410::ID_ED_25519);
                    } else {
                        assert_eq!(v.digest, Some(digest));
                    }
                    let mut tampered = msg.to_vec();
                    tampered[0] ^= 1;
                    assert_eq!(
                        verify_signature(spki_of(&cert), &alg, None, &tampered, &sig),
                        Err(SignatureError::Invalid),
                        "{stem} {digest:?} pss={pss}"
                    );
                    // The right signature under someone else's key fails too.
                    let bob = pki_cert("bob-p256");
                    assert!(verify_signature(spki_of(&bob), &alg, None, msg, &sig).is_err());
                }
            }
        }
    }

    #[test]
    fn sign_encodes_algorithm_identifiers() {
        let msg = b"m";
        let rsa_key = pki_key("alice-rsa");
        let (alg, sig) = sign(&rsa_key, DigestAlgorithm::Sha256, false, msg, &mut rng()).unwrap();
        assert_eq!(alg.oid, rfc5912::SHA_256_WITH_RSA_ENCRYPTION);
        assert!(alg.parameters.as_ref().unwrap().is_null());
        assert_eq!(sig.len(), 256);
        // PKCS#1 v1.5 is deterministic.
        let (_, sig2) = sign(&rsa_key, DigestAlgorithm::Sha256, false, msg, &mut rng()).unwrap();
        assert_eq!(sig, sig2);

        let (alg, _) = sign(&rsa_key, DigestAlgorithm::Sha384, true, msg, &mut rng()).unwrap();
        assert_eq!(alg.oid, rfc5912::ID_RSASSA_PSS);
        let params: pkcs1::RsaPssParams<der::Any> =
            alg.parameters.as_ref().unwrap().decode_as().unwrap();
        assert_eq!(params.hash.oid, rfc5912::ID_SHA_384);
        assert_eq!(params.mask_gen.oid, rfc5912::ID_MGF_1);
        assert_eq!(params.mask_gen.parameters.unwrap().oid, rfc5912::ID_SHA_384);
        assert_eq!(params.salt_len, 48);

        let (alg, sig) = sign(
            &pki_key("alice-p384"),
            DigestAlgorithm::Sha384,
            false,
            msg,
            &mut rng(),
        )
        .unwrap();
        assert_eq!(alg.oid, rfc5912::ECDSA_WITH_SHA_384);
        assert!(alg.parameters.is_none());
        assert_eq!(sig.first(), Some(&0x30), "DER Ecdsa-Sig-Value");
    }

    #[test]
    fn sign_refuses_weak_digests_and_small_rsa() {
        for stem in ["alice-rsa", "alice-p256"] {
            for d in [DigestAlgorithm::Md5, DigestAlgorithm::Sha1] {
                let err = sign(&pki_key(stem), d, false, b"m", &mut rng()).unwrap_err();
                assert_eq!(err.code(), "CMS_UNSUPPORTED_ALGORITHM");
            }
        }
        let small = rsa::RsaPrivateKey::new(&mut rng(), 1024).unwrap();
        let err = sign(
            &PrivateKey::Rsa(Box::new(small)),
            DigestAlgorithm::Sha256,
            false,
            b"m",
            &mut rng(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "KEY_UNSUPPORTED");
    }

    #[test]
    fn cms_style_key_oids_use_the_digest_hint() {
        let msg = b"signed attributes";
        for (stem, key_oid) in [
            ("alice-rsa", rfc5912::RSA_ENCRYPTION),
            ("alice-p256", rfc5912::ID_EC_PUBLIC_KEY),
        ] {
            let (_, sig) = sign(
                &pki_key(stem),
                DigestAlgorithm::Sha512,
                false,
                msg,
                &mut rng(),
            )
            .unwrap();
            let cert = pki_cert(stem);
            let alg = spki::AlgorithmIdentifierOwned {
                oid: key_oid,
                parameters: None,
            };
            let v = verify_signature(
                spki_of(&cert),
                &alg,
                Some(DigestAlgorithm::Sha512),
                msg,
                &sig,
            )
            .unwrap();
            assert_eq!(v.digest, Some(DigestAlgorithm::Sha512));
            // The wrong hint fails; no hint is unsupported.
            assert_eq!(
                verify_signature(
                    spki_of(&cert),
                    &alg,
                    Some(DigestAlgorithm::Sha256),
                    msg,
                    &sig
                ),
                Err(SignatureError::Invalid)
            );
            assert!(matches!(
                verify_signature(spki_of(&cert), &alg, None, msg, &sig),
                Err(SignatureError::Unsupported(_))
            ));
        }
    }

    #[test]
    fn pss_default_parameters_and_any_salt_length() {
        let PrivateKey::Rsa(key) = pki_key("alice-rsa") else {
            unreachable!()
        };
        let cert = pki_cert("alice-rsa");
        let msg = b"pss";
        // Absent parameters: SHA-1, MGF1-SHA-1, salt 20 (RFC 4055 §3.1).
        let hashed = DigestAlgorithm::Sha1.digest(msg).unwrap();
        let sig = key
            .sign_with_rng(&mut rng(), rsa::Pss::<sha1::Sha1>::new(), &hashed)
            .unwrap();
        let alg = spki::AlgorithmIdentifierOwned {
            oid: rfc5912::ID_RSASSA_PSS,
            parameters: None,
        };
        let v = verify_signature(spki_of(&cert), &alg, None, msg, &sig).unwrap();
        assert_eq!((v.name, v.digest), ("rsa-pss", Some(DigestAlgorithm::Sha1)));
        // Salt 0 while the parameters say 32: accepted (any salt length).
        let hashed = DigestAlgorithm::Sha256.digest(msg).unwrap();
        let sig = key
            .sign_with_rng(
                &mut rng(),
                rsa::Pss::<sha2::Sha256>::new_with_salt(0),
                &hashed,
            )
            .unwrap();
        let params = pkcs1::RsaPssParamsRef::new::<sha2::Sha256>(32);
        let alg = spki::AlgorithmIdentifierOwned {
            oid: rfc5912::ID_RSASSA_PSS,
            parameters: Some(der::Any::encode_from(&params).unwrap()),
        };
        verify_signature(spki_of(&cert), &alg, None, msg, &sig).unwrap();
        // The same key as an id-RSASSA-PSS key: PSS yes, PKCS#1 v1.5 no.
        let mut pss_key = spki_of(&cert).clone();
        pss_key.algorithm = spki::AlgorithmIdentifierOwned {
            oid: rfc5912::ID_RSASSA_PSS,
            parameters: None,
        };
        verify_signature(&pss_key, &alg, None, msg, &sig).unwrap();
        let (v15_alg, v15_sig) = sign(
            &PrivateKey::Rsa(key.clone()),
            DigestAlgorithm::Sha256,
            false,
            msg,
            &mut rng(),
        )
        .unwrap();
        verify_signature(spki_of(&cert), &v15_alg, None, msg, &v15_sig).unwrap();
        assert_eq!(
            verify_signature(&pss_key, &v15_alg, None, msg, &v15_sig),
            Err(SignatureError::Invalid)
        );
        // MGF1 with another hash: unsupported, not silently wrong.
        let mut params = pkcs1::RsaPssParamsRef::new::<sha2::Sha256>(32);
        params.mask_gen.parameters.as_mut().unwrap().oid = rfc5912::ID_SHA_512;
        let alg = spki::AlgorithmIdentifierOwned {
            oid: rfc5912::ID_RSASSA_PSS,
            parameters: Some(der::Any::encode_from(&params).unwrap()),
        };
        assert!(matches!(
            verify_signature(spki_of(&cert), &alg, None, msg, &sig),
            Err(SignatureError::Unsupported(_))
        ));
    }

    #[test]
    fn unsupported_and_small_keys() {
        let cert = pki_cert("alice-rsa");
        let md5 = spki::AlgorithmIdentifierOwned {
            oid: rfc5912::MD_5_WITH_RSA_ENCRYPTION,
            parameters: None,
        };
        assert_eq!(
            verify_signature(spki_of(&cert), &md5, None, b"m", &[0; 256]),
            Err(SignatureError::Unsupported("md5".into()))
        );
        // A 512-bit RSA key.
        let modulus = [0xC1u8; 64];
        let pk = pkcs1::RsaPublicKeyRef {
            modulus: der::asn1::UintRef::new(&modulus).unwrap(),
            public_exponent: der::asn1::UintRef::new(&[1, 0, 1]).unwrap(),
        };
        let small = spki::SubjectPublicKeyInfoOwned {
            algorithm: spki::AlgorithmIdentifierOwned {
                oid: rfc5912::RSA_ENCRYPTION,
                parameters: Some(der::Any::null()),
            },
            subject_public_key: der::asn1::BitString::from_bytes(&pk.to_der().unwrap()).unwrap(),
        };
        let alg = cert.signature_algorithm().clone();
        let alg = spki::AlgorithmIdentifierOwned {
            oid: rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
            ..alg
        };
        assert_eq!(
            verify_signature(&small, &alg, None, b"m", &[0; 64]),
            Err(SignatureError::KeyTooSmall)
        );
        // Key and algorithm of different families.
        let ec = pki_cert("alice-p256");
        assert_eq!(
            verify_signature(spki_of(&ec), &alg, None, b"m", &[0; 256]),
            Err(SignatureError::Invalid)
        );
        // Garbage signatures never panic.
        for sig in [&[][..], &[0x30], &[0xff; 300]] {
            for c in ["alice-rsa", "alice-p256", "alice-p384", "alice-ed25519"] {
                let c = pki_cert(c);
                let alg = c.signature_algorithm().clone();
                assert!(verify_signature(spki_of(&c), &alg, None, b"m", sig).is_err());
            }
        }
    }

    #[test]
    fn fixture_certificate_signatures() {
        let root = pki_cert("root-ca");
        let inter = pki_cert("inter-ca");
        let other = pki_cert("other-root-ca");
        assert_eq!(verify_cert(&root, &root).unwrap().name, "rsa-pkcs1v15");
        assert_eq!(verify_cert(&other, &other).unwrap().name, "rsa-pkcs1v15");
        assert_eq!(
            verify_cert(&inter, &root).unwrap().digest,
            Some(DigestAlgorithm::Sha256)
        );
        for leaf in [
            "alice-rsa",
            "alice-rsa4096",
            "alice-p256",
            "alice-p384",
            "alice-ed25519",
            "bob-rsa",
            "bob-p256",
            "expired",
            "not-yet-valid",
            "eku-server",
            "ku-keyenc",
            "no-eku",
            "any-eku",
            "no-email",
            "legacy-email",
            "sub-ca",
        ] {
            let v =
                verify_cert(&pki_cert(leaf), &inter).unwrap_or_else(|e| panic!("{leaf}: {e:?}"));
            assert_eq!(
                (v.name, v.digest),
                ("ecdsa", Some(DigestAlgorithm::Sha256)),
                "{leaf}"
            );
            assert_eq!(
                verify_cert(&pki_cert(leaf), &root),
                Err(SignatureError::Invalid)
            );
        }
        verify_cert(&pki_cert("pathlen-leaf"), &pki_cert("sub-ca")).unwrap();
        verify_cert(&pki_cert("untrusted-leaf"), &other).unwrap();
        verify_cert(&pki_cert("not-ca-issued"), &pki_cert("alice-rsa")).unwrap();
        let v = verify_cert(&pki_cert("sha1-leaf"), &root).unwrap();
        assert_eq!(v.digest, Some(DigestAlgorithm::Sha1));
    }

    #[test]
    fn corpus_certificate_signatures() {
        let carl = corpus_cert("CarlRSASelf.cer");
        let v = verify_cert(&carl, &carl).unwrap();
        assert_eq!(v.digest, Some(DigestAlgorithm::Sha1));
        verify_cert(&corpus_cert("AliceRSASignByCarl.cer"), &carl).unwrap();
        let root = corpus_cert("validator.root.crt");
        verify_cert(&root, &root).unwrap();
        let fake = corpus_cert("validator.fakeRoot.crt");
        verify_cert(&fake, &fake).unwrap();
        assert_eq!(verify_cert(&fake, &root), Err(SignatureError::Invalid));
        let startcom = corpus_cert("StartComCertificationAuthority.crt");
        assert_eq!(
            verify_cert(&startcom, &startcom).unwrap().digest,
            Some(DigestAlgorithm::Sha256)
        );
        verify_cert(
            &corpus_cert("StartComClass1PrimaryIntermediateClientCA.crt"),
            &startcom,
        )
        .unwrap();
        let nss = corpus_cert("TestCA.pem");
        verify_cert(&nss, &nss).unwrap();
        // DSA is not supported: reported as such, not as a bad signature.
        let dsa = corpus_cert("CarlDSSSelf.cer");
        assert!(matches!(
            verify_cert(&dsa, &dsa),
            Err(SignatureError::Unsupported(_))
        ));
    }

    #[test]
    fn x25519_cannot_sign() {
        let pem = read(&format!("{PKI}carol-x25519.key"));
        let key = PrivateKey::parse(&pem, None).unwrap();
        for rsa_pss in [false, true] {
            let err = sign(&key, DigestAlgorithm::Sha256, rsa_pss, b"m", &mut rng()).unwrap_err();
            assert_eq!(err.code(), "KEY_UNSUPPORTED");
        }
    }
}
