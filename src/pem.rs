//! PEM armour (RFC 7468): one or many blocks, or plain DER.
//!
//! Does not interpret what is inside a block: callers decide by label or by trying.

use alloc::string::String;
use alloc::vec::Vec;

use base64ct::Encoding;

use crate::error::{Error, Result};

/// One decoded block: its label (`CERTIFICATE`, `PRIVATE KEY`, ...) and DER bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    /// The label between `-----BEGIN ` and `-----`.
    pub label: String,
    /// The decoded contents.
    pub der: Vec<u8>,
}

impl core::fmt::Debug for Block {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Blocks may hold private keys: never print the bytes.
        f.debug_struct("Block")
            .field("label", &self.label)
            .field("len", &self.der.len())
            .finish()
    }
}

/// Does this look like PEM (text with a `-----BEGIN ` line)?
#[must_use]
pub fn is_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Decode every PEM block in `data`, skipping text between blocks (as OpenSSL does with
/// "Bag Attributes" and comments).
///
/// # Errors
/// [`Error::PemMalformed`] if a block is unterminated or its base64 is invalid.
pub fn decode_all(data: &[u8]) -> Result<Vec<Block>> {
    let text = core::str::from_utf8(data).map_err(|_| Error::PemMalformed)?;
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = rest.get(start + 11..).ok_or(Error::PemMalformed)?;
        let label_end = after.find("-----").ok_or(Error::PemMalformed)?;
        let label = after.get(..label_end).ok_or(Error::PemMalformed)?;
        let end_marker = alloc::format!("-----END {label}-----");
        let body_start = label_end + 5;
        let end = after.find(&end_marker).ok_or(Error::PemMalformed)?;
        let body = after.get(body_start..end).ok_or(Error::PemMalformed)?;
        let mut b64 = String::with_capacity(body.len());
        for line in body.lines() {
            let line = line.trim();
            // RFC 1421 headers (Proc-Type, DEK-Info) mean legacy OpenSSL encryption.
            if line.contains(':') {
                return Err(Error::unsupported("PEM encryption (Proc-Type/DEK-Info)"));
            }
            b64.push_str(line);
        }
        let der = base64ct::Base64::decode_vec(&b64).map_err(|_| Error::PemMalformed)?;
        blocks.push(Block {
            label: String::from(label),
            der,
        });
        rest = after.get(end + end_marker.len()..).unwrap_or("");
    }
    if blocks.is_empty() {
        return Err(Error::PemMalformed);
    }
    Ok(blocks)
}

/// PEM blocks, or the input itself as one unlabeled DER object when it is not PEM.
///
/// # Errors
/// As [`decode_all`] for PEM input.
pub fn pem_or_der(data: &[u8]) -> Result<Vec<Block>> {
    if is_pem(data) {
        decode_all(data)
    } else {
        Ok(alloc::vec![Block {
            label: String::new(),
            der: data.to_vec()
        }])
    }
}

/// Encode DER as one PEM block with 64-column lines and LF line ends.
#[must_use]
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64ct::Base64::encode_string(der);
    let mut out = alloc::format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(core::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&alloc::format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_many_blocks() {
        let a = encode("CERTIFICATE", b"\x30\x03\x02\x01\x05");
        let b = encode("PRIVATE KEY", &[7u8; 100]);
        let both = alloc::format!("Bag Attributes\n  friendlyName: x\n{a}junk\n{b}");
        let blocks = decode_all(both.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "CERTIFICATE");
        assert_eq!(blocks[1].der, alloc::vec![7u8; 100]);
    }

    #[test]
    fn malformed() {
        assert_eq!(
            decode_all(b"-----BEGIN X-----\nAAA").unwrap_err().code(),
            "PEM_MALFORMED"
        );
        assert_eq!(
            decode_all(b"-----BEGIN X-----\n!!\n-----END X-----")
                .unwrap_err()
                .code(),
            "PEM_MALFORMED"
        );
        assert_eq!(decode_all(b"nothing").unwrap_err().code(), "PEM_MALFORMED");
        assert_eq!(
            decode_all(&[0xff, 0xfe]).unwrap_err().code(),
            "PEM_MALFORMED"
        );
    }
}
