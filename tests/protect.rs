//! compose + seal with RFC 9788 header protection, read back by `open`, and accepted by OpenSSL
//! (which ignores the protected fields but must verify and decrypt the bytes).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::Command;

use cachet::algorithms::DigestAlgorithm;
use cachet::mime::compose::{compose, Attachment, ComposeOptions};
use cachet::smime::envelope::{self, EncryptOptions};
use cachet::smime::protect::{Mode, Policy};
use cachet::smime::seal::{seal, SealOptions};
use cachet::smime::SignOptions;
use common::{anchors, certs, identity, AT};

fn composed() -> Vec<u8> {
    let o = ComposeOptions {
        from: "Alice <alice@example.org>".into(),
        to: vec!["Bob <bob@example.org>".into()],
        bcc: vec!["carol@example.org".into()],
        subject: "Quarterly numbers: Grüße".into(),
        text: Some("Hello Bob,\nthe numbers are attached.\n".into()),
        attachments: vec![Attachment {
            filename: "n.csv".into(),
            content_type: "text/csv".into(),
            data: b"a,b\n1,2\n".to_vec(),
        }],
        time: AT,
        ..Default::default()
    };
    compose(&o, &mut common::rng()).unwrap()
}

fn sign_options() -> SignOptions {
    SignOptions {
        opaque: false,
        digest: DigestAlgorithm::Sha256,
        rsa_pss: false,
        time: AT,
    }
}

#[test]
fn signed_and_encrypted_with_protected_headers() {
    let alice = identity("alice-rsa");
    let bob_cert = certs("pki/bob-rsa.pem").remove(0);
    let options = SealOptions {
        signers: &[&alice],
        sign: sign_options(),
        recipients: &[&bob_cert],
        encrypt: EncryptOptions::default(),
        header_protection: true,
        policy: Policy::Baseline,
        legacy_display: true,
    };
    let sealed = seal(&composed(), &options, &mut common::rng()).unwrap();
    let text = String::from_utf8(sealed.clone()).unwrap();
    let (outer, _) = text.split_once("\r\n\r\n").unwrap();
    assert!(outer.contains("Subject: [...]"), "{outer}");
    assert!(!text.contains("Quarterly") && !text.contains("carol@example.org"));

    let bob = identity("bob-rsa");
    let anchors = anchors();
    let verify = common::verify_options(&anchors);
    let report = envelope::open(&sealed, &[&bob], &verify, &mut common::rng()).unwrap();
    assert!(report.signed_valid && report.authenticated);
    let p = report.protected.expect("protected headers");
    assert_eq!(p.mode, Mode::Cipher);
    assert!(p.disagreements.is_empty(), "{:?}", p.disagreements);
    assert!(p.legacy_display);
    let subject = &p.fields.iter().find(|(n, _)| n == "Subject").unwrap().1;
    assert!(subject.contains("Quarterly numbers"), "{subject}");

    // A relay that rewrites the outer To: is caught.
    let forged = text.replacen("To: ", "To: \"Eve\" <eve@example.org>, ", 1);
    let report = envelope::open(forged.as_bytes(), &[&bob], &verify, &mut common::rng()).unwrap();
    let p = report.protected.unwrap();
    assert_eq!(p.disagreements.len(), 1, "{:?}", p.disagreements);
    assert_eq!(p.disagreements[0].name, "to");
}

#[test]
fn signed_only_keeps_the_subject_and_marks_hp_clear() {
    let alice = identity("alice-p256");
    let options = SealOptions {
        signers: &[&alice],
        sign: sign_options(),
        recipients: &[],
        encrypt: EncryptOptions::default(),
        header_protection: true,
        policy: Policy::Baseline,
        legacy_display: true,
    };
    let sealed = seal(&composed(), &options, &mut common::rng()).unwrap();
    let report = common::verify(&sealed);
    assert_eq!(common::verdict(&report), ("valid", "SIG_VALID"));
    let anchors = anchors();
    let verify = common::verify_options(&anchors);
    let opened = envelope::open(&sealed, &[], &verify, &mut common::rng()).unwrap();
    let p = opened.protected.expect("hp=clear payload");
    assert_eq!(p.mode, Mode::Clear);
    assert!(
        p.disagreements.is_empty(),
        "encoded words compare decoded: {:?}",
        p.disagreements
    );
    let content = String::from_utf8(report.content).unwrap();
    assert!(
        content.contains("hp=\"clear\"") && content.contains("Subject: =?utf-8?"),
        "{content}"
    );
}

fn openssl(args: &[&str], input: &[u8]) -> (bool, Vec<u8>, String) {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed (run .ci/setup)");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn openssl_decrypts_and_verifies_protected_messages() {
    let alice = identity("alice-rsa");
    let bob_cert = certs("pki/bob-rsa.pem").remove(0);
    let options = SealOptions {
        signers: &[&alice],
        sign: SignOptions {
            time: cachet::UnixTime(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs(),
            ),
            ..sign_options()
        },
        recipients: &[&bob_cert],
        encrypt: EncryptOptions::default(),
        header_protection: true,
        policy: Policy::Baseline,
        legacy_display: true,
    };
    let sealed = seal(&composed(), &options, &mut common::rng()).unwrap();
    let pki = |f: &str| format!("{}/tests/vectors/pki/{f}", env!("CARGO_MANIFEST_DIR"));
    let (ok, inner, err) = openssl(
        &[
            "cms",
            "-decrypt",
            "-inkey",
            &pki("bob-rsa.key"),
            "-recip",
            &pki("bob-rsa.pem"),
        ],
        &sealed,
    );
    assert!(ok, "openssl decrypt: {err}");
    let (ok, content, err) = openssl(
        &[
            "cms",
            "-verify",
            "-CAfile",
            &pki("root-ca.pem"),
            "-purpose",
            "smimesign",
        ],
        &inner,
    );
    assert!(ok, "openssl verify: {err}");
    let content = String::from_utf8_lossy(&content);
    assert!(
        content.contains("hp-legacy-display") && content.contains("HP-Outer: Subject: [...]"),
        "{content}"
    );
}

/// A decrypted payload (hp="cipher") re-sent signed only is a downgrade the reader is told of.
#[test]
fn header_protection_downgrade_is_reported() {
    let alice = identity("alice-rsa");
    let bob_cert = certs("pki/bob-rsa.pem").remove(0);
    let options = SealOptions {
        signers: &[&alice],
        sign: sign_options(),
        recipients: &[&bob_cert],
        encrypt: EncryptOptions::default(),
        header_protection: true,
        policy: Policy::Baseline,
        legacy_display: false,
    };
    let sealed = seal(&composed(), &options, &mut common::rng()).unwrap();
    let bob = identity("bob-rsa");
    let decrypted = envelope::decrypt_message(&sealed, &[&bob], &mut common::rng()).unwrap();
    let anchors = anchors();
    let verify = common::verify_options(&anchors);
    // The decrypted message is still alice's signed hp="cipher" payload, now without encryption.
    let report = envelope::open(&decrypted.message, &[], &verify, &mut common::rng()).unwrap();
    assert!(report.signed_valid);
    let p = report.protected.unwrap();
    assert_eq!(p.mode, Mode::Cipher);
    assert!(p.mode_mismatch, "hp=cipher without an encryption layer");
    // The honest path has no mismatch.
    let report = envelope::open(&sealed, &[&bob], &verify, &mut common::rng()).unwrap();
    assert!(!report.protected.unwrap().mode_mismatch);
}

/// RFC 9788's own payloads (Appendix C.3.1.2, E.1, E.2) as whole messages wrapped by OpenSSL
/// (`tests/vectors/rfc9788/make.sh`): read as the RFC says they should be.
#[test]
fn rfc9788_payloads_in_whole_messages_made_by_openssl() {
    use cachet::smime::envelope::{Layer, OpenReport};
    let bob = identity("bob-rsa");
    let anchors = anchors();
    let verify = common::verify_options(&anchors);
    let open = |name: &str, message: &[u8]| -> OpenReport {
        envelope::open(message, &[&bob], &verify, &mut common::rng())
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let field = |r: &OpenReport, name: &str| -> Option<String> {
        let p = r.protected.as_ref()?;
        p.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };

    // C.3.1.2: signed by alice@smime.example, then encrypted (CBC): the signature holds, its
    // address agrees with the protected From, and the outer "[...]" is what the sender declared.
    let c3 = common::vector("rfc9788/c3-1-2.eml");
    let r = open("c3-1-2", &c3);
    assert!(matches!(
        r.layers[0],
        Layer::Encrypted {
            authenticated: false,
            ..
        }
    ));
    let Layer::Signed { opaque, signers } = &r.layers[1] else {
        panic!("second layer: {:?}", r.layers[1]);
    };
    assert!(*opaque);
    assert_eq!(signers.len(), 1);
    assert_eq!(signers[0].code, "SIG_VALID", "{}", signers[0].reason);
    assert_eq!(signers[0].email.as_deref(), Some("alice@smime.example"));
    assert!(r.signed_valid && r.authenticated);
    let p = r.protected.as_ref().expect("hp=cipher");
    assert_eq!(p.mode, Mode::Cipher);
    assert!(p.disagreements.is_empty(), "{:?}", p.disagreements);
    assert!(!p.legacy_display && !p.mode_mismatch);
    assert_eq!(
        field(&r, "Subject").as_deref(),
        Some("smime-signed-enc-hp-baseline")
    );
    assert_eq!(
        field(&r, "User-Agent").as_deref(),
        Some("Sample MUA Version 1.0")
    );
    // The same bytes with the outer Subject put back by a relay: reported.
    let text = String::from_utf8(c3.clone()).unwrap();
    let relayed = text.replacen("Subject: [...]", "Subject: Re: invoice", 1);
    let r = open("c3-1-2 relayed", relayed.as_bytes());
    let p = r.protected.unwrap();
    assert_eq!(p.disagreements.len(), 1);
    assert_eq!(p.disagreements[0].name, "subject");
    assert_eq!(p.disagreements[0].outer.as_deref(), Some("Re: invoice"));

    // E.1: encrypted only (CBC, so not authenticated: EFAIL rules apply), with a text Legacy
    // Display Element.
    let r = open("e1", &common::vector("rfc9788/e1.eml"));
    assert_eq!(r.layers.len(), 1);
    assert!(!r.authenticated && !r.signed_valid);
    let p = r.protected.as_ref().expect("hp=cipher");
    assert!(p.legacy_display && p.disagreements.is_empty());
    assert_eq!(field(&r, "Subject").as_deref(), Some("Dinner plans"));
    let content = String::from_utf8(r.content.clone()).unwrap();
    assert!(content.contains("\r\n\r\nSubject: Dinner plans\r\n\r\nLet's meet"));

    // E.2: signed + AES-256-GCM, an HTML Legacy Display Element. The signer's certificate says
    // alice@smime.example while the protected From is alice@example.net: the signature is valid
    // but the address check says it is someone else's.
    let r = open("e2", &common::vector("rfc9788/e2.eml"));
    assert!(matches!(
        r.layers[0],
        Layer::Encrypted {
            authenticated: true,
            ..
        }
    ));
    let Layer::Signed { signers, .. } = &r.layers[1] else {
        panic!("second layer: {:?}", r.layers[1]);
    };
    assert_ne!(signers[0].code, "SIG_VALID", "{}", signers[0].reason);
    assert!(r.authenticated && !r.signed_valid);
    let p = r.protected.as_ref().expect("hp=cipher");
    assert!(p.legacy_display && p.disagreements.is_empty());
    assert!(String::from_utf8(r.content.clone())
        .unwrap()
        .contains("<div class=\"header-protection-legacy-display\">"));
}
