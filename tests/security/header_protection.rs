//! RFC 9788 header protection downgrades: stripping or changing the `hp` parameter, re-sending a
//! decrypted payload without encryption, or editing the outer header fields.

use cachet::mime::compose::{compose, ComposeOptions};
use cachet::smime::envelope::{self, EncryptOptions};
use cachet::smime::protect::Mode;
use cachet::smime::seal::{seal, SealOptions};

use crate::common::{self, identity, AT};
use crate::support::{cert, open, sign_options, types};

fn composed() -> Vec<u8> {
    let o = ComposeOptions {
        from: "Alice <alice@example.org>".into(),
        to: vec!["Bob <bob@example.org>".into()],
        subject: "Merger plans".into(),
        text: Some("Hello Bob,\nsee you Monday.\n".into()),
        time: AT,
        ..Default::default()
    };
    compose(&o, &mut common::rng()).unwrap()
}

fn sealed(sign: bool, encrypt: bool) -> Vec<u8> {
    let alice = identity("alice-rsa");
    let bob = cert("bob-rsa");
    let signers = [&alice];
    let recipients = [&bob];
    let options = SealOptions {
        signers: if sign { &signers } else { &[] },
        sign: sign_options(false),
        recipients: if encrypt { &recipients } else { &[] },
        encrypt: EncryptOptions::default(),
        header_protection: true,
        policy: cachet::smime::protect::Policy::Baseline,
        legacy_display: false,
    };
    seal(&composed(), &options, &mut common::rng()).unwrap()
}

#[test]
fn control_sealed_message_is_protected() {
    let r = open(&sealed(true, true), "bob-rsa");
    assert!(r.signed_valid && r.authenticated);
    let p = r.protected.unwrap();
    assert_eq!(p.mode, Mode::Cipher);
    assert!(p.disagreements.is_empty() && !p.mode_mismatch);
}

/// Outer From:/Subject:/To: edited on an encrypted, protected message.
#[test]
fn changed_outer_headers_are_disagreements() {
    let msg = String::from_utf8(sealed(true, true)).unwrap();
    for (name, to) in [
        ("From", "CEO <ceo@example.org>"),
        ("Subject", "Invoice overdue"),
        ("To", "Eve <eve@example.org>"),
    ] {
        let forged = replace_outer(&msg, name, to);
        let r = open(forged.as_bytes(), "bob-rsa");
        assert!(r.authenticated, "the outer header is outside the signature");
        let p = r.protected.expect("still protected");
        let name = name.to_ascii_lowercase();
        assert!(
            p.disagreements.iter().any(|d| d.name == name),
            "{name}: {:?}",
            p.disagreements
        );
    }
}

/// Bob decrypts and forwards the signed payload (hp="cipher") without encryption: the payload
/// says it was encrypted, the transport says not: a downgrade, reported.
#[test]
fn decrypted_payload_resent_signed_only_is_a_mode_mismatch() {
    let bob = identity("bob-rsa");
    let dec = envelope::decrypt_message(&sealed(true, true), &[&bob], &mut common::rng()).unwrap();
    let r = open(&dec.message, "bob-rsa");
    assert_eq!(types(&r), ["signed"]);
    assert!(r.signed_valid);
    let p = r.protected.unwrap();
    assert_eq!(p.mode, Mode::Cipher);
    assert!(
        p.mode_mismatch,
        "hp=cipher without encryption must be flagged"
    );
}

/// Strip or change the `hp` parameter inside a signed (clear) payload: the signature breaks and
/// no protection is claimed for the altered payload.
#[test]
fn stripped_or_changed_hp_parameter_in_a_signed_payload() {
    let msg = String::from_utf8(sealed(true, false)).unwrap();
    let r = open(msg.as_bytes(), "bob-rsa");
    assert!(r.signed_valid);
    assert_eq!(r.protected.as_ref().unwrap().mode, Mode::Clear);
    let hp = ";\r\n hp=\"clear\"";
    assert_eq!(msg.matches(hp).count(), 1);
    for replacement in ["", ";\r\n hp=\"cipher\"", "; hp=\"unknown\""] {
        let forged = msg.replacen(hp, replacement, 1);
        let r = open(forged.as_bytes(), "bob-rsa");
        assert!(!r.signed_valid && !r.authenticated, "{replacement:?}");
        assert!(
            r.protected.is_none(),
            "an unauthenticated payload claims no protection ({replacement:?})"
        );
    }
}

/// Encrypted only (no signature): the outer Subject is changed; the disagreement is reported.
#[test]
fn encrypted_only_outer_subject_changed() {
    let msg = replace_outer(
        &String::from_utf8(sealed(false, true)).unwrap(),
        "Subject",
        "Reset your password",
    );
    let r = open(msg.as_bytes(), "bob-rsa");
    assert!(r.authenticated, "AES-GCM by default");
    let p = r.protected.unwrap();
    assert!(p.disagreements.iter().any(|d| d.name == "subject"));
}

/// Replace the value of the outer header field `name` (the first one, unfolded).
fn replace_outer(msg: &str, name: &str, value: &str) -> String {
    let (head, body) = msg.split_once("\r\n\r\n").unwrap();
    let mut lines: Vec<String> = Vec::new();
    let mut skipping = false;
    let mut done = false;
    for line in head.split("\r\n") {
        if skipping && line.starts_with([' ', '\t']) {
            continue;
        }
        skipping = false;
        let is_it = line
            .split_once(':')
            .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name));
        if is_it && !done {
            lines.push(format!("{name}: {value}"));
            skipping = true;
            done = true;
        } else {
            lines.push(line.to_string());
        }
    }
    assert!(done, "no {name} field");
    format!("{}\r\n\r\n{body}", lines.join("\r\n"))
}
