//! The key store's core: private keys protected at rest, PKCS#12 export (backups), and the
//! certificate facts the store indexes for lookups, and each certificate's status for listing.
//!
//! At rest a private key is a PKCS#8 `EncryptedPrivateKeyInfo` (RFC 5958 §3): PBES2 (RFC 8018)
//! with PBKDF2-HMAC-SHA256 and AES-256-CBC, salt and IV from the caller's random number
//! generator. Unlocking it is [`crate::keys::Identity::load`] with the passphrase.
//!
//! What this module does not do: store anything (the JS adapters do), wrap keys with WebCrypto
//! (the browser adapter may add that layer around these bytes), or choose iteration counts
//! below what the caller asks for.

use alloc::string::String;
use alloc::vec::Vec;

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use const_oid::db::rfc5280 as ext_oid;
use der::asn1::ObjectIdentifier;
use der::Encode;
use digest::Digest;
use hmac::{KeyInit, Mac};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::{pkcs12, Identity, PrivateKey};
use crate::smime::SignerStatus;
use crate::time::UnixTime;

/// PBKDF2 iterations for keys at rest: OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// PBKDF2 and PKCS#12 KDF iterations for a legacy PKCS#12 export (what OpenSSL and Windows use).
pub const LEGACY_ITERATIONS: u32 = 2048;
/// Bytes of PBKDF2 salt.
const SALT_LEN: usize = 16;
/// Bytes of salt for the PKCS#12 KDF (legacy PBE and MAC), as OpenSSL writes it.
const PKCS12_SALT_LEN: usize = 8;

const ID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const ID_ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];
/// pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 Appendix C).
const PBE_SHA1_3DES: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01, 0x03];
const SHROUDED_KEY_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x02,
];
const CERT_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03,
];
const X509_CERTIFICATE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
const FRIENDLY_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14];
const LOCAL_KEY_ID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x15];
const SHA1: &[u8] = &[0x2b, 0x0e, 0x03, 0x02, 0x1a];
const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

fn internal(detail: &'static str) -> impl Fn(pkcs5::Error) -> Error {
    move |_| Error::Internal { detail }
}

fn check_iterations(iterations: u32) -> Result<()> {
    if iterations == 0 || u64::from(iterations) > pkcs12::MAX_ITERATIONS {
        return Err(Error::misuse(alloc::format!(
            "iterations: expected 1..={}",
            pkcs12::MAX_ITERATIONS
        )));
    }
    Ok(())
}

// ---- DER writing ---------------------------------------------------------------------------

/// One TLV with a low tag number.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if let Ok(short @ 0..0x80) = u8::try_from(len) {
        out.push(short);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0x7f));
        out.extend_from_slice(significant);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn set(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x31, &parts.concat())
}

fn oid(value: &[u8]) -> Vec<u8> {
    tlv(0x06, value)
}

fn octets(value: &[u8]) -> Vec<u8> {
    tlv(0x04, value)
}

/// `[n]` EXPLICIT (constructed context tag).
fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xa0 | n, inner)
}

fn integer(value: u32) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    let mut content: Vec<u8> = bytes.get(skip..).unwrap_or_default().to_vec();
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        content.insert(0, 0);
    }
    tlv(0x02, &content)
}

// ---- keys at rest --------------------------------------------------------------------------

/// An encryption scheme chosen for one export or one key: the DER `AlgorithmIdentifier` and a way
/// to encrypt with it.
enum Scheme {
    Pbes2(pkcs5::pbes2::Parameters),
    /// pbeWithSHAAnd3-KeyTripleDES-CBC: salt and iterations.
    Legacy3Des([u8; PKCS12_SALT_LEN], u32),
}

impl Scheme {
    fn pbes2<R: rand_core::CryptoRng + ?Sized>(iterations: u32, rng: &mut R) -> Result<Self> {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let mut iv = [0u8; 16];
        rng.fill_bytes(&mut iv);
        let params =
            pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv)
                .map_err(internal("PBES2 parameters"))?;
        Ok(Self::Pbes2(params))
    }

    fn legacy<R: rand_core::CryptoRng + ?Sized>(iterations: u32, rng: &mut R) -> Self {
        let mut salt = [0u8; PKCS12_SALT_LEN];
        rng.fill_bytes(&mut salt);
        Self::Legacy3Des(salt, iterations)
    }

    /// The `AlgorithmIdentifier`, DER.
    fn algorithm(&self) -> Result<Vec<u8>> {
        match self {
            Self::Pbes2(params) => Ok(pkcs5::EncryptionScheme::from(params.clone()).to_der()?),
            Self::Legacy3Des(salt, iterations) => {
                // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
                let params = seq(&[&octets(salt), &integer(*iterations)]);
                Ok(seq(&[&oid(PBE_SHA1_3DES), &params]))
            }
        }
    }

    /// Encrypt `plain` with `password` (PBES2: UTF-8; PKCS#12 PBE: BMPString).
    fn encrypt(&self, password: &str, plain: &[u8]) -> Result<Vec<u8>> {
        match self {
            Self::Pbes2(params) => {
                let mut buffer = Zeroizing::new(Vec::with_capacity(plain.len() + 16));
                buffer.extend_from_slice(plain);
                buffer.extend_from_slice(&[0u8; 16]);
                let ct = params
                    .encrypt_in_place(password.as_bytes(), &mut buffer, plain.len())
                    .map_err(internal("PBES2 encryption"))?;
                Ok(ct.to_vec())
            }
            Self::Legacy3Des(salt, iterations) => {
                let bmp = pkcs12::bmp_password(password);
                let n = u64::from(*iterations);
                let key = pkcs12::kdf::<sha1::Sha1>(64, &bmp, salt, 1, n, 24);
                let iv = pkcs12::kdf::<sha1::Sha1>(64, &bmp, salt, 2, n, 8);
                let cipher =
                    cbc::Encryptor::<des::TdesEde3>::new_from_slices(&key, &iv).map_err(|_| {
                        Error::Internal {
                            detail: "3DES key length",
                        }
                    })?;
                Ok(cipher.encrypt_padded_vec::<Pkcs7>(plain))
            }
        }
    }

    /// `EncryptedPrivateKeyInfo ::= SEQUENCE { encryptionAlgorithm, encryptedData OCTET STRING }`
    fn encrypt_key(&self, key: &PrivateKey, password: &str) -> Result<Vec<u8>> {
        let plain = key.to_pkcs8_der()?;
        let ciphertext = self.encrypt(password, &plain)?;
        Ok(seq(&[&self.algorithm()?, &octets(&ciphertext)]))
    }
}

/// Protect a private key at rest: PKCS#8 `EncryptedPrivateKeyInfo`, PBES2 with
/// PBKDF2-HMAC-SHA256 (`iterations`, [`DEFAULT_ITERATIONS`] unless testing) and AES-256-CBC, with
/// a random 16-byte salt and IV from `rng`. The result is DER and holds nothing in clear.
///
/// Unlock it with [`Identity::load`] (or [`PrivateKey::from_encrypted_pkcs8_der`]) and the same
/// passphrase; OpenSSL reads it too (`openssl pkcs8 -in key.der -inform DER`).
///
/// # Errors
/// `API_MISUSE` for an empty passphrase or `iterations` outside 1..=10,000,000; `INTERNAL` if
/// encoding fails.
pub fn protect_key<R: rand_core::CryptoRng + ?Sized>(
    key: &PrivateKey,
    passphrase: &str,
    iterations: u32,
    rng: &mut R,
) -> Result<Vec<u8>> {
    if passphrase.is_empty() {
        return Err(Error::misuse("passphrase: must not be empty"));
    }
    check_iterations(iterations)?;
    Scheme::pbes2(iterations, rng)?.encrypt_key(key, passphrase)
}

// ---- PKCS#12 export ------------------------------------------------------------------------

/// How [`export_pkcs12`] writes the file.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// `false` (default): PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC for the key and the
    /// certificates, HMAC-SHA-256 MAC, as OpenSSL 3 writes it. `true`:
    /// pbeWithSHAAnd3-KeyTripleDES-CBC for the key and the certificates, HMAC-SHA-1 MAC, for
    /// old importers (Windows 7, macOS Keychain before 2023, Java 8).
    pub legacy: bool,
    /// KDF iterations (PBKDF2, the PKCS#12 KDF of the legacy PBE and of the MAC).
    pub iterations: u32,
    /// The `friendlyName` of the key and its certificate, if any.
    pub friendly_name: Option<String>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            legacy: false,
            iterations: DEFAULT_ITERATIONS,
            friendly_name: None,
        }
    }
}

/// `bagAttributes`: localKeyId (and friendlyName) tying the key to its certificate.
fn bag_attributes(local_key_id: &[u8], friendly_name: Option<&str>) -> Vec<u8> {
    let mut attributes = Vec::new();
    if let Some(name) = friendly_name {
        let mut bmp = Vec::with_capacity(name.len() * 2);
        for unit in name.encode_utf16() {
            bmp.extend_from_slice(&unit.to_be_bytes());
        }
        attributes.push(seq(&[&oid(FRIENDLY_NAME), &set(&[&tlv(0x1e, &bmp)])]));
    }
    attributes.push(seq(&[&oid(LOCAL_KEY_ID), &set(&[&octets(local_key_id)])]));
    let refs: Vec<&[u8]> = attributes.iter().map(Vec::as_slice).collect();
    set(&refs)
}

/// `ContentInfo { id-data, [0] EXPLICIT OCTET STRING }`
fn data_content_info(content: &[u8]) -> Vec<u8> {
    seq(&[&oid(ID_DATA), &explicit(0, &octets(content))])
}

/// The MAC over the authenticated safe with the PKCS#12 KDF (RFC 7292 Appendix B), as
/// `MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER }`.
fn mac_data<D, R>(
    digest_oid: &[u8],
    password: &str,
    iterations: u32,
    content: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>>
where
    D: Digest + hmac::EagerHash,
    hmac::Hmac<D>: KeyInit + Mac,
    R: rand_core::CryptoRng + ?Sized,
{
    let mut salt = [0u8; PKCS12_SALT_LEN];
    rng.fill_bytes(&mut salt);
    let bmp = pkcs12::bmp_password(password);
    let key = pkcs12::kdf::<D>(
        64,
        &bmp,
        &salt,
        3,
        u64::from(iterations),
        <D as Digest>::output_size(),
    );
    let mut mac = <hmac::Hmac<D> as KeyInit>::new_from_slice(&key)
        .map_err(|_| Error::Internal { detail: "HMAC key" })?;
    mac.update(content);
    let tag = mac.finalize().into_bytes();
    let algorithm = seq(&[&oid(digest_oid), &[0x05, 0x00]]);
    let digest_info = seq(&[&algorithm, &octets(&tag)]);
    Ok(seq(&[&digest_info, &octets(&salt), &integer(iterations)]))
}

/// Export an identity (its key, certificate and chain) as a PKCS#12 file protected by
/// `password`: a backup, or a way to move the identity to another mail client.
///
/// The file holds one `EncryptedData` safe with the certificates (leaf first, then the chain) and
/// one `Data` safe with the shrouded key; the key and the leaf share a `localKeyId` (the SHA-1 of
/// the leaf, as OpenSSL writes it). [`crate::keys::pkcs12::parse`] and `openssl pkcs12` read it
/// back (`-legacy` for [`ExportOptions::legacy`] on OpenSSL 3).
///
/// # Errors
/// `API_MISUSE` for `iterations` outside 1..=10,000,000; `INTERNAL` if encoding fails.
pub fn export_pkcs12<R: rand_core::CryptoRng + ?Sized>(
    identity: &Identity,
    password: &str,
    options: &ExportOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    check_iterations(options.iterations)?;
    let iterations = options.iterations;
    let leaf = identity.certificate.to_der()?;
    let local_key_id = sha1::Sha1::digest(&leaf);
    let attributes = bag_attributes(&local_key_id, options.friendly_name.as_deref());

    // SafeContents of the certificates: CertBag ::= SEQUENCE { certId, [0] EXPLICIT OCTET STRING }
    let cert_bag = |der: &[u8], attrs: Option<&[u8]>| -> Vec<u8> {
        let value = seq(&[&oid(X509_CERTIFICATE), &explicit(0, &octets(der))]);
        match attrs {
            Some(a) => seq(&[&oid(CERT_BAG), &explicit(0, &value), a]),
            None => seq(&[&oid(CERT_BAG), &explicit(0, &value)]),
        }
    };
    let mut bags = alloc::vec![cert_bag(&leaf, Some(&attributes))];
    for cert in &identity.chain {
        bags.push(cert_bag(&cert.to_der()?, None));
    }
    let refs: Vec<&[u8]> = bags.iter().map(Vec::as_slice).collect();
    let cert_contents = seq(&refs);

    let scheme = |rng: &mut R| -> Result<Scheme> {
        if options.legacy {
            Ok(Scheme::legacy(iterations, rng))
        } else {
            Scheme::pbes2(iterations, rng)
        }
    };
    // EncryptedData ::= SEQUENCE { version 0, EncryptedContentInfo ::= SEQUENCE { contentType,
    //   contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT OCTET STRING } }
    let cert_scheme = scheme(rng)?;
    let encrypted = cert_scheme.encrypt(password, &cert_contents)?;
    let eci = seq(&[
        &oid(ID_DATA),
        &cert_scheme.algorithm()?,
        &tlv(0x80, &encrypted),
    ]);
    let certs_info = seq(&[
        &oid(ID_ENCRYPTED_DATA),
        &explicit(0, &seq(&[&integer(0), &eci])),
    ]);

    let epki = scheme(rng)?.encrypt_key(&identity.key, password)?;
    let key_bag = seq(&[&oid(SHROUDED_KEY_BAG), &explicit(0, &epki), &attributes]);
    let key_info = data_content_info(&seq(&[&key_bag]));

    let auth_safe = seq(&[&certs_info, &key_info]);
    let mac = if options.legacy {
        mac_data::<sha1::Sha1, R>(SHA1, password, iterations, &auth_safe, rng)?
    } else {
        mac_data::<sha2::Sha256, R>(SHA256, password, iterations, &auth_safe, rng)?
    };
    Ok(seq(&[&integer(3), &data_content_info(&auth_safe), &mac]))
}

// ---- certificate facts ---------------------------------------------------------------------

/// What the key store indexes about a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// Serial number: uppercase hex of the INTEGER's content octets, as Windows shows it.
    pub serial: String,
    /// Email addresses (SAN rfc822Name, then subject emailAddress), domains lowercased.
    pub emails: Vec<String>,
    /// Start of validity.
    pub not_before: UnixTime,
    /// End of validity.
    pub not_after: UnixTime,
    /// SHA-1 of the DER, uppercase hex (Windows' "Thumbprint").
    pub thumbprint: String,
    /// SHA-256 of the DER, lowercase hex.
    pub fingerprint: String,
    /// subjectKeyIdentifier, lowercase hex, if present.
    pub subject_key_id: Option<String>,
    /// May sign S/MIME: KU digitalSignature or nonRepudiation (or no KU), EKU emailProtection or
    /// anyExtendedKeyUsage (or no EKU), as [`crate::x509::path::check_signer_usage`] decides.
    pub can_sign: bool,
    /// May receive S/MIME encryption: an RSA, EC or X25519 key, KU keyEncipherment or keyAgreement (or no
    /// KU), EKU emailProtection or anyExtendedKeyUsage (or no EKU).
    pub can_encrypt: bool,
    /// basicConstraints cA is true.
    pub is_ca: bool,
    /// The public key algorithm: `RSA`, `EC`, `Ed25519`, `X25519` or its OID.
    pub key_algorithm: String,
}

fn hex_string(bytes: &[u8], upper: bool) -> String {
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

/// The size in bits of `cert`'s RSA modulus, if it holds a readable RSA key.
fn rsa_bits(cert: &Certificate) -> Option<usize> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::traits::PublicKeyParts as _;
    let spki = cert.tbs_certificate().subject_public_key_info();
    let key = rsa::RsaPublicKey::from_pkcs1_der(spki.subject_public_key.as_bytes()?).ok()?;
    Some(key.n().bits_vartime() as usize)
}

/// The facts of `cert` the key store indexes.
#[must_use]
pub fn certificate_info(cert: &Certificate) -> CertificateInfo {
    let tbs = cert.tbs_certificate();
    let algorithm = tbs.subject_public_key_info().algorithm.oid;
    let key_algorithm = if algorithm == RSA_ENCRYPTION {
        String::from("RSA")
    } else if algorithm == EC_PUBLIC_KEY {
        String::from("EC")
    } else if algorithm == const_oid::db::rfc8410::ID_ED_25519 {
        String::from("Ed25519")
    } else if algorithm == crate::keys::X25519 {
        String::from("X25519")
    } else {
        alloc::format!("{algorithm}")
    };
    let email_eku = match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(None) => true,
        Ok(Some((_, eku))) => eku.0.iter().any(|oid| {
            *oid == ext_oid::ID_KP_EMAIL_PROTECTION || *oid == ext_oid::ANY_EXTENDED_KEY_USAGE
        }),
        Err(_) => false,
    };
    let encipher_ku = match tbs.get_extension::<KeyUsage>() {
        Ok(None) => true,
        Ok(Some((_, ku))) => ku.key_encipherment() || ku.key_agreement(),
        Err(_) => false,
    };
    let can_encrypt = email_eku
        && encipher_ku
        && ((algorithm == RSA_ENCRYPTION
            && rsa_bits(cert).is_some_and(|b| crate::algorithms::RSA_SEND_BITS.contains(&b)))
            || algorithm == EC_PUBLIC_KEY
            || algorithm == crate::keys::X25519);
    let is_ca = matches!(
        tbs.get_extension::<BasicConstraints>(),
        Ok(Some((_, bc))) if bc.ca
    );
    CertificateInfo {
        subject: crate::x509::subject(cert),
        issuer: crate::x509::issuer(cert),
        serial: hex_string(tbs.serial_number().as_bytes(), true),
        emails: crate::x509::email_addresses(cert),
        not_before: UnixTime::from_x509(&tbs.validity().not_before),
        not_after: UnixTime::from_x509(&tbs.validity().not_after),
        thumbprint: crate::x509::sha1_thumbprint(cert),
        fingerprint: crate::x509::sha256_fingerprint(cert),
        subject_key_id: crate::x509::subject_key_id(cert).map(|id| hex_string(&id, false)),
        can_sign: crate::x509::path::check_signer_usage(cert).is_ok(),
        can_encrypt,
        is_ca,
        key_algorithm,
    }
}

/// How a stored certificate stands at a given time (see [`certificate_status`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertificateStatus {
    /// In the words of a signer report: [`SignerStatus::Valid`], `Untrusted`, `Expired`,
    /// `NotYetValid`, `Revoked`, `WeakAlgorithm` or `UnsupportedAlgorithm`.
    pub status: SignerStatus,
    /// The signer report code that says why (`CERT_EXPIRED`, `CERT_UNTRUSTED`, ...); `None` when
    /// valid.
    pub code: Option<&'static str>,
}

/// How `cert` stands at `time`: a path to one of `anchors` (through any of `pool`), then
/// revocation by `crls`, judged as `verify` judges a signer's chain, with the same statuses and
/// codes (a weak signature in the chain only when nothing else is wrong). A trust anchor stands
/// on its own validity period.
///
/// It does not judge key usage or addresses ([`CertificateInfo::can_sign`] and
/// [`CertificateInfo::can_encrypt`] say what the key may do), and fetches no CRL.
#[must_use]
pub fn certificate_status(
    cert: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    crls: &[CertificateList],
    time: UnixTime,
) -> CertificateStatus {
    use crate::x509::path::{validate, PathProblem as P};
    use SignerStatus as S;
    let path = validate(cert, pool, anchors, time);
    let (status, code) = match path.problem {
        None | Some(P::WeakSignature) => {
            if crate::x509::crl::revoked(&path.chain, crls, time).is_some() {
                (S::Revoked, "CERT_REVOKED")
            } else if path.problem.is_some() {
                (S::WeakAlgorithm, "CERT_WEAK_SIGNATURE")
            } else {
                return CertificateStatus {
                    status: S::Valid,
                    code: None,
                };
            }
        }
        Some(P::Untrusted) => (S::Untrusted, "CERT_UNTRUSTED"),
        Some(P::Expired) => (S::Expired, "CERT_EXPIRED"),
        Some(P::NotYetValid) => (S::NotYetValid, "CERT_NOT_YET_VALID"),
        Some(P::BadSignature) => (S::Untrusted, "CERT_CHAIN_INVALID"),
        Some(P::NotCa) => (S::Untrusted, "CERT_NOT_CA"),
        Some(P::PathLength) => (S::Untrusted, "CERT_PATH_LENGTH"),
        Some(P::UnsupportedAlgorithm(_)) => (S::UnsupportedAlgorithm, "UNSUPPORTED_ALGORITHM"),
        Some(P::UnhandledCriticalExtension(_)) => (S::Untrusted, "CERT_CRITICAL_EXTENSION"),
        Some(P::Malformed) => (S::Untrusted, "CERT_MALFORMED"),
    };
    CertificateStatus {
        status,
        code: Some(code),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
        rand_core::UnwrapErr(getrandom::SysRng)
    }

    fn read(path: &str) -> Vec<u8> {
        std::fs::read(alloc::format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn alice(name: &str) -> Identity {
        Identity::load(
            &read(&alloc::format!("tests/vectors/pki/{name}.p12")),
            None,
            Some("test"),
            &[],
        )
        .unwrap()
    }

    #[test]
    fn der_integers() {
        assert_eq!(integer(0), [0x02, 0x01, 0x00]);
        assert_eq!(integer(3), [0x02, 0x01, 0x03]);
        assert_eq!(integer(128), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(2048), [0x02, 0x02, 0x08, 0x00]);
        assert_eq!(integer(600_000), [0x02, 0x03, 0x09, 0x27, 0xc0]);
        assert_eq!(tlv(0x04, &[0; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn protected_key_round_trip_and_no_plaintext() {
        for name in ["alice-rsa", "alice-p256", "alice-p384", "alice-ed25519"] {
            let id = alice(name);
            let plain = id.key.to_pkcs8_der().unwrap();
            let protected = protect_key(&id.key, "correct horse", 1000, &mut rng()).unwrap();
            // No 16-byte window of the clear PKCS#8 survives in the protected form.
            for window in plain.windows(16).step_by(8) {
                assert!(!protected.windows(16).any(|w| w == window), "{name}");
            }
            let cert = id.certificate.to_der().unwrap();
            let back = Identity::load(&protected, Some(&cert), Some("correct horse"), &[]).unwrap();
            assert_eq!(*back.key.to_pkcs8_der().unwrap(), *plain, "{name}");
            let err = Identity::load(&protected, Some(&cert), Some("wrong"), &[]).unwrap_err();
            assert_eq!(err.code(), "BAD_PASSWORD");
            let err = Identity::load(&protected, Some(&cert), None, &[]).unwrap_err();
            assert_eq!(err.code(), "PASSWORD_REQUIRED");
            // Fresh salt and IV each time.
            let again = protect_key(&id.key, "correct horse", 1000, &mut rng()).unwrap();
            assert_ne!(protected, again);
        }
    }

    #[test]
    fn protected_key_names_its_parameters() {
        use der::Decode as _;
        let id = alice("alice-p256");
        let protected = protect_key(&id.key, "pw", 1234, &mut rng()).unwrap();
        let scheme = pkcs5::EncryptionScheme::from_der(
            crate::ber::children(crate::ber::expect_one(&protected, 0x30).unwrap().value).unwrap()
                [0]
            .raw,
        )
        .unwrap();
        let params = scheme.pbes2().unwrap();
        let kdf = params.kdf.pbkdf2().unwrap();
        assert_eq!(kdf.iteration_count, 1234);
        assert_eq!(kdf.salt.as_ref().len(), SALT_LEN);
        assert_eq!(kdf.prf, pkcs5::pbes2::Pbkdf2Prf::HmacWithSha256);
        assert!(matches!(
            params.encryption,
            pkcs5::pbes2::EncryptionScheme::Aes256Cbc { .. }
        ));
    }

    #[test]
    fn hostile_stored_key_costs_are_capped() {
        // A stored key whose PBKDF2 asks for 100,000,000 iterations is refused before any work.
        let id = alice("alice-p256");
        let params = pkcs5::pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(
            100_000_000,
            &[7; 16],
            [9; 16],
        )
        .unwrap();
        // The ciphertext is never reached: 160 bytes of anything.
        let ciphertext = [0x55u8; 160];
        let hostile = seq(&[
            &pkcs5::EncryptionScheme::from(params).to_der().unwrap(),
            &octets(&ciphertext),
        ]);
        let cert = id.certificate.to_der().unwrap();
        let started = std::time::Instant::now();
        let err = Identity::load(&hostile, Some(&cert), Some("pw"), &[]).unwrap_err();
        assert_eq!(err.code(), "INPUT_TOO_LARGE");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        // Truncated and garbage records: typed errors.
        let good = protect_key(&id.key, "pw", 1000, &mut rng()).unwrap();
        for cut in [0, 1, 10, good.len() / 2, good.len() - 1] {
            let err = Identity::load(&good[..cut], Some(&cert), Some("pw"), &[]).unwrap_err();
            assert!(
                ["KEY_MALFORMED", "P12_MALFORMED", "DER_MALFORMED"].contains(&err.code()),
                "{cut}: {}",
                err.code()
            );
        }
    }

    #[test]
    fn protect_rejects_misuse() {
        let id = alice("alice-p256");
        let err = protect_key(&id.key, "", 1000, &mut rng()).unwrap_err();
        assert_eq!(err.code(), "API_MISUSE");
        let err = protect_key(&id.key, "pw", 0, &mut rng()).unwrap_err();
        assert_eq!(err.code(), "API_MISUSE");
        let err = protect_key(&id.key, "pw", 10_000_001, &mut rng()).unwrap_err();
        assert_eq!(err.code(), "API_MISUSE");
    }

    #[test]
    fn pkcs12_export_round_trip() {
        for legacy in [false, true] {
            for name in ["alice-rsa", "alice-p384", "alice-ed25519"] {
                let id = alice(name);
                assert_eq!(id.chain.len(), 1);
                let options = ExportOptions {
                    legacy,
                    iterations: 1000,
                    friendly_name: Some(String::from("Alice ✉")),
                };
                let p12 = export_pkcs12(&id, "pässwörd", &options, &mut rng()).unwrap();
                let parsed = pkcs12::parse(&p12, "pässwörd").unwrap();
                assert_eq!(parsed.keys.len(), 1);
                assert_eq!(parsed.certificates.len(), 2);
                assert_eq!(parsed.certificates[0], id.certificate);
                assert_eq!(parsed.certificates[1], id.chain[0]);
                assert_eq!(
                    parsed.key_attributes[0].friendly_name.as_deref(),
                    Some("Alice ✉")
                );
                assert_eq!(
                    parsed.key_attributes[0].local_key_id,
                    parsed.certificate_attributes[0].local_key_id
                );
                assert_eq!(
                    *parsed.keys[0].to_pkcs8_der().unwrap(),
                    *id.key.to_pkcs8_der().unwrap()
                );
                let back = Identity::load(&p12, None, Some("pässwörd"), &[]).unwrap();
                assert_eq!(back.certificate, id.certificate);
                assert_eq!(back.chain, id.chain);
                assert_eq!(
                    pkcs12::parse(&p12, "wrong").unwrap_err().code(),
                    "BAD_PASSWORD"
                );
            }
        }
    }

    #[test]
    fn pkcs12_export_algorithms() {
        let id = alice("alice-p256");
        let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
        let modern = export_pkcs12(
            &id,
            "pw",
            &ExportOptions {
                iterations: 1000,
                ..ExportOptions::default()
            },
            &mut rng(),
        )
        .unwrap();
        // PBES2 1.2.840.113549.1.5.13, AES-256-CBC 2.16.840.1.101.3.4.1.42, SHA-256 MAC
        assert!(contains(
            &modern,
            &oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d])
        ));
        assert!(contains(
            &modern,
            &oid(&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a])
        ));
        assert!(contains(&modern, &oid(SHA256)));
        assert!(!contains(&modern, &oid(PBE_SHA1_3DES)));
        let legacy = export_pkcs12(
            &id,
            "pw",
            &ExportOptions {
                legacy: true,
                iterations: 2048,
                friendly_name: None,
            },
            &mut rng(),
        )
        .unwrap();
        assert!(contains(&legacy, &oid(PBE_SHA1_3DES)));
        assert!(contains(&legacy, &oid(SHA1)));
        assert!(!contains(
            &legacy,
            &oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d])
        ));
        // The empty password works too (both of its BMPString forms are tried on import).
        let empty = export_pkcs12(
            &id,
            "",
            &ExportOptions {
                iterations: 1000,
                ..ExportOptions::default()
            },
            &mut rng(),
        )
        .unwrap();
        assert!(Identity::load(&empty, None, None, &[]).is_ok());
    }

    #[test]
    fn facts_of_the_test_pki() {
        let cert = |stem: &str| crate::x509::tests::pki(stem);
        let alice = certificate_info(&cert("alice-rsa"));
        assert_eq!(alice.emails, ["alice@example.org"]);
        assert!(alice.can_sign && alice.can_encrypt && !alice.is_ca);
        assert_eq!(alice.key_algorithm, "RSA");
        assert_eq!(alice.thumbprint.len(), 40);
        assert_eq!(alice.thumbprint, alice.thumbprint.to_uppercase());
        assert_eq!(alice.fingerprint.len(), 64);
        assert!(alice.subject_key_id.is_some());
        assert!(alice.issuer.contains("Cachet Test Intermediate CA"));
        assert!(alice.not_before < alice.not_after);
        assert!(!alice.serial.is_empty());
        assert_eq!(alice.serial, alice.serial.to_uppercase());

        let ed = certificate_info(&cert("alice-ed25519"));
        assert!(ed.can_sign && !ed.can_encrypt);
        assert_eq!(ed.key_algorithm, "Ed25519");
        let p256 = certificate_info(&cert("alice-p256"));
        assert!(p256.can_sign && p256.can_encrypt);
        let ku = certificate_info(&cert("ku-keyenc"));
        assert!(!ku.can_sign && ku.can_encrypt);
        let server = certificate_info(&cert("eku-server"));
        assert!(!server.can_sign && !server.can_encrypt);
        let root = certificate_info(&cert("root-ca"));
        assert!(root.is_ca);
        assert!(root.emails.is_empty());
    }

    #[test]
    fn status_of_the_test_pki() {
        let cert = |stem: &str| crate::x509::tests::pki(stem);
        // 2030-01-01T00:00:00Z, the fixtures' verification time.
        let t2030 = UnixTime(1_893_456_000);
        let pool = [cert("inter-ca"), cert("sub-ca"), cert("other-root-ca")];
        let anchors = [cert("root-ca")];
        let status = |stem: &str, time| {
            let s = certificate_status(&cert(stem), &pool, &anchors, &[], time);
            (s.status.as_str(), s.code)
        };
        assert_eq!(status("alice-rsa", t2030), ("valid", None));
        assert_eq!(status("root-ca", t2030), ("valid", None));
        assert_eq!(status("inter-ca", t2030), ("valid", None));
        assert_eq!(status("expired", t2030), ("expired", Some("CERT_EXPIRED")));
        let early = ("not-yet-valid", Some("CERT_NOT_YET_VALID"));
        assert_eq!(status("not-yet-valid", t2030), early);
        assert_eq!(status("alice-rsa", UnixTime(1_700_000_000)), early);
        let untrusted = ("untrusted", Some("CERT_UNTRUSTED"));
        assert_eq!(status("untrusted-leaf", t2030), untrusted);
        assert_eq!(status("other-root-ca", t2030), untrusted);
        assert_eq!(
            status("pathlen-leaf", t2030),
            ("untrusted", Some("CERT_PATH_LENGTH"))
        );
        let weak = ("weak-algorithm", Some("CERT_WEAK_SIGNATURE"));
        assert_eq!(status("sha1-leaf", t2030), weak);
        // Without the intermediate, no path: untrusted.
        let alone = certificate_status(&cert("alice-rsa"), &[], &anchors, &[], t2030);
        assert_eq!(alone.code, Some("CERT_UNTRUSTED"));
        // Every (code, status) pair is one of the signer report's.
        for stem in [
            "expired",
            "not-yet-valid",
            "untrusted-leaf",
            "pathlen-leaf",
            "sha1-leaf",
        ] {
            let (text, code) = status(stem, t2030);
            let known = crate::cms::verify::REPORT_CODES
                .iter()
                .any(|(c, s, _)| Some(*c) == code && *s == text);
            assert!(known, "{stem}: {code:?} {text}");
        }
    }
}
