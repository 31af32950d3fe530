//! MIME (RFC 2045, 2046, 5322) as S/MIME needs it: header fields, `Content-Type` parameters,
//! multipart bodies split with exact byte ranges, canonical CRLF, transfer encodings.
//!
//! This is deliberately not a general mail parser: it does not decode RFC 2047 words or
//! charsets. It keeps the raw bytes of every header and part, because signatures cover raw
//! bytes.

pub mod compose;
pub mod skeleton;

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, Result};

/// Most header fields Cachet accepts in one header block.
pub const MAX_HEADER_FIELDS: usize = 1000;
/// Largest header section of one entity (1 MiB; Postfix refuses more than 100 KiB).
pub const MAX_HEADER_SIZE: usize = 1024 * 1024;
/// Deepest multipart nesting Cachet walks.
pub const MAX_DEPTH: usize = 32;
/// Most parts in one multipart body.
pub const MAX_PARTS: usize = 1000;

/// One header field: its name and raw bytes (folded lines included, final CRLF included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    /// The field name as written.
    pub name: &'a str,
    /// The whole field as it appears, from the name to the CRLF that ends it.
    pub raw: &'a [u8],
}

impl Field<'_> {
    /// The unfolded value, leading and trailing white space removed. Non-UTF-8 bytes are replaced.
    #[must_use]
    pub fn value(&self) -> String {
        let raw = self.raw.get(self.name.len() + 1..).unwrap_or_default();
        let text = String::from_utf8_lossy(raw);
        let mut out = String::with_capacity(text.len());
        for line in text.split("\r\n") {
            out.push_str(line);
        }
        String::from(out.trim())
    }

    /// Is this field named `name` (case-insensitive)?
    #[must_use]
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// A MIME entity (or message) split into header fields and body. `data` must be canonical CRLF.
#[derive(Clone, Debug)]
pub struct Entity<'a> {
    /// The header fields in order.
    pub fields: Vec<Field<'a>>,
    /// The body: everything after the blank line that ends the header.
    pub body: &'a [u8],
}

impl<'a> Entity<'a> {
    /// Split `data` (CRLF line ends) into header fields and body. A message with no blank line is
    /// all header and has an empty body; a message that starts with a blank line has no fields.
    ///
    /// # Errors
    /// `MIME_MALFORMED` for a line that is neither a field nor a continuation,
    /// `INPUT_TOO_LARGE` for more than [`MAX_HEADER_FIELDS`] fields or a header section over
    /// [`MAX_HEADER_SIZE`] bytes.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let mut fields: Vec<Field<'a>> = Vec::new();
        let mut pos = 0usize;
        let mut start: Option<(usize, usize)> = None; // (field start, name end)
        loop {
            let rest = data.get(pos..).unwrap_or_default();
            let line_len = find(rest, b"\r\n").map_or(rest.len(), |i| i + 2);
            let line = rest.get(..line_len).unwrap_or_default();
            let blank = line == b"\r\n" || line.is_empty();
            if !blank && pos + line.len() > MAX_HEADER_SIZE {
                return Err(Error::InputTooLarge {
                    what: "header size",
                    limit: MAX_HEADER_SIZE,
                });
            }
            let continuation = matches!(line.first(), Some(b' ' | b'\t'));
            if !continuation {
                if let Some((s, n)) = start.take() {
                    let name =
                        core::str::from_utf8(data.get(s..n).unwrap_or_default()).map_err(|_| {
                            Error::MimeMalformed {
                                detail: "header name is not ASCII",
                            }
                        })?;
                    fields.push(Field {
                        name,
                        raw: data.get(s..pos).unwrap_or_default(),
                    });
                    if fields.len() > MAX_HEADER_FIELDS {
                        return Err(Error::InputTooLarge {
                            what: "header fields",
                            limit: MAX_HEADER_FIELDS,
                        });
                    }
                }
            }
            if blank {
                let body_start = pos + line.len();
                return Ok(Self {
                    fields,
                    body: data.get(body_start..).unwrap_or_default(),
                });
            }
            if continuation {
                if start.is_none() {
                    return Err(Error::MimeMalformed {
                        detail: "header starts with a continuation",
                    });
                }
            } else {
                let colon = line
                    .iter()
                    .position(|&b| b == b':')
                    .ok_or(Error::MimeMalformed {
                        detail: "header line without a colon",
                    })?;
                let name = line.get(..colon).unwrap_or_default();
                if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
                    return Err(Error::MimeMalformed {
                        detail: "bad header field name",
                    });
                }
                start = Some((pos, pos + colon));
            }
            pos += line.len();
        }
    }

    /// The first field named `name`.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.is(name))
    }

    /// The parsed `Content-Type` (default `text/plain; charset=us-ascii`, RFC 2045 §5.2).
    #[must_use]
    pub fn content_type(&self) -> ContentType {
        self.field("Content-Type")
            .map_or_else(ContentType::default_text, |f| {
                ContentType::parse(&f.value())
            })
    }

    /// The `Content-Transfer-Encoding`, lowercased (default `7bit`).
    #[must_use]
    pub fn transfer_encoding(&self) -> String {
        self.field("Content-Transfer-Encoding")
            .map_or_else(|| String::from("7bit"), |f| f.value().to_ascii_lowercase())
    }

    /// The body with its transfer encoding undone (base64, quoted-printable; others as is).
    ///
    /// # Errors
    /// `MIME_MALFORMED` for invalid base64.
    pub fn decoded_body(&self) -> Result<Vec<u8>> {
        match self.transfer_encoding().as_str() {
            "base64" => base64_decode(self.body),
            "quoted-printable" => Ok(qp_decode(self.body)),
            _ => Ok(self.body.to_vec()),
        }
    }
}

/// A parsed `Content-Type`: `type/subtype` lowercased and its parameters (names lowercased).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentType {
    /// `type/subtype`, lowercased.
    pub mime_type: String,
    /// Parameters in order, names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl ContentType {
    fn default_text() -> Self {
        Self {
            mime_type: String::from("text/plain"),
            params: alloc::vec![(String::from("charset"), String::from("us-ascii"))],
        }
    }

    /// Parse a `Content-Type` value. Tolerant: comments and RFC 2231 continuations are not
    /// interpreted, a missing subtype keeps what is there.
    #[must_use]
    pub fn parse(value: &str) -> Self {
        let mut parts = split_params(value).into_iter();
        let mime_type = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut params = Vec::new();
        for p in parts {
            if let Some((name, val)) = p.split_once('=') {
                params.push((name.trim().to_ascii_lowercase(), unquote(val.trim())));
            }
        }
        Self { mime_type, params }
    }

    /// The value of parameter `name` (lowercase).
    #[must_use]
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Is this `type/subtype` (lowercase)?
    #[must_use]
    pub fn is(&self, mime_type: &str) -> bool {
        self.mime_type == mime_type
    }
}

/// Split at `;` outside quoted strings.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => {
                out.push(value.get(start..i).unwrap_or_default());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value.get(start..).unwrap_or_default());
    out
}

fn unquote(v: &str) -> String {
    match v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut escaped = false;
            for c in inner.chars() {
                if escaped || c != '\\' {
                    out.push(c);
                    escaped = false;
                } else {
                    escaped = true;
                }
            }
            out
        }
        None => String::from(v),
    }
}

/// The parts of a multipart body, each as raw bytes (headers and body, without the CRLF that
/// belongs to the next delimiter, RFC 2046 §5.1.1).
///
/// # Errors
/// `MIME_MALFORMED` when the first delimiter is missing, `INPUT_TOO_LARGE` past [`MAX_PARTS`].
pub fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Result<Vec<&'a [u8]>> {
    if boundary.is_empty() || boundary.len() > 200 {
        return Err(Error::MimeMalformed {
            detail: "bad multipart boundary",
        });
    }
    let delimiter = alloc::format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // A delimiter line starts the body or follows a CRLF: search for "\r\n--boundary" once
    // (linear, SIMD128 on wasm) instead of walking every line.
    let after_crlf = alloc::format!("\r\n--{boundary}");
    let finder = memchr::memmem::Finder::new(after_crlf.as_bytes());
    let first = body.starts_with(delimiter).then_some(0);
    let mut parts = Vec::new();
    let mut part_start: Option<usize> = None;
    for pos in first
        .into_iter()
        .chain(finder.find_iter(body).map(|at| at + 2))
    {
        let rest = body.get(pos..).unwrap_or_default();
        let line_len = find(rest, b"\r\n").map_or(rest.len(), |i| i + 2);
        let line = rest.get(..line_len).unwrap_or_default();
        if let Some(after) = line.strip_prefix(delimiter) {
            let closing = after.starts_with(b"--");
            let tail = if closing {
                after.get(2..).unwrap_or_default()
            } else {
                after
            };
            // Transport padding (white space) may follow the delimiter.
            if tail
                .iter()
                .all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                if let Some(s) = part_start {
                    // The CRLF before the delimiter belongs to the delimiter.
                    let end = pos.saturating_sub(2).max(s);
                    parts.push(body.get(s..end).unwrap_or_default());
                    if parts.len() > MAX_PARTS {
                        return Err(Error::InputTooLarge {
                            what: "MIME parts",
                            limit: MAX_PARTS,
                        });
                    }
                }
                if closing {
                    return Ok(parts);
                }
                part_start = Some(pos + line.len());
            }
        }
    }
    match part_start {
        // No closing delimiter: accept what is there (truncated mail is common).
        Some(s) => {
            parts.push(body.get(s..).unwrap_or_default());
            Ok(parts)
        }
        None => Err(Error::MimeMalformed {
            detail: "multipart without its boundary",
        }),
    }
}

/// Convert line ends to CRLF: a bare LF becomes CRLF, a bare CR becomes CRLF.
///
/// Copies runs between line ends with `extend_from_slice` (one bounds check per line, not per
/// byte): the bulk path of sign, encrypt and decrypt passes whole messages through here.
/// Input whose line ends are all CRLF already is borrowed, not copied.
#[must_use]
pub fn to_crlf(data: &[u8]) -> alloc::borrow::Cow<'_, [u8]> {
    if is_crlf(data) {
        return alloc::borrow::Cow::Borrowed(data);
    }
    alloc::borrow::Cow::Owned(to_crlf_owned(data))
}

/// [`to_crlf`] for bytes the caller owns: returned as they are when already CRLF.
#[must_use]
pub fn into_crlf(data: Vec<u8>) -> Vec<u8> {
    if is_crlf(&data) {
        data
    } else {
        to_crlf_owned(&data)
    }
}

/// Is every line end in `data` a CRLF (no bare CR, no bare LF)?
pub(crate) fn is_crlf(data: &[u8]) -> bool {
    each_line_byte(data, |at, b| {
        if b == b'\r' {
            data.get(at + 1) == Some(&b'\n')
        } else {
            at > 0 && data.get(at - 1) == Some(&b'\r')
        }
    })
}

// Word-at-a-time (SWAR) scanning: most 8-byte words of a message hold no line end, and wasm runs
// one 64-bit test per word far faster than eight byte compares or a SIMD search restarted for
// every ~80-byte line.
const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Non-zero exactly when some byte of `w` is zero.
const fn zero_byte(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGH
}

/// The little-endian word of an 8-byte chunk.
fn word(chunk: &[u8]) -> u64 {
    u64::from_le_bytes(<[u8; 8]>::try_from(chunk).unwrap_or_default())
}

/// Call `f(position, byte)` for every CR and LF in `data`, in order, until it returns false;
/// returns whether it never did.
fn each_line_byte(data: &[u8], mut f: impl FnMut(usize, u8) -> bool) -> bool {
    let mut base = 0;
    let mut words = data.chunks_exact(8);
    for chunk in &mut words {
        let w = word(chunk);
        // The lowest set bit of `zero_byte` is exact; bits above it may be false alarms, which
        // the byte compare below drops.
        let mut mask =
            zero_byte(w ^ (ONES * u64::from(b'\n'))) | zero_byte(w ^ (ONES * u64::from(b'\r')));
        while mask != 0 {
            let i = (mask.trailing_zeros() / 8) as usize;
            mask &= mask - 1;
            match chunk.get(i) {
                Some(&b) if (b == b'\n' || b == b'\r') && !f(base + i, b) => return false,
                _ => {}
            }
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if (b == b'\n' || b == b'\r') && !f(base + i, b) {
            return false;
        }
    }
    true
}

/// Does `data` hold a byte >= 0x80 or a NUL? Blocks of 64 words with no early exit inside, so
/// the loop vectorises.
fn has_8bit_or_nul(data: &[u8]) -> bool {
    data.chunks(512).any(|block| {
        let mut words = block.chunks_exact(8);
        let acc = (&mut words).fold(0, |acc, c| {
            let w = word(c);
            acc | (w & HIGH) | zero_byte(w)
        });
        acc != 0 || words.remainder().iter().any(|&b| b >= 0x80 || b == 0)
    })
}

fn to_crlf_owned(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 64 + 2);
    let mut rest = data;
    while let Some(at) = memchr::memchr2(b'\r', b'\n', rest) {
        let (run, tail) = rest.split_at(at);
        out.extend_from_slice(run);
        out.extend_from_slice(b"\r\n");
        // `tail` starts with the CR or LF found; a CR LF pair is one line end.
        let skip = if tail.starts_with(b"\r\n") { 2 } else { 1 };
        rest = tail.get(skip..).unwrap_or_default();
    }
    out.extend_from_slice(rest);
    out
}

/// Position of `needle` in `haystack`.
#[must_use]
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    // Linear time whatever the input (Two-Way), SIMD128 on wasm.
    memchr::memmem::find(haystack, needle)
}

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Value of a base64 character, 0x40 for white space, 0x80 for anything else.
// Evaluated at compile time: an index out of bounds would fail the build, and `i < 64` fits u8.
#[allow(clippy::indexing_slicing, clippy::cast_possible_truncation)]
const BASE64_VALUES: [u8; 256] = {
    let mut t = [0x80u8; 256];
    let mut i = 0;
    while i < 64 {
        t[BASE64_ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t[b' ' as usize] = 0x40;
    t[b'\t' as usize] = 0x40;
    t[b'\r' as usize] = 0x40;
    t[b'\n' as usize] = 0x40;
    t[0x0b] = 0x40;
    t[0x0c] = 0x40;
    t
};

/// Decode base64, ignoring white space and line breaks; padding optional.
///
/// One pass with a lookup table, no intermediate copy. Not constant-time: MIME bodies (signatures,
/// envelopes, attachments) are not secrets of the kind a timing side channel on base64 would
/// reveal; PEM private keys go through `base64ct` in `crate::pem`.
///
/// # Errors
/// `MIME_MALFORMED` for characters outside the base64 alphabet, data after padding, or a
/// dangling single character.
pub fn base64_decode(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 3);
    let mut decoder = Base64Decoder::default();
    decoder.feed(data, &mut out)?;
    decoder.finish(&mut out)?;
    Ok(out)
}

/// [`base64_decode`] in pieces: `feed` each piece in order (cut anywhere), then `finish`.
#[derive(Debug, Default)]
pub struct Base64Decoder {
    acc: u32,
    n: u32,
    padded: bool,
}

impl Base64Decoder {
    /// Decode `data`, appending to `out`; up to three characters wait for the next piece.
    ///
    /// # Errors
    /// As [`base64_decode`].
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let malformed = Error::MimeMalformed {
            detail: "invalid base64",
        };
        let value = |b: u8| BASE64_VALUES.get(usize::from(b)).copied().unwrap_or(0x80);
        let mut rest = data;
        while let Some((&b, tail)) = rest.split_first() {
            // Fast path: four alphabet characters at a group boundary (almost all of a body).
            if self.n == 0 && !self.padded {
                let mut groups = rest.chunks_exact(4);
                let mut taken = 0;
                // Decoded into a small buffer, appended 64 groups at a time (not 3 bytes at a time).
                let mut buf = [0u8; 192];
                let mut filled = 0;
                for g in &mut groups {
                    let [c0, c1, c2, c3] = *g else { break };
                    let (v0, v1, v2, v3) = (value(c0), value(c1), value(c2), value(c3));
                    if (v0 | v1 | v2 | v3) >= 64 {
                        break;
                    }
                    let v = u32::from(v0) << 18
                        | u32::from(v1) << 12
                        | u32::from(v2) << 6
                        | u32::from(v3);
                    let [_, x, y, z] = v.to_be_bytes();
                    if let Some([bx, by, bz]) = buf.get_mut(filled..filled + 3) {
                        (*bx, *by, *bz) = (x, y, z);
                    }
                    filled += 3;
                    taken += 4;
                    if filled == buf.len() {
                        out.extend_from_slice(&buf);
                        filled = 0;
                    }
                }
                out.extend_from_slice(buf.get(..filled).unwrap_or_default());
                if taken > 0 {
                    rest = rest.get(taken..).unwrap_or_default();
                    continue;
                }
            }
            rest = tail;
            let v = value(b);
            if v < 64 {
                if self.padded {
                    return Err(malformed);
                }
                self.acc = self.acc << 6 | u32::from(v);
                self.n += 1;
                if self.n == 4 {
                    let [_, x, y, z] = self.acc.to_be_bytes();
                    out.extend_from_slice(&[x, y, z]);
                    self.acc = 0;
                    self.n = 0;
                }
            } else if v == 0x40 {
                continue;
            } else if b == b'=' {
                self.padded = true;
            } else {
                return Err(malformed);
            }
        }
        Ok(())
    }

    /// The last bytes (a final group of two or three characters).
    ///
    /// # Errors
    /// `MIME_MALFORMED` for a dangling single character.
    pub fn finish(self, out: &mut Vec<u8>) -> Result<()> {
        match self.n {
            0 => {}
            2 => {
                let [_, _, _, x] = (self.acc >> 4).to_be_bytes();
                out.push(x);
            }
            3 => {
                let [_, _, x, y] = (self.acc >> 2).to_be_bytes();
                out.extend_from_slice(&[x, y]);
            }
            _ => {
                return Err(Error::MimeMalformed {
                    detail: "invalid base64",
                })
            }
        }
        Ok(())
    }
}

/// Encode base64 in lines of 76 characters, CRLF after each line.
///
/// Table-based and written straight into the output (57 input bytes per line), not
/// constant-time: see [`base64_decode`].
#[must_use]
pub fn base64_encode_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    base64_lines_into(data, &mut out);
    out
}

/// [`base64_encode_lines`] of the bytes of `parts` one after the other, appended to `out`,
/// without joining the parts first (a large ciphertext is encoded where it is).
pub fn base64_encode_parts(parts: &[&[u8]], out: &mut Vec<u8>) {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    out.reserve(base64_lines_len(total));
    let mut line = [0u8; 57];
    let mut held = 0;
    for part in parts {
        let mut rest = *part;
        if held > 0 {
            let take = (57 - held).min(rest.len());
            let (head, tail) = rest.split_at(take);
            if let Some(dst) = line.get_mut(held..held + take) {
                dst.copy_from_slice(head);
            }
            held += take;
            rest = tail;
            if held == 57 {
                base64_lines_into(&line, out);
                held = 0;
            }
        }
        if held == 0 {
            let (whole, tail) = rest.split_at(rest.len() / 57 * 57);
            base64_lines_into(whole, out);
            if let Some(dst) = line.get_mut(..tail.len()) {
                dst.copy_from_slice(tail);
            }
            held = tail.len();
        }
    }
    base64_lines_into(line.get(..held).unwrap_or_default(), out);
}

/// The length of [`base64_encode_lines`] for `n` input bytes: 78 per full line of 57.
#[must_use]
pub fn base64_lines_len(n: usize) -> usize {
    let last = n % 57;
    n / 57 * 78
        + if last > 0 {
            last.div_ceil(3) * 4 + 2
        } else {
            0
        }
}

/// Append the base64 lines of `data` to `out`, written in place at their exact size.
fn base64_lines_into(data: &[u8], out: &mut Vec<u8>) {
    let sym = |v: u32| {
        BASE64_ALPHABET
            .get((v & 63) as usize)
            .copied()
            .unwrap_or(b'=')
    };
    let start = out.len();
    out.resize(start + base64_lines_len(data.len()), 0);
    let dst_all = out.get_mut(start..).unwrap_or_default();
    for (line, dst) in data.chunks(57).zip(dst_all.chunks_mut(78)) {
        let (body, end) = dst.split_at_mut((line.len() / 3 * 4).min(dst.len()));
        let mut groups = line.chunks_exact(3);
        for (g, cell) in (&mut groups).zip(body.chunks_exact_mut(4)) {
            if let ([a, b, c], [w, x, y, z]) = (g, cell) {
                let v = u32::from(*a) << 16 | u32::from(*b) << 8 | u32::from(*c);
                (*w, *x, *y, *z) = (sym(v >> 18), sym(v >> 12), sym(v >> 6), sym(v));
            }
        }
        match (groups.remainder(), end) {
            ([a], [w, x, y, z, cr, lf]) => {
                let v = u32::from(*a) << 16;
                (*w, *x, *y, *z) = (sym(v >> 18), sym(v >> 12), b'=', b'=');
                (*cr, *lf) = (b'\r', b'\n');
            }
            ([a, b], [w, x, y, z, cr, lf]) => {
                let v = u32::from(*a) << 16 | u32::from(*b) << 8;
                (*w, *x, *y, *z) = (sym(v >> 18), sym(v >> 12), sym(v >> 6), b'=');
                (*cr, *lf) = (b'\r', b'\n');
            }
            ([], [cr, lf]) => (*cr, *lf) = (b'\r', b'\n'),
            _ => {}
        }
    }
}

/// Decode quoted-printable (RFC 2045 §6.7); invalid escapes are kept as they are.
#[must_use]
pub fn qp_decode(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while let Some(&b) = data.get(i) {
        if b == b'=' {
            match (data.get(i + 1), data.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => {
                    i += 3;
                    continue;
                }
                (Some(b'\n'), _) => {
                    i += 2;
                    continue;
                }
                (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                    out.push(hex_val(h) << 4 | hex_val(l));
                    i += 3;
                    continue;
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// Encode text (CRLF line ends) as quoted-printable that survives any relay: 8-bit bytes, `=`,
/// trailing white space, a leading `From ` or `.` and lines over 76 characters are escaped or
/// soft-broken.
#[must_use]
pub fn qp_encode(data: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    let lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let count = lines.len();
    for (n, line) in lines.into_iter().enumerate() {
        let had_lf = n + 1 < count;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut col = 0usize;
        let len = line.len();
        for (i, &b) in line.iter().enumerate() {
            let last = i + 1 == len;
            let escape = b == b'='
                || !(b == b' ' || b == b'\t' || (33..=126).contains(&b))
                || ((b == b' ' || b == b'\t') && last)
                || (i == 0 && (b == b'.' || (b == b'F' && line.starts_with(b"From "))));
            let width = if escape { 3 } else { 1 };
            if col + width > 75 {
                out.extend_from_slice(b"=\r\n");
                col = 0;
            }
            if escape {
                out.push(b'=');
                out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
                out.push(HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0'));
            } else {
                out.push(b);
            }
            col += width;
        }
        if had_lf {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Does this body need a transfer encoding to travel unchanged (8-bit or NUL bytes, lines over
/// 998 octets, bare CR, trailing white space, a line starting `From `)?
#[must_use]
pub fn needs_encoding(body: &[u8]) -> bool {
    // 8-bit and NUL bytes over the whole body first, then only the line ends: a CR must start a
    // CRLF, and each line (CR LF or bare LF ended) is checked at its ends.
    if has_8bit_or_nul(body) {
        return true;
    }
    let bad_line = |line: &[u8]| {
        line.len() > 998 || matches!(line.last(), Some(b' ' | b'\t')) || line.starts_with(b"From ")
    };
    let mut start = 0;
    let fine = each_line_byte(body, |at, b| {
        if b == b'\r' {
            return body.get(at + 1) == Some(&b'\n');
        }
        let end = if at > start && body.get(at - 1) == Some(&b'\r') {
            at - 1
        } else {
            at
        };
        let line = body.get(start..end).unwrap_or_default();
        start = at + 1;
        !bad_line(line)
    });
    !fine || bad_line(body.get(start..).unwrap_or_default())
}

/// Extract the addr-spec of the first mailbox of an address header value
/// (`"Alice" <alice@example.org>` → `alice@example.org`).
#[must_use]
pub fn first_address(value: &str) -> Option<String> {
    // Blank out quoted strings and comments first: a display name such as
    // `"Alice <alice@example.org>" <mallory@evil.example>` must not supply the address.
    let visible = unquoted(value);
    let candidate = match (visible.find('<'), visible.find('>')) {
        (Some(a), Some(b)) if a < b => visible.get(a + 1..b)?,
        _ => visible.split(',').next()?,
    };
    let addr = candidate.trim().trim_matches(|c| c == '"' || c == '\'');
    if addr.contains('@') && !addr.contains(char::is_whitespace) {
        Some(String::from(addr))
    } else {
        None
    }
}

/// The addr-specs of every mailbox of an address list, in order (`None` for a mailbox whose
/// address cannot be read, and for group syntax, which this does not take apart).
#[must_use]
pub fn addresses(value: &str) -> Vec<Option<String>> {
    let original: Vec<char> = value.chars().collect();
    let visible: Vec<char> = unquoted(value).chars().collect();
    let mut out = Vec::new();
    let (mut start, mut angle) = (0usize, false);
    let take = |from: usize, to: usize, out: &mut Vec<Option<String>>| {
        let piece: String = original.get(from..to).unwrap_or_default().iter().collect();
        let shown: String = visible.get(from..to).unwrap_or_default().iter().collect();
        if piece.trim().is_empty() {
            return;
        }
        let group = shown
            .split('<')
            .next()
            .is_some_and(|s| s.contains(':') || s.contains(';'));
        out.push(if group { None } else { first_address(&piece) });
    };
    for (i, c) in visible.iter().enumerate() {
        match c {
            '<' => angle = true,
            '>' => angle = false,
            ',' if !angle => {
                take(start, i, &mut out);
                start = i + 1;
            }
            _ => {}
        }
    }
    take(start, visible.len(), &mut out);
    out
}

/// An RFC 5322 date in UTC: `Sat, 20 Feb 2021 15:09:02 +0000`.
#[must_use]
pub fn format_date_utc(time: crate::time::UnixTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Ok(dt) = der::DateTime::from_unix_duration(core::time::Duration::from_secs(time.0)) else {
        return String::from("Thu, 1 Jan 1970 00:00:00 +0000");
    };
    let day = DAYS
        .get(usize::try_from((time.0 / 86_400) % 7).unwrap_or(0))
        .unwrap_or(&"Thu");
    let month = MONTHS
        .get(usize::from(dt.month().saturating_sub(1)))
        .unwrap_or(&"Jan");
    alloc::format!(
        "{day}, {} {month} {} {:02}:{:02}:{:02} +0000",
        dt.day(),
        dt.year(),
        dt.hour(),
        dt.minutes(),
        dt.seconds()
    )
}

/// `value` with the characters of quoted strings and comments (RFC 5322 §3.2) replaced by
/// spaces, so that only the structure outside them is searched.
fn unquoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut quoted, mut comment, mut escaped) = (false, 0usize, false);
    for c in value.chars() {
        let hidden = quoted || comment > 0;
        if escaped {
            escaped = false;
            out.push(' ');
            continue;
        }
        match c {
            '\\' if hidden => escaped = true,
            '"' if comment == 0 => quoted = !quoted,
            '(' if !quoted => comment += 1,
            ')' if !quoted && comment > 0 => {
                comment -= 1;
                out.push(' ');
                continue;
            }
            _ => {}
        }
        out.push(if hidden || c == '"' || (c == '(' && !quoted) {
            ' '
        } else {
            c
        });
    }
    out
}

/// Parse an RFC 5322 `Date:` value (`Mon, 26 Jan 2026 20:38:03 +0000`, day name and seconds
/// optional, obsolete zone names `GMT`/`UT`/`Z` and US zones accepted). `None` when unparsable.
#[must_use]
pub fn parse_date(value: &str) -> Option<crate::time::UnixTime> {
    // Drop a trailing comment such as "(16:45 EST)" and the day name.
    let value = value.split('(').next()?.trim();
    let value = match value.split_once(',') {
        Some((_, rest)) => rest.trim(),
        None => value,
    };
    let mut it = value.split_whitespace();
    let day: u8 = it.next()?.parse().ok()?;
    let month_name = it.next()?.to_ascii_lowercase();
    let month = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| month_name.starts_with(m))?;
    let mut year: u16 = it.next()?.parse().ok()?;
    if year < 50 {
        year += 2000;
    } else if year < 1000 {
        year += 1900;
    }
    let mut hms = it.next()?.split(':');
    let hour: u8 = hms.next()?.parse().ok()?;
    let minute: u8 = hms.next()?.parse().ok()?;
    let second: u8 = hms.next().map_or(Some(0), |s| s.parse().ok())?;
    let zone = it.next().unwrap_or("+0000");
    let offset: i64 = match zone.to_ascii_uppercase().as_str() {
        "GMT" | "UT" | "UTC" | "Z" => 0,
        "EST" => -5 * 3600,
        "EDT" => -4 * 3600,
        "CST" => -6 * 3600,
        "CDT" => -5 * 3600,
        "MST" => -7 * 3600,
        "MDT" => -6 * 3600,
        "PST" => -8 * 3600,
        "PDT" => -7 * 3600,
        z if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let h: i64 = z.get(1..3)?.parse().ok()?;
            let m: i64 = z.get(3..5)?.parse().ok()?;
            let o = h * 3600 + m * 60;
            if z.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => 0,
    };
    let month = u8::try_from(month + 1).ok()?;
    let dt = der::DateTime::new(year, month, day, hour, minute, second).ok()?;
    let secs = i64::try_from(dt.unix_duration().as_secs()).ok()? - offset;
    Some(crate::time::UnixTime(u64::try_from(secs).ok()?))
}

/// Decode RFC 2047 encoded-words (`=?utf-8?Q?...?=`, `=?iso-8859-1?B?...?=`) in a header value;
/// white space between adjacent encoded-words is dropped. Unknown charsets and malformed words are
/// left as they are.
#[must_use]
pub fn decode_words(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, from) = rest.split_at(start);
        let Some(decoded_len) = decode_word(from) else {
            out.push_str(before);
            out.push_str("=?");
            rest = from.get(2..).unwrap_or_default();
            last_was_word = false;
            continue;
        };
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        out.push_str(&decoded_len.0);
        rest = from.get(decoded_len.1..).unwrap_or_default();
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

/// Whether an unstructured header value (a Subject) written as it is would read back as
/// something else: it holds `=?`, which readers take for the start of an RFC 2047 encoded-word
/// (many decode one even inside a word), or starts with white space, which readers drop.
#[must_use]
pub fn needs_encoded_words(value: &str) -> bool {
    value.contains("=?") || value.starts_with([' ', '\t'])
}

/// `value` as RFC 2047 encoded-words (`=?utf-8?B?...?=`, 64 characters at most, split between
/// characters), separated by spaces (where the header writer folds; [`decode_words`] drops white
/// space between adjacent encoded-words). It reads back as exactly `value`.
#[must_use]
pub fn encode_words(value: &str) -> String {
    // 39 bytes are 52 base64 characters; with `=?utf-8?B?` and `?=`, 64 (RFC 2047 §2: 75 at most).
    const MAX_BYTES: usize = 39;
    let mut out = String::new();
    let mut rest = value;
    while !rest.is_empty() {
        let mut end = rest.len().min(MAX_BYTES);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (word, tail) = rest.split_at(end);
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str("=?utf-8?B?");
        out.push_str(&<base64ct::Base64 as base64ct::Encoding>::encode_string(
            word.as_bytes(),
        ));
        out.push_str("?=");
        rest = tail;
    }
    out
}

/// One encoded-word at the start of `s`: its text and its length.
fn decode_word(s: &str) -> Option<(String, usize)> {
    let body = s.strip_prefix("=?")?;
    let (charset, rest) = body.split_once('?')?;
    let (encoding, rest) = rest.split_once('?')?;
    let end = rest.find("?=")?;
    let text = rest.get(..end)?;
    if text.contains(' ') {
        return None;
    }
    let bytes = match encoding {
        "Q" | "q" => qp_decode(text.replace('_', " ").as_bytes()),
        "B" | "b" => base64_decode(text.as_bytes()).ok()?,
        _ => return None,
    };
    let charset = charset.split('*').next()?.to_ascii_lowercase();
    let decoded = match charset.as_str() {
        "utf-8" | "us-ascii" => String::from_utf8(bytes).ok()?,
        "iso-8859-1" | "latin1" | "windows-1252" => bytes.iter().map(|&b| char::from(b)).collect(),
        _ => return None,
    };
    Some((
        decoded,
        2 + charset.len() + 1 + encoding.len() + 1 + end + 2,
    ))
}

/// Remove a leading mbox `From ` separator line, if any.
#[must_use]
pub fn strip_mbox_separator(data: &[u8]) -> &[u8] {
    if data.starts_with(b"From ") {
        if let Some(i) = find(data, b"\n") {
            return data.get(i + 1..).unwrap_or_default();
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_headers_and_body() {
        let msg = b"From: a@b.c\r\nSubject: hi\r\n there\r\nContent-Type: text/plain;\r\n charset=\"utf-8\"\r\n\r\nbody\r\n";
        let e = Entity::parse(msg).unwrap();
        assert_eq!(e.fields.len(), 3);
        assert_eq!(e.field("subject").unwrap().value(), "hi there");
        assert_eq!(e.content_type().param("charset"), Some("utf-8"));
        assert_eq!(e.body, b"body\r\n");
        assert_eq!(e.fields[1].raw, b"Subject: hi\r\n there\r\n");
    }

    #[test]
    fn rejects_malformed_headers() {
        assert_eq!(
            Entity::parse(b" cont\r\n\r\n").unwrap_err().code(),
            "MIME_MALFORMED"
        );
        assert_eq!(
            Entity::parse(b"no colon here\r\n\r\n").unwrap_err().code(),
            "MIME_MALFORMED"
        );
        let many = "X: y\r\n".repeat(MAX_HEADER_FIELDS + 1);
        assert_eq!(
            Entity::parse(many.as_bytes()).unwrap_err().code(),
            "INPUT_TOO_LARGE"
        );
    }

    #[test]
    fn splits_multipart_exactly() {
        let body =
            b"preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--b \r\n\r\ntwo\r\n\r\n--b--\r\nepilogue";
        let parts = split_multipart(body, "b").unwrap();
        assert_eq!(
            parts,
            alloc::vec![&b"A: 1\r\n\r\none"[..], &b"\r\ntwo\r\n"[..]]
        );
        assert_eq!(
            split_multipart(b"nothing", "b").unwrap_err().code(),
            "MIME_MALFORMED"
        );
        // "--bb" is not the delimiter "--b".
        let parts = split_multipart(b"--b\r\nx\r\n--bb\r\ny\r\n--b--", "b").unwrap();
        assert_eq!(parts, alloc::vec![&b"x\r\n--bb\r\ny"[..]]);
    }

    #[test]
    fn content_type_params() {
        let ct = ContentType::parse(
            "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=SHA-256; boundary=\"a;b\\\"c\"",
        );
        assert!(ct.is("multipart/signed"));
        assert_eq!(ct.param("boundary"), Some("a;b\"c"));
        assert_eq!(ct.param("micalg"), Some("SHA-256"));
    }

    #[test]
    fn qp_round_trip() {
        let text = "Grüße\r\nFrom here \r\n.dot\r\n".to_string() + &"x".repeat(200) + "=\r\n";
        let enc = qp_encode(text.as_bytes());
        assert!(!needs_encoding(&enc));
        assert!(enc.split(|&b| b == b'\n').all(|l| l.len() <= 78));
        assert_eq!(qp_decode(&enc), text.as_bytes());
    }

    #[test]
    fn crlf_and_base64() {
        assert_eq!(&*to_crlf(b"a\nb\r\nc\rd"), b"a\r\nb\r\nc\r\nd");
        let data: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64_encode_lines(&data)).unwrap(), data);
        assert_eq!(base64_decode(b"!!").unwrap_err().code(), "MIME_MALFORMED");
    }

    /// Encoding the parts of a message one after the other gives the lines of the whole.
    #[test]
    fn base64_parts_match_the_whole() {
        let data: Vec<u8> = (0..700u32).map(|i| (i * 7 + 3) as u8).collect();
        for cut1 in [0, 1, 2, 3, 56, 57, 58, 114, 200] {
            for cut2 in [cut1, cut1 + 1, cut1 + 57, cut1 + 300, 700] {
                let cut2 = cut2.min(700);
                let parts: [&[u8]; 3] = [&data[..cut1], &data[cut1..cut2], &data[cut2..]];
                let mut out = b"head".to_vec();
                base64_encode_parts(&parts, &mut out);
                assert_eq!(&out[4..], base64_encode_lines(&data), "{cut1} {cut2}");
            }
        }
        let mut out = Vec::new();
        base64_encode_parts(&[], &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn base64_in_pieces_matches_the_whole() {
        let data: Vec<u8> = (0..500u16).map(|i| (i * 89 % 256) as u8).collect();
        let mut encoded = base64_encode_lines(&data);
        encoded.extend_from_slice(b" \t\r\n");
        let pieces = |input: &[u8], cut: usize| -> Result<Vec<u8>> {
            let mut out = Vec::new();
            let mut d = Base64Decoder::default();
            for piece in input.chunks(cut) {
                d.feed(piece, &mut out)?;
            }
            d.finish(&mut out)?;
            Ok(out)
        };
        for cut in [1usize, 2, 3, 5, 7, 76, 77, 78, 100, 1000] {
            assert_eq!(pieces(&encoded, cut).unwrap(), data, "cut {cut}");
            for len in [0usize, 1, 2, 3, 4, 5, 6, 57, 58] {
                let short = base64_encode_lines(&data[..len]);
                assert_eq!(
                    pieces(&short, cut).unwrap(),
                    &data[..len],
                    "{len} cut {cut}"
                );
            }
            for bad in [
                &b"SGVsbG8=x"[..],
                b"A",
                b"AAAAA",
                b"SGV*",
                b"SGVsbG8=\r\nAAAA",
            ] {
                assert_eq!(
                    pieces(bad, cut).unwrap_err().code(),
                    "MIME_MALFORMED",
                    "{cut}"
                );
            }
        }
    }

    #[test]
    fn base64_matches_base64ct() {
        use base64ct::Encoding as _;
        // Every length 0..=200 (all remainders, line breaks at 57 input bytes) against base64ct.
        let data: Vec<u8> = (0..200u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        for len in 0..=data.len() {
            let part = &data[..len];
            let lines = base64_encode_lines(part);
            let plain: Vec<u8> = lines
                .iter()
                .copied()
                .filter(|b| !b"\r\n".contains(b))
                .collect();
            assert_eq!(
                plain,
                base64ct::Base64::encode_string(part).into_bytes(),
                "len {len}"
            );
            assert!(lines.split(|&b| b == b'\n').all(|l| l.len() <= 78));
            assert_eq!(base64_decode(&lines).unwrap(), part, "len {len}");
            // Without padding and with stray white space.
            let unpadded: Vec<u8> = plain.iter().copied().filter(|&b| b != b'=').collect();
            assert_eq!(base64_decode(&unpadded).unwrap(), part, "len {len}");
        }
        assert_eq!(base64_decode(b" SGV s\tbG8=\r\n").unwrap(), b"Hello");
        for bad in [
            &b"SGVsbG8=x"[..],
            b"A",
            b"AAAAA",
            b"SGV*",
            b"SGVsbG8=\r\nAAAA",
        ] {
            assert_eq!(
                base64_decode(bad).unwrap_err().code(),
                "MIME_MALFORMED",
                "{bad:?}"
            );
        }
    }

    /// The word-at-a-time scans agree with byte-by-byte definitions on random input (line ends,
    /// "From ", white space, 8-bit, NUL, long lines; every alignment).
    #[test]
    fn word_scans_match_byte_definitions() {
        fn reference_needs_encoding(body: &[u8]) -> bool {
            if body.iter().any(|&b| b >= 0x80 || b == 0) {
                return true;
            }
            // A CR not right before an LF is bare (at the very end too).
            if body
                .iter()
                .enumerate()
                .any(|(i, &b)| b == b'\r' && body.get(i + 1) != Some(&b'\n'))
            {
                return true;
            }
            body.split(|&b| b == b'\n').any(|line| {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                line.len() > 998
                    || matches!(line.last(), Some(b' ' | b'\t'))
                    || line.starts_with(b"From ")
                    || line.contains(&b'\r')
            })
        }
        fn reference_is_crlf(data: &[u8]) -> bool {
            data.iter().enumerate().all(|(i, &b)| match b {
                b'\r' => data.get(i + 1) == Some(&b'\n'),
                b'\n' => i > 0 && data.get(i - 1) == Some(&b'\r'),
                _ => true,
            })
        }
        let alphabet: &[u8] = b"aaaaaaaaFrom \t\r\n\r\n\x80\0";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let len = usize::try_from(next() % if round % 50 == 0 { 3000 } else { 64 }).unwrap();
            let pick = usize::try_from(next() % 4).unwrap();
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    let r = usize::try_from(next()).unwrap_or(0);
                    // Mostly one letter (long lines), sometimes anything.
                    if pick == 0 && r % 16 != 0 {
                        b'x'
                    } else {
                        alphabet[r % alphabet.len()]
                    }
                })
                .collect();
            assert_eq!(
                needs_encoding(&data),
                reference_needs_encoding(&data),
                "{data:?}"
            );
            assert_eq!(is_crlf(&data), reference_is_crlf(&data), "{data:?}");
        }
    }

    #[test]
    fn needs_encoding_cases() {
        assert!(!needs_encoding(b""));
        assert!(!needs_encoding(b"plain\r\ntext\r\n"));
        assert!(!needs_encoding(b"no final line end"));
        assert!(needs_encoding(b"caf\xc3\xa9\r\n"));
        assert!(needs_encoding(b"nul\0\r\n"));
        assert!(needs_encoding(b"bare\rcr\r\n"));
        assert!(needs_encoding(b"ends in a bare cr\r"));
        assert!(needs_encoding(b"trailing \r\nx"));
        assert!(needs_encoding(b"tab\t\nx"));
        assert!(needs_encoding(b"ok\r\nFrom me\r\n"));
        assert!(!needs_encoding(b"ok\r\n From me\r\n"));
        assert!(needs_encoding(&[b'x'; 999]));
        assert!(!needs_encoding(&[b'x'; 998]));
    }

    #[test]
    fn crlf_edge_cases() {
        assert_eq!(&*to_crlf(b""), b"");
        assert!(matches!(
            to_crlf(b"a\r\nb"),
            alloc::borrow::Cow::Borrowed(_)
        ));
        assert!(matches!(to_crlf(b"a\r\nb\n"), alloc::borrow::Cow::Owned(_)));
        assert!(matches!(to_crlf(b"a\rb"), alloc::borrow::Cow::Owned(_)));
        assert_eq!(into_crlf(b"a\nb\r".to_vec()), b"a\r\nb\r\n");
        assert_eq!(into_crlf(b"a\r\n".to_vec()), b"a\r\n");
        assert_eq!(&*to_crlf(b"\r"), b"\r\n");
        assert_eq!(&*to_crlf(b"\n\n"), b"\r\n\r\n");
        assert_eq!(&*to_crlf(b"\r\r\n\n"), b"\r\n\r\n\r\n");
        assert_eq!(&*to_crlf(b"a\r\n"), b"a\r\n");
        assert_eq!(&*to_crlf(b"no line end"), b"no line end");
    }

    #[test]
    fn encoded_words_written_read_back() {
        for v in [
            "=?utf-8?B?SGk=?=",
            "a =?iso-8859-1?q?caf=E9?= b",
            "   leading",
            "\tTab",
            "Grüße =? 😀 日本語 ".repeat(9).as_str(),
            "x",
        ] {
            assert!(needs_encoded_words(v) || !v.contains("=?"));
            let w = encode_words(v);
            assert!(w.split(' ').all(|word| word.len() <= 64), "{w}");
            assert_eq!(decode_words(&w), v);
        }
        assert!(!needs_encoded_words("Plans für Montag"));
        assert!(needs_encoded_words(" x") && needs_encoded_words("a=?b"));
    }

    #[test]
    fn encoded_words() {
        assert_eq!(
            decode_words("=?utf-8?Q?Gr=C3=BC=C3=9Fe?= =?utf-8?B?IQ==?= x"),
            "Grüße! x"
        );
        assert_eq!(decode_words("a =?iso-8859-1?q?caf=E9?= b"), "a café b");
        assert_eq!(
            decode_words("=?bogus?Q?x?= =?utf-8?Q?unterminated"),
            "=?bogus?Q?x?= =?utf-8?Q?unterminated"
        );
    }

    #[test]
    fn dates() {
        let t = |s| parse_date(s).map(|t| t.0);
        assert_eq!(t("Mon, 26 Jan 2026 20:38:03 +0000"), Some(1_769_459_883));
        assert_eq!(t("26 Jan 2026 21:38:03 +0100"), Some(1_769_459_883));
        assert_eq!(
            t("Tue, 08 Sep 2009 08:45:17 +0200 (16:45 EST)"),
            Some(1_252_392_317)
        );
        assert_eq!(t("garbage"), None);
        assert_eq!(t("Mon, 32 Jan 2026 20:38:03 +0000"), None);
    }

    #[test]
    fn addresses() {
        assert_eq!(first_address("\"A, B\" <a@b.c>").as_deref(), Some("a@b.c"));
        assert_eq!(first_address("a@b.c").as_deref(), Some("a@b.c"));
        assert_eq!(first_address("undisclosed"), None);
        // A display name that looks like an address never supplies it (From-spoofing).
        assert_eq!(
            first_address("\"Alice <alice@example.org>\" <mallory@evil.example>").as_deref(),
            Some("mallory@evil.example")
        );
        assert_eq!(
            first_address("(alice@example.org <alice@example.org>) <m@evil.example>").as_deref(),
            Some("m@evil.example")
        );
        assert_eq!(
            first_address("\"x\\\" <a@b.c>\" <m@e.x>").as_deref(),
            Some("m@e.x")
        );
    }
}
