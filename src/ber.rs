//! BER to DER normalisation, for the BER that NSS, Windows and Java write in PKCS#12 and CMS.
//!
//! [`to_der`] rewrites indefinite lengths (X.690 §8.1.3.6) as definite ones, long or
//! non-minimal length forms as minimal ones, and constructed OCTET STRINGs (tag `0x24`, X.690
//! §8.7.3) as one primitive OCTET STRING. Everything else is copied as is.
//!
//! What it does not do: it does not know the schema, so a constructed *context-specific* tag
//! that stands for an `[n] IMPLICIT OCTET STRING` (CMS `encryptedContent`, `eContent` inside
//! `[0] EXPLICIT` is fine) stays constructed, with its OCTET STRING segments inside: read such
//! fields with [`implicit_octets`]. It does not sort SET OF, fix non-minimal INTEGERs, or
//! normalise constructed BIT STRINGs or character strings (those stay BER and the DER decoder
//! rejects them).
//!
//! Recursion is bounded by [`MAX_DEPTH`]; every length is checked against the input, so the
//! output is at most a few bytes per element larger than the input.

use alloc::vec::Vec;

use crate::error::{Error, Result};

/// Deepest nesting [`to_der`] accepts.
pub const MAX_DEPTH: usize = 64;

/// Convert one BER-encoded element (the whole of `input`) to DER.
///
/// # Errors
/// [`Error::DerMalformed`] for truncated or malformed input, or trailing bytes;
/// [`Error::InputTooLarge`] when nesting exceeds [`MAX_DEPTH`].
pub fn to_der(input: &[u8]) -> Result<Vec<u8>> {
    let mut pos = 0;
    let node = parse(input, &mut pos, 0)?;
    if pos != input.len() {
        return Err(malformed("trailing bytes after BER element", pos));
    }
    let mut out = Vec::with_capacity(input.len().saturating_add(16));
    node.encode(&mut out);
    Ok(out)
}

/// The contents of an `[n] IMPLICIT OCTET STRING` field as found after [`to_der`]: the value
/// itself when the field is primitive, the concatenated OCTET STRING segments when it is
/// constructed.
///
/// # Errors
/// [`Error::DerMalformed`] when a constructed field holds anything but OCTET STRINGs.
pub fn implicit_octets(tlv: &Tlv<'_>) -> Result<Vec<u8>> {
    if tlv.tag & 0x20 == 0 {
        return Ok(tlv.value.to_vec());
    }
    let mut out = Vec::with_capacity(tlv.value.len());
    for part in children(tlv.value)? {
        if part.tag != 0x04 {
            return Err(malformed(
                "constructed OCTET STRING segment is not an OCTET STRING",
                0,
            ));
        }
        out.extend_from_slice(part.value);
    }
    Ok(out)
}

/// One DER element: a single-byte tag, its value, and the whole encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The identifier octet (class, constructed bit, number < 31).
    pub tag: u8,
    /// The contents octets.
    pub value: &'a [u8],
    /// Tag, length and value together.
    pub raw: &'a [u8],
}

/// Read one DER element (single-byte tag, definite length) from the front of `input`; return it
/// and the rest.
///
/// # Errors
/// [`Error::DerMalformed`] when truncated, for high tag numbers or indefinite lengths.
pub fn read_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8])> {
    let tag = *input.first().ok_or_else(|| malformed("missing tag", 0))?;
    if tag & 0x1f == 0x1f {
        return Err(malformed("high tag number", 0));
    }
    let mut pos = 1;
    let len = match read_length(input, &mut pos)? {
        Some(len) => len,
        None => return Err(malformed("indefinite length in DER", pos)),
    };
    let end = pos
        .checked_add(len)
        .ok_or_else(|| malformed("length overflow", pos))?;
    let value = input
        .get(pos..end)
        .ok_or_else(|| malformed("truncated value", pos))?;
    let raw = input
        .get(..end)
        .ok_or_else(|| malformed("truncated value", pos))?;
    let rest = input.get(end..).unwrap_or_default();
    Ok((Tlv { tag, value, raw }, rest))
}

/// The elements inside a constructed value, in order.
///
/// # Errors
/// As [`read_tlv`].
pub fn children(mut value: &[u8]) -> Result<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !value.is_empty() {
        let (tlv, rest) = read_tlv(value)?;
        out.push(tlv);
        value = rest;
    }
    Ok(out)
}

/// Exactly one element making up the whole of `input`, with the tag `tag`.
///
/// # Errors
/// As [`read_tlv`], and [`Error::DerMalformed`] for another tag or trailing bytes.
pub fn expect_one(input: &[u8], tag: u8) -> Result<Tlv<'_>> {
    let (tlv, rest) = read_tlv(input)?;
    if tlv.tag != tag {
        return Err(malformed("unexpected tag", 0));
    }
    if !rest.is_empty() {
        return Err(malformed("trailing bytes", tlv.raw.len()));
    }
    Ok(tlv)
}

fn malformed(what: &str, pos: usize) -> Error {
    Error::DerMalformed {
        detail: alloc::format!("{what} at byte {pos}"),
    }
}

/// A parsed BER element, re-encodable as DER.
enum Node {
    Primitive { tag: Vec<u8>, value: Vec<u8> },
    Constructed { tag: Vec<u8>, children: Vec<Node> },
}

impl Node {
    fn content_len(&self) -> usize {
        match self {
            Node::Primitive { value, .. } => value.len(),
            Node::Constructed { children, .. } => children.iter().map(Node::encoded_len).sum(),
        }
    }

    fn encoded_len(&self) -> usize {
        let tag_len = match self {
            Node::Primitive { tag, .. } | Node::Constructed { tag, .. } => tag.len(),
        };
        let len = self.content_len();
        tag_len + length_len(len) + len
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Node::Primitive { tag, value } => {
                out.extend_from_slice(tag);
                write_length(out, value.len());
                out.extend_from_slice(value);
            }
            Node::Constructed { tag, children } => {
                out.extend_from_slice(tag);
                write_length(out, self.content_len());
                for child in children {
                    child.encode(out);
                }
            }
        }
    }
}

fn length_len(len: usize) -> usize {
    if len < 0x80 {
        1
    } else {
        1 + (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
    }
}

fn write_length(out: &mut Vec<u8>, len: usize) {
    if let Ok(short @ 0..0x80) = u8::try_from(len) {
        out.push(short);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0x7f));
    out.extend_from_slice(significant);
}

/// Read a length at `*pos`: `Some(n)` for a definite length, `None` for indefinite.
fn read_length(input: &[u8], pos: &mut usize) -> Result<Option<usize>> {
    let first = *input
        .get(*pos)
        .ok_or_else(|| malformed("missing length", *pos))?;
    *pos += 1;
    if first < 0x80 {
        return Ok(Some(usize::from(first)));
    }
    if first == 0x80 {
        return Ok(None);
    }
    let count = usize::from(first & 0x7f);
    if count > 4 {
        return Err(malformed("length too long", *pos));
    }
    let mut len: usize = 0;
    for _ in 0..count {
        let b = *input
            .get(*pos)
            .ok_or_else(|| malformed("truncated length", *pos))?;
        *pos += 1;
        len = (len << 8) | usize::from(b);
    }
    Ok(Some(len))
}

/// Read the identifier octets at `*pos` (any tag number form).
fn read_tag<'a>(input: &'a [u8], pos: &mut usize) -> Result<&'a [u8]> {
    let start = *pos;
    let first = *input
        .get(*pos)
        .ok_or_else(|| malformed("missing tag", *pos))?;
    *pos += 1;
    if first & 0x1f == 0x1f {
        // High tag number: base-128 octets, the last without bit 8. Bounded to u32 numbers.
        let mut count = 0;
        loop {
            let b = *input
                .get(*pos)
                .ok_or_else(|| malformed("truncated tag", *pos))?;
            *pos += 1;
            count += 1;
            if count > 5 {
                return Err(malformed("tag number too large", *pos));
            }
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    input
        .get(start..*pos)
        .ok_or_else(|| malformed("truncated tag", start))
}

fn parse(input: &[u8], pos: &mut usize, depth: usize) -> Result<Node> {
    if depth > MAX_DEPTH {
        return Err(Error::InputTooLarge {
            what: "BER nesting depth",
            limit: MAX_DEPTH,
        });
    }
    let tag_start = *pos;
    let tag = read_tag(input, pos)?;
    let constructed = tag.first().is_some_and(|t| t & 0x20 != 0);
    let len = read_length(input, pos)?;
    if !constructed {
        let len = len.ok_or_else(|| malformed("indefinite length on a primitive", tag_start))?;
        let end = pos
            .checked_add(len)
            .ok_or_else(|| malformed("length overflow", *pos))?;
        let value = input
            .get(*pos..end)
            .ok_or_else(|| malformed("truncated value", *pos))?;
        *pos = end;
        return Ok(Node::Primitive {
            tag: tag.to_vec(),
            value: value.to_vec(),
        });
    }
    let mut kids = Vec::new();
    match len {
        Some(len) => {
            let end = pos
                .checked_add(len)
                .ok_or_else(|| malformed("length overflow", *pos))?;
            if end > input.len() {
                return Err(malformed("truncated value", *pos));
            }
            // Children are parsed within [pos, end): parse from a sub-slice so that a child
            // cannot run past its parent.
            let inner = input
                .get(..end)
                .ok_or_else(|| malformed("truncated value", *pos))?;
            while *pos < end {
                if inner.get(*pos) == Some(&0) && inner.get(*pos + 1) == Some(&0) {
                    return Err(malformed("end-of-contents in a definite length", *pos));
                }
                kids.push(parse(inner, pos, depth + 1)?);
            }
        }
        None => loop {
            match (input.get(*pos), input.get(*pos + 1)) {
                (Some(0), Some(0)) => {
                    *pos += 2;
                    break;
                }
                (None, _) => return Err(malformed("missing end-of-contents", *pos)),
                _ => kids.push(parse(input, pos, depth + 1)?),
            }
        },
    }
    if tag == [0x24] {
        // Constructed OCTET STRING: concatenate the segments (themselves OCTET STRINGs).
        let mut value = Vec::new();
        for kid in kids {
            match kid {
                Node::Primitive { tag, value: part } if tag == [0x04] => {
                    value.extend_from_slice(&part);
                }
                _ => return Err(malformed("constructed OCTET STRING segment", tag_start)),
            }
        }
        return Ok(Node::Primitive {
            tag: alloc::vec![0x04],
            value,
        });
    }
    Ok(Node::Constructed {
        tag: tag.to_vec(),
        children: kids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(hex_in: &str) -> Result<Vec<u8>> {
        to_der(&hex::decode(hex_in.replace(' ', "")).unwrap())
    }

    #[test]
    fn definite_der_is_unchanged() {
        let input = hex::decode("300a020103300506032a0304").unwrap();
        assert_eq!(to_der(&input).unwrap(), input);
    }

    #[test]
    fn indefinite_and_constructed_octets() {
        // SEQUENCE (indef) { INTEGER 3, OCTET STRING (constructed, indef) { "ab", "c" } }
        let out = der("30 80 02 01 03 24 80 04 02 61 62 04 01 63 00 00 00 00").unwrap();
        assert_eq!(hex::encode(out), "30080201030403616263");
    }

    #[test]
    fn nested_constructed_octets_and_long_lengths() {
        // OCTET STRING constructed { constructed { "a" }, "b" } with a non-minimal length
        let out = der("24 82 00 08 24 03 04 01 61 04 01 62").unwrap();
        assert_eq!(hex::encode(out), "04026162");
    }

    #[test]
    fn context_implicit_octets() {
        // [0] constructed indefinite { OCTET STRING "ab", OCTET STRING "c" }
        let out = der("a0 80 04 02 61 62 04 01 63 00 00").unwrap();
        assert_eq!(hex::encode(&out), "a00704026162040163");
        let tlv = expect_one(&out, 0xa0).unwrap();
        assert_eq!(implicit_octets(&tlv).unwrap(), b"abc");
        let prim = expect_one(b"\x80\x02hi", 0x80).unwrap();
        assert_eq!(implicit_octets(&prim).unwrap(), b"hi");
    }

    #[test]
    fn long_content_gets_long_length() {
        let mut input = alloc::vec![0x24, 0x80];
        for _ in 0..3 {
            input.extend_from_slice(&[0x04, 0x81, 100]);
            input.extend_from_slice(&[7u8; 100]);
        }
        input.extend_from_slice(&[0, 0]);
        let out = to_der(&input).unwrap();
        assert_eq!(out.get(..4).unwrap(), &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(out.len(), 304);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for bad in [
            "",
            "30",
            "30 80",
            "30 80 02 01",
            "30 03 02 01",
            "02 80 01 00 00",
            "30 02 00 00",
            "24 03 02 01 05",
            "30 85 01 00 00 00 00",
            "02 01 01 ff",
            "1f ff ff ff ff ff ff 00",
        ] {
            let err = der(bad).unwrap_err();
            assert_eq!(err.code(), "DER_MALFORMED", "{bad}");
        }
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut input = Vec::new();
        for _ in 0..10_000 {
            input.extend_from_slice(&[0x30, 0x80]);
        }
        assert_eq!(to_der(&input).unwrap_err().code(), "INPUT_TOO_LARGE");
    }

    #[test]
    fn every_prefix_of_ber_is_an_error() {
        let input = hex::decode("3080020103248004026162040163000000").unwrap();
        for n in 0..input.len() {
            assert!(to_der(input.get(..n).unwrap()).is_err());
        }
    }
}
