//! EnvelopedData (RFC 5652 §6) and AuthEnvelopedData (RFC 5083) creation and decryption.

use alloc::vec::Vec;

use cms::authenveloped_data::AuthEnvelopedData;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{EncryptedContentInfo, EnvelopedData, RecipientInfo, RecipientInfos};
use der::asn1::{OctetString, SetOfVec};
use der::{Decode, Encode};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::cms::cipher::{self, ContentCipher};
use crate::cms::recipient::{self, RsaTransport};
use crate::cms::{elements, read_tlv, ID_AUTH_ENVELOPED_DATA, ID_DATA, ID_ENVELOPED_DATA};
use crate::error::{Error, Result};
use crate::keys::Identity;

/// Most recipients in one message (written or read).
pub const MAX_RECIPIENTS: usize = 500;

/// How to encrypt.
#[derive(Clone, Copy, Debug)]
pub struct EncryptParams {
    /// The content cipher; GCM gives AuthEnvelopedData.
    pub cipher: ContentCipher,
    /// Key transport for RSA recipients.
    pub rsa: RsaTransport,
    /// Name recipients by subject key identifier instead of issuer and serial number.
    pub by_key_id: bool,
}

/// Encrypt `content` (a MIME entity) to every certificate in `recipients`; returns a DER
/// `ContentInfo` (EnvelopedData, or AuthEnvelopedData for GCM).
///
/// # Errors
/// `API_MISUSE` (no recipient, decryption-only cipher), `KEY_UNSUPPORTED` (a certificate
/// without an encryption key), `INPUT_TOO_LARGE`.
pub fn encrypt<R: rand_core::CryptoRng + ?Sized>(
    content: &[u8],
    recipients: &[&Certificate],
    params: &EncryptParams,
    rng: &mut R,
) -> Result<Vec<u8>> {
    check_recipients(recipients, params)?;
    let mut cek = Zeroizing::new(alloc::vec![0u8; params.cipher.key_len()]);
    rng.fill_bytes(&mut cek);
    let sealed = cipher::seal(params.cipher, &cek, content, b"", rng)?;
    assemble(&cek, sealed, recipients, params, rng)
}

/// AuthEnvelopedData (AES-GCM) or EnvelopedData (AES-CBC) for content a caller encrypted itself
/// (WebCrypto in the browser, which has AES instructions): `cek` is the content key it used
/// (fresh and random, never reused), `iv` the nonce or IV, `data` what WebCrypto returned (see
/// [`cipher::external`]). The content key is wrapped for every recipient here, as [`encrypt`]
/// does.
///
/// # Errors
/// `API_MISUSE` for a cipher WebCrypto does not do here, a key, IV or data of the wrong size;
/// otherwise as [`encrypt`].
pub fn encrypt_external<R: rand_core::CryptoRng + ?Sized>(
    cek: &[u8],
    iv: &[u8],
    data: &[u8],
    recipients: &[&Certificate],
    params: &EncryptParams,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let framed = encrypt_external_framed(cek, iv, data, recipients, params, rng)?;
    Ok(framed.join(data))
}

/// A DER `ContentInfo` whose ciphertext stays where it is: the encoding is `prefix`, then
/// `data[ciphertext]` (the caller's bytes), then `suffix`.
#[derive(Debug)]
pub struct Framed {
    /// Everything before the ciphertext.
    pub prefix: Vec<u8>,
    /// Where the ciphertext is in the caller's data.
    pub ciphertext: core::ops::Range<usize>,
    /// Everything after it (the GCM tag as `mac`; empty for CBC).
    pub suffix: Vec<u8>,
}

impl Framed {
    /// The whole encoding, for `data` the framing was made for.
    #[must_use]
    pub fn join(&self, data: &[u8]) -> Vec<u8> {
        let ciphertext = data.get(self.ciphertext.clone()).unwrap_or_default();
        let mut out = Vec::with_capacity(self.prefix.len() + ciphertext.len() + self.suffix.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(ciphertext);
        out.extend_from_slice(&self.suffix);
        out
    }
}

/// [`encrypt_external`] without copying the content: its DER around `data` (see [`Framed`]), so
/// that a caller can encode it (base64) straight from the pieces.
///
/// # Errors
/// As [`encrypt_external`].
pub fn encrypt_external_framed<R: rand_core::CryptoRng + ?Sized>(
    cek: &[u8],
    iv: &[u8],
    data: &[u8],
    recipients: &[&Certificate],
    params: &EncryptParams,
    rng: &mut R,
) -> Result<Framed> {
    check_recipients(recipients, params)?;
    let (algorithm, ciphertext, tag) = cipher::external_parts(params.cipher, cek, iv, data)?;
    let (prefix, suffix) = frame(
        cek,
        algorithm,
        ciphertext.len(),
        tag,
        recipients,
        params,
        rng,
    )?;
    Ok(Framed {
        prefix,
        ciphertext: 0..ciphertext.len(),
        suffix,
    })
}

/// The DER before and after `ciphertext_len` bytes of ciphertext the caller holds and never
/// passes in (content encrypted elsewhere, e.g. by WebCrypto in chunks): `(prefix, suffix)`,
/// as [`Framed`] has them. `tag` is the GCM tag (empty for CBC).
///
/// # Errors
/// As [`encrypt_external`].
pub fn frame_external<R: rand_core::CryptoRng + ?Sized>(
    cek: &[u8],
    iv: &[u8],
    ciphertext_len: usize,
    tag: &[u8],
    recipients: &[&Certificate],
    params: &EncryptParams,
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>)> {
    check_recipients(recipients, params)?;
    let algorithm = cipher::external_algorithm(params.cipher, cek, iv, ciphertext_len, tag)?;
    frame(cek, algorithm, ciphertext_len, tag, recipients, params, rng)
}

fn check_recipients(recipients: &[&Certificate], params: &EncryptParams) -> Result<()> {
    if recipients.is_empty() {
        return Err(Error::misuse("at least one recipient is needed"));
    }
    if recipients.len() > MAX_RECIPIENTS {
        return Err(Error::InputTooLarge {
            what: "recipients",
            limit: MAX_RECIPIENTS,
        });
    }
    if !params.cipher.can_encrypt() {
        return Err(Error::misuse("this cipher is for decryption only"));
    }
    Ok(())
}

/// The `ContentInfo` around sealed content, with the content key wrapped for every recipient.
fn assemble<R: rand_core::CryptoRng + ?Sized>(
    cek: &[u8],
    sealed: cipher::Sealed,
    recipients: &[&Certificate],
    params: &EncryptParams,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let n = sealed.ciphertext.len();
    let (prefix, suffix) = frame(
        cek,
        sealed.algorithm,
        n,
        &sealed.tag,
        recipients,
        params,
        rng,
    )?;
    let framed = Framed {
        prefix,
        ciphertext: 0..n,
        suffix,
    };
    Ok(framed.join(&sealed.ciphertext))
}

/// A DER header: `tag` and the definite length `len`.
fn der_header(tag: u8, len: usize, out: &mut Vec<u8>) {
    out.push(tag);
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | u8::try_from(bytes.len() - skip).unwrap_or(0));
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
}

fn der_header_len(len: usize) -> usize {
    let mut v = Vec::new();
    der_header(0, len, &mut v);
    v.len()
}

/// The DER of the (Auth)EnvelopedData `ContentInfo` for `ciphertext_len` bytes of ciphertext,
/// in two parts, before and after the ciphertext (RFC 5652 §6.1, RFC 5083 §2.1): written by
/// hand around the ciphertext, every other field encoded by the `cms`/`der` crates.
fn frame<R: rand_core::CryptoRng + ?Sized>(
    cek: &[u8],
    algorithm: spki::AlgorithmIdentifierOwned,
    ciphertext_len: usize,
    tag: &[u8],
    recipients: &[&Certificate],
    params: &EncryptParams,
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut infos = SetOfVec::new();
    let mut all_v0 = true;
    for cert in recipients {
        let ri = recipient::wrap(cert, cek, params.rsa, params.by_key_id, rng)?;
        all_v0 &= matches!(&ri, RecipientInfo::Ktri(k) if k.version == CmsVersion::V0);
        infos.insert(ri)?;
    }
    let authenticated = params.cipher.is_authenticated();
    let version = if authenticated || all_v0 {
        CmsVersion::V0
    } else {
        CmsVersion::V2
    };
    // EncryptedContentInfo ::= SEQUENCE { contentType, contentEncryptionAlgorithm,
    //   encryptedContent [0] IMPLICIT OCTET STRING }
    let mut eci_fields = ID_DATA.to_der()?;
    eci_fields.extend_from_slice(&algorithm.to_der()?);
    der_header(0x80, ciphertext_len, &mut eci_fields);
    let eci_len = eci_fields.len() + ciphertext_len;
    // (Auth)EnvelopedData ::= SEQUENCE { version, recipientInfos, (auth)EncryptedContentInfo,
    //   mac (AuthEnvelopedData) }
    let mut data_fields = version.to_der()?;
    data_fields.extend_from_slice(&RecipientInfos(infos).to_der()?);
    der_header(0x30, eci_len, &mut data_fields);
    let suffix = if authenticated {
        OctetString::new(tag)?.to_der()?
    } else {
        Vec::new()
    };
    let data_len = data_fields.len() + eci_len + suffix.len();
    let content_type = if authenticated {
        ID_AUTH_ENVELOPED_DATA
    } else {
        ID_ENVELOPED_DATA
    }
    .to_der()?;
    // ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT (Auth)EnvelopedData }
    let explicit_len = der_header_len(data_len) + data_len;
    let info_len = content_type.len() + der_header_len(explicit_len) + explicit_len;
    let mut prefix = Vec::with_capacity(info_len - ciphertext_len - suffix.len() + 16);
    der_header(0x30, info_len, &mut prefix);
    prefix.extend_from_slice(&content_type);
    der_header(0xA0, explicit_len, &mut prefix);
    der_header(0x30, data_len, &mut prefix);
    prefix.extend_from_slice(&data_fields);
    prefix.extend_from_slice(&eci_fields);
    Ok((prefix, suffix))
}

/// What decryption produced.
#[derive(Debug)]
pub struct Decrypted {
    /// The plaintext (a MIME entity for S/MIME).
    pub content: Zeroizing<Vec<u8>>,
    /// The content cipher.
    pub cipher: ContentCipher,
    /// `true` for AuthEnvelopedData (the content is integrity-protected).
    pub authenticated: bool,
}

fn encode_tlv(tag: u8, contents: &[u8], out: &mut Vec<u8>) {
    der_header(tag, contents.len(), out);
    out.extend_from_slice(contents);
}

/// After BER→DER normalisation, an `encryptedContent [0] IMPLICIT OCTET STRING` that was sent in
/// segments is still constructed; rewrite it as one primitive field so the schema decodes.
fn join_encrypted_content(info: &[u8]) -> Result<Vec<u8>> {
    let malformed = Error::CmsMalformed {
        detail: "enveloped-data structure",
    };
    let (ci, _) = read_tlv(info)?;
    let ci_fields = elements(ci.contents)?;
    let [oid, explicit] = ci_fields.as_slice() else {
        return Err(malformed);
    };
    let (data, _) = read_tlv(explicit.contents)?;
    let mut data_fields: Vec<Vec<u8>> = Vec::new();
    let mut seen_recipients = false;
    let mut done = false;
    for f in elements(data.contents)? {
        if f.tag == 0x31 {
            seen_recipients = true;
        }
        if seen_recipients && !done && f.tag == 0x30 {
            done = true;
            let mut eci = Vec::new();
            for g in elements(f.contents)? {
                if g.tag == 0xa0 {
                    let mut joined = Vec::new();
                    for seg in elements(g.contents)? {
                        if seg.tag != 0x04 {
                            return Err(Error::CmsMalformed {
                                detail: "encryptedContent segment",
                            });
                        }
                        joined.extend_from_slice(seg.contents);
                    }
                    encode_tlv(0x80, &joined, &mut eci);
                } else {
                    eci.extend_from_slice(g.whole);
                }
            }
            let mut v = Vec::new();
            encode_tlv(0x30, &eci, &mut v);
            data_fields.push(v);
        } else {
            data_fields.push(f.whole.to_vec());
        }
    }
    let mut data_out = Vec::new();
    encode_tlv(0x30, &data_fields.concat(), &mut data_out);
    let mut explicit_out = Vec::new();
    encode_tlv(0xa0, &data_out, &mut explicit_out);
    let mut ci_out = oid.whole.to_vec();
    ci_out.extend_from_slice(&explicit_out);
    let mut out = Vec::new();
    encode_tlv(0x30, &ci_out, &mut out);
    Ok(out)
}

/// Is this DER/BER `ContentInfo` enveloped (EnvelopedData or AuthEnvelopedData)?
#[must_use]
pub fn is_enveloped(ber: &[u8]) -> bool {
    // DER: the content type is read in place; BER: after normalising (as before).
    let in_place = || -> Option<bool> {
        let (info, rest) = read_tlv(ber).ok()?;
        let parts = elements(info.contents).ok()?;
        let [oid, explicit] = parts.as_slice() else {
            return None;
        };
        let ct = const_oid::ObjectIdentifier::from_der(oid.whole).ok()?;
        (info.tag == 0x30 && explicit.tag == 0xa0 && rest.is_empty())
            .then_some(ct == ID_ENVELOPED_DATA || ct == ID_AUTH_ENVELOPED_DATA)
    };
    in_place().unwrap_or_else(|| {
        crate::ber::to_der(ber)
            .ok()
            .and_then(|d| ContentInfo::from_der(&d).ok())
            .is_some_and(|ci| {
                ci.content_type == ID_ENVELOPED_DATA || ci.content_type == ID_AUTH_ENVELOPED_DATA
            })
    })
}

/// A parsed EnvelopedData or AuthEnvelopedData.
struct Parsed {
    infos: Vec<RecipientInfo>,
    eci: EncryptedContentInfo,
    mac: Option<OctetString>,
    aad: Vec<u8>,
    cipher: ContentCipher,
}

fn parse(ber: &[u8]) -> Result<Parsed> {
    if ber.len() > crate::cms::MAX_CMS_SIZE {
        return Err(Error::InputTooLarge {
            what: "CMS size",
            limit: crate::cms::MAX_CMS_SIZE,
        });
    }
    // DER (what Cachet, OpenSSL and most clients write) is decoded where it lies; BER (NSS,
    // Java, Outlook: indefinite lengths, segmented content) is normalised first. The strict DER
    // decoder is the test: anything it rejects takes the normalising path, whose errors count.
    match parse_der(ber) {
        Ok(parsed) => Ok(parsed),
        Err(Error::InputTooLarge { what, limit }) => Err(Error::InputTooLarge { what, limit }),
        Err(_) => parse_der(&join_encrypted_content(&crate::ber::to_der(ber)?)?),
    }
}

/// [`parse`] for DER input: the `ContentInfo` is taken apart in place (no copy of the content),
/// then the (Auth)EnvelopedData decoded.
fn parse_der(der_bytes: &[u8]) -> Result<Parsed> {
    crate::cms::check_recipient_count(der_bytes, MAX_RECIPIENTS)?;
    let malformed = Error::CmsMalformed {
        detail: "ContentInfo structure",
    };
    let (info, rest) = read_tlv(der_bytes)?;
    if info.tag != 0x30 || !rest.is_empty() {
        return Err(malformed);
    }
    let [oid, explicit] = elements(info.contents)?[..] else {
        return Err(malformed);
    };
    let content_type = const_oid::ObjectIdentifier::from_der(oid.whole)?;
    let (inner, after) = read_tlv(explicit.contents)?;
    if explicit.tag != 0xa0 || !after.is_empty() {
        return Err(malformed);
    }
    let inner = inner.whole;
    let (infos, eci, mac, aad) = if content_type == ID_ENVELOPED_DATA {
        let d = EnvelopedData::from_der(inner)?;
        (
            d.recip_infos.0.into_vec(),
            d.encrypted_content,
            None,
            Vec::new(),
        )
    } else if content_type == ID_AUTH_ENVELOPED_DATA {
        let d = AuthEnvelopedData::from_der(inner)?;
        let aad = match &d.auth_attrs {
            Some(attrs) => attrs.to_der()?,
            None => Vec::new(),
        };
        (
            d.recip_infos.0.into_vec(),
            d.auth_encrypted_content_info,
            Some(d.mac),
            aad,
        )
    } else {
        return Err(Error::CmsMalformed {
            detail: "not enveloped-data",
        });
    };
    if infos.len() > MAX_RECIPIENTS {
        return Err(Error::InputTooLarge {
            what: "recipients",
            limit: MAX_RECIPIENTS,
        });
    }
    let cipher = cipher::identify(&eci.content_enc_alg)?;
    if cipher.is_authenticated() != mac.is_some() {
        return Err(Error::CmsMalformed {
            detail: "AEAD cipher outside AuthEnvelopedData or the reverse",
        });
    }
    if eci.encrypted_content.is_none() {
        return Err(Error::CmsMalformed {
            detail: "encrypted content is detached",
        });
    }
    Ok(Parsed {
        infos,
        eci,
        mac,
        aad,
        cipher,
    })
}

/// The content keys of every RecipientInfo addressed to one of `identities`, in order.
///
/// # Errors
/// `NOT_RECIPIENT` when none is; the missing algorithm when every one needs an algorithm we do
/// not have; `DECRYPTION_FAILED` when no key could be unwrapped.
fn content_keys<R: rand_core::CryptoRng + ?Sized>(
    parsed: &Parsed,
    identities: &[&Identity],
    rng: &mut R,
) -> Result<Vec<Zeroizing<Vec<u8>>>> {
    let mut keys = Vec::new();
    let mut matched = false;
    let mut failed = false;
    let mut unsupported = None;
    for identity in identities {
        for ri in parsed
            .infos
            .iter()
            .filter(|ri| recipient::is_for(ri, identity))
        {
            matched = true;
            match recipient::unwrap(ri, identity, parsed.cipher.key_len(), rng) {
                Ok(cek) => keys.push(cek),
                // Not secret-dependent: say which algorithm is missing.
                Err(e @ Error::UnsupportedAlgorithm { .. }) => unsupported = Some(e),
                Err(_) => failed = true,
            }
        }
    }
    match (matched, keys.is_empty(), failed, unsupported) {
        (false, _, _, _) => Err(Error::NotRecipient),
        (true, true, false, Some(e)) => Err(e),
        (true, true, _, _) => Err(Error::Decryption),
        _ => Ok(keys),
    }
}

/// The RSA key-transport RecipientInfos of an EnvelopedData or AuthEnvelopedData `ContentInfo`
/// that `identity` can have decrypted outside the core (see [`recipient::transport_request`]).
///
/// # Errors
/// `CMS_MALFORMED`, `DER_MALFORMED`, `INPUT_TOO_LARGE`, as [`decrypt`].
pub fn transport_requests(
    ber: &[u8],
    identity: &Identity,
) -> Result<Vec<recipient::TransportRequest>> {
    let parsed = parse(ber)?;
    Ok(parsed
        .infos
        .iter()
        .filter_map(|ri| recipient::transport_request(ri, identity))
        .collect())
}

/// Decrypt an EnvelopedData or AuthEnvelopedData `ContentInfo` (BER accepted) with the first of
/// `identities` that it names; every RecipientInfo naming one of them is tried.
///
/// # Errors
/// `NOT_RECIPIENT` when no RecipientInfo names one of `identities`; `DECRYPTION_FAILED` for every
/// failure after that; `CMS_MALFORMED`, `DER_MALFORMED`, `CMS_UNSUPPORTED_ALGORITHM`.
pub fn decrypt<R: rand_core::CryptoRng + ?Sized>(
    ber: &[u8],
    identities: &[&Identity],
    rng: &mut R,
) -> Result<Decrypted> {
    let parsed = parse(ber)?;
    let ciphertext = parsed
        .eci
        .encrypted_content
        .as_ref()
        .map(OctetString::as_bytes)
        .unwrap_or_default();
    let tag = parsed
        .mac
        .as_ref()
        .map(OctetString::as_bytes)
        .unwrap_or_default();
    for cek in content_keys(&parsed, identities, rng)? {
        let alg = &parsed.eci.content_enc_alg;
        if let Ok(content) = cipher::open(alg, &cek, ciphertext, tag, &parsed.aad) {
            return Ok(Decrypted {
                content,
                cipher: parsed.cipher,
                authenticated: parsed.cipher.is_authenticated(),
            });
        }
    }
    Err(Error::Decryption)
}

/// Content for a caller to decrypt itself (WebCrypto, which has AES instructions): the
/// candidate content keys (try each; none opening it is `DECRYPTION_FAILED`), the IV, the
/// additional data (GCM) and the data as WebCrypto takes it (GCM: ciphertext then tag).
pub struct ExternalContent {
    /// AES-128/256 in GCM or CBC mode (see [`cipher::is_external`]).
    pub cipher: ContentCipher,
    /// The content keys of the RecipientInfos addressed to the identities, in order.
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    /// The GCM nonce (12 bytes) or CBC IV (16 bytes).
    pub iv: Vec<u8>,
    /// The DER of the authenticated attributes (GCM; usually empty).
    pub aad: Vec<u8>,
    /// The ciphertext.
    pub ciphertext: Vec<u8>,
    /// The 16-byte GCM tag (empty for CBC): WebCrypto wants it after the ciphertext.
    pub tag: Vec<u8>,
}

impl ExternalContent {
    /// What WebCrypto decrypts: the ciphertext, then (GCM) the tag.
    #[must_use]
    pub fn data(&self) -> Vec<u8> {
        let mut data = Vec::with_capacity(self.ciphertext.len() + self.tag.len());
        data.extend_from_slice(&self.ciphertext);
        data.extend_from_slice(&self.tag);
        data
    }
}

impl core::fmt::Debug for ExternalContent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ExternalContent")
            .field("cipher", &self.cipher)
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// Like [`decrypt`] up to the content key, for AES-128/256 in GCM (12-byte nonce, 16-byte tag)
/// or CBC: `Ok(None)` for anything else, which [`decrypt`] handles.
///
/// # Errors
/// As [`decrypt`] before the content is decrypted.
pub fn external_content<R: rand_core::CryptoRng + ?Sized>(
    ber: &[u8],
    identities: &[&Identity],
    rng: &mut R,
) -> Result<Option<ExternalContent>> {
    let mut parsed = parse(ber)?;
    let Some(iv) = cipher::external_iv(&parsed.eci.content_enc_alg) else {
        return Ok(None);
    };
    let tag = parsed
        .mac
        .take()
        .map(|o| o.into_bytes().into_vec())
        .unwrap_or_default();
    if tag.len()
        != if parsed.cipher.is_authenticated() {
            16
        } else {
            0
        }
    {
        return Ok(None);
    }
    let keys = content_keys(&parsed, identities, rng)?;
    // Moved out, not copied: a large message's ciphertext is held once here.
    let ciphertext = parsed
        .eci
        .encrypted_content
        .take()
        .map(|o| o.into_bytes().into_vec())
        .unwrap_or_default();
    Ok(Some(ExternalContent {
        cipher: parsed.cipher,
        keys,
        iv,
        aad: core::mem::take(&mut parsed.aad),
        ciphertext,
        tag,
    }))
}

/// Where the encrypted content of a DER (Auth)EnvelopedData `ContentInfo` is, found from the
/// front of the encoding only (see [`locate_content`]), and the headers whose lengths count it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentPosition {
    /// The encrypted content: the contents of one primitive `[0] IMPLICIT OCTET STRING`.
    pub content: core::ops::Range<usize>,
    /// Offsets of the headers around it, outermost first, the content's own last.
    enclosing: Vec<usize>,
}

/// A DER header at `at`: tag, header length, contents length. `None` for a multi-byte tag, an
/// indefinite or non-minimal length, or too few bytes.
fn header_at(data: &[u8], at: usize) -> Option<(u8, usize, usize)> {
    let tag = *data.get(at)?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *data.get(at.checked_add(1)?)?;
    if first < 0x80 {
        return Some((tag, 2, usize::from(first)));
    }
    let n = usize::from(first & 0x7f);
    let bytes = data.get(at.checked_add(2)?..at.checked_add(2 + n)?)?;
    if n == 0 || n > 4 || bytes.first() == Some(&0) || (n == 1 && bytes.first() < Some(&0x80)) {
        return None;
    }
    let len = bytes
        .iter()
        .fold(0usize, |len, b| len << 8 | usize::from(*b));
    Some((tag, 2 + n, len))
}

/// Find the encrypted content of a DER (Auth)EnvelopedData `ContentInfo` from `prefix`, the front
/// of its encoding (at least through the content's header; the content itself need not be
/// there): so that a large message's ciphertext can stay with the caller while the core reads
/// everything else ([`hollow`]). `None` unless every length up to it is definite and the content
/// is one primitive OCTET STRING (BER as NSS writes it, with indefinite lengths and segments,
/// takes the whole-message path).
#[must_use]
pub fn locate_content(prefix: &[u8]) -> Option<ContentPosition> {
    let mut enclosing = Vec::new();
    let mut at = 0usize;
    // Step into a constructed header (`enclose`) or over a whole field, checking its tag.
    let mut step = |tag: u8, enclose: bool, optional: bool| -> Option<Option<(usize, usize)>> {
        let (t, header, len) = header_at(prefix, at)?;
        if t != tag {
            return optional.then_some(None);
        }
        let start = at + header;
        if enclose {
            enclosing.push(at);
            at = start;
        } else {
            at = start.checked_add(len)?;
        }
        Some(Some((start, len)))
    };
    step(0x30, true, false)?; // ContentInfo
    let (oid_at, oid_len) = step(0x06, false, false)??;
    let oid = prefix.get(oid_at..oid_at + oid_len)?;
    if oid != ID_ENVELOPED_DATA.as_bytes() && oid != ID_AUTH_ENVELOPED_DATA.as_bytes() {
        return None;
    }
    step(0xa0, true, false)?; // [0] EXPLICIT content
    step(0x30, true, false)?; // (Auth)EnvelopedData
    step(0x02, false, false)??; // version
    step(0xa0, false, true)?; // originatorInfo [0] IMPLICIT, optional
    step(0x31, false, false)??; // recipientInfos
    step(0x30, true, false)??; // (Auth)EncryptedContentInfo
    step(0x06, false, false)??; // contentType
    step(0x30, false, false)??; // contentEncryptionAlgorithm
    let (start, len) = step(0x80, true, false)??; // encryptedContent [0] IMPLICIT, primitive
    Some(ContentPosition {
        content: start..start.checked_add(len)?,
        enclosing,
    })
}

/// The encoding [`locate_content`] read, without its encrypted content: `head` is the encoding
/// up to the content, `tail` everything after it; every length around the content loses its
/// size. The result parses (and [`external_content`] reads it) as the whole would, with empty
/// content.
///
/// # Errors
/// `CMS_MALFORMED` when `head` is not what `position` was found in.
pub fn hollow(position: &ContentPosition, head: &[u8], tail: &[u8]) -> Result<Vec<u8>> {
    let bad = || Error::CmsMalformed {
        detail: "encrypted content framing",
    };
    // Innermost first: each header loses the content and what the headers inside it shrank by.
    let mut removed = position.content.len();
    let mut headers = Vec::with_capacity(position.enclosing.len());
    for &at in position.enclosing.iter().rev() {
        let (tag, header, len) = header_at(head, at).ok_or_else(bad)?;
        let mut new = Vec::new();
        der_header(tag, len.checked_sub(removed).ok_or_else(bad)?, &mut new);
        removed += header.checked_sub(new.len()).ok_or_else(bad)?;
        headers.push((at, header, new));
    }
    let mut out = Vec::with_capacity(head.len() + tail.len());
    let mut cursor = 0;
    for (at, header, new) in headers.iter().rev() {
        out.extend_from_slice(head.get(cursor..*at).ok_or_else(bad)?);
        out.extend_from_slice(new);
        cursor = at + header;
    }
    if cursor != head.len() || cursor != position.content.start {
        return Err(bad());
    }
    out.extend_from_slice(tail);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-place DER path and the normalising BER path read the same structure, and BER
    /// (indefinite lengths, segmented content, as NSS writes) still takes the second.
    #[test]
    fn der_in_place_and_ber_normalised_agree() {
        let certs =
            crate::x509::parse_certificates(include_bytes!("../../tests/vectors/pki/bob-rsa.pem"))
                .unwrap_or_default();
        let Some(cert) = certs.into_iter().next() else {
            panic!("test certificate");
        };
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes128Cbc] {
            let params = EncryptParams {
                cipher,
                rsa: RsaTransport::Pkcs1v15,
                by_key_id: false,
            };
            let der_bytes = encrypt(b"hello", &[&cert], &params, &mut rng).unwrap_or_default();
            let fast = parse_der(&der_bytes).ok();
            let slow = join_encrypted_content(&crate::ber::to_der(&der_bytes).unwrap_or_default())
                .ok()
                .and_then(|d| parse_der(&d).ok());
            let (Some(fast), Some(slow)) = (fast, slow) else {
                panic!("both paths parse DER");
            };
            assert_eq!(fast.eci, slow.eci);
            assert_eq!(fast.mac, slow.mac);
            assert_eq!(fast.infos.len(), 1);
            assert!(is_enveloped(&der_bytes));
        }
        // A BER encoding of the same kind of structure: indefinite outer lengths are not DER,
        // so `parse_der` refuses it and `parse` normalises.
        let der_bytes = encrypt(
            b"hello",
            &[&cert],
            &EncryptParams {
                cipher: ContentCipher::Aes256Cbc,
                rsa: RsaTransport::Pkcs1v15,
                by_key_id: false,
            },
            &mut rng,
        )
        .unwrap_or_default();
        let (info, _) = read_tlv(&der_bytes).unwrap_or_else(|_| panic!("DER"));
        let mut ber = alloc::vec![0x30, 0x80];
        ber.extend_from_slice(info.contents);
        ber.extend_from_slice(&[0, 0]);
        assert!(parse_der(&ber).is_err());
        assert!(parse(&ber).is_ok());
        assert!(is_enveloped(&ber));
        assert!(!is_enveloped(b"\x30\x03\x06\x01\x00"));
    }
}
