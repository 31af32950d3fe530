//! Header protection for cryptographically protected email (RFC 9788).
//!
//! Sending: the user-facing header fields are copied into the Cryptographic Payload (the MIME
//! entity that is signed or encrypted), whose `Content-Type` gains `hp="clear"` (signed only) or
//! `hp="cipher"` (encrypted). For encrypted mail the outer header follows a Header
//! Confidentiality Policy ([`Policy`], RFC 9788 §3; `hcp_baseline` by default: the Subject
//! becomes `[...]`), and `HP-Outer` fields inside record every outer value so the reader can tell
//! a deliberate change from tampering. A Legacy Display Element shows what the policy hid to
//! clients that do not know RFC 9788: header lines in front of the text of each main body part
//! (`text/plain`), or a `div` of class `header-protection-legacy-display` (`text/html`), the part
//! marked `hp-legacy-display="1"`.
//!
//! Reading: [`read`] finds the protected fields of a Cryptographic Payload and every disagreement
//! with the outer header.
//!
//! Not done: protecting header fields added by relays.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{Error, Result};
use crate::mime::{self, Entity, Field};

/// The user-facing header fields RFC 9788 §2.1 lists as worth protecting, lowercase.
pub const USER_FACING: &[&str] = &[
    "from",
    "to",
    "cc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "followup-to",
    "keywords",
    "comments",
    "sender",
];

/// What the outer header shows instead of an encrypted Subject (RFC 9788 §3.2.1).
pub const OBSCURED_SUBJECT: &str = "[...]";

/// A Header Confidentiality Policy (RFC 9788 §3): what an encrypted message shows outside.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// `hcp_baseline` (RFC 9788 §3.2.2, the default): the Subject becomes `[...]`; Keywords and
    /// Comments are removed; everything else stays.
    #[default]
    Baseline,
    /// `hcp_shy`: as baseline, and the display names leave From, To and Cc (the addresses stay,
    /// so the message is still delivered) and the Date is given in UTC (no time zone, which can
    /// say where the sender is).
    Shy,
    /// `hcp_no_confidentiality`: nothing is hidden; the header fields are only signed.
    NoConfidentiality,
}

impl Policy {
    /// The name of the policy in the IANA registry (`hcp_baseline`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Baseline => "hcp_baseline",
            Self::Shy => "hcp_shy",
            Self::NoConfidentiality => "hcp_no_confidentiality",
        }
    }

    /// The policy of that registry name.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Baseline, Self::Shy, Self::NoConfidentiality]
            .into_iter()
            .find(|p| p.name() == name)
    }

    /// The outer value of a protected field `name: value` (`value` unfolded, as written):
    /// `None` removes the field from the outer header.
    #[must_use]
    pub fn outer(self, name: &str, value: &str) -> Option<String> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        match self {
            Self::NoConfidentiality => Some(String::from(value)),
            _ if is("subject") => Some(String::from(OBSCURED_SUBJECT)),
            _ if is("keywords") || is("comments") => None,
            Self::Shy if is("from") || is("to") || is("cc") => {
                Some(addresses_only(value).unwrap_or_else(|| String::from(value)))
            }
            Self::Shy if is("date") => Some(
                mime::parse_date(value).map_or_else(|| String::from(value), mime::format_date_utc),
            ),
            _ => Some(String::from(value)),
        }
    }
}

/// `Alice <alice@example.org>, "Bob" <bob@example.org>` → `alice@example.org, bob@example.org`;
/// `None` when some mailbox has no address we can read (the value is then left as it is rather
/// than rewritten on a guess).
fn addresses_only(value: &str) -> Option<String> {
    let list = mime::addresses(value);
    if list.is_empty() || list.iter().any(Option::is_none) {
        return None;
    }
    Some(list.into_iter().flatten().collect::<Vec<_>>().join(", "))
}

/// The fields a Legacy Display Element repeats when the policy changed or removed them: those
/// a mail client shows (RFC 9788 §4.5.2).
const LEGACY_DISPLAYED: &[&str] = &["subject", "from", "to", "cc", "date"];

/// Signed only (`hp="clear"`) or encrypted (`hp="cipher"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The message is signed, not encrypted.
    Clear,
    /// The message is encrypted (and maybe signed).
    Cipher,
}

impl Mode {
    /// The `hp` parameter value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clear => "clear",
            Self::Cipher => "cipher",
        }
    }
}

fn is_content_field(f: &Field<'_>) -> bool {
    f.is("MIME-Version")
        || f.name
            .get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("content-"))
}

fn push(out: &mut Vec<u8>, raw: &[u8]) {
    out.extend_from_slice(raw);
    if !raw.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
}

fn is_user_facing(f: &Field<'_>) -> bool {
    USER_FACING.iter().any(|n| f.is(n))
}

/// Add `; name="value"` (and keep everything else) to a `Content-Type` field.
fn with_param(raw: &[u8], name: &str, value: &str) -> Vec<u8> {
    let trimmed = raw.strip_suffix(b"\r\n").unwrap_or(raw);
    let mut out = trimmed.to_vec();
    out.extend_from_slice(alloc::format!(";\r\n {name}=\"{value}\"\r\n").as_bytes());
    out
}

/// Split a (canonical, CRLF) message into the outer header and the Cryptographic Payload with
/// protected header fields, as RFC 9788 §4 describes. An encrypted message (`Mode::Cipher`)
/// shows outside what `policy` leaves; `legacy_display` adds the Legacy Display Element when the
/// policy hid a field a mail client shows.
///
/// # Errors
/// `MIME_MALFORMED` for an unparsable message.
pub fn protect(
    message: &[u8],
    mode: Mode,
    policy: Policy,
    legacy_display: bool,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let (_, content) = crate::smime::split_for_signing(message)?;
    let entity = Entity::parse(message)?;
    let mut outer = Vec::new();
    let mut protected = Vec::new();
    let mut hp_outer = Vec::new();
    let mut hidden = Vec::new();
    for f in entity.fields.iter().filter(|f| !is_content_field(f)) {
        if !is_user_facing(f) {
            // Trace and transport fields (Received, DKIM-Signature...) stay outside only.
            push(&mut outer, f.raw);
            continue;
        }
        push(&mut protected, f.raw);
        if mode == Mode::Clear {
            push(&mut outer, f.raw);
            continue;
        }
        // As written (encoded-words kept), unfolded.
        let written: String =
            String::from_utf8_lossy(f.raw.get(f.name.len() + 1..).unwrap_or_default())
                .replace("\r\n", "")
                .trim()
                .into();
        match policy.outer(f.name, &written) {
            Some(v) if v == written => push(&mut outer, f.raw),
            Some(v) => push(&mut outer, alloc::format!("{}: {v}", f.name).as_bytes()),
            None => {}
        }
        if let Some(v) = policy.outer(f.name, &written) {
            hp_outer.extend_from_slice(alloc::format!("HP-Outer: {}: {v}\r\n", f.name).as_bytes());
            if v == written {
                continue;
            }
        }
        if LEGACY_DISPLAYED.iter().any(|n| f.is(n)) {
            hidden.push(alloc::format!(
                "{}: {}",
                f.name,
                mime::decode_words(&written)
            ));
        }
    }
    let mut payload = protected;
    payload.extend_from_slice(&hp_outer);
    // RFC 9788 §4.5.3: the Legacy Display Element goes into each main body part of the payload,
    // whose Content-Type says so with hp-legacy-display="1".
    let with_legacy = if legacy_display && !hidden.is_empty() {
        inject_legacy_display(&content, &hidden, 0)?
    } else {
        None
    };
    let content = with_legacy.unwrap_or(content);
    let payload_entity = Entity::parse(&content)?;
    for f in &payload_entity.fields {
        if f.is("Content-Type") {
            payload.extend_from_slice(&with_param(f.raw, "hp", mode.as_str()));
        } else {
            push(&mut payload, f.raw);
        }
    }
    payload.extend_from_slice(b"\r\n");
    payload.extend_from_slice(payload_entity.body);
    Ok((outer, payload))
}

/// What [`protect_stand_in`] makes: the outer header fields, and the payload as `prefix`
/// followed by the message from offset `start` to its end.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spliced {
    /// The outer header fields.
    pub outer: Vec<u8>,
    /// The payload's bytes before the message's own.
    pub prefix: Vec<u8>,
    /// Where in the message the rest of the payload starts (it runs to the end).
    pub start: usize,
}

/// [`protect`] for a message read in pieces (see [`mime::skeleton`]): the outer header fields
/// and the payload as `prefix` followed by the message from offset `start` to its end, so that
/// the message is never whole here. `None` when the stand-in cannot say what [`protect`] would
/// make of the whole message (the caller then protects the whole message):
/// - the entity must be re-encoded, or its body does not run to the end of the message;
/// - a Legacy Display Element is to go into a part other than `text/plain` (HTML: where it goes
///   depends on the text), or one in base64 or a 7-bit/8-bit part the element would turn to
///   quoted-printable (re-encoded text);
/// - the payload made from the stand-in is not new bytes followed by the stand-in's own tail from
///   a kept byte on, or those new bytes hold a line standing in for dropped lines (e.g. a second
///   part taking the element).
///
/// # Errors
/// `MIME_MALFORMED`, as [`protect`].
pub fn protect_stand_in(
    stand_in: &mime::skeleton::StandIn,
    mode: Mode,
    policy: Policy,
    legacy_display: bool,
) -> Result<Option<Spliced>> {
    let bytes = stand_in.bytes.as_slice();
    if crate::smime::envelope::split_stand_in(stand_in).is_none() {
        return Ok(None);
    }
    if legacy_display && mode == Mode::Cipher {
        // The element holds header values (decoded): ASCII unless one of them is not.
        let ascii = Entity::parse(bytes)?.fields.iter().all(|f| {
            let value = String::from_utf8_lossy(f.raw.get(f.name.len() + 1..).unwrap_or_default())
                .replace("\r\n", "");
            mime::decode_words(value.trim()).is_ascii()
        });
        let (_, content) = crate::smime::split_for_signing(bytes)?;
        if !legacy_targets_are_plain(&content, 0, ascii) {
            return Ok(None);
        }
    }
    let (outer, payload) = protect(bytes, mode, policy, legacy_display)?;
    // The longest tail the payload shares with the stand-in: the message from there on.
    let shared = payload
        .iter()
        .rev()
        .zip(bytes.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let Some(start) = stand_in.original(bytes.len() - shared) else {
        return Ok(None);
    };
    let prefix = payload
        .get(..payload.len() - shared)
        .unwrap_or_default()
        .to_vec();
    let stands_in = prefix
        .split(|&b| b == b'\n')
        .any(|line| mime::skeleton::is_placeholder(line.strip_suffix(b"\r").unwrap_or(line)));
    Ok((!stands_in).then_some(Spliced {
        outer,
        prefix,
        start,
    }))
}

/// Does every part [`inject_legacy_display`] would put the element into take it in front of
/// its own bytes (`text/plain`, not base64, and no re-encoding to quoted-printable for a
/// non-ASCII element: a 7-bit or 8-bit part counts only with an `ascii` element)? Those are the
/// only changes a stand-in can follow.
fn legacy_targets_are_plain(entity: &[u8], depth: usize, ascii: bool) -> bool {
    if depth > 4 {
        return true; // inject_legacy_display goes no deeper
    }
    let Ok(e) = Entity::parse(entity) else {
        return false;
    };
    let ct = e.content_type();
    if ct.is("text/html") {
        return false;
    }
    if ct.is("text/plain") {
        // 7-bit/8-bit: an ASCII element goes in front as it is, a non-ASCII one re-encodes the
        // part (requote).
        return match e.transfer_encoding().as_str() {
            "quoted-printable" => true,
            "7bit" | "8bit" | "binary" => ascii,
            _ => false,
        };
    }
    let (true, Some(boundary)) = (ct.mime_type.starts_with("multipart/"), ct.param("boundary"))
    else {
        return true; // no element goes there
    };
    let alternative = ct.is("multipart/alternative");
    let Ok(parts) = mime::split_multipart(e.body, boundary) else {
        return false;
    };
    parts
        .iter()
        .enumerate()
        .filter(|&(i, _)| alternative || i == 0)
        .all(|(_, part)| legacy_targets_are_plain(part, depth + 1, ascii))
}

/// Add the Legacy Display Element for `lines` to each main body part of `entity` (RFC 9788
/// §4.5.3): every text child of a `multipart/alternative`, the first child of any other
/// multipart; `text/plain` gets the lines and a blank line in front of its text, `text/html` a
/// `div` of class `header-protection-legacy-display` at the start of its body. `None` when there
/// is no such part (nothing is injected then).
fn inject_legacy_display(entity: &[u8], lines: &[String], depth: usize) -> Result<Option<Vec<u8>>> {
    if depth > 4 {
        return Ok(None);
    }
    let e = Entity::parse(entity)?;
    let ct = e.content_type();
    if ct.is("text/plain") || ct.is("text/html") {
        return inject_into_text(&e, &ct, lines);
    }
    let (true, Some(boundary)) = (ct.mime_type.starts_with("multipart/"), ct.param("boundary"))
    else {
        return Ok(None);
    };
    let alternative = ct.is("multipart/alternative");
    let parts = mime::split_multipart(e.body, boundary)?;
    let mut done = false;
    let mut rebuilt = Vec::with_capacity(entity.len() + 256);
    for (i, part) in parts.iter().enumerate() {
        rebuilt.extend_from_slice(alloc::format!("--{boundary}\r\n").as_bytes());
        let changed = if alternative || i == 0 {
            inject_legacy_display(part, lines, depth + 1)?
        } else {
            None
        };
        match changed {
            Some(changed) => {
                rebuilt.extend_from_slice(&changed);
                done = true;
            }
            None => rebuilt.extend_from_slice(part),
        }
        rebuilt.extend_from_slice(b"\r\n");
    }
    rebuilt.extend_from_slice(alloc::format!("--{boundary}--\r\n").as_bytes());
    if !done {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(rebuilt.len() + 512);
    for f in &e.fields {
        push(&mut out, f.raw);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&rebuilt);
    Ok(Some(out))
}

/// Escape text for HTML element content.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Where the Legacy Display Element goes in an HTML document: just after the `<body ...>` tag,
/// or at the start when there is none.
fn html_insertion_point(html: &[u8]) -> usize {
    let lower: Vec<u8> = html.iter().map(u8::to_ascii_lowercase).collect();
    let mut from = 0;
    while let Some(i) = lower
        .get(from..)
        .and_then(|rest| mime::find(rest, b"<body"))
    {
        let at = from + i;
        let next = lower.get(at + 5).copied();
        if matches!(next, Some(b'>' | b' ' | b'\t' | b'\r' | b'\n' | b'/')) {
            if let Some(end) = lower
                .get(at..)
                .and_then(|r| r.iter().position(|&c| c == b'>'))
            {
                return at + end + 1;
            }
            return 0;
        }
        from = at + 5;
    }
    0
}

fn inject_into_text(
    e: &Entity<'_>,
    ct: &mime::ContentType,
    lines: &[String],
) -> Result<Option<Vec<u8>>> {
    let html = ct.is("text/html");
    let element = if html {
        let mut div = String::from("<div class=\"header-protection-legacy-display\">\r\n");
        for line in lines {
            div.push_str(&alloc::format!("<pre>{}</pre>\r\n", html_escape(line)));
        }
        div.push_str("</div>\r\n");
        div
    } else {
        let mut text = lines.join("\r\n");
        text.push_str("\r\n\r\n");
        text
    };
    let cte = e.transfer_encoding();
    let utf8 = ct
        .param("charset")
        .is_none_or(|c| c.eq_ignore_ascii_case("utf-8"));
    if !element.is_ascii() && !utf8 {
        return Ok(None); // a UTF-8 value cannot go into a part of another charset
    }
    let body = e.decoded_body()?;
    let at = if html { html_insertion_point(&body) } else { 0 };
    let mut plain = Vec::with_capacity(body.len() + element.len());
    let (head, tail) = body.split_at(at.min(body.len()));
    plain.extend_from_slice(head);
    plain.extend_from_slice(element.as_bytes());
    plain.extend_from_slice(tail);
    // A 7-bit/8-bit part that cannot take the element as it is becomes quoted-printable.
    let requote = !matches!(cte.as_str(), "quoted-printable" | "base64") && !element.is_ascii();
    let mut out = Vec::with_capacity(plain.len() + 512);
    for f in &e.fields {
        if f.is("Content-Type") {
            out.extend_from_slice(&with_param(f.raw, "hp-legacy-display", "1"));
        } else if !(requote && f.is("Content-Transfer-Encoding")) {
            push(&mut out, f.raw);
        }
    }
    if requote {
        out.extend_from_slice(b"Content-Transfer-Encoding: quoted-printable\r\n");
    }
    out.extend_from_slice(b"\r\n");
    match cte.as_str() {
        "base64" => out.extend_from_slice(&mime::base64_encode_lines(&plain)),
        // In front of the text, the part's own bytes are kept as they are.
        "quoted-printable" if at == 0 => {
            out.extend_from_slice(&mime::qp_encode(element.as_bytes()));
            out.extend_from_slice(e.body);
        }
        _ if cte == "quoted-printable" || requote => {
            out.extend_from_slice(&mime::qp_encode(&plain));
        }
        _ => out.extend_from_slice(&plain),
    }
    Ok(Some(out))
}

/// Does the first text part of this payload carry `hp-legacy-display="1"` (RFC 9788 §4.5.3)?
fn has_legacy_display(entity: &Entity<'_>, depth: usize) -> bool {
    let ct = entity.content_type();
    if ct.mime_type.starts_with("text/") {
        return ct.param("hp-legacy-display") == Some("1");
    }
    if depth > 4 || !ct.mime_type.starts_with("multipart/") {
        return false;
    }
    ct.param("boundary")
        .and_then(|b| mime::split_multipart(entity.body, b).ok())
        .and_then(|parts| parts.first().and_then(|p| Entity::parse(p).ok()))
        .is_some_and(|first| has_legacy_display(&first, depth + 1))
}

/// A disagreement between the protected and the outer value of a header field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disagreement {
    /// The field name, lowercase.
    pub name: String,
    /// The outer value (`None` when absent outside).
    pub outer: Option<String>,
    /// The protected value (`None` when absent inside).
    pub protected: Option<String>,
}

/// The protected header fields of a message, as a reader should render them.
#[derive(Clone, Debug)]
pub struct Protected {
    /// `clear` or `cipher`.
    pub mode: Mode,
    /// The protected fields (name as written, unfolded value), in order.
    pub fields: Vec<(String, String)>,
    /// Fields whose outer value differs from the protected one, other than changes the
    /// `HP-Outer` fields declare.
    pub disagreements: Vec<Disagreement>,
    /// The payload starts with a Legacy Display Element, which a reader that renders the
    /// protected fields should hide.
    pub legacy_display: bool,
    /// The payload says `hp="cipher"` but reached the reader without encryption (or the reverse):
    /// a downgrade, e.g. a decrypted message re-sent signed only. Set by `open`.
    pub mode_mismatch: bool,
}

fn normalize(v: &str) -> String {
    mime::decode_words(v)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Read the protection of a Cryptographic Payload `payload` against the message's `outer`
/// header. `None` when the payload carries no `hp` parameter (no RFC 9788 protection).
///
/// # Errors
/// `MIME_MALFORMED` for unparsable input.
pub fn read(outer: &[u8], payload: &[u8]) -> Result<Option<Protected>> {
    let inner = Entity::parse(payload)?;
    let ct = inner.content_type();
    let mode = match ct.param("hp") {
        Some("clear") => Mode::Clear,
        Some("cipher") => Mode::Cipher,
        Some(_) => {
            return Err(Error::MimeMalformed {
                detail: "unknown hp parameter",
            })
        }
        None => return Ok(None),
    };
    let mut with_blank = outer.to_vec();
    with_blank.extend_from_slice(b"\r\n");
    let outer = Entity::parse(&with_blank)?;
    let fields: Vec<(String, String)> = inner
        .fields
        .iter()
        .filter(|f| !is_content_field(f) && !f.is("HP-Outer"))
        .map(|f| (String::from(f.name), mime::decode_words(&f.value())))
        .collect();
    let declared: Vec<(String, String)> = inner
        .fields
        .iter()
        .filter(|f| f.is("HP-Outer"))
        .filter_map(|f| {
            let v = f.value();
            v.split_once(':')
                .map(|(n, val)| (n.trim().to_ascii_lowercase(), normalize(val)))
        })
        .collect();
    let mut disagreements = Vec::new();
    for name in USER_FACING {
        let protected_value = fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| normalize(v));
        let outer_value = outer.field(name).map(|f| normalize(&f.value()));
        if protected_value == outer_value {
            continue;
        }
        // An encrypted message declares its outer values: a change it declares is the sender's
        // policy (e.g. the Subject "[...]"), not tampering.
        let declared_value = declared
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone());
        if mode == Mode::Cipher && declared_value == outer_value && outer_value.is_some() {
            continue;
        }
        if mode == Mode::Cipher
            && outer_value.is_none()
            && declared_value.is_none()
            && !declared.is_empty()
        {
            continue; // removed by the policy (Keywords, Comments)
        }
        disagreements.push(Disagreement {
            name: String::from(*name),
            outer: outer_value,
            protected: protected_value,
        });
    }
    let legacy_display = has_legacy_display(&inner, 0);
    Ok(Some(Protected {
        mode,
        fields,
        disagreements,
        legacy_display,
        mode_mismatch: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"Received: from x\r\nFrom: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Secret plans\r\nMessage-ID: <1@example.org>\r\nKeywords: k\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n";

    #[test]
    fn clear_keeps_outer_and_copies_inside() {
        let (outer, payload) = protect(MSG, Mode::Clear, Policy::Baseline, true).unwrap();
        let o = String::from_utf8(outer.clone()).unwrap();
        let p = String::from_utf8(payload.clone()).unwrap();
        assert!(o.contains("Subject: Secret plans") && o.contains("Received: from x"));
        assert!(
            p.contains("Subject: Secret plans")
                && p.contains("hp=\"clear\"")
                && !p.contains("Received")
        );
        assert!(p.ends_with("\r\n\r\nHello\r\n"));
        let r = read(&outer, &payload).unwrap().unwrap();
        assert_eq!(r.mode, Mode::Clear);
        assert!(r.disagreements.is_empty(), "{:?}", r.disagreements);
        assert!(!r.legacy_display);
    }

    #[test]
    fn cipher_obscures_subject_declares_outer_and_shows_legacy_display() {
        let (outer, payload) = protect(MSG, Mode::Cipher, Policy::Baseline, true).unwrap();
        let o = String::from_utf8(outer.clone()).unwrap();
        let p = String::from_utf8(payload.clone()).unwrap();
        assert!(o.contains("Subject: [...]") && !o.contains("Secret") && !o.contains("Keywords"));
        assert!(p.contains("HP-Outer: Subject: [...]") && p.contains("hp=\"cipher\""));
        assert!(p.contains("hp-legacy-display=\"1\""));
        let r = read(&outer, &payload).unwrap().unwrap();
        assert_eq!(r.mode, Mode::Cipher);
        assert!(r.disagreements.is_empty(), "{:?}", r.disagreements);
        assert!(r.legacy_display);
        assert!(r
            .fields
            .iter()
            .any(|(n, v)| n == "Subject" && v == "Secret plans"));
    }

    #[test]
    fn tampered_outer_header_is_reported() {
        let (outer, payload) = protect(MSG, Mode::Clear, Policy::Baseline, false).unwrap();
        let forged = String::from_utf8(outer)
            .unwrap()
            .replace("Alice <alice@example.org>", "CEO <ceo@example.org>");
        let r = read(forged.as_bytes(), &payload).unwrap().unwrap();
        assert_eq!(r.disagreements.len(), 1);
        assert_eq!(r.disagreements[0].name, "from");
        assert_eq!(
            r.disagreements[0].protected.as_deref(),
            Some("Alice <alice@example.org>")
        );
        // And an encrypted message whose outer Subject was changed beyond what it declares.
        let (outer, payload) = protect(MSG, Mode::Cipher, Policy::Baseline, false).unwrap();
        let forged = String::from_utf8(outer)
            .unwrap()
            .replace("Subject: [...]", "Subject: Invoice");
        let r = read(forged.as_bytes(), &payload).unwrap().unwrap();
        assert_eq!(r.disagreements.len(), 1);
        assert_eq!(r.disagreements[0].name, "subject");
    }

    /// RFC 9788 Appendix C.3.1.2: the payload of a signed-and-encrypted message under
    /// hcp_baseline, as the RFC prints it (LF line ends there; CRLF here), with the outer header
    /// the appendix describes.
    #[test]
    fn rfc9788_c3_1_2_payload_reads_as_the_rfc_says() {
        let payload = "MIME-Version: 1.0\r\nContent-Transfer-Encoding: 7bit\r\n\
Subject: smime-signed-enc-hp-baseline\r\nMessage-ID: <smime-signed-enc-hp-baseline@example>\r\n\
From: Alice <alice@smime.example>\r\nTo: Bob <bob@smime.example>\r\n\
Date: Sat, 20 Feb 2021 10:09:02 -0500\r\nUser-Agent: Sample MUA Version 1.0\r\n\
HP-Outer: Subject: [...]\r\nHP-Outer: Message-ID: <smime-signed-enc-hp-baseline@example>\r\n\
HP-Outer: From: Alice <alice@smime.example>\r\nHP-Outer: To: Bob <bob@smime.example>\r\n\
HP-Outer: Date: Sat, 20 Feb 2021 10:09:02 -0500\r\nHP-Outer: User-Agent: Sample MUA Version 1.0\r\n\
Content-Type: text/plain; charset=\"utf-8\"; hp=\"cipher\"\r\n\r\n\
This is the\r\nsmime-signed-enc-hp-baseline\r\nmessage.\r\n";
        let outer = "Subject: [...]\r\nMessage-ID: <smime-signed-enc-hp-baseline@example>\r\n\
From: Alice <alice@smime.example>\r\nTo: Bob <bob@smime.example>\r\n\
Date: Sat, 20 Feb 2021 10:09:02 -0500\r\nUser-Agent: Sample MUA Version 1.0\r\n";
        let r = read(outer.as_bytes(), payload.as_bytes()).unwrap().unwrap();
        assert_eq!(r.mode, Mode::Cipher);
        assert!(r.disagreements.is_empty(), "{:?}", r.disagreements);
        let get = |n: &str| {
            r.fields
                .iter()
                .find(|(f, _)| f == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("Subject"), Some("smime-signed-enc-hp-baseline"));
        assert_eq!(get("User-Agent"), Some("Sample MUA Version 1.0"));
        assert_eq!(
            get("MIME-Version"),
            None,
            "structural fields are not protected fields"
        );
        assert!(!r.legacy_display);
        // A relay that puts the real Subject back outside is not what the sender declared.
        let tampered = outer.replace("Subject: [...]", "Subject: changed");
        let r = read(tampered.as_bytes(), payload.as_bytes())
            .unwrap()
            .unwrap();
        assert_eq!(r.disagreements.len(), 1);
    }

    /// RFC 9788 Appendix E.1: a text/plain payload carrying a Legacy Display Element.
    #[test]
    fn rfc9788_e1_legacy_display_is_recognised() {
        let payload = "Date: Fri, 21 Jan 2022 20:40:48 -0500\r\nFrom: Alice <alice@example.net>\r\n\
To: Bob <bob@example.net>\r\nSubject: Dinner plans\r\n\
Message-ID: <text-plain-legacy-display@lhp.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=\"us-ascii\"; hp-legacy-display=\"1\";\r\n hp=\"cipher\"\r\n\
HP-Outer: Date: Fri, 21 Jan 2022 20:40:48 -0500\r\nHP-Outer: From: Alice <alice@example.net>\r\n\
HP-Outer: To: Bob <bob@example.net>\r\nHP-Outer: Subject: [...]\r\n\
HP-Outer: Message-ID: <text-plain-legacy-display@lhp.example>\r\n\r\n\
Subject: Dinner plans\r\n\r\nLet's meet at Rama's Roti Shop at 8pm and go to the park\r\nfrom there.\r\n";
        let outer = "Date: Fri, 21 Jan 2022 20:40:48 -0500\r\nFrom: Alice <alice@example.net>\r\n\
To: Bob <bob@example.net>\r\nSubject: [...]\r\nMessage-ID: <text-plain-legacy-display@lhp.example>\r\n";
        let r = read(outer.as_bytes(), payload.as_bytes()).unwrap().unwrap();
        assert!(r.legacy_display);
        assert!(r.disagreements.is_empty(), "{:?}", r.disagreements);
    }

    /// What we write follows E.1: the Subject line and a blank line in front of the text, on the
    /// same part, marked hp-legacy-display="1".
    #[test]
    fn legacy_display_is_written_as_the_rfc_shows() {
        let (_, payload) = protect(MSG, Mode::Cipher, Policy::Baseline, true).unwrap();
        let p = String::from_utf8(payload).unwrap();
        assert!(p.contains("hp-legacy-display=\"1\""));
        assert!(p.contains("hp=\"cipher\""));
        assert!(
            p.ends_with("\r\n\r\nSubject: Secret plans\r\n\r\nHello\r\n"),
            "{p}"
        );
    }

    const SHY_MSG: &[u8] = b"From: \"Alice Liddell\" <alice@example.org>\r\nTo: Bob <bob@example.org>, carol@example.org\r\nCc: \"Dave, Jr.\" <dave@example.org>\r\nSubject: Secret plans\r\nDate: Sat, 20 Feb 2021 10:09:02 -0500\r\nMessage-ID: <2@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n";

    #[test]
    fn shy_policy_drops_display_names_and_zone_and_says_so() {
        let (outer, payload) = protect(SHY_MSG, Mode::Cipher, Policy::Shy, true).unwrap();
        let o = String::from_utf8(outer.clone()).unwrap();
        let p = String::from_utf8(payload.clone()).unwrap();
        assert!(o.contains("From: alice@example.org\r\n"), "{o}");
        assert!(
            o.contains("To: bob@example.org, carol@example.org\r\n"),
            "{o}"
        );
        assert!(o.contains("Cc: dave@example.org\r\n"), "{o}");
        assert!(
            o.contains("Date: Sat, 20 Feb 2021 15:09:02 +0000\r\n"),
            "{o}"
        );
        assert!(o.contains("Subject: [...]\r\n") && !o.contains("Alice") && !o.contains("Bob"));
        assert!(o.contains("Message-ID: <2@example.org>"));
        assert!(p.contains("HP-Outer: From: alice@example.org\r\n"), "{p}");
        assert!(p.contains("HP-Outer: Date: Sat, 20 Feb 2021 15:09:02 +0000\r\n"));
        assert!(p.contains("From: \"Alice Liddell\" <alice@example.org>\r\n"));
        // The legacy display repeats every field a client shows that the policy changed.
        assert!(
            p.contains("\r\n\r\nFrom: \"Alice Liddell\" <alice@example.org>\r\nTo: Bob <bob@example.org>, carol@example.org\r\nCc: \"Dave, Jr.\" <dave@example.org>\r\nSubject: Secret plans\r\nDate: Sat, 20 Feb 2021 10:09:02 -0500\r\n\r\nHello\r\n"),
            "{p}"
        );
        let r = read(&outer, &payload).unwrap().unwrap();
        assert!(r.disagreements.is_empty(), "{:?}", r.disagreements);
        // Putting the display name back outside is not what the sender declared.
        let forged = o.replace("From: alice@example.org", "From: Boss <alice@example.org>");
        let r = read(forged.as_bytes(), &payload).unwrap().unwrap();
        assert_eq!(r.disagreements.len(), 1);
        assert_eq!(r.disagreements[0].name, "from");
    }

    #[test]
    fn shy_policy_leaves_what_it_cannot_read() {
        assert_eq!(
            Policy::Shy
                .outer("To", "undisclosed-recipients:;")
                .as_deref(),
            Some("undisclosed-recipients:;")
        );
        assert_eq!(
            Policy::Shy.outer("Date", "someday").as_deref(),
            Some("someday")
        );
        assert_eq!(Policy::Shy.outer("Keywords", "k"), None);
        assert_eq!(
            Policy::Shy.outer("Message-ID", "<x@y>").as_deref(),
            Some("<x@y>")
        );
        for p in [Policy::Baseline, Policy::Shy, Policy::NoConfidentiality] {
            assert_eq!(Policy::from_name(p.name()), Some(p));
        }
        assert_eq!(Policy::from_name("hcp_minimal"), None);
    }

    #[test]
    fn no_confidentiality_hides_nothing_but_still_declares_the_outside() {
        let (outer, payload) = protect(MSG, Mode::Cipher, Policy::NoConfidentiality, true).unwrap();
        let o = String::from_utf8(outer.clone()).unwrap();
        let p = String::from_utf8(payload.clone()).unwrap();
        assert!(o.contains("Subject: Secret plans") && o.contains("Keywords: k"));
        assert!(
            p.contains("HP-Outer: Subject: Secret plans") && p.contains("HP-Outer: Keywords: k")
        );
        assert!(
            !p.contains("hp-legacy-display"),
            "nothing hidden, nothing to repeat"
        );
        let r = read(&outer, &payload).unwrap().unwrap();
        assert!(r.disagreements.is_empty(), "{:?}", r.disagreements);
        assert!(!r.legacy_display);
    }

    const ALTERNATIVE: &[u8] = b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: Caf\xc3\xa9 <3 & tea\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\nContent-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHi Bob=\r\n!\r\n--a\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nPGh0bWw+PEJPRFkgY2xhc3M9eD48cD5IaSBCb2IhPC9wPjwvQk9EWT48L2h0bWw+\r\n--a--\r\n--m\r\nContent-Type: text/plain; name=notes.txt\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nnot a body part\r\n--m--\r\n";

    fn part_with<'a>(payload: &'a [u8], marker: &str) -> Entity<'a> {
        let at = mime::find(payload, marker.as_bytes()).expect(marker);
        let start = payload[..at]
            .windows(4)
            .rposition(|w| w == b"--a\r")
            .expect("boundary")
            + 5;
        let end = start + mime::find(&payload[start..], b"\r\n--a").expect("end");
        Entity::parse(&payload[start..end]).unwrap()
    }

    /// RFC 9788 §4.5.3 and Appendix E.2: every text child of a multipart/alternative carries the
    /// element, the HTML one as a div right after <body>; attachments are left alone.
    #[test]
    fn legacy_display_goes_into_every_alternative_and_html_as_a_div() {
        let (_, payload) = protect(ALTERNATIVE, Mode::Cipher, Policy::Baseline, true).unwrap();
        let plain = part_with(&payload, "Content-Type: text/plain; charset=utf-8");
        assert_eq!(plain.content_type().param("hp-legacy-display"), Some("1"));
        assert_eq!(
            String::from_utf8(plain.decoded_body().unwrap()).unwrap(),
            "Subject: Caf\u{e9} <3 & tea\r\n\r\nHi Bob!"
        );
        let html = part_with(&payload, "Content-Type: text/html");
        assert_eq!(html.content_type().param("hp-legacy-display"), Some("1"));
        assert_eq!(
            String::from_utf8(html.decoded_body().unwrap()).unwrap(),
            "<html><BODY class=x><div class=\"header-protection-legacy-display\">\r\n<pre>Subject: Caf\u{e9} &lt;3 &amp; tea</pre>\r\n</div>\r\n<p>Hi Bob!</p></BODY></html>"
        );
        let p = String::from_utf8_lossy(&payload);
        assert!(p.contains("\r\n\r\nnot a body part\r\n"), "{p}");
        assert_eq!(p.matches("hp-legacy-display").count(), 2, "{p}");
        let r = read(b"Subject: [...]\r\n", &payload).unwrap().unwrap();
        assert!(r.legacy_display);
    }

    /// RFC 9788 Appendix E.2: the HTML payload with its Legacy Display Element, as printed.
    #[test]
    fn rfc9788_e2_html_legacy_display_is_recognised() {
        let payload = "Date: Fri, 21 Jan 2022 20:40:48 -0500\r\nFrom: Alice <alice@example.net>\r\n\
To: Bob <bob@example.net>\r\nSubject: Dinner plans\r\n\
Message-ID: <text-html-legacy-display@lhp.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/html; charset=\"us-ascii\"; hp-legacy-display=\"1\";\r\n hp=\"cipher\"\r\n\
HP-Outer: Date: Fri, 21 Jan 2022 20:40:48 -0500\r\nHP-Outer: From: Alice <alice@example.net>\r\n\
HP-Outer: To: Bob <bob@example.net>\r\nHP-Outer: Subject: [...]\r\n\
HP-Outer: Message-ID: <text-html-legacy-display@lhp.example>\r\n\r\n\
<html><head><title></title></head><body>\r\n<div class=\"header-protection-legacy-display\">\r\n\
<pre>Subject: Dinner plans</pre>\r\n</div>\r\n<p>\r\nLet's meet at Rama's Roti Shop at 8pm and go to the park\r\n\
from there.\r\n</p>\r\n</body>\r\n</html>\r\n";
        let outer = "Date: Fri, 21 Jan 2022 20:40:48 -0500\r\nFrom: Alice <alice@example.net>\r\n\
To: Bob <bob@example.net>\r\nSubject: [...]\r\nMessage-ID: <text-html-legacy-display@lhp.example>\r\n";
        let r = read(outer.as_bytes(), payload.as_bytes()).unwrap().unwrap();
        assert!(r.legacy_display);
        assert!(r.disagreements.is_empty(), "{:?}", r.disagreements);
        // And what we write for the same message has the same shape.
        let message = alloc::format!(
            "{outer}MIME-Version: 1.0\r\nContent-Type: text/html; charset=\"us-ascii\"\r\n\r\n\
<html><head><title></title></head><body>\r\n<p>\r\nLet's meet</p></body></html>\r\n"
        )
        .replace("Subject: [...]", "Subject: Dinner plans");
        let (_, ours) = protect(message.as_bytes(), Mode::Cipher, Policy::Baseline, true).unwrap();
        let ours = String::from_utf8(ours).unwrap();
        assert!(ours.contains("<body><div class=\"header-protection-legacy-display\">\r\n<pre>Subject: Dinner plans</pre>\r\n</div>\r\n\r\n<p>"), "{ours}");
    }

    #[test]
    fn addresses_and_utc_dates() {
        assert_eq!(
            mime::addresses("\"Doe, John\" <j@x.org>, k@y.org (Kay), <l@z.org>"),
            alloc::vec![
                Some(String::from("j@x.org")),
                Some(String::from("k@y.org")),
                Some(String::from("l@z.org"))
            ]
        );
        assert_eq!(
            mime::format_date_utc(mime::parse_date("Mon, 1 Jan 2024 01:30:00 +0200").unwrap()),
            "Sun, 31 Dec 2023 23:30:00 +0000"
        );
    }

    #[test]
    fn no_hp_parameter_means_no_protection() {
        assert!(
            read(b"From: a@b.c\r\n", b"Content-Type: text/plain\r\n\r\nx")
                .unwrap()
                .is_none()
        );
    }
}
