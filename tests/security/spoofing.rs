//! From-spoofing with a valid signature: the signature holds, but it is by alice, not by the
//! address the reader is shown.

use crate::common::{self, identity, verdict, verify};
use crate::support::sign_options;

fn signed_by_alice(from: &str) -> Vec<u8> {
    let msg = format!(
        "From: {from}\r\nTo: Bob <bob@example.org>\r\nSubject: Urgent\r\n\
         Date: Tue, 01 Jan 2030 00:00:00 +0000\r\n\r\nPlease pay the invoice.\r\n"
    );
    let alice = identity("alice-rsa");
    cachet::smime::sign_message(
        msg.as_bytes(),
        &[&alice],
        &sign_options(false),
        &mut common::rng(),
    )
    .unwrap()
}

#[test]
fn control_alice_is_alice() {
    assert_eq!(
        verdict(&verify(&signed_by_alice("Alice <alice@example.org>"))),
        ("valid", "SIG_VALID")
    );
}

#[test]
fn another_address_is_a_mismatch() {
    for from in [
        "CEO <ceo@example.org>",
        "ceo@example.org",
        "alice@example.org.evil.example",
        "Alice <alice@evil.example>",
    ] {
        assert_eq!(
            verdict(&verify(&signed_by_alice(from))),
            ("address-mismatch", "ADDRESS_MISMATCH"),
            "{from}"
        );
    }
}

/// Display-name tricks: the name looks like alice's address, the mailbox is mallory's.
#[test]
fn display_name_tricks_are_a_mismatch() {
    for from in [
        "\"alice@example.org\" <mallory@evil.example>",
        "alice@example.org <mallory@evil.example>",
        "=?utf-8?q?alice=40example=2Eorg?= <mallory@evil.example>",
        "\"Alice <alice@example.org>\" <mallory@evil.example>",
    ] {
        let r = verify(&signed_by_alice(from));
        assert_eq!(
            verdict(&r),
            ("address-mismatch", "ADDRESS_MISMATCH"),
            "{from}"
        );
        assert_eq!(r.from.as_deref(), Some("mallory@evil.example"), "{from}");
    }
}

/// Outer From: changed after signing a message whose From: is only outside the signature.
#[test]
fn from_rewritten_after_signing() {
    let msg = signed_by_alice("Alice <alice@example.org>");
    let forged = String::from_utf8(msg).unwrap().replacen(
        "From: Alice <alice@example.org>",
        "From: CEO <ceo@example.org>",
        1,
    );
    assert_eq!(
        verdict(&verify(forged.as_bytes())),
        ("address-mismatch", "ADDRESS_MISMATCH")
    );
}
