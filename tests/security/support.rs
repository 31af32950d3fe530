//! Helpers shared by the attack tests: build, take apart and re-assemble messages.

use cachet::cms::cipher::ContentCipher;
use cachet::smime::envelope::{self, EncryptOptions};
use cachet::smime::SignOptions;
use cms::content_info::ContentInfo;
use cms::enveloped_data::{EncryptedContentInfo, RecipientInfo, RecipientInfos};
use der::{Decode, Encode};

use crate::common::{self, certs, identity, AT};

pub fn cert(name: &str) -> x509_cert::Certificate {
    certs(&format!("pki/{name}.pem")).remove(0)
}

pub fn encrypt(message: &[u8], to: &str, cipher: ContentCipher, rsa_oaep: bool) -> Vec<u8> {
    let c = cert(to);
    envelope::encrypt_message(
        message,
        &[&c],
        &EncryptOptions {
            cipher,
            rsa_oaep,
            ..Default::default()
        },
        &mut common::rng(),
    )
    .unwrap()
}

pub fn sign_options(opaque: bool) -> SignOptions {
    SignOptions {
        opaque,
        digest: cachet::algorithms::DigestAlgorithm::Sha256,
        rsa_pss: false,
        time: AT,
    }
}

pub use crate::common::{open, types};

/// Split an `application/pkcs7-mime` message into its header text and its DER body.
pub fn split(message: &[u8]) -> (String, Vec<u8>) {
    let text = String::from_utf8(message.to_vec()).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (
        head.to_string(),
        cachet::mime::base64_decode(body.as_bytes()).unwrap(),
    )
}

/// The inverse of [`split`].
pub fn join(head: &str, der: &[u8]) -> Vec<u8> {
    let mut out = format!("{head}\r\n\r\n").into_bytes();
    out.extend_from_slice(&cachet::mime::base64_encode_lines(der));
    out
}

/// Where `needle` starts in `haystack` (it must occur exactly once).
pub fn position(haystack: &[u8], needle: &[u8]) -> usize {
    let hits: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "needle must occur once");
    hits[0]
}

/// The parts of an EnvelopedData or AuthEnvelopedData the attacks touch.
pub struct Envelope {
    pub recipients: Vec<RecipientInfo>,
    pub content: EncryptedContentInfo,
    pub mac: Option<Vec<u8>>,
}

pub fn envelope(der: &[u8]) -> Envelope {
    let info = ContentInfo::from_der(der).unwrap();
    let inner = info.content.to_der().unwrap();
    if let Ok(d) = cms::enveloped_data::EnvelopedData::from_der(&inner) {
        return Envelope {
            recipients: recipients(d.recip_infos),
            content: d.encrypted_content,
            mac: None,
        };
    }
    let d = cms::authenveloped_data::AuthEnvelopedData::from_der(&inner).unwrap();
    Envelope {
        recipients: recipients(d.recip_infos),
        content: d.auth_encrypted_content_info,
        mac: Some(d.mac.as_bytes().to_vec()),
    }
}

fn recipients(r: RecipientInfos) -> Vec<RecipientInfo> {
    r.0.into_vec()
}

/// The wrapped content-encryption key of the first recipient (KTRI or KARI).
pub fn wrapped_key(der: &[u8]) -> Vec<u8> {
    match &envelope(der).recipients[0] {
        RecipientInfo::Ktri(k) => k.enc_key.as_bytes().to_vec(),
        RecipientInfo::Kari(k) => k.recipient_enc_keys[0].enc_key.as_bytes().to_vec(),
        _ => panic!("unexpected RecipientInfo"),
    }
}

/// The CBC IV (the content-encryption algorithm's OCTET STRING parameter).
pub fn iv(der: &[u8]) -> Vec<u8> {
    let alg = envelope(der).content.content_enc_alg;
    let any = alg.parameters.unwrap();
    any.decode_as::<der::asn1::OctetString>()
        .unwrap()
        .as_bytes()
        .to_vec()
}

pub fn ciphertext(der: &[u8]) -> Vec<u8> {
    envelope(der)
        .content
        .encrypted_content
        .unwrap()
        .as_bytes()
        .to_vec()
}

/// Replace the bytes `old` (which occur once in `der`) with `new` of the same length.
pub fn replace(der: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    assert_eq!(old.len(), new.len());
    let at = position(der, old);
    let mut out = der.to_vec();
    out[at..at + old.len()].copy_from_slice(new);
    out
}

/// Decrypt a whole message for `who`, returning the error code.
pub fn decrypt_code(message: &[u8], who: &str) -> &'static str {
    let id = identity(who);
    match envelope::decrypt_message(message, &[&id], &mut common::rng()) {
        Ok(_) => "OK",
        Err(e) => e.code(),
    }
}
