//! CMS (RFC 5652) as S/MIME uses it: SignedData creation and verification.
//!
//! Built on RustCrypto's `cms` ASN.1 types; the signing and verification logic is ours (the crate
//! has no verifier, and its builder reads the system clock). Does not handle content types other
//! than `id-data` inside SignedData, nor attribute certificates.

pub mod cipher;
pub mod envelope;
pub mod gcm;
pub mod recipient;
pub mod sign;
pub mod verify;

use const_oid::ObjectIdentifier;

use crate::error::{Error, Result};

/// `id-data` (RFC 5652 §4).
pub const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// `id-signedData` (RFC 5652 §5.1).
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// `id-envelopedData` (RFC 5652 §6.1).
pub const ID_ENVELOPED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.3");
/// `id-ct-authEnvelopedData` (RFC 5083).
pub const ID_AUTH_ENVELOPED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.23");
/// `id-contentType` attribute (RFC 5652 §11.1).
pub const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// `id-messageDigest` attribute (RFC 5652 §11.2).
pub const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// `id-signingTime` attribute (RFC 5652 §11.3).
pub const ID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// `smimeCapabilities` attribute (RFC 8551 §2.5.2).
pub const ID_SMIME_CAPABILITIES: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.15");
/// `id-aa-signingCertificateV2` attribute (RFC 5035).
pub const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// AES-128-CBC (RFC 3565).
pub const ID_AES128_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.2");
/// AES-256-CBC (RFC 3565).
pub const ID_AES256_CBC: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.1.42");

/// Upper bound on the size of a CMS object Cachet decodes (256 MiB).
pub const MAX_CMS_SIZE: usize = 256 * 1024 * 1024;

/// One DER TLV: tag byte, contents, and the whole encoding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub contents: &'a [u8],
    pub whole: &'a [u8],
}

/// Read one definite-length TLV (single-byte tags) from the front of `input`; returns it and the
/// rest. Used where raw bytes matter (signed attributes are signed as they were sent).
pub(crate) fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let bad = |detail| Error::CmsMalformed { detail };
    let tag = *input.first().ok_or(bad("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("multi-byte tag"));
    }
    let first = *input.get(1).ok_or(bad("truncated"))?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(bad("indefinite or oversized length"));
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*input.get(2 + i).ok_or(bad("truncated"))?);
        }
        (len, 2 + n)
    };
    let end = header.checked_add(len).ok_or(bad("length overflow"))?;
    let whole = input.get(..end).ok_or(bad("truncated"))?;
    let contents = whole.get(header..).ok_or(bad("truncated"))?;
    Ok((
        Tlv {
            tag,
            contents,
            whole,
        },
        input.get(end..).unwrap_or_default(),
    ))
}

/// Split the contents of a constructed TLV into its elements.
pub(crate) fn elements(mut contents: &[u8]) -> Result<alloc::vec::Vec<Tlv<'_>>> {
    let mut out = alloc::vec::Vec::new();
    while !contents.is_empty() {
        let (tlv, rest) = read_tlv(contents)?;
        out.push(tlv);
        contents = rest;
    }
    Ok(out)
}

/// Fail with `INPUT_TOO_LARGE` when `contents` holds more than `limit` elements. Counted on the
/// raw encoding before anything is decoded, so that a SET OF a million tiny elements never
/// becomes a million decoded structures. Malformed input passes: the decoder reports it.
fn check_count(mut contents: &[u8], limit: usize, what: &'static str) -> Result<()> {
    let mut n = 0usize;
    while !contents.is_empty() {
        n += 1;
        if n > limit {
            return Err(Error::InputTooLarge { what, limit });
        }
        match read_tlv(contents) {
            Ok((_, rest)) => contents = rest,
            Err(_) => return Ok(()),
        }
    }
    Ok(())
}

/// The fields of the SEQUENCE a DER `ContentInfo` carries in its `[0] EXPLICIT` content.
fn content_fields(der_bytes: &[u8]) -> Option<alloc::vec::Vec<Tlv<'_>>> {
    let (info, _) = read_tlv(der_bytes).ok()?;
    let parts = elements(info.contents).ok()?;
    let (inner, _) = read_tlv(parts.get(1)?.contents).ok()?;
    elements(inner.contents).ok()
}

/// Before decoding a SignedData (DER `ContentInfo`): at most `max_certificates` certificates
/// and as many CRLs, at most `max_signers` digest algorithms and SignerInfos.
pub(crate) fn check_signed_data_counts(
    der_bytes: &[u8],
    max_certificates: usize,
    max_signers: usize,
) -> Result<()> {
    for field in content_fields(der_bytes).unwrap_or_default() {
        match field.tag {
            0xa0 => check_count(field.contents, max_certificates, "certificates")?,
            0xa1 => check_count(field.contents, max_certificates, "CRLs")?,
            0x31 => check_count(field.contents, max_signers, "signers")?,
            _ => {}
        }
    }
    Ok(())
}

/// Before decoding an (Auth)EnvelopedData (DER `ContentInfo`): at most `max` RecipientInfos.
pub(crate) fn check_recipient_count(der_bytes: &[u8], max: usize) -> Result<()> {
    for field in content_fields(der_bytes).unwrap_or_default() {
        if field.tag == 0x31 {
            check_count(field.contents, max, "recipients")?;
        }
    }
    Ok(())
}
