//! Header protection for cryptographically protected email (RFC 9788).
//!
//! Sending: the user-facing header fields are copied into the Cryptographic Payload (the MIME
//! entity that is signed or encrypted), whose `Content-Type` gains `hp="clear"` (signed only) or
//! `hp="cipher"` (encrypted). For encrypted mail the outer header follows the baseline Header
//! Confidentiality Policy (`hcp_baseline`, RFC 9788 §3.2): the Subject becomes `[...]`, and
//! `HP-Outer` fields inside record every outer value so the reader can tell a deliberate change
//! from tampering. A Legacy Display Element (a `text/plain` part marked `hp-legacy-display="1"`)
//! shows the real Subject to clients that do not know RFC 9788.
//!
//! Reading: [`read`] finds the protected fields of a Cryptographic Payload and every disagreement
//! with the outer header.
//!
//! Not done: other HCPs (`hcp_shy` and friends), protecting header fields added by relays, and
//! the HTML form of the Legacy Display Element.

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
/// protected header fields, as RFC 9788 §4 describes. `legacy_display` adds the Legacy Display
/// Element when the Subject is obscured.
///
/// # Errors
/// `MIME_MALFORMED` for an unparsable message.
pub fn protect(message: &[u8], mode: Mode, legacy_display: bool) -> Result<(Vec<u8>, Vec<u8>)> {
    let (_, content) = crate::smime::split_for_signing(message)?;
    let entity = Entity::parse(message)?;
    let mut outer = Vec::new();
    let mut protected = Vec::new();
    let mut hp_outer = Vec::new();
    let mut obscured_subject = None;
    for f in entity.fields.iter().filter(|f| !is_content_field(f)) {
        if !is_user_facing(f) {
            // Trace and transport fields (Received, DKIM-Signature...) stay outside only.
            push(&mut outer, f.raw);
            continue;
        }
        push(&mut protected, f.raw);
        if mode == Mode::Cipher && f.is("Subject") {
            obscured_subject = Some(mime::decode_words(&f.value()));
            push(
                &mut outer,
                alloc::format!("Subject: {OBSCURED_SUBJECT}").as_bytes(),
            );
            hp_outer.extend_from_slice(
                alloc::format!("HP-Outer: Subject: {OBSCURED_SUBJECT}\r\n").as_bytes(),
            );
        } else if mode == Mode::Cipher && (f.is("Keywords") || f.is("Comments")) {
            // hcp_baseline removes these from the outer header.
        } else {
            push(&mut outer, f.raw);
            if mode == Mode::Cipher {
                let value =
                    String::from_utf8_lossy(f.raw.get(f.name.len() + 1..).unwrap_or_default())
                        .trim_end_matches("\r\n")
                        .trim_start()
                        .into();
                let value: String = value;
                hp_outer.extend_from_slice(
                    alloc::format!("HP-Outer: {}: {value}\r\n", f.name).as_bytes(),
                );
            }
        }
    }
    let mut payload = protected;
    payload.extend_from_slice(&hp_outer);
    // RFC 9788 §4.5.3: the Legacy Display Element goes into the first text/plain part of the
    // payload, whose Content-Type says so with hp-legacy-display="1".
    let with_legacy = match obscured_subject {
        Some(subject) if legacy_display => {
            inject_legacy_display(&content, &alloc::format!("Subject: {subject}"), 0)?
        }
        _ => None,
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

/// Prepend `lines` (and a blank line) to the first text/plain part of `entity`, marking it
/// `hp-legacy-display="1"`; `None` when there is no such part (nothing is injected then).
fn inject_legacy_display(entity: &[u8], lines: &str, depth: usize) -> Result<Option<Vec<u8>>> {
    if depth > 4 {
        return Ok(None);
    }
    let e = Entity::parse(entity)?;
    let ct = e.content_type();
    let mut out = Vec::with_capacity(entity.len() + lines.len() + 64);
    if ct.is("text/plain") {
        let prefix = alloc::format!("{lines}\r\n\r\n");
        let cte = e.transfer_encoding();
        let utf8 = ct
            .param("charset")
            .is_none_or(|c| c.eq_ignore_ascii_case("utf-8"));
        // A 7-bit/8-bit part that cannot take the prefix as it is becomes quoted-printable.
        let requote = !matches!(cte.as_str(), "quoted-printable" | "base64") && !prefix.is_ascii();
        if requote && !utf8 {
            return Ok(None); // a UTF-8 Subject cannot go into a non-UTF-8 part
        }
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
            "quoted-printable" => {
                out.extend_from_slice(&mime::qp_encode(prefix.as_bytes()));
                out.extend_from_slice(e.body);
            }
            "base64" => {
                let mut plain = prefix.into_bytes();
                plain.extend_from_slice(&e.decoded_body()?);
                out.extend_from_slice(&mime::base64_encode_lines(&plain));
            }
            _ if requote => {
                let mut plain = prefix.into_bytes();
                plain.extend_from_slice(e.body);
                out.extend_from_slice(&mime::qp_encode(&plain));
            }
            _ => {
                out.extend_from_slice(prefix.as_bytes());
                out.extend_from_slice(e.body);
            }
        }
        return Ok(Some(out));
    }
    let (true, Some(boundary)) = (ct.mime_type.starts_with("multipart/"), ct.param("boundary"))
    else {
        return Ok(None);
    };
    let parts = mime::split_multipart(e.body, boundary)?;
    let mut done = false;
    let mut rebuilt = Vec::with_capacity(entity.len() + lines.len() + 64);
    for part in &parts {
        rebuilt.extend_from_slice(alloc::format!("--{boundary}\r\n").as_bytes());
        match (done, inject_legacy_display(part, lines, depth + 1)?) {
            (false, Some(changed)) => {
                rebuilt.extend_from_slice(&changed);
                done = true;
            }
            _ => rebuilt.extend_from_slice(part),
        }
        rebuilt.extend_from_slice(b"\r\n");
    }
    rebuilt.extend_from_slice(alloc::format!("--{boundary}--\r\n").as_bytes());
    if !done {
        return Ok(None);
    }
    for f in &e.fields {
        push(&mut out, f.raw);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&rebuilt);
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
        let (outer, payload) = protect(MSG, Mode::Clear, true).unwrap();
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
        let (outer, payload) = protect(MSG, Mode::Cipher, true).unwrap();
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
        let (outer, payload) = protect(MSG, Mode::Clear, false).unwrap();
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
        let (outer, payload) = protect(MSG, Mode::Cipher, false).unwrap();
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
        let (_, payload) = protect(MSG, Mode::Cipher, true).unwrap();
        let p = String::from_utf8(payload).unwrap();
        assert!(p.contains("hp-legacy-display=\"1\""));
        assert!(p.contains("hp=\"cipher\""));
        assert!(
            p.ends_with("\r\n\r\nSubject: Secret plans\r\n\r\nHello\r\n"),
            "{p}"
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
