//! Signature wrapping and eContent confusion (CVE-2018-18509, Thunderbird showing the
//! encapsulated content of a detached signature): what is displayed must be what is signed.

use cachet::smime::envelope::Layer;

use crate::common::{self, identity, verdict, verify, MESSAGE};
use crate::support::{join, open, position, sign_options, split, types};

/// Opaque signed-data over `message` by alice: (header, DER).
fn opaque(message: &[u8]) -> (String, Vec<u8>) {
    let alice = identity("alice-rsa");
    let signed =
        cachet::smime::sign_message(message, &[&alice], &sign_options(true), &mut common::rng())
            .unwrap();
    split(&signed)
}

fn multipart_signed(first_part: &str, signature_der: &[u8]) -> Vec<u8> {
    let sig = String::from_utf8(cachet::mime::base64_encode_lines(signature_der)).unwrap();
    format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Hello\r\n\
         Date: Tue, 01 Jan 2030 00:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; \
         micalg=sha-256; boundary=\"S\"\r\n\r\n--S\r\n{first_part}\r\n--S\r\n\
         Content-Type: application/pkcs7-signature; name=smime.p7s\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{sig}\r\n--S--\r\n"
    )
    .into_bytes()
}

/// A detached signature whose SignedData also carries (different) eContent: the displayed first
/// part is not what was signed.
#[test]
fn multipart_signed_with_a_different_econtent() {
    let (_, der) = opaque(MESSAGE);
    // Control: the first part equal to the eContent verifies.
    let signed_entity = "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob.\r\n";
    assert!(position(&der, signed_entity.as_bytes()) > 0);
    let good = multipart_signed(signed_entity, &der);
    assert_eq!(verdict(&verify(&good)), ("valid", "SIG_VALID"));
    let evil = "Content-Type: text/plain; charset=us-ascii\r\n\r\nPay Mallory 10000 EUR.";
    let r = verify(&multipart_signed(evil, &der));
    assert_eq!(verdict(&r), ("content-altered", "ECONTENT_MISMATCH"));
    let o = open(&multipart_signed(evil, &der), "bob-rsa");
    assert!(!o.signed_valid);
    assert!(
        !o.authenticated,
        "no signer holds: nothing vouches for the content"
    );
}

/// An opaque signed-data whose eContent is swapped for another text: content-altered.
#[test]
fn opaque_signed_data_with_swapped_content() {
    let (head, der) = opaque(MESSAGE);
    let at = position(&der, b"Hello Bob.");
    let mut forged = der.clone();
    forged[at..at + 10].copy_from_slice(b"Hello Eve.");
    let msg = join(&head, &forged);
    assert_eq!(
        verdict(&verify(&msg)),
        ("content-altered", "CONTENT_ALTERED")
    );
    let r = open(&msg, "bob-rsa");
    assert_eq!(types(&r), ["signed"]);
    assert!(!r.signed_valid && !r.authenticated);
    // The content is shown (as the report's content) but flagged: the reader sees both.
    assert!(String::from_utf8_lossy(&r.content).contains("Hello Eve."));
}

/// An opaque signature re-wrapped as the signature part of a multipart/signed whose first part
/// is an unrelated text.
#[test]
fn opaque_signature_rewrapped_with_other_content() {
    let (_, der) = opaque(MESSAGE);
    let r = verify(&multipart_signed(
        "Content-Type: text/plain\r\n\r\nSomething else",
        &der,
    ));
    assert_eq!(verdict(&r).0, "content-altered");
}

/// A valid multipart/signed nested as one part of a multipart/mixed with an unsigned part the
/// client would display first: the message as a whole is not signed.
#[test]
fn displayed_part_is_not_the_signed_part() {
    let alice = identity("alice-rsa");
    let signed = cachet::smime::sign_entity(
        b"Content-Type: text/plain\r\n\r\nHello Bob.\r\n",
        &[&alice],
        &sign_options(false),
        &mut common::rng(),
    )
    .unwrap();
    let msg = format!(
        "From: Alice <alice@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\n\
         Content-Type: text/plain\r\n\r\nPay Mallory 10000 EUR.\r\n--M\r\n{}\r\n--M--\r\n",
        String::from_utf8(signed).unwrap()
    );
    let options = cachet::smime::VerifyOptions {
        trust_anchors: &common::anchors(),
        certificates: &[],
        crls: &[],
        time: common::AT,
    };
    let err = cachet::smime::verify_message(msg.as_bytes(), &options).unwrap_err();
    assert_eq!(err.code(), "NOT_SIGNED");
    let r = open(msg.as_bytes(), "bob-rsa");
    assert!(r.layers.is_empty() && !r.signed_valid && !r.authenticated);
}

/// A multipart/signed with a third part after the signature: the third part is neither signed
/// nor shown as signed content.
#[test]
fn extra_part_after_the_signature_is_not_signed_content() {
    let alice = identity("alice-rsa");
    let signed =
        cachet::smime::sign_message(MESSAGE, &[&alice], &sign_options(false), &mut common::rng())
            .unwrap();
    let text = String::from_utf8(signed).unwrap();
    let boundary = text
        .split("boundary=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let closing = format!("--{boundary}--");
    let forged = text.replace(
        &closing,
        &format!("--{boundary}\r\nContent-Type: text/plain\r\n\r\nPay Mallory.\r\n{closing}"),
    );
    let r = open(forged.as_bytes(), "bob-rsa");
    assert_eq!(types(&r), ["signed"]);
    let Layer::Signed { signers, .. } = &r.layers[0] else {
        panic!()
    };
    assert_eq!(signers[0].code, "SIG_VALID");
    let shown = String::from_utf8_lossy(&r.content);
    assert!(
        shown.contains("Hello Bob.") && !shown.contains("Mallory"),
        "{shown}"
    );
}
