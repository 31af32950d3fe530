//! Resource limits: every documented limit (README "Limits") is hit with a typed
//! `INPUT_TOO_LARGE` (or the error its parser documents), never a panic or an unbounded
//! allocation.

use cachet::cms::cipher::ContentCipher;
use cachet::mime::{self, Entity};
use cachet::smime::envelope::{self, EncryptOptions};
use cachet::smime::VerifyOptions;

use crate::common::{self, anchors, identity, AT, MESSAGE};
use crate::support::{cert, sign_options};

fn verify_options(anchors: &[x509_cert::Certificate]) -> VerifyOptions<'_> {
    VerifyOptions {
        trust_anchors: anchors,
        certificates: &[],
        crls: &[],
        time: AT,
    }
}

#[test]
fn message_size() {
    let huge = vec![b'a'; cachet::smime::MAX_MESSAGE_SIZE + 1];
    let a = anchors();
    let bob = identity("bob-p256");
    let code = |r: cachet::Result<()>| r.unwrap_err().code();
    assert_eq!(
        code(cachet::smime::verify_message(&huge, &verify_options(&a)).map(drop)),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(envelope::open(&huge, &[&bob], &verify_options(&a), &mut common::rng()).map(drop)),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(envelope::decrypt_message(&huge, &[&bob], &mut common::rng()).map(drop)),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(
            cachet::smime::sign_message(&huge, &[&bob], &sign_options(false), &mut common::rng())
                .map(drop)
        ),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(cachet::cms::verify::parse(&huge).map(drop)),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(cachet::cms::envelope::decrypt(&huge, &[&bob], &mut common::rng()).map(drop)),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn header_fields() {
    let mut msg = "X-A: b\r\n".repeat(mime::MAX_HEADER_FIELDS + 1);
    msg.push_str("\r\nbody");
    assert_eq!(
        Entity::parse(msg.as_bytes()).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    let a = anchors();
    assert_eq!(
        cachet::smime::verify_message(msg.as_bytes(), &verify_options(&a))
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
    let ok = "X-A: b\r\n".repeat(mime::MAX_HEADER_FIELDS);
    assert!(
        Entity::parse(ok.as_bytes()).is_ok(),
        "the limit itself is allowed"
    );
}

#[test]
fn multipart_parts() {
    let body = "--b\r\n\r\nx\r\n".repeat(mime::MAX_PARTS + 1) + "--b--\r\n";
    assert_eq!(
        mime::split_multipart(body.as_bytes(), "b")
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
    let ok = "--b\r\n\r\nx\r\n".repeat(mime::MAX_PARTS) + "--b--\r\n";
    assert_eq!(
        mime::split_multipart(ok.as_bytes(), "b").unwrap().len(),
        mime::MAX_PARTS
    );
}

fn nested_multipart(depth: usize) -> String {
    let mut inner = String::from("Content-Type: text/plain\r\n\r\nleaf\r\n");
    for i in 0..depth {
        inner = format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n{inner}\r\n--b{i}--\r\n"
        );
    }
    inner
}

#[test]
fn mime_nesting_depth() {
    let alice = identity("alice-p256");
    let sign = |m: &str| {
        cachet::smime::sign_message(
            m.as_bytes(),
            &[&alice],
            &sign_options(false),
            &mut common::rng(),
        )
    };
    assert!(sign(&nested_multipart(mime::MAX_DEPTH)).is_ok());
    assert_eq!(
        sign(&nested_multipart(mime::MAX_DEPTH + 2))
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn ber_nesting_depth() {
    // SEQUENCE { SEQUENCE { ... } } with indefinite lengths, deeper than ber::MAX_DEPTH.
    let depth = cachet::ber::MAX_DEPTH + 2;
    let mut der = vec![];
    for _ in 0..depth {
        der.extend_from_slice(&[0x30, 0x80]);
    }
    for _ in 0..depth {
        der.extend_from_slice(&[0, 0]);
    }
    assert_eq!(
        cachet::ber::to_der(&der).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        cachet::cms::verify::parse(&der).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn smime_layers() {
    let mut msg = MESSAGE.to_vec();
    let bob = cert("bob-p256");
    for _ in 0..=envelope::MAX_LAYERS {
        msg = envelope::encrypt_message(
            &msg,
            &[&bob],
            &EncryptOptions {
                cipher: ContentCipher::Aes128Gcm,
                ..Default::default()
            },
            &mut common::rng(),
        )
        .unwrap();
    }
    let id = identity("bob-p256");
    let a = anchors();
    let err = envelope::open(&msg, &[&id], &verify_options(&a), &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
}

#[test]
fn recipients() {
    let bob = cert("bob-p256");
    let many: Vec<_> = std::iter::repeat(&bob)
        .take(cachet::cms::envelope::MAX_RECIPIENTS + 1)
        .collect();
    let err = envelope::encrypt_message(
        MESSAGE,
        &many,
        &EncryptOptions::default(),
        &mut common::rng(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
    let o = cachet::mime::compose::ComposeOptions {
        from: "a@example.org".into(),
        to: vec!["b@example.org".into(); cachet::mime::compose::MAX_RECIPIENTS + 1],
        time: AT,
        ..Default::default()
    };
    assert_eq!(
        cachet::mime::compose::compose(&o, &mut common::rng())
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn certificates_per_input() {
    let one = common::pki("alice-rsa.pem");
    let many = one.repeat(cachet::x509::MAX_CERTIFICATES + 1);
    assert_eq!(
        cachet::x509::parse_certificates(&many).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    // DER back to back.
    let der = cachet::pem::decode_all(&one).unwrap().remove(0).der;
    let many = der.repeat(cachet::x509::MAX_CERTIFICATES + 1);
    assert_eq!(
        cachet::x509::parse_certificates(&many).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn signers_per_signed_data() {
    let alice = identity("alice-p256");
    let signers: Vec<_> = std::iter::repeat(&alice)
        .take(cachet::cms::verify::MAX_SIGNERS + 1)
        .collect();
    let msg =
        cachet::smime::sign_message(MESSAGE, &signers, &sign_options(true), &mut common::rng())
            .unwrap();
    let a = anchors();
    assert_eq!(
        cachet::smime::verify_message(&msg, &verify_options(&a))
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
}

/// RSA below 2048 bits: signing refuses it; a 1024-bit signature verifies but is reported
/// `weak-algorithm` / `KEY_TOO_SMALL`, never valid.
#[test]
fn rsa_modulus_size() {
    let key = common::vector("corpus/kmail-kde/keys/unittest-cert.key");
    let cert = common::vector("corpus/kmail-kde/keys/unittest-cert.pem");
    let weak = cachet::Identity::load(&key, Some(&cert), None, &[]).unwrap();
    assert_eq!(weak.key.rsa_bits(), Some(1024));
    let err =
        cachet::smime::sign_message(MESSAGE, &[&weak], &sign_options(false), &mut common::rng())
            .unwrap_err();
    assert_eq!(err.code(), "KEY_UNSUPPORTED");
    let msg = common::vector("corpus/kmail-kde/messages/smime-opaque-sign.mbox");
    let trust = common::certs("corpus/kmail-kde/keys/unittest-cert.pem");
    let r = common::verify_at(&msg, &trust, &trust, cachet::UnixTime(1_357_833_000));
    assert_eq!(common::verdict(&r), ("weak-algorithm", "KEY_TOO_SMALL"));
    // 2048 bits is enough.
    let alice = identity("alice-rsa");
    let ok =
        cachet::smime::sign_message(MESSAGE, &[&alice], &sign_options(false), &mut common::rng())
            .unwrap();
    assert_eq!(
        common::verdict(&common::verify(&ok)),
        ("valid", "SIG_VALID")
    );
}
