//! EnvelopedData (RFC 5652 §6) and AuthEnvelopedData (RFC 5083) creation and decryption.

use alloc::vec::Vec;

use cms::authenveloped_data::AuthEnvelopedData;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{EncryptedContentInfo, EnvelopedData, RecipientInfo, RecipientInfos};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Decode, Encode};
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
    let mut cek = Zeroizing::new(alloc::vec![0u8; params.cipher.key_len()]);
    rng.fill_bytes(&mut cek);
    let mut infos = SetOfVec::new();
    let mut all_v0 = true;
    for cert in recipients {
        let ri = recipient::wrap(cert, &cek, params.rsa, params.by_key_id, rng)?;
        all_v0 &= matches!(&ri, RecipientInfo::Ktri(k) if k.version == CmsVersion::V0);
        infos.insert(ri)?;
    }
    let sealed = cipher::seal(params.cipher, &cek, content, b"", rng)?;
    let eci = EncryptedContentInfo {
        content_type: ID_DATA,
        content_enc_alg: sealed.algorithm,
        encrypted_content: Some(OctetString::new(sealed.ciphertext)?),
    };
    let info = if params.cipher.is_authenticated() {
        let data = AuthEnvelopedData {
            version: CmsVersion::V0,
            originator_info: None,
            recip_infos: RecipientInfos(infos),
            auth_encrypted_content_info: eci,
            auth_attrs: None,
            mac: OctetString::new(sealed.tag)?,
            unauth_attrs: None,
        };
        ContentInfo {
            content_type: ID_AUTH_ENVELOPED_DATA,
            content: Any::encode_from(&data)?,
        }
    } else {
        let data = EnvelopedData {
            version: if all_v0 {
                CmsVersion::V0
            } else {
                CmsVersion::V2
            },
            originator_info: None,
            recip_infos: RecipientInfos(infos),
            encrypted_content: eci,
            unprotected_attrs: None,
        };
        ContentInfo {
            content_type: ID_ENVELOPED_DATA,
            content: Any::encode_from(&data)?,
        }
    };
    Ok(info.to_der()?)
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
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        let n = bytes.len() - skip;
        out.push(0x80 | u8::try_from(n).unwrap_or(0));
        out.extend_from_slice(bytes.get(skip..).unwrap_or_default());
    }
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
    crate::ber::to_der(ber)
        .ok()
        .and_then(|d| ContentInfo::from_der(&d).ok())
        .is_some_and(|ci| {
            ci.content_type == ID_ENVELOPED_DATA || ci.content_type == ID_AUTH_ENVELOPED_DATA
        })
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
    if ber.len() > crate::cms::MAX_CMS_SIZE {
        return Err(Error::InputTooLarge {
            what: "CMS size",
            limit: crate::cms::MAX_CMS_SIZE,
        });
    }
    let der_bytes = join_encrypted_content(&crate::ber::to_der(ber)?)?;
    crate::cms::check_recipient_count(&der_bytes, MAX_RECIPIENTS)?;
    let info = ContentInfo::from_der(&der_bytes)?;
    let inner = info.content.to_der()?;
    let (infos, eci, mac, aad) = if info.content_type == ID_ENVELOPED_DATA {
        let d = EnvelopedData::from_der(&inner)?;
        (
            d.recip_infos.0.into_vec(),
            d.encrypted_content,
            None,
            Vec::new(),
        )
    } else if info.content_type == ID_AUTH_ENVELOPED_DATA {
        let d = AuthEnvelopedData::from_der(&inner)?;
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
    let content_cipher = cipher::identify(&eci.content_enc_alg)?;
    if content_cipher.is_authenticated() != mac.is_some() {
        return Err(Error::CmsMalformed {
            detail: "AEAD cipher outside AuthEnvelopedData or the reverse",
        });
    }
    let ciphertext = eci
        .encrypted_content
        .as_ref()
        .ok_or(Error::CmsMalformed {
            detail: "encrypted content is detached",
        })?
        .as_bytes();
    let tag = mac.as_ref().map(OctetString::as_bytes).unwrap_or_default();
    let mut matched = false;
    let mut failed = false;
    let mut unsupported = None;
    for identity in identities {
        for ri in infos.iter().filter(|ri| recipient::is_for(ri, identity)) {
            matched = true;
            let cek = match recipient::unwrap(ri, identity, content_cipher.key_len(), rng) {
                Ok(cek) => cek,
                // Not secret-dependent: say which algorithm is missing.
                Err(e @ Error::UnsupportedAlgorithm { .. }) => {
                    unsupported = Some(e);
                    continue;
                }
                Err(_) => {
                    failed = true;
                    continue;
                }
            };
            failed = true;
            if let Ok(content) = cipher::open(&eci.content_enc_alg, &cek, ciphertext, tag, &aad) {
                return Ok(Decrypted {
                    content,
                    cipher: content_cipher,
                    authenticated: content_cipher.is_authenticated(),
                });
            }
        }
    }
    match (matched, failed, unsupported) {
        (false, _, _) => Err(Error::NotRecipient),
        (true, false, Some(e)) => Err(e),
        _ => Err(Error::Decryption),
    }
}
