//! PKCS#12 (RFC 7292) import: modern (PBES2/AES, HMAC-SHA-256) and legacy (3DES, RC2-40, SHA-1 MAC).
//!
//! Written on [`crate::ber`]'s DER reader after BER normalisation (NSS and Windows write
//! indefinite lengths). The MAC is checked, in constant time, before anything is decrypted.
//!
//! Passwords: PBES2 (PBKDF2, scrypt) takes the UTF-8 password; the PKCS#12 KDF (RFC 7292
//! Appendix B, for the MAC and the legacy PBEs) takes it as a BMPString with a trailing `00 00`.
//! For the empty password implementations differ (`00 00` or nothing at all), so both are tried.
//!
//! What it does not do: public-key integrity and privacy modes (`signedData`, `envelopedData`
//! authenticated safes), RC4 PBEs, PBMAC1, CRL and secret bags (skipped), SDSI certificates
//! (skipped).

use alloc::string::String;
use alloc::vec::Vec;

use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockModeDecrypt, InnerIvInit, KeyIvInit};
use der::asn1::ObjectIdentifier;
use der::Decode;
use digest::Digest;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::ber::{self, Tlv};
use crate::error::{Error, Result};
use crate::keys::PrivateKey;

/// Highest PBKDF2 or PKCS#12 KDF iteration count accepted.
pub const MAX_ITERATIONS: u64 = 10_000_000;
/// Highest scrypt memory (128 · r · N bytes) accepted: 64 MiB.
pub const MAX_SCRYPT_MEMORY: u64 = 64 << 20;
/// Highest scrypt work (N · r · p) accepted.
pub const MAX_SCRYPT_WORK: u64 = 1 << 22;
/// Deepest nesting of `safeContentsBag`s followed.
const MAX_BAG_DEPTH: usize = 4;

const ID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
const ID_ENCRYPTED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x06];

const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

const PBES2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.5.13");
const PBE_SHA1_RC2_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.5");
const PBE_SHA1_RC2_40: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.6");
const PBE_SHA1_3DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.3");
const PBE_SHA1_2DES: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.1.4");

const KEY_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.1");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const SAFE_CONTENTS_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.6");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");

/// What a PKCS#12 file holds.
#[derive(Debug)]
pub struct Pkcs12 {
    /// The private keys, in file order.
    pub keys: Vec<PrivateKey>,
    /// The certificates, in file order.
    pub certificates: Vec<Certificate>,
    /// The bag attributes of each key (same order as `keys`).
    pub key_attributes: Vec<BagAttributes>,
    /// The bag attributes of each certificate (same order as `certificates`).
    pub certificate_attributes: Vec<BagAttributes>,
}

/// The PKCS#9 attributes of a safe bag that tie keys to certificates and name them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BagAttributes {
    /// `friendlyName` (PKCS#9), decoded from its BMPString.
    pub friendly_name: Option<String>,
    /// `localKeyId` (PKCS#9): equal on a key and its certificate.
    pub local_key_id: Option<Vec<u8>>,
}

fn malformed(detail: &'static str) -> Error {
    Error::Pkcs12Malformed { detail }
}

/// Parse and decrypt a PKCS#12 file.
///
/// # Errors
/// `BAD_PASSWORD` (MAC or decryption fails), `P12_MALFORMED`, `CMS_UNSUPPORTED_ALGORITHM`,
/// `INPUT_TOO_LARGE` (absurd iteration counts), `KEY_MALFORMED`, `KEY_UNSUPPORTED`,
/// `CERT_MALFORMED`.
pub fn parse(data: &[u8], password: &str) -> Result<Pkcs12> {
    let der = ber::to_der(data).map_err(|e| relabel(e, "not BER"))?;
    // PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }
    let pfx = ber::expect_one(&der, 0x30).map_err(|_| malformed("PFX is not a SEQUENCE"))?;
    let items = ber::children(pfx.value).map_err(|_| malformed("PFX"))?;
    let (Some(version), Some(auth_safe)) = (items.first(), items.get(1)) else {
        return Err(malformed("PFX is too short"));
    };
    if items.len() > 3 {
        return Err(malformed("PFX is too long"));
    }
    if small_uint(version)? != 3 {
        return Err(malformed("PFX version is not 3"));
    }
    let content = Zeroizing::new(data_content(auth_safe)?);

    // The BMPString forms of the password to try with the PKCS#12 KDF.
    let forms = bmp_forms(password);
    let forms: Vec<&[u8]> = match items.get(2) {
        Some(mac_data) => {
            let form = verify_mac(mac_data, &content, &forms)?;
            alloc::vec![form]
        }
        None => forms.iter().map(|f| f.as_slice()).collect(),
    };
    let mac_checked = items.get(2).is_some();

    // AuthenticatedSafe ::= SEQUENCE OF ContentInfo
    // Zeroizing: unencrypted key bags may be inside.
    let safe_der =
        Zeroizing::new(ber::to_der(&content).map_err(|e| relabel(e, "AuthenticatedSafe"))?);
    let safe = ber::expect_one(&safe_der, 0x30).map_err(|_| malformed("AuthenticatedSafe"))?;
    let mut out = Pkcs12 {
        keys: Vec::new(),
        certificates: Vec::new(),
        key_attributes: Vec::new(),
        certificate_attributes: Vec::new(),
    };
    let ctx = Context {
        password,
        forms: &forms,
        mac_checked,
    };
    for info in ber::children(safe.value).map_err(|_| malformed("AuthenticatedSafe"))? {
        let parts = ber::children(info.value).map_err(|_| malformed("ContentInfo"))?;
        let (Some(oid), Some(explicit)) = (parts.first(), parts.get(1)) else {
            return Err(malformed("ContentInfo without content"));
        };
        if oid.tag != 0x06 || explicit.tag != 0xa0 {
            return Err(malformed("ContentInfo"));
        }
        let plain: Zeroizing<Vec<u8>> = if oid.value == ID_DATA {
            Zeroizing::new(data_content(&info)?)
        } else if oid.value == ID_ENCRYPTED_DATA {
            decrypt_encrypted_data(explicit, &ctx)?
        } else {
            return Err(Error::unsupported(oid_string(oid)));
        };
        let contents = Zeroizing::new(
            ber::to_der(&plain).map_err(|_| bad_or_malformed(&ctx, "SafeContents"))?,
        );
        read_safe_contents(&contents, &ctx, &mut out, 0)?;
    }
    Ok(out)
}

struct Context<'a> {
    password: &'a str,
    forms: &'a [&'a [u8]],
    mac_checked: bool,
}

/// Garbage after decryption: a wrong password when no MAC vouched for it, else malformed.
fn bad_or_malformed(ctx: &Context<'_>, detail: &'static str) -> Error {
    if ctx.mac_checked {
        malformed(detail)
    } else {
        Error::BadPassword
    }
}

fn relabel(e: Error, detail: &'static str) -> Error {
    match e {
        Error::InputTooLarge { .. } => e,
        _ => malformed(detail),
    }
}

fn oid_string(tlv: &Tlv<'_>) -> String {
    ObjectIdentifier::from_bytes(tlv.value).map_or_else(
        |_| String::from("invalid OID"),
        |oid| alloc::format!("{oid}"),
    )
}

fn oid_of(tlv: &Tlv<'_>) -> Result<ObjectIdentifier> {
    if tlv.tag != 0x06 {
        return Err(malformed("expected an OBJECT IDENTIFIER"));
    }
    ObjectIdentifier::from_bytes(tlv.value).map_err(|_| malformed("bad OBJECT IDENTIFIER"))
}

/// A non-negative INTEGER; values above `u64::MAX` saturate (so that limits catch them).
fn small_uint(tlv: &Tlv<'_>) -> Result<u64> {
    if tlv.tag != 0x02 || tlv.value.is_empty() {
        return Err(malformed("expected an INTEGER"));
    }
    if tlv.value.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(malformed("negative INTEGER"));
    }
    let digits: Vec<u8> = tlv.value.iter().copied().skip_while(|b| *b == 0).collect();
    if digits.len() > 8 {
        return Ok(u64::MAX);
    }
    Ok(digits
        .iter()
        .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// The OCTET STRING inside an `id-data` ContentInfo.
fn data_content(info: &Tlv<'_>) -> Result<Vec<u8>> {
    let parts = ber::children(info.value).map_err(|_| malformed("ContentInfo"))?;
    let (Some(oid), Some(explicit)) = (parts.first(), parts.get(1)) else {
        return Err(malformed("ContentInfo without content"));
    };
    if oid.tag != 0x06 || oid.value != ID_DATA {
        return Err(Error::unsupported(alloc::format!(
            "PKCS#12 authSafe content type {}",
            oid_string(oid)
        )));
    }
    if explicit.tag != 0xa0 {
        return Err(malformed("ContentInfo content is not [0]"));
    }
    let octets = ber::expect_one(explicit.value, 0x04).map_err(|_| malformed("data content"))?;
    Ok(octets.value.to_vec())
}

/// The BMPString (UTF-16BE) forms of `password` with the trailing `00 00`, and for the empty
/// password also the truly empty form.
fn bmp_forms(password: &str) -> Vec<Zeroizing<Vec<u8>>> {
    let bmp = bmp_password(password);
    if password.is_empty() {
        alloc::vec![bmp, Zeroizing::new(Vec::new())]
    } else {
        alloc::vec![bmp]
    }
}

/// The BMPString form of `password` with its trailing `00 00`, as the PKCS#12 KDF takes it.
pub(crate) fn bmp_password(password: &str) -> Zeroizing<Vec<u8>> {
    let mut bmp = Zeroizing::new(Vec::with_capacity(password.len() * 2 + 2));
    for unit in password.encode_utf16() {
        bmp.extend_from_slice(&unit.to_be_bytes());
    }
    bmp.extend_from_slice(&[0, 0]);
    bmp
}

/// Check the MAC over `content`; return the password form it verified with.
///
/// `MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER DEFAULT 1 }`
fn verify_mac<'f>(
    mac_data: &Tlv<'_>,
    content: &[u8],
    forms: &'f [Zeroizing<Vec<u8>>],
) -> Result<&'f [u8]> {
    if mac_data.tag != 0x30 {
        return Err(malformed("MacData"));
    }
    let items = ber::children(mac_data.value).map_err(|_| malformed("MacData"))?;
    let (Some(digest_info), Some(salt)) = (items.first(), items.get(1)) else {
        return Err(malformed("MacData is too short"));
    };
    let iterations = match items.get(2) {
        Some(tlv) => small_uint(tlv)?,
        None => 1,
    };
    check_iterations(iterations)?;
    if salt.tag != 0x04 {
        return Err(malformed("MacData salt"));
    }
    // DigestInfo ::= SEQUENCE { digestAlgorithm AlgorithmIdentifier, digest OCTET STRING }
    let di = ber::children(digest_info.value).map_err(|_| malformed("DigestInfo"))?;
    let (Some(alg), Some(expected)) = (di.first(), di.get(1)) else {
        return Err(malformed("DigestInfo"));
    };
    if alg.tag != 0x30 || expected.tag != 0x04 {
        return Err(malformed("DigestInfo"));
    }
    let alg_items = ber::children(alg.value).map_err(|_| malformed("MAC algorithm"))?;
    let oid = oid_of(alg_items.first().ok_or(malformed("MAC algorithm"))?)?;
    for form in forms {
        let ok = if oid == SHA1 {
            mac_matches::<sha1::Sha1>(64, form, salt.value, iterations, content, expected.value)
        } else if oid == SHA256 {
            mac_matches::<sha2::Sha256>(64, form, salt.value, iterations, content, expected.value)
        } else if oid == SHA384 {
            mac_matches::<sha2::Sha384>(128, form, salt.value, iterations, content, expected.value)
        } else if oid == SHA512 {
            mac_matches::<sha2::Sha512>(128, form, salt.value, iterations, content, expected.value)
        } else {
            return Err(Error::unsupported(oid));
        };
        if ok {
            return Ok(form.as_slice());
        }
    }
    Err(Error::BadPassword)
}

fn mac_matches<D>(
    block: usize,
    password: &[u8],
    salt: &[u8],
    iterations: u64,
    content: &[u8],
    expected: &[u8],
) -> bool
where
    D: Digest + hmac::EagerHash,
    hmac::Hmac<D>: KeyInit + Mac,
{
    let key = kdf::<D>(
        block,
        password,
        salt,
        3,
        iterations,
        <D as Digest>::output_size(),
    );
    let Ok(mut mac) = <hmac::Hmac<D> as KeyInit>::new_from_slice(&key) else {
        return false;
    };
    mac.update(content);
    let tag = mac.finalize().into_bytes();
    tag.as_slice().ct_eq(expected).into()
}

fn check_iterations(iterations: u64) -> Result<()> {
    if iterations == 0 {
        return Err(malformed("iteration count 0"));
    }
    if iterations > MAX_ITERATIONS {
        #[allow(clippy::cast_possible_truncation)]
        return Err(Error::InputTooLarge {
            what: "KDF iteration count",
            limit: MAX_ITERATIONS as usize,
        });
    }
    Ok(())
}

/// The PKCS#12 key derivation function (RFC 7292 Appendix B.2) over hash `D` with block size
/// `v` bytes: `n` bytes for purpose `id` (1 key, 2 IV, 3 MAC key).
pub(crate) fn kdf<D: Digest>(
    v: usize,
    password: &[u8],
    salt: &[u8],
    id: u8,
    iterations: u64,
    n: usize,
) -> Zeroizing<Vec<u8>> {
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            Vec::new()
        } else {
            src.iter()
                .copied()
                .cycle()
                .take(v * src.len().div_ceil(v))
                .collect()
        }
    };
    let mut i_buf = Zeroizing::new(fill(salt));
    i_buf.extend_from_slice(&fill(password));
    let d = alloc::vec![id; v];
    let mut out = Zeroizing::new(Vec::with_capacity(n));
    loop {
        let mut hasher = D::new();
        hasher.update(&d);
        hasher.update(i_buf.as_slice());
        let mut a = hasher.finalize();
        for _ in 1..iterations {
            a = D::digest(&a);
        }
        let want = n.saturating_sub(out.len());
        out.extend(a.iter().copied().take(want));
        if out.len() >= n {
            return out;
        }
        // I_j = (I_j + B + 1) mod 2^(8v), with B = A repeated to v bytes.
        let b: Vec<u8> = a.iter().copied().cycle().take(v).collect();
        for chunk in i_buf.chunks_mut(v) {
            let mut carry = 1u16;
            for (x, y) in chunk.iter_mut().rev().zip(b.iter().rev()) {
                let [hi, lo] = (u16::from(*x) + u16::from(*y) + carry).to_be_bytes();
                *x = lo;
                carry = u16::from(hi);
            }
        }
    }
}

/// Decrypt with the algorithm `alg` (an `AlgorithmIdentifier` in DER): PBES2 with the UTF-8
/// password, or a PKCS#12 PBE with each BMPString form in `forms` until one gives valid
/// padding.
fn decrypt(
    alg: &[u8],
    ciphertext: &[u8],
    password: &str,
    forms: &[&[u8]],
) -> Result<Zeroizing<Vec<u8>>> {
    let alg_tlv = ber::expect_one(alg, 0x30).map_err(|_| malformed("AlgorithmIdentifier"))?;
    let items = ber::children(alg_tlv.value).map_err(|_| malformed("AlgorithmIdentifier"))?;
    let oid = oid_of(items.first().ok_or(malformed("AlgorithmIdentifier"))?)?;
    if oid == PBES2 {
        let scheme =
            pkcs5::EncryptionScheme::from_der(alg).map_err(|_| malformed("PBES2 parameters"))?;
        let params = scheme.pbes2().ok_or(malformed("PBES2 parameters"))?;
        check_pbes2_cost(params)?;
        return match params.decrypt(password.as_bytes(), ciphertext) {
            Ok(plain) => Ok(Zeroizing::new(plain)),
            Err(pkcs5::Error::DecryptFailed) => Err(Error::BadPassword),
            Err(pkcs5::Error::UnsupportedAlgorithm { oid }) => Err(Error::unsupported(oid)),
            Err(_) => Err(malformed("PBES2 parameters")),
        };
    }
    let kind = if oid == PBE_SHA1_3DES {
        Legacy::TripleDes
    } else if oid == PBE_SHA1_2DES {
        Legacy::TwoKeyTripleDes
    } else if oid == PBE_SHA1_RC2_128 {
        Legacy::Rc2(16, 128)
    } else if oid == PBE_SHA1_RC2_40 {
        Legacy::Rc2(5, 40)
    } else {
        return Err(Error::unsupported(oid));
    };
    // pkcs-12PbeParams ::= SEQUENCE { salt OCTET STRING, iterations INTEGER }
    let params = items.get(1).ok_or(malformed("PBE parameters"))?;
    let p = ber::children(params.value).map_err(|_| malformed("PBE parameters"))?;
    let (Some(salt), Some(iterations)) = (p.first(), p.get(1)) else {
        return Err(malformed("PBE parameters"));
    };
    if params.tag != 0x30 || salt.tag != 0x04 {
        return Err(malformed("PBE parameters"));
    }
    let iterations = small_uint(iterations)?;
    check_iterations(iterations)?;
    for form in forms {
        if let Some(plain) = legacy_decrypt(kind, form, salt.value, iterations, ciphertext) {
            return Ok(plain);
        }
    }
    Err(Error::BadPassword)
}

/// [`decrypt`] with every password form: for encrypted PKCS#8 outside PKCS#12.
pub(crate) fn decrypt_any_form(
    alg: &[u8],
    ciphertext: &[u8],
    password: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let forms = bmp_forms(password);
    let forms: Vec<&[u8]> = forms.iter().map(|f| f.as_slice()).collect();
    decrypt(alg, ciphertext, password, &forms)
}

fn check_pbes2_cost(params: &pkcs5::pbes2::Parameters) -> Result<()> {
    match &params.kdf {
        pkcs5::pbes2::Kdf::Pbkdf2(p) => check_iterations(u64::from(p.iteration_count)),
        pkcs5::pbes2::Kdf::Scrypt(s) => {
            let n = s.cost_parameter;
            let r = u64::from(s.block_size);
            let p = u64::from(s.parallelization);
            // The pkcs5 crate panics on N = 0: check its shape here first.
            if !n.is_power_of_two() || n < 2 || r == 0 || p == 0 {
                return Err(malformed("scrypt parameters"));
            }
            let memory = n.saturating_mul(r).saturating_mul(128);
            let work = n.saturating_mul(r).saturating_mul(p);
            if memory > MAX_SCRYPT_MEMORY || work > MAX_SCRYPT_WORK {
                #[allow(clippy::cast_possible_truncation)]
                return Err(Error::InputTooLarge {
                    what: "scrypt cost",
                    limit: MAX_SCRYPT_WORK as usize,
                });
            }
            Ok(())
        }
        other => Err(Error::unsupported(other.oid())),
    }
}

#[derive(Clone, Copy)]
enum Legacy {
    TripleDes,
    TwoKeyTripleDes,
    /// Key length in bytes, effective key bits.
    Rc2(usize, usize),
}

fn legacy_decrypt(
    kind: Legacy,
    password: &[u8],
    salt: &[u8],
    iterations: u64,
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let key_len = match kind {
        Legacy::TripleDes => 24,
        Legacy::TwoKeyTripleDes => 16,
        Legacy::Rc2(len, _) => len,
    };
    let key = kdf::<sha1::Sha1>(64, password, salt, 1, iterations, key_len);
    let iv = kdf::<sha1::Sha1>(64, password, salt, 2, iterations, 8);
    let plain = match kind {
        Legacy::TripleDes => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .ok()?
            .decrypt_padded_vec::<Pkcs7>(ciphertext),
        Legacy::TwoKeyTripleDes => cbc::Decryptor::<des::TdesEde2>::new_from_slices(&key, &iv)
            .ok()?
            .decrypt_padded_vec::<Pkcs7>(ciphertext),
        Legacy::Rc2(_, bits) => {
            let cipher = rc2::Rc2::new_with_eff_key_len(&key, bits);
            cbc::Decryptor::<rc2::Rc2>::inner_iv_slice_init(cipher, &iv)
                .ok()?
                .decrypt_padded_vec::<Pkcs7>(ciphertext)
        }
    };
    plain.ok().map(Zeroizing::new)
}

/// `EncryptedData ::= SEQUENCE { version INTEGER, encryptedContentInfo EncryptedContentInfo }`
/// inside the `[0]` of a ContentInfo.
fn decrypt_encrypted_data(explicit: &Tlv<'_>, ctx: &Context<'_>) -> Result<Zeroizing<Vec<u8>>> {
    let ed = ber::expect_one(explicit.value, 0x30).map_err(|_| malformed("EncryptedData"))?;
    let items = ber::children(ed.value).map_err(|_| malformed("EncryptedData"))?;
    let eci = items
        .get(1)
        .ok_or(malformed("EncryptedData is too short"))?;
    // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm,
    //                                     encryptedContent [0] IMPLICIT OCTET STRING OPTIONAL }
    let parts = ber::children(eci.value).map_err(|_| malformed("EncryptedContentInfo"))?;
    let (Some(alg), Some(content)) = (parts.get(1), parts.get(2)) else {
        return Err(malformed("EncryptedContentInfo without content"));
    };
    if content.tag & 0xdf != 0x80 {
        return Err(malformed("encryptedContent is not [0]"));
    }
    let ciphertext = ber::implicit_octets(content).map_err(|_| malformed("encryptedContent"))?;
    decrypt(alg.raw, &ciphertext, ctx.password, ctx.forms)
}

/// `SafeContents ::= SEQUENCE OF SafeBag`
fn read_safe_contents(der: &[u8], ctx: &Context<'_>, out: &mut Pkcs12, depth: usize) -> Result<()> {
    if depth > MAX_BAG_DEPTH {
        return Err(Error::InputTooLarge {
            what: "PKCS#12 bag nesting",
            limit: MAX_BAG_DEPTH,
        });
    }
    let seq = ber::expect_one(der, 0x30).map_err(|_| bad_or_malformed(ctx, "SafeContents"))?;
    for bag in ber::children(seq.value).map_err(|_| bad_or_malformed(ctx, "SafeContents"))? {
        // SafeBag ::= SEQUENCE { bagId OID, bagValue [0] EXPLICIT ANY, bagAttributes SET OPTIONAL }
        let parts = ber::children(bag.value).map_err(|_| malformed("SafeBag"))?;
        let (Some(id), Some(explicit)) = (parts.first(), parts.get(1)) else {
            return Err(malformed("SafeBag is too short"));
        };
        if bag.tag != 0x30 || explicit.tag != 0xa0 {
            return Err(malformed("SafeBag"));
        }
        let id = oid_of(id)?;
        let attributes = match parts.get(2) {
            Some(set) => read_attributes(set)?,
            None => BagAttributes::default(),
        };
        let (value, rest) = ber::read_tlv(explicit.value).map_err(|_| malformed("bagValue"))?;
        if !rest.is_empty() {
            return Err(malformed("bagValue"));
        }
        if id == KEY_BAG {
            out.keys.push(PrivateKey::from_pkcs8_der(value.raw)?);
            out.key_attributes.push(attributes);
        } else if id == SHROUDED_KEY_BAG {
            // EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }
            let epki = ber::children(value.value).map_err(|_| malformed("shrouded key"))?;
            let (Some(alg), Some(data)) = (epki.first(), epki.get(1)) else {
                return Err(malformed("shrouded key"));
            };
            if value.tag != 0x30 || data.tag != 0x04 {
                return Err(malformed("shrouded key"));
            }
            let plain = decrypt(alg.raw, data.value, ctx.password, ctx.forms)?;
            let key = PrivateKey::from_pkcs8_der(&plain).map_err(|e| match e {
                Error::KeyMalformed if !ctx.mac_checked => Error::BadPassword,
                other => other,
            })?;
            out.keys.push(key);
            out.key_attributes.push(attributes);
        } else if id == CERT_BAG {
            // CertBag ::= SEQUENCE { certId OID, certValue [0] EXPLICIT OCTET STRING }
            let cert_parts = ber::children(value.value).map_err(|_| malformed("CertBag"))?;
            let (Some(cert_id), Some(cert_value)) = (cert_parts.first(), cert_parts.get(1)) else {
                return Err(malformed("CertBag"));
            };
            if oid_of(cert_id)? != X509_CERTIFICATE {
                continue;
            }
            if cert_value.tag != 0xa0 {
                return Err(malformed("CertBag value"));
            }
            let octets =
                ber::expect_one(cert_value.value, 0x04).map_err(|_| malformed("CertBag value"))?;
            let cert =
                Certificate::from_der(octets.value).map_err(|_| Error::CertificateMalformed)?;
            out.certificates.push(cert);
            out.certificate_attributes.push(attributes);
        } else if id == SAFE_CONTENTS_BAG {
            read_safe_contents(value.raw, ctx, out, depth + 1)?;
        }
        // crlBag, secretBag and unknown bags are skipped.
    }
    Ok(())
}

/// `bagAttributes SET OF PKCS12Attribute`, where `PKCS12Attribute ::= SEQUENCE { attrId OID,
/// attrValues SET OF ANY }`. Only `friendlyName` and `localKeyId` are kept.
fn read_attributes(set: &Tlv<'_>) -> Result<BagAttributes> {
    if set.tag != 0x31 {
        return Err(malformed("bagAttributes"));
    }
    let mut attributes = BagAttributes::default();
    for attribute in ber::children(set.value).map_err(|_| malformed("bagAttributes"))? {
        let parts = ber::children(attribute.value).map_err(|_| malformed("attribute"))?;
        let (Some(id), Some(values)) = (parts.first(), parts.get(1)) else {
            return Err(malformed("attribute"));
        };
        let id = oid_of(id)?;
        let first = ber::children(values.value)
            .map_err(|_| malformed("attribute values"))?
            .into_iter()
            .next();
        match first {
            Some(v) if id == FRIENDLY_NAME && v.tag == 0x1e => {
                let units = v.value.chunks_exact(2).map(|c| {
                    u16::from_be_bytes([
                        c.first().copied().unwrap_or(0),
                        c.get(1).copied().unwrap_or(0),
                    ])
                });
                attributes.friendly_name = Some(
                    char::decode_utf16(units)
                        .map(|c| c.unwrap_or('\u{fffd}'))
                        .collect(),
                );
            }
            Some(v) if id == LOCAL_KEY_ID && v.tag == 0x04 => {
                attributes.local_key_id = Some(v.value.to_vec());
            }
            _ => {}
        }
    }
    Ok(attributes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// Test vectors from http://www.drh-consultancy.demon.co.uk/test.txt (also used by
    /// OpenSSL, GnuTLS and BouncyCastle).
    #[test]
    fn kdf_known_vectors() {
        let smeg = &bmp_forms("smeg")[0];
        assert_eq!(smeg.as_slice(), unhex("0073006d006500670000").as_slice());
        type Case<'a> = (&'a [u8], &'a str, u8, u64, usize, &'a str);
        let cases: [Case<'_>; 5] = [
            (
                smeg,
                "0a58cf64530d823f",
                1,
                1,
                24,
                "8aaae6297b6cb04642ab5b077851284eb7128f1a2a7fbca3",
            ),
            (smeg, "0a58cf64530d823f", 2, 1, 8, "79993dfe048d3b76"),
            (
                smeg,
                "642b99ab44fb4b1f",
                1,
                1,
                24,
                "f3a95fec48d7711e985cfe67908c5ab79fa3d7c5caa5d966",
            ),
            (
                smeg,
                "3d83c0e4546ac140",
                3,
                1,
                20,
                "8d967d88f6caa9d714800ab3d48051d63f73a312",
            ),
            (
                &bmp_forms("queeg")[0],
                "05dec959acff72f7",
                1,
                1000,
                24,
                "ed2034e36328830ff09df1e1a07dd357185dac0d4f9eb3d4",
            ),
        ];
        for (password, salt, id, iterations, n, expected) in cases {
            let out = kdf::<sha1::Sha1>(64, password, &unhex(salt), id, iterations, n);
            assert_eq!(hex::encode(out.as_slice()), expected);
        }
    }

    #[test]
    fn password_forms() {
        let empty = bmp_forms("");
        assert_eq!(empty.len(), 2);
        assert_eq!(empty[0].as_slice(), &[0, 0]);
        assert!(empty[1].is_empty());
        // Non-ASCII goes through UTF-16; outside the BMP as a surrogate pair.
        assert_eq!(bmp_forms("é")[0].as_slice(), &[0x00, 0xe9, 0, 0]);
        assert_eq!(
            bmp_forms("😀")[0].as_slice(),
            &[0xd8, 0x3d, 0xde, 0x00, 0, 0]
        );
    }

    #[test]
    fn integers() {
        let int = |der: &[u8]| small_uint(&ber::expect_one(der, der[0]).unwrap());
        assert_eq!(int(&[0x02, 0x02, 0x08, 0x00]).unwrap(), 2048);
        assert_eq!(
            int(&[0x02, 0x01, 0x80]).unwrap_err().code(),
            "P12_MALFORMED"
        );
        assert_eq!(
            int(&[0x04, 0x01, 0x01]).unwrap_err().code(),
            "P12_MALFORMED"
        );
        let mut big = alloc::vec![0x02, 0x0a, 0x00, 0x01];
        big.extend_from_slice(&[0xff; 8]);
        assert_eq!(int(&big).unwrap(), u64::MAX);
        assert_eq!(
            check_iterations(u64::MAX).unwrap_err().code(),
            "INPUT_TOO_LARGE"
        );
        assert_eq!(check_iterations(0).unwrap_err().code(), "P12_MALFORMED");
        assert!(check_iterations(MAX_ITERATIONS).is_ok());
    }

    #[test]
    fn unknown_encryption_algorithm_is_unsupported() {
        // AlgorithmIdentifier { pbeWithSHAAnd128BitRC4 (1.2.840.113549.1.12.1.1), params }
        let alg = unhex("301c060a2a864886f70d010c0101300e0408000102030405060702020800");
        let err = decrypt(&alg, &[0; 16], "pw", &[&[0, 0]]).unwrap_err();
        assert_eq!(err.code(), "CMS_UNSUPPORTED_ALGORITHM");
        // A PKCS#12 PBE with a wrong password fails on the padding: BAD_PASSWORD.
        let alg = unhex("301c060a2a864886f70d010c0103300e0408000102030405060702020800");
        let err = decrypt(&alg, &[0x55; 16], "pw", &[&[0, 0x70, 0, 0x77, 0, 0]]).unwrap_err();
        assert_eq!(err.code(), "BAD_PASSWORD");
    }

    #[test]
    fn not_a_pfx() {
        assert_eq!(parse(b"", "").unwrap_err().code(), "P12_MALFORMED");
        // SEQUENCE { INTEGER 2 }: wrong version
        assert_eq!(
            parse(&[0x30, 0x03, 0x02, 0x01, 0x02], "")
                .unwrap_err()
                .code(),
            "P12_MALFORMED"
        );
        // version 2 with an authSafe
        let pfx = unhex("3016020102301106092a864886f70d010701a0040402300000");
        assert_eq!(parse(&pfx, "").unwrap_err().code(), "P12_MALFORMED");
    }
}
