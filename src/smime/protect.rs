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

/// Add `; hp="..."` (and keep everything else) to a `Content-Type` field.
fn with_hp(raw: &[u8], mode: Mode) -> Vec<u8> {
    let trimmed = raw.strip_suffix(b"\r\n").unwrap_or(raw);
    let mut out = trimmed.to_vec();
    out.extend_from_slice(alloc::format!(";\r\n hp=\"{}\"\r\n", mode.as_str()).as_bytes());
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
    let payload_entity = Entity::parse(&content)?;
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
    let legacy = match obscured_subject {
        Some(subject) if legacy_display && legacy_display_fits(&payload_entity) => Some(subject),
        _ => None,
    };
    match legacy {
        Some(subject) => {
            // multipart/mixed { text/plain hp-legacy-display, original body }
            let boundary = alloc::format!("hp-{:016x}", fnv(&content));
            payload.extend_from_slice(
                alloc::format!(
                    "Content-Type: multipart/mixed; boundary=\"{boundary}\";\r\n hp=\"{}\"\r\n\r\n\
                     --{boundary}\r\n\
                     Content-Type: text/plain; charset=utf-8; hp-legacy-display=\"1\"\r\n\
                     Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                    mode.as_str()
                )
                .as_bytes(),
            );
            payload.extend_from_slice(&mime::qp_encode(
                alloc::format!("Subject: {subject}\r\n\r\n").as_bytes(),
            ));
            payload.extend_from_slice(alloc::format!("\r\n--{boundary}\r\n").as_bytes());
            payload.extend_from_slice(&content);
            payload.extend_from_slice(alloc::format!("\r\n--{boundary}--\r\n").as_bytes());
        }
        None => {
            for f in &payload_entity.fields {
                if f.is("Content-Type") {
                    payload.extend_from_slice(&with_hp(f.raw, mode));
                } else {
                    push(&mut payload, f.raw);
                }
            }
            payload.extend_from_slice(b"\r\n");
            payload.extend_from_slice(payload_entity.body);
        }
    }
    Ok((outer, payload))
}

/// Legacy display goes in front of a text body (RFC 9788 §4.5.3): text/plain or a
/// multipart/alternative or multipart/mixed whose reader shows the first part first.
fn legacy_display_fits(payload: &Entity<'_>) -> bool {
    let ct = payload.content_type();
    ct.mime_type.starts_with("text/") || ct.mime_type.starts_with("multipart/")
}

/// A small non-cryptographic hash, for a boundary that does not occur in the content.
fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
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
    let legacy_display = ct.mime_type == "multipart/mixed"
        && ct
            .param("boundary")
            .and_then(|b| mime::split_multipart(inner.body, b).ok())
            .and_then(|parts| parts.first().map(|p| Entity::parse(p).ok()))
            .flatten()
            .is_some_and(|first| first.content_type().param("hp-legacy-display") == Some("1"));
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

    #[test]
    fn no_hp_parameter_means_no_protection() {
        assert!(
            read(b"From: a@b.c\r\n", b"Content-Type: text/plain\r\n\r\nx")
                .unwrap()
                .is_none()
        );
    }
}
