//! Composing RFC 5322 messages (with Stalwart's `mail-builder`): UTF-8 headers (RFC 2047/2231),
//! `multipart/alternative` for text + HTML, base64 attachments. Date and Message-ID come from the
//! caller's time and randomness. Bcc is never written into the message.
//!
//! Note: `mail-builder` draws its multipart boundaries from the clock and a counter, not from our
//! rng; boundaries are not secrets.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::MessageBuilder;

use crate::error::{Error, Result};
use crate::time::UnixTime;

/// An attachment.
#[derive(Clone, Debug, Default)]
pub struct Attachment {
    /// The file name shown to the recipient.
    pub filename: String,
    /// Its MIME type, e.g. `application/pdf`.
    pub content_type: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// What to compose.
#[derive(Clone, Debug, Default)]
pub struct ComposeOptions {
    /// The sender: `alice@example.org` or `Alice <alice@example.org>`.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Copy recipients.
    pub cc: Vec<String>,
    /// Blind copy recipients: never written into the message; they belong in the envelope.
    pub bcc: Vec<String>,
    /// Reply-To addresses.
    pub reply_to: Vec<String>,
    /// The subject (UTF-8).
    pub subject: String,
    /// The plain text body.
    pub text: Option<String>,
    /// The HTML body (with `text`: `multipart/alternative`).
    pub html: Option<String>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// The Message-ID this replies to.
    pub in_reply_to: Option<String>,
    /// The thread's Message-IDs.
    pub references: Vec<String>,
    /// Extra header fields (name, value); names must not be one the builder writes itself.
    pub headers: Vec<(String, String)>,
    /// The Date header.
    pub time: UnixTime,
}

/// Most recipients across To, Cc and Bcc.
pub const MAX_RECIPIENTS: usize = 1000;

const RESERVED: &[&str] = &[
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
];

/// Parse `Name <addr>` or `addr` into mail-builder's form; rejects anything without `@` or with
/// line breaks (header injection).
fn address(text: &str) -> Result<Address<'_>> {
    let text = text.trim();
    if text.contains(['\r', '\n']) {
        return Err(Error::misuse("an address contains a line break"));
    }
    let (name, email) = match (text.rfind('<'), text.rfind('>')) {
        (Some(a), Some(b)) if a < b && b + 1 == text.len() => {
            let name = text
                .get(..a)
                .unwrap_or_default()
                .trim()
                .trim_matches('"')
                .trim();
            (
                if name.is_empty() { None } else { Some(name) },
                text.get(a + 1..b).unwrap_or_default(),
            )
        }
        _ => (None, text),
    };
    let valid = email.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty()
            && !d.is_empty()
            && !email.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
    });
    if !valid {
        return Err(Error::misuse(alloc::format!(
            "not an email address: {text:?}"
        )));
    }
    Ok(Address::new_address(
        name.map(Cow::Borrowed),
        Cow::Borrowed(email),
    ))
}

fn address_list(list: &[String]) -> Result<Address<'_>> {
    let items = list
        .iter()
        .map(|a| address(a))
        .collect::<Result<Vec<_>>>()?;
    Ok(Address::new_list(items))
}

/// The addr-spec of `Name <addr>` or `addr`.
///
/// # Errors
/// `API_MISUSE` for something that is not an address.
pub fn addr_spec(text: &str) -> Result<String> {
    match address(text)? {
        Address::Address(a) => Ok(String::from(a.email.as_ref())),
        _ => Err(Error::Internal {
            detail: "address() returns one address",
        }),
    }
}

fn strip_angles(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// Compose a message. Returns CRLF bytes.
///
/// # Errors
/// `API_MISUSE` for a bad address, a header injection attempt, no recipient, or a reserved
/// header name in `headers`; `INPUT_TOO_LARGE` past [`MAX_RECIPIENTS`].
pub fn compose<R: rand_core::CryptoRng + ?Sized>(
    options: &ComposeOptions,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let recipients = options.to.len() + options.cc.len() + options.bcc.len();
    if recipients == 0 {
        return Err(Error::misuse("a message needs at least one recipient"));
    }
    if recipients > MAX_RECIPIENTS {
        return Err(Error::InputTooLarge {
            what: "recipients",
            limit: MAX_RECIPIENTS,
        });
    }
    let from_addr = addr_spec(&options.from)?;
    let domain = from_addr.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    let mut message_id = String::new();
    for b in id {
        message_id.push_str(&alloc::format!("{b:02x}"));
    }
    message_id.push('@');
    message_id.push_str(domain);
    if options.subject.contains(['\r', '\n']) {
        return Err(Error::misuse("the subject contains a line break"));
    }
    let date = i64::try_from(options.time.0).map_err(|_| Error::misuse("time out of range"))?;
    let mut builder = MessageBuilder::new().from(address(&options.from)?);
    // A subject that would read back as something else written as it is (see
    // `mime::needs_encoded_words`) is written as encoded-words, which read back exactly.
    builder = if crate::mime::needs_encoded_words(&options.subject) {
        builder.header(
            "Subject",
            Raw::new(crate::mime::encode_words(&options.subject)),
        )
    } else {
        builder.subject(options.subject.as_str())
    };
    let mut builder = builder.date(date).message_id(MessageId::new(message_id));
    if !options.to.is_empty() {
        builder = builder.to(address_list(&options.to)?);
    }
    if !options.cc.is_empty() {
        builder = builder.cc(address_list(&options.cc)?);
    }
    // Validate Bcc too (they go to the envelope), but never write them.
    for bcc in &options.bcc {
        address(bcc)?;
    }
    if !options.reply_to.is_empty() {
        builder = builder.reply_to(address_list(&options.reply_to)?);
    }
    if let Some(irt) = &options.in_reply_to {
        builder = builder.in_reply_to(MessageId::new(strip_angles(irt)));
    }
    if !options.references.is_empty() {
        let ids: Vec<&str> = options.references.iter().map(|r| strip_angles(r)).collect();
        builder = builder.references(MessageId::new_list(ids.into_iter()));
    }
    for (name, value) in &options.headers {
        let bad_name = name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if bad_name || value.contains(['\r', '\n']) {
            return Err(Error::misuse(alloc::format!("bad header field {name:?}")));
        }
        if RESERVED.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(Error::misuse(alloc::format!(
                "set {name} through its own option"
            )));
        }
        builder = builder.header(name.as_str(), Raw::new(value.as_str()));
    }
    if options.text.is_none() && options.html.is_none() && options.attachments.is_empty() {
        builder = builder.text_body("");
    }
    if let Some(text) = &options.text {
        builder = builder.text_body(text.as_str());
    }
    if let Some(html) = &options.html {
        builder = builder.html_body(html.as_str());
    }
    for a in &options.attachments {
        if a.filename.contains(['\r', '\n']) || a.content_type.contains(['\r', '\n']) {
            return Err(Error::misuse("bad attachment name or type"));
        }
        let ct = if a.content_type.is_empty() {
            "application/octet-stream"
        } else {
            a.content_type.as_str()
        };
        builder = builder.attachment(ct, a.filename.as_str(), a.data.as_slice());
    }
    builder.write_to_vec().map_err(|_| Error::Internal {
        detail: "writing to a Vec cannot fail",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
        rand_core::UnwrapErr(getrandom::SysRng)
    }

    #[test]
    fn composes_with_utf8_and_no_bcc() {
        let o = ComposeOptions {
            from: "Ålice <alice@example.org>".into(),
            to: vec!["bob@example.org".into()],
            bcc: vec!["secret@example.org".into()],
            subject: "Grüße".into(),
            text: Some("Hallo\nWelt".into()),
            html: Some("<p>Hallo</p>".into()),
            attachments: vec![Attachment {
                filename: "a.bin".into(),
                content_type: "application/octet-stream".into(),
                data: vec![0, 1, 2, 255],
            }],
            time: UnixTime(1_893_456_000),
            ..Default::default()
        };
        let m = String::from_utf8(compose(&o, &mut rng()).unwrap()).unwrap();
        assert!(!m.contains("secret@example.org"));
        assert!(m.contains("Jan 2030"), "{m}");
        assert!(m.contains("@example.org>"));
        assert!(m.contains("multipart/alternative"));
        assert!(m.contains("=?utf-8?"), "RFC 2047 subject: {m}");
        assert!(m.is_ascii());
    }

    #[test]
    fn rejects_injection_and_bad_addresses() {
        let base = ComposeOptions {
            from: "a@b.c".into(),
            to: vec!["d@e.f".into()],
            ..Default::default()
        };
        let cases = [
            ComposeOptions {
                subject: "x\r\nBcc: evil@x.y".into(),
                ..base.clone()
            },
            ComposeOptions {
                to: vec!["not an address".into()],
                ..base.clone()
            },
            ComposeOptions {
                from: "a@b.c\r\nX: y".into(),
                ..base.clone()
            },
            ComposeOptions {
                headers: vec![("Subject".into(), "x".into())],
                ..base.clone()
            },
            ComposeOptions {
                headers: vec![("X-A".into(), "x\ny".into())],
                ..base.clone()
            },
            ComposeOptions {
                to: vec![],
                ..base.clone()
            },
        ];
        for c in cases {
            assert_eq!(
                compose(&c, &mut rng()).unwrap_err().code(),
                "API_MISUSE",
                "{c:?}"
            );
        }
    }
}
