//! Sign and verify whole messages with the test PKI: every key type, both forms, and every way a
//! signature can fail to hold.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use cachet::algorithms::DigestAlgorithm;
use cachet::smime::{self, SignOptions, VerifyOptions};
use cachet::UnixTime;
use common::{
    anchors, certs, identity, rng, sign, sign_with, verdict, verify, verify_at, AT, MESSAGE,
};

const SIGNERS: &[&str] = &[
    "alice-rsa",
    "alice-rsa4096",
    "alice-p256",
    "alice-p384",
    "alice-ed25519",
];

#[test]
fn every_key_type_both_forms_verifies() {
    for name in SIGNERS {
        let id = identity(name);
        for opaque in [false, true] {
            let signed = sign_with(MESSAGE, &id, opaque, DigestAlgorithm::Sha256, false);
            let report = verify(&signed);
            assert_eq!(
                verdict(&report),
                ("valid", "SIG_VALID"),
                "{name} opaque={opaque}: {report:?}"
            );
            let s = &report.signers[0];
            assert_eq!(s.email.as_deref(), Some("alice@example.org"));
            assert_eq!(s.chain.len(), 3, "{name}: leaf, intermediate, root");
            assert_eq!(s.signing_time, Some(AT));
            assert_eq!(report.opaque, opaque);
            assert!(
                report.content.starts_with(b"Content-Type: text/plain"),
                "{name}"
            );
            assert!(report.content.ends_with(b"Hello Bob.\r\n"));
        }
    }
}

#[test]
fn digests_and_pss() {
    let id = identity("alice-rsa");
    for digest in [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ] {
        for pss in [false, true] {
            let signed = sign_with(MESSAGE, &id, false, digest, pss);
            let text = String::from_utf8_lossy(&signed);
            assert!(
                text.contains(&format!("micalg={}", digest.micalg())),
                "{text}"
            );
            let report = verify(&signed);
            assert_eq!(verdict(&report), ("valid", "SIG_VALID"));
            assert_eq!(report.signers[0].digest_algorithm, digest.micalg());
            assert_eq!(
                report.signers[0].signature_algorithm,
                if pss { "rsa-pss" } else { "rsa-pkcs1v15" }
            );
        }
    }
    // Ed25519 always signs with SHA-512 (RFC 8419).
    let signed = sign(MESSAGE, &identity("alice-ed25519"));
    assert!(String::from_utf8_lossy(&signed).contains("micalg=sha-512"));
}

/// The WebCrypto path's core half: a digest and an RSA signature made outside the core
/// (here by the core's own primitives, standing in for WebCrypto; OpenSSL checks the real path in
/// tests/js/websign.test.mjs) give a message that verifies, and nothing else is accepted.
#[test]
fn precomputed_digest_and_signature() {
    use cachet::cms::sign::{can_precompute, to_be_signed, Precomputed};
    use cachet::smime::{prepare_signing, sign_entity_with};
    let id = identity("alice-rsa");
    for digest in [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
    ] {
        for pss in [false, true] {
            let options = SignOptions {
                opaque: false,
                digest,
                rsa_pss: pss,
                time: AT,
            };
            let (outer, content) = prepare_signing(MESSAGE).unwrap();
            let value = digest.digest(&content).unwrap();
            let tbs = to_be_signed(&id, &value, AT).unwrap();
            let (_, signature) =
                cachet::algorithms::sign(&id.key, digest, pss, &tbs, &mut rng()).unwrap();
            let given = Precomputed {
                digest: &value,
                signature: Some(&signature),
            };
            let entity =
                sign_entity_with(&content, &[&id], &options, Some(given), &mut rng()).unwrap();
            let report = verify(&cachet::smime::envelope::join(&outer, &entity));
            assert_eq!(verdict(&report), ("valid", "SIG_VALID"));
            assert_eq!(
                report.signers[0].signature_algorithm,
                if pss { "rsa-pss" } else { "rsa-pkcs1v15" }
            );

            // A signature over other bytes, a digest of the wrong length, a wrong digest.
            let (_, other) =
                cachet::algorithms::sign(&id.key, digest, pss, b"other", &mut rng()).unwrap();
            let short = &value[..value.len() - 1];
            let mut wrong = value.clone();
            wrong[0] ^= 1;
            for (d, sig) in [
                (value.as_slice(), other.as_slice()),
                (short, signature.as_slice()),
                (wrong.as_slice(), signature.as_slice()),
            ] {
                let given = Precomputed {
                    digest: d,
                    signature: Some(sig),
                };
                let err = sign_entity_with(&content, &[&id], &options, Some(given), &mut rng())
                    .unwrap_err();
                assert_eq!(err.code(), "API_MISUSE", "{err}");
            }
        }
    }
    // Only one RSA signer, with SHA-2, can be precomputed.
    let options = SignOptions {
        opaque: true,
        digest: DigestAlgorithm::Sha256,
        rsa_pss: false,
        time: AT,
    };
    let value = [0u8; 32];
    let given = Precomputed {
        digest: &value,
        signature: Some(&[1u8; 256]),
    };
    for name in ["alice-p256", "alice-ed25519"] {
        let other = identity(name);
        assert!(!can_precompute(&other.key, DigestAlgorithm::Sha256));
        let err = sign_entity_with(b"x", &[&other], &options, Some(given), &mut rng()).unwrap_err();
        assert_eq!(err.code(), "API_MISUSE");
    }
    // ECDSA and Ed25519: the digest alone may be precomputed; the core signs.
    for (name, digest) in [
        ("alice-p256", DigestAlgorithm::Sha256),
        ("alice-p384", DigestAlgorithm::Sha384),
        ("alice-ed25519", DigestAlgorithm::Sha512),
    ] {
        let other = identity(name);
        let options = SignOptions {
            opaque: false,
            digest,
            rsa_pss: false,
            time: AT,
        };
        let (outer, content) = prepare_signing(MESSAGE).unwrap();
        let value = digest.digest(&content).unwrap();
        let given = Precomputed {
            digest: &value,
            signature: None,
        };
        let entity =
            sign_entity_with(&content, &[&other], &options, Some(given), &mut rng()).unwrap();
        let report = verify(&cachet::smime::envelope::join(&outer, &entity));
        assert_eq!(verdict(&report), ("valid", "SIG_VALID"), "{name}");
        // A digest of other bytes is signed as given, and verification catches it.
        let wrong = digest.digest(b"other").unwrap();
        let given = Precomputed {
            digest: &wrong,
            signature: None,
        };
        let entity =
            sign_entity_with(&content, &[&other], &options, Some(given), &mut rng()).unwrap();
        let report = verify(&cachet::smime::envelope::join(&outer, &entity));
        assert_eq!(
            verdict(&report),
            ("content-altered", "CONTENT_ALTERED"),
            "{name}"
        );
    }
    assert!(can_precompute(&id.key, DigestAlgorithm::Sha256));
    assert!(!can_precompute(&id.key, DigestAlgorithm::Sha1));
    let err = sign_entity_with(b"x", &[&id, &id], &options, Some(given), &mut rng()).unwrap_err();
    assert_eq!(err.code(), "API_MISUSE");
}

/// The WebCrypto verify path's core half: `detached_content` names the signed part's bytes and
/// digests; a digest made elsewhere is used for it (a wrong one is `CONTENT_ALTERED`); opaque
/// content and input whose line ends would change are left to the core.
#[test]
fn detached_content_and_digests_made_elsewhere() {
    let id = identity("alice-rsa");
    let signed = sign_with(MESSAGE, &id, false, DigestAlgorithm::Sha384, false);
    let (start, end, digests) = smime::detached_content(&signed).unwrap();
    assert_eq!(digests, vec![DigestAlgorithm::Sha384]);
    let part = &signed[start..end];
    assert!(part.starts_with(b"Content-Type: text/plain"), "{part:?}");
    assert!(part.ends_with(b"Hello Bob.\r\n"));
    let options = VerifyOptions {
        trust_anchors: &anchors(),
        certificates: &[],
        crls: &[],
        time: AT,
    };
    let right = vec![(
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha384.digest(part).unwrap(),
    )];
    let report = smime::verify_message_with(&signed, &options, &right).unwrap();
    assert_eq!(verdict(&report), ("valid", "SIG_VALID"));
    assert!(report.content.is_empty(), "the caller has the content");
    assert_eq!(
        smime::verify_message(&signed, &options).unwrap().content,
        part
    );
    let mut bad = right.clone();
    bad[0].1[0] ^= 1;
    let report = smime::verify_message_with(&signed, &options, &bad).unwrap();
    assert_eq!(verdict(&report), ("content-altered", "CONTENT_ALTERED"));
    // A digest of another algorithm than the signer's is not used.
    let other = vec![(DigestAlgorithm::Sha256, vec![0u8; 32])];
    let report = smime::verify_message_with(&signed, &options, &other).unwrap();
    assert_eq!(verdict(&report), ("valid", "SIG_VALID"));

    // Opaque: no detached part, and given digests are not used for encapsulated content.
    let opaque = sign_with(MESSAGE, &id, true, DigestAlgorithm::Sha256, false);
    assert!(smime::detached_content(&opaque).is_none());
    let zero = vec![(DigestAlgorithm::Sha256, vec![0u8; 32])];
    let report = smime::verify_message_with(&opaque, &options, &zero).unwrap();
    assert_eq!(verdict(&report), ("valid", "SIG_VALID"));

    // LF line ends: the core converts them, so offsets into the input would be wrong.
    let lf: Vec<u8> = signed.iter().copied().filter(|&b| b != b'\r').collect();
    assert!(smime::detached_content(&lf).is_none());
    assert!(smime::detached_content(b"not a message").is_none());
}

#[test]
fn weak_digests_are_refused_for_signing() {
    let id = identity("alice-rsa");
    let options = SignOptions {
        opaque: false,
        digest: DigestAlgorithm::Sha1,
        rsa_pss: false,
        time: AT,
    };
    let err = smime::sign_message(MESSAGE, &[&id], &options, &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "API_MISUSE");
}

#[test]
fn pkcs12_identity_signs() {
    let id =
        cachet::Identity::load(&common::pki("alice-p256.p12"), None, Some("test"), &[]).unwrap();
    assert_eq!(id.chain.len(), 1, "the .p12 carries the intermediate");
    let report = verify(&sign(MESSAGE, &id));
    assert_eq!(verdict(&report), ("valid", "SIG_VALID"));
}

#[test]
fn outer_headers_stay_outside_and_entity_is_signed() {
    let signed = sign(MESSAGE, &identity("alice-p256"));
    let text = String::from_utf8(signed.clone()).unwrap();
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    for h in [
        "From: Alice <alice@example.org>",
        "To: Bob <bob@example.org>",
        "Subject: Hello",
        "Message-ID: <1@example.org>",
        "MIME-Version: 1.0",
    ] {
        assert!(head.contains(h), "{h} missing from outer header:\n{head}");
    }
    assert!(head.contains("multipart/signed"));
    assert!(head.contains("protocol=\"application/pkcs7-signature\""));
    assert!(!text.contains("\n\n"), "CRLF only");
    assert!(text
        .split("\r\n")
        .all(|l| !l.contains('\n') && !l.contains('\r')));
}

#[test]
fn eight_bit_long_lines_and_trailing_space_are_reencoded() {
    let body = format!(
        "Grüße aus Köln \r\nFrom the start\r\n{}\r\n",
        "x".repeat(1200)
    );
    let msg = format!("From: alice@example.org\r\nSubject: t\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}");
    let signed = sign(msg.as_bytes(), &identity("alice-rsa"));
    assert!(signed.iter().all(|&b| b < 0x80), "7-bit output");
    assert!(signed.split(|&b| b == b'\n').all(|l| l.len() <= 998));
    let report = verify(&signed);
    assert_eq!(verdict(&report), ("valid", "SIG_VALID"));
    let content = String::from_utf8(report.content).unwrap();
    assert!(content.contains("Content-Transfer-Encoding: quoted-printable"));
    assert!(!content.contains("8bit"));
    // Relays that strip trailing white space cannot break it: there is none left.
    assert!(content.split("\r\n").all(|l| !l.ends_with(' ')));
    assert_eq!(
        cachet::mime::qp_decode(content.split_once("\r\n\r\n").unwrap().1.as_bytes()),
        body.as_bytes()
    );
}

#[test]
fn multipart_with_binary_attachment_round_trips() {
    let msg = b"From: alice@example.org\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/plain\r\n\r\nhi\r\n--xx\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\xff\xfe\r\n--xx--\r\n";
    let signed = sign(msg, &identity("alice-rsa"));
    assert!(signed.iter().all(|&b| b < 0x80 && b != 0));
    let report = verify(&signed);
    assert_eq!(verdict(&report), ("valid", "SIG_VALID"));
    assert!(String::from_utf8_lossy(&report.content).contains("Content-Transfer-Encoding: base64"));
}

#[test]
fn lf_only_input_and_lf_only_transport() {
    let lf: Vec<u8> = MESSAGE.iter().copied().filter(|&b| b != b'\r').collect();
    let signed = sign(&lf, &identity("alice-rsa"));
    // A mail store that keeps LF line ends must not break the signature.
    let stored: Vec<u8> = signed.iter().copied().filter(|&b| b != b'\r').collect();
    assert_eq!(verdict(&verify(&stored)), ("valid", "SIG_VALID"));
}

#[test]
fn bare_entity_is_signed() {
    let signed = sign(
        b"Content-Type: text/plain\r\n\r\nbare\r\n",
        &identity("alice-rsa"),
    );
    let report = verify(&signed);
    assert_eq!(report.from, None);
    assert_eq!(verdict(&report), ("valid", "SIG_VALID"));
}

fn tamper(signed: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(signed.to_vec()).unwrap();
    assert!(text.contains(from));
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn tampered_body_is_content_altered() {
    for opaque in [false] {
        let signed = sign_with(
            MESSAGE,
            &identity("alice-rsa"),
            opaque,
            DigestAlgorithm::Sha256,
            false,
        );
        let bad = tamper(&signed, "Hello Bob.", "Hello Eve.");
        assert_eq!(
            verdict(&verify(&bad)),
            ("content-altered", "CONTENT_ALTERED")
        );
    }
}

#[test]
fn tampered_signature_is_invalid() {
    let signed = sign(MESSAGE, &identity("alice-p256"));
    let text = String::from_utf8(signed).unwrap();
    // Re-encode the signature with one bit of the signature value flipped.
    let start = text
        .find("Content-Description: S/MIME Cryptographic Signature\r\n\r\n")
        .unwrap()
        + 55;
    let end = text[start..].find("\r\n--").unwrap() + start;
    let mut der = cachet::mime::base64_decode(text[start..end].as_bytes()).unwrap();
    let last = der.len() - 5; // inside the ECDSA signature INTEGER at the end
    der[last] ^= 1;
    let b64 = String::from_utf8(cachet::mime::base64_encode_lines(&der)).unwrap();
    let bad = format!("{}{}{}", &text[..start], b64.trim_end(), &text[end..]);
    assert_eq!(
        verdict(&verify(bad.as_bytes())),
        ("invalid-signature", "SIG_INVALID")
    );
}

#[test]
fn chain_and_policy_failures() {
    let cases: &[(&str, &str, &str)] = &[
        ("expired", "expired", "CERT_EXPIRED"),
        ("not-yet-valid", "not-yet-valid", "CERT_NOT_YET_VALID"),
        ("eku-server", "wrong-usage", "CERT_EXT_KEY_USAGE"),
        ("ku-keyenc", "wrong-usage", "CERT_KEY_USAGE"),
        ("no-email", "address-mismatch", "CERT_NO_EMAIL"),
        ("untrusted-leaf", "untrusted", "CERT_UNTRUSTED"),
        ("no-eku", "valid", "SIG_VALID"),
        ("any-eku", "valid", "SIG_VALID"),
        ("legacy-email", "valid", "SIG_VALID"),
    ];
    for (name, status, code) in cases {
        let id = identity(name);
        let signed = sign(MESSAGE, &id);
        assert_eq!(verdict(&verify(&signed)), (*status, *code), "{name}");
    }
}

#[test]
fn path_length_not_ca_and_weak_certificate() {
    let sub = certs("pki/sub-ca.pem");
    let id = cachet::Identity::load(
        &common::pki("pathlen-leaf.key"),
        Some(&common::pki("pathlen-leaf.pem")),
        None,
        &sub,
    )
    .unwrap();
    let report = verify_at(
        &sign(MESSAGE, &id),
        &anchors(),
        &certs("pki/inter-ca.pem"),
        AT,
    );
    assert_eq!(verdict(&report), ("untrusted", "CERT_PATH_LENGTH"));

    let alice = certs("pki/alice-rsa.pem");
    let id = cachet::Identity::load(
        &common::pki("not-ca-issued.key"),
        Some(&common::pki("not-ca-issued.pem")),
        None,
        &alice,
    )
    .unwrap();
    let report = verify_at(
        &sign(MESSAGE, &id),
        &anchors(),
        &certs("pki/inter-ca.pem"),
        AT,
    );
    assert_eq!(verdict(&report), ("untrusted", "CERT_NOT_CA"));

    let id = cachet::Identity::load(
        &common::pki("sha1-leaf.key"),
        Some(&common::pki("sha1-leaf.pem")),
        None,
        &[],
    )
    .unwrap();
    assert_eq!(
        verdict(&verify(&sign(MESSAGE, &id))),
        ("weak-algorithm", "CERT_WEAK_SIGNATURE")
    );
}

#[test]
fn time_and_anchor_matter() {
    let signed = sign(MESSAGE, &identity("alice-rsa"));
    let later = UnixTime::parse_rfc3339("2036-01-01T00:00:00Z").unwrap();
    assert_eq!(
        verdict(&verify_at(&signed, &anchors(), &[], later)),
        ("expired", "CERT_EXPIRED")
    );
    let earlier = UnixTime::parse_rfc3339("2025-03-01T00:00:00Z").unwrap();
    assert_eq!(
        verdict(&verify_at(&signed, &anchors(), &[], earlier)),
        ("not-yet-valid", "CERT_NOT_YET_VALID")
    );
    let other = certs("pki/other-root-ca.pem");
    assert_eq!(
        verdict(&verify_at(&signed, &other, &[], AT)),
        ("untrusted", "CERT_UNTRUSTED")
    );
    assert_eq!(
        verdict(&verify_at(&signed, &[], &[], AT)),
        ("untrusted", "CERT_UNTRUSTED")
    );
}

#[test]
fn from_must_match_the_signer() {
    let msg = String::from_utf8(MESSAGE.to_vec()).unwrap().replace(
        "From: Alice <alice@example.org>",
        "From: Mallory <ceo@example.org>",
    );
    let report = verify(&sign(msg.as_bytes(), &identity("alice-rsa")));
    assert_eq!(verdict(&report), ("address-mismatch", "ADDRESS_MISMATCH"));
    // Domains compare case-insensitively.
    let msg = String::from_utf8(MESSAGE.to_vec())
        .unwrap()
        .replace("alice@example.org>", "alice@EXAMPLE.org>");
    assert_eq!(
        verdict(&verify(&sign(msg.as_bytes(), &identity("alice-rsa")))),
        ("valid", "SIG_VALID")
    );
}

#[test]
fn redated_message_is_flagged() {
    let msg = String::from_utf8(MESSAGE.to_vec()).unwrap().replace(
        "Tue, 01 Jan 2030 00:00:00 +0000",
        "Tue, 01 Jan 2030 06:00:00 +0000",
    );
    let report = verify(&sign(msg.as_bytes(), &identity("alice-rsa")));
    assert_eq!(verdict(&report), ("date-mismatch", "DATE_MISMATCH"));
}

#[test]
fn two_signers() {
    let a = identity("alice-rsa");
    let b = identity("alice-p256");
    let options = SignOptions {
        opaque: false,
        digest: DigestAlgorithm::Sha384,
        rsa_pss: false,
        time: AT,
    };
    let signed = smime::sign_message(MESSAGE, &[&a, &b], &options, &mut common::rng()).unwrap();
    let report = verify(&signed);
    assert_eq!(report.signers.len(), 2);
    assert!(report.all_valid(), "{report:?}");
}

#[test]
fn not_signed_and_malformed_inputs_are_typed_errors() {
    let options_anchors = anchors();
    let options = VerifyOptions {
        trust_anchors: &options_anchors,
        certificates: &[],
        crls: &[],
        time: AT,
    };
    let err = |m: &[u8]| smime::verify_message(m, &options).unwrap_err().code();
    assert_eq!(err(MESSAGE), "NOT_SIGNED");
    assert_eq!(
        err(b"Content-Type: multipart/signed\r\n\r\nx"),
        "MIME_MALFORMED"
    );
    assert_eq!(
        err(b"Content-Type: application/pkcs7-mime\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!"),
        "MIME_MALFORMED"
    );
    assert_eq!(
        err(b"Content-Type: application/pkcs7-mime\r\n\r\nAAAA"),
        "DER_MALFORMED"
    );
    assert_eq!(err(b"\x00\x01 no header"), "MIME_MALFORMED");

    // Every truncation and many bit flips of a signed message: a report or a typed error, no panic.
    for opaque in [false, true] {
        let signed = sign_with(
            MESSAGE,
            &identity("alice-p256"),
            opaque,
            DigestAlgorithm::Sha256,
            false,
        );
        for n in (0..signed.len()).step_by(7) {
            let _ = smime::verify_message(&signed[..n], &options);
        }
        let text_start = signed.len() / 3;
        for i in (text_start..signed.len()).step_by(11) {
            let mut bad = signed.clone();
            bad[i] ^= 0x20;
            let _ = smime::verify_message(&bad, &options);
        }
    }
}
