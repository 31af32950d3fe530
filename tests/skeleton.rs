//! Large messages read in pieces (`mime::skeleton`): the stand-in answers what the whole message
//! answers. For signing and encryption, the split (unit tests in `src/mime/skeleton.rs`); for a
//! detached signature, where the signed content is and what verifying with its digests reports,
//! checked here against the whole message: signed here and by other clients, altered, with
//! every digest, and with pieces cut anywhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use cachet::algorithms::DigestAlgorithm;
use cachet::mime::skeleton::Skeleton;
use cachet::smime::{self, DetachedStandIn, VerifyOptions, VerifyReport};
use common::{anchors, identity, sign_with, AT};

fn stand_in(message: &[u8], piece: usize) -> Option<DetachedStandIn> {
    let mut s = Skeleton::new();
    for p in message.chunks(piece.max(1)) {
        if !s.feed(p) {
            break;
        }
    }
    DetachedStandIn::new(s)
}

fn options(anchors: &[x509_cert::Certificate]) -> VerifyOptions<'_> {
    VerifyOptions {
        trust_anchors: anchors,
        certificates: &[],
        crls: &[],
        time: AT,
    }
}

/// What a report says, content aside (the stand-in leaves it to the caller).
fn summary(r: &VerifyReport) -> Vec<(String, String, Option<String>, String)> {
    r.signers
        .iter()
        .map(|s| {
            (
                s.status.as_str().to_string(),
                s.code.to_string(),
                s.email.clone(),
                s.digest_algorithm.clone(),
            )
        })
        .chain([(
            format!("opaque={}", r.opaque),
            String::new(),
            r.from.clone(),
            String::new(),
        )])
        .collect()
}

/// The stand-in agrees with the whole message: same content location, same digests, same
/// report (the digests made over the message's own bytes, as WebCrypto would). Returns whether
/// it answered for every piece size.
fn agrees(message: &[u8]) -> bool {
    let anchors = anchors();
    let whole = smime::detached_content(message);
    let mut answered = true;
    for piece in [1, 5, 77, 4096, 65536, message.len()] {
        let Some(s) = stand_in(message, piece) else {
            answered = false;
            continue;
        };
        let (start, end, names) = whole
            .clone()
            .expect("a stand-in where the message has none");
        assert_eq!(s.content(), start..end, "piece {piece}");
        assert_eq!(s.digests(), names.as_slice());
        let digests: Vec<(DigestAlgorithm, Vec<u8>)> = names
            .iter()
            .map(|d| (*d, d.digest(&message[start..end]).unwrap()))
            .collect();
        let mine = s.verify(&options(&anchors), &digests).unwrap();
        let theirs = smime::verify_message(message, &options(&anchors)).unwrap();
        assert_eq!(summary(&mine), summary(&theirs), "piece {piece}");
        assert!(mine.content.is_empty());
        // Without a digest for every signer it refuses (never hashes its stand-in bytes).
        if !digests.is_empty() {
            let err = s.verify(&options(&anchors), &digests[1..]).unwrap_err();
            assert_eq!(err.code(), "API_MISUSE");
        }
    }
    answered
}

/// A large message: text and a base64 attachment.
fn large(lines: usize) -> Vec<u8> {
    let b64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
        .repeat(lines);
    format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Large\r\n\
         Date: Tue, 01 Jan 2030 00:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b-1\"\r\n\r\n--b-1\r\n\
         Content-Type: text/plain\r\n\r\nSee the attachment.\r\n--b-1\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {b64}\r\n--b-1--\r\n"
    )
    .into_bytes()
}

#[test]
fn signed_here_every_key_and_digest() {
    for (name, digest) in [
        ("alice-rsa", DigestAlgorithm::Sha256),
        ("alice-p256", DigestAlgorithm::Sha384),
        ("alice-p384", DigestAlgorithm::Sha512),
        ("alice-ed25519", DigestAlgorithm::Sha512),
    ] {
        let signed = sign_with(&large(2000), &identity(name), false, digest, false);
        assert!(agrees(&signed), "{name}: the stand-in gave up");
    }
}

#[test]
fn altered_content_and_wrong_signer_agree() {
    let signed = sign_with(
        &large(500),
        &identity("alice-rsa"),
        false,
        DigestAlgorithm::Sha256,
        false,
    );
    // One character of the attachment changed: content-altered, both ways.
    let text = String::from_utf8(signed).unwrap();
    let at = text.find("QUJD").unwrap() + 20_000;
    let mut altered = text.clone().into_bytes();
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    assert!(agrees(&altered));
    let theirs = smime::verify_message(&altered, &options(&anchors())).unwrap();
    let original = smime::verify_message(text.as_bytes(), &options(&anchors())).unwrap();
    assert_eq!(
        theirs.signers[0].status.as_str(),
        "content-altered",
        "{original:?}"
    );
    // From: another address than the signer's.
    let spoofed = text.replacen(
        "From: Alice <alice@example.org>",
        "From: Eve <eve@example.org>",
        1,
    );
    assert!(agrees(spoofed.as_bytes()));
}

#[test]
fn opaque_and_unsigned_messages_have_no_stand_in() {
    let opaque = sign_with(
        &large(100),
        &identity("alice-p256"),
        true,
        DigestAlgorithm::Sha256,
        false,
    );
    assert!(stand_in(&opaque, 4096).is_none());
    assert!(stand_in(&large(100), 4096).is_none());
    // Line ends to convert: the whole message is read (and converted) instead.
    let signed = sign_with(
        &large(100),
        &identity("alice-p256"),
        false,
        DigestAlgorithm::Sha256,
        false,
    );
    let lf: Vec<u8> = String::from_utf8(signed)
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    assert!(stand_in(&lf, 4096).is_none());
}

#[test]
fn messages_of_other_clients_agree() {
    // Every signed message in the test vectors (Outlook, Thunderbird, OpenSSL, BouncyCastle,
    // ...), with CRLF line ends.
    let mut answered = 0;
    let mut dirs = vec![std::path::PathBuf::from("tests/vectors")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if !matches!(
                path.extension().and_then(|x| x.to_str()),
                Some("eml" | "msg")
            ) {
                continue;
            }
            let message = cachet::mime::to_crlf(&std::fs::read(&path).unwrap()).into_owned();
            if smime::detached_content(&message).is_some() && agrees(&message) {
                answered += 1;
            }
        }
    }
    assert!(
        answered >= 5,
        "only {answered} signed vectors answered by the stand-in"
    );
}
