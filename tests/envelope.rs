//! Encrypt, decrypt and open: every cipher × recipient kind, sign-then-encrypt, triple wrap, and
//! the ways decryption must fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use cachet::cms::cipher::ContentCipher;
use cachet::smime::envelope::{self, EncryptOptions, Layer};
use cachet::smime::{self, SignOptions, VerifyOptions};
use common::{anchors, certs, identity, open, open_error, types, AT, MESSAGE};

const CIPHERS: [ContentCipher; 5] = [
    ContentCipher::Aes256Gcm,
    ContentCipher::Aes128Gcm,
    ContentCipher::ChaCha20Poly1305,
    ContentCipher::Aes256Cbc,
    ContentCipher::Aes128Cbc,
];

fn encrypt(message: &[u8], to: &[&str], cipher: ContentCipher, rsa_oaep: bool) -> Vec<u8> {
    let certs: Vec<_> = to
        .iter()
        .map(|n| certs(&format!("pki/{n}.pem")).remove(0))
        .collect();
    let refs: Vec<_> = certs.iter().collect();
    envelope::encrypt_message(
        message,
        &refs,
        &EncryptOptions {
            cipher,
            rsa_oaep,
            ..Default::default()
        },
        &mut common::rng(),
    )
    .unwrap()
}

#[test]
fn every_cipher_and_recipient_kind_round_trips() {
    for cipher in CIPHERS {
        for (who, oaep) in [
            ("bob-rsa", false),
            ("bob-rsa", true),
            ("bob-p256", false),
            ("alice-p384", false),
            ("alice-rsa4096", true),
        ] {
            let enc = encrypt(MESSAGE, &[who], cipher, oaep);
            let text = String::from_utf8(enc.clone()).unwrap();
            let smime_type = if cipher.is_authenticated() {
                "authEnveloped-data"
            } else {
                "enveloped-data"
            };
            assert!(text.contains(&format!("smime-type={smime_type}")), "{text}");
            assert!(text.contains("Subject: Hello"), "outer headers stay");
            assert!(!text.contains("Hello Bob."), "body is encrypted");
            let id = identity(who);
            let dec = envelope::decrypt_message(&enc, &[&id], &mut common::rng()).unwrap();
            assert_eq!(dec.cipher, cipher);
            assert_eq!(dec.authenticated, cipher.is_authenticated());
            let out = String::from_utf8(dec.message).unwrap();
            assert!(
                out.contains("Subject: Hello") && out.ends_with("Hello Bob.\r\n"),
                "{out}"
            );
            let report = open(&enc, who);
            assert_eq!(
                types(&report),
                [if cipher.is_authenticated() {
                    "authEnveloped"
                } else {
                    "enveloped"
                }]
            );
            assert_eq!(
                report.authenticated,
                cipher.is_authenticated(),
                "CBC alone is not authenticated"
            );
        }
    }
}

#[test]
fn many_recipients_each_can_decrypt() {
    let to = ["bob-rsa", "bob-p256", "alice-p384", "alice-rsa"];
    let enc = encrypt(MESSAGE, &to, ContentCipher::Aes256Gcm, false);
    for who in to {
        let id = identity(who);
        let dec = envelope::decrypt_message(&enc, &[&id], &mut common::rng()).unwrap();
        assert!(dec.message.ends_with(b"Hello Bob.\r\n"), "{who}");
    }
}

#[test]
fn not_a_recipient_and_not_encrypted() {
    let enc = encrypt(MESSAGE, &["bob-rsa"], ContentCipher::Aes256Gcm, false);
    let alice = identity("alice-rsa");
    let err = envelope::decrypt_message(&enc, &[&alice], &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "NOT_RECIPIENT");
    let err = envelope::decrypt_message(MESSAGE, &[&alice], &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "NOT_ENCRYPTED");
    let report = open(&enc, "alice-rsa");
    assert!(matches!(
        report.layers[..],
        [Layer::Undecryptable {
            code: "NOT_RECIPIENT"
        }]
    ));
}

/// Every failure after the RecipientInfo is chosen is the same error.
#[test]
fn one_opaque_error_for_every_decryption_failure() {
    let bob = identity("bob-rsa");
    for cipher in CIPHERS {
        for oaep in [false, true] {
            let enc = encrypt(MESSAGE, &["bob-rsa"], cipher, oaep);
            let text = String::from_utf8(enc).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let der = cachet::mime::base64_decode(body.as_bytes()).unwrap();
            // Flip a byte of the encrypted key, of the ciphertext, and of the tail (tag or last block).
            let key_pos = der.len() / 4;
            for pos in [key_pos, der.len() - 40, der.len() - 3] {
                let mut bad = der.clone();
                bad[pos] ^= 0x55;
                let msg = format!(
                    "{head}\r\n\r\n{}",
                    String::from_utf8(cachet::mime::base64_encode_lines(&bad)).unwrap()
                );
                match envelope::decrypt_message(msg.as_bytes(), &[&bob], &mut common::rng()) {
                    Err(e) => assert!(
                        [
                            "DECRYPTION_FAILED",
                            "DER_MALFORMED",
                            "CMS_MALFORMED",
                            "NOT_RECIPIENT",
                            // A flipped algorithm identifier: structural, reveals no secret.
                            "CMS_UNSUPPORTED_ALGORITHM"
                        ]
                        .contains(&e.code()),
                        "{} at {pos}: {}",
                        cipher.name(),
                        e.code()
                    ),
                    // CBC without integrity may "decrypt" a modified last block to garbage: that
                    // is why such content is reported unauthenticated.
                    Ok(d) => assert!(!d.authenticated, "{} at {pos}", cipher.name()),
                }
            }
        }
    }
}

#[test]
fn wrong_private_key_for_the_certificate_fails_opaquely() {
    // An identity whose key is not the certificate's (Identity's fields are public for stores).
    let bob = identity("bob-rsa");
    let mallory = cachet::Identity {
        key: identity("alice-rsa").key,
        certificate: bob.certificate.clone(),
        chain: vec![],
        unwrapped: vec![],
    };
    for oaep in [false, true] {
        let enc = encrypt(MESSAGE, &["bob-rsa"], ContentCipher::Aes256Gcm, oaep);
        let err = envelope::decrypt_message(&enc, &[&mallory], &mut common::rng()).unwrap_err();
        assert_eq!(err.code(), "DECRYPTION_FAILED");
    }
    let bob_ec = identity("bob-p256");
    let mallory = cachet::Identity {
        key: identity("alice-p256").key,
        certificate: bob_ec.certificate.clone(),
        chain: vec![],
        unwrapped: vec![],
    };
    let enc = encrypt(MESSAGE, &["bob-p256"], ContentCipher::Aes128Cbc, false);
    let err = envelope::decrypt_message(&enc, &[&mallory], &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "DECRYPTION_FAILED");
}

#[test]
fn sign_then_encrypt_and_triple_wrap_open() {
    let alice = identity("alice-p256");
    let sign = |m: &[u8], opaque| {
        let o = SignOptions {
            opaque,
            digest: cachet::algorithms::DigestAlgorithm::Sha256,
            rsa_pss: false,
            time: AT,
        };
        smime::sign_message(m, &[&alice], &o, &mut common::rng()).unwrap()
    };
    for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes128Cbc] {
        let signed_then_encrypted = encrypt(&sign(MESSAGE, false), &["bob-rsa"], cipher, false);
        let report = open(&signed_then_encrypted, "bob-rsa");
        let enc_type = if cipher.is_authenticated() {
            "authEnveloped"
        } else {
            "enveloped"
        };
        assert_eq!(types(&report), [enc_type, "signed"]);
        assert!(report.authenticated && report.signed_valid);
        assert!(report.content.ends_with(b"Hello Bob.\r\n"));
        let Layer::Signed { signers, .. } = &report.layers[1] else {
            panic!()
        };
        assert_eq!(
            signers[0].status.as_str(),
            "valid",
            "From: is taken from the outer header"
        );

        let triple = sign(
            &encrypt(&sign(MESSAGE, true), &["bob-p256"], cipher, false),
            false,
        );
        let report = open(&triple, "bob-p256");
        assert_eq!(types(&report), ["signed", enc_type, "signed"]);
        assert!(report.signed_valid);
        assert!(report.content.ends_with(b"Hello Bob.\r\n"));
    }
}

/// A part inside a layer `open` opened that only says it is S/MIME: the layers around it are
/// reported (the outer signature holds: its signer signed those bytes), a malformed encryption
/// layer as one that could not be decrypted, anything else as the content. The outermost layer
/// is read strictly. (Found by tests/js/hostile.test.mjs: `seal` of a message whose
/// Content-Type claimed enveloped-data over plain text wrote what `open` then refused whole.)
#[test]
fn a_malformed_part_inside_a_layer_is_reported_not_fatal() {
    let alice = identity("alice-p256");
    let sign = |m: &[u8]| {
        let o = SignOptions {
            opaque: false,
            digest: cachet::algorithms::DigestAlgorithm::Sha256,
            rsa_pss: false,
            time: AT,
        };
        smime::sign_message(m, &[&alice], &o, &mut common::rng()).unwrap()
    };
    let head = "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: x\r\n";
    let claims = |kind: &str, body: &str| {
        format!(
            "{head}MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type={kind}\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
        )
        .into_bytes()
    };
    // Plain text claiming to be enveloped or signed data, a truncated AuthEnvelopedData (not
    // recognisably CMS: content), and an EnvelopedData ContentInfo whose EnvelopedData is
    // `SEQUENCE { INTEGER 0 }` (an encryption layer, malformed).
    let text = base64(b"not CMS at all");
    let enc = encrypt(MESSAGE, &["bob-rsa"], ContentCipher::Aes256Gcm, false);
    let truncated = base64(&body_der(&enc)[..200]);
    let hollow = base64(&hex::decode("301206092a864886f70d010703a0053003020100").unwrap());
    for (kind, body, layers, code) in [
        ("enveloped-data", text.as_str(), vec!["signed"], None),
        ("signed-data", text.as_str(), vec!["signed"], None),
        ("enveloped-data", "!!not base64!!", vec!["signed"], None),
        (
            "authEnveloped-data",
            truncated.as_str(),
            vec!["signed"],
            None,
        ),
        (
            "enveloped-data",
            hollow.as_str(),
            vec!["signed", "undecryptable"],
            Some("DER_MALFORMED"),
        ),
    ] {
        let inner = claims(kind, body);
        let report = open(&sign(&inner), "bob-rsa");
        assert_eq!(types(&report), layers, "{kind}: {body:.20}");
        assert!(report.signed_valid, "{kind}: the outer signature holds");
        if let Some(code) = code {
            let Layer::Undecryptable { code: got } = report.layers[1] else {
                panic!()
            };
            assert_eq!(got, code);
        } else {
            // The content is the part as it was signed.
            let ct = format!("smime-type={kind}");
            assert!(report.content.windows(ct.len()).any(|w| w == ct.as_bytes()));
        }
        // The same part as the message itself: an error, as before.
        let code = open_error(&inner, "bob-rsa");
        assert!(
            ["DER_MALFORMED", "MIME_MALFORMED", "CMS_MALFORMED"].contains(&code),
            "{kind}: {code}"
        );
    }
    // A multipart/signed inside whose signature part is not base64, or not a signature.
    for signature in ["!!not base64!!", text.as_str()] {
        let inner = format!(
            "{head}MIME-Version: 1.0\r\nContent-Type: multipart/signed; \
             protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n\
             Content-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n\
             {signature}\r\n--b--\r\n"
        )
        .into_bytes();
        let report = open(&sign(&inner), "bob-rsa");
        assert_eq!(types(&report), ["signed"], "{signature:.20}");
        assert!(report.signed_valid);
        let ct = b"multipart/signed";
        assert!(report.content.windows(ct.len()).any(|w| w == ct));
        let code = open_error(&inner, "bob-rsa");
        assert!(["MIME_MALFORMED", "DER_MALFORMED", "CMS_MALFORMED"].contains(&code));
    }
}

fn base64(der: &[u8]) -> String {
    String::from_utf8(cachet::mime::base64_encode_lines(der)).unwrap()
}

#[test]
fn cbc_only_is_unauthenticated_and_flagged() {
    let enc = encrypt(MESSAGE, &["bob-rsa"], ContentCipher::Aes256Cbc, false);
    let report = open(&enc, "bob-rsa");
    assert!(!report.authenticated);
    assert!(!report.signed_valid);
}

/// Regression for the trap in `cms 0.3.0-rc.0`'s ECDH builder: the key-encryption key must be the
/// ECDH-derived one, never all zeroes.
#[test]
fn ecdh_wrap_key_is_not_all_zero() {
    use aes_kw::cipher::KeyInit;
    let enc = encrypt(MESSAGE, &["bob-p256"], ContentCipher::Aes256Gcm, false);
    let text = String::from_utf8(enc).unwrap();
    let der =
        cachet::mime::base64_decode(text.split_once("\r\n\r\n").unwrap().1.as_bytes()).unwrap();
    // The wrapped key is the only 40-byte OCTET STRING (32-byte key + 8).
    let pos = der.windows(2).position(|w| w == [0x04, 40]).unwrap();
    let wrapped = &der[pos + 2..pos + 42];
    let mut out = [0u8; 32];
    let zero = aes_kw::KwAes256::new_from_slice(&[0u8; 32]).unwrap();
    assert!(zero.unwrap_key(wrapped, &mut out).is_err());
}

#[test]
fn malformed_encrypted_inputs_are_typed_errors() {
    let bob = identity("bob-rsa");
    let enc = encrypt(MESSAGE, &["bob-rsa"], ContentCipher::Aes256Gcm, false);
    for n in (0..enc.len()).step_by(13) {
        let _ = envelope::decrypt_message(&enc[..n], &[&bob], &mut common::rng());
    }
    let bad = b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQA=\r\n";
    let err = envelope::decrypt_message(bad, &[&bob], &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "DER_MALFORMED");
}

#[test]
fn broken_and_certs_only_corpus_messages() {
    let bob = identity("bob-rsa");
    let options = VerifyOptions {
        trust_anchors: &[],
        certificates: &[],
        crls: &[],
        time: AT,
    };
    // BouncyCastle's brokenEnv.message: "Malformed content." must be an error, not a panic.
    let broken = common::vector("corpus/bouncycastle/messages/brokenEnv.message");
    // It is a lone application/pkcs7-signature part: nothing to open, nothing verified.
    let report = envelope::open(&broken, &[&bob], &options, &mut common::rng()).unwrap();
    assert!(report.layers.is_empty() && !report.authenticated);
    let err = smime::verify_message(&broken, &options).unwrap_err();
    assert_eq!(err.code(), "NOT_SIGNED");
    // KMail's certs-only test message carries base64 of garbage: a typed error, no panic.
    let certs_only = common::vector("corpus/kmail-kde/messages/smime-cert.mbox");
    let err = envelope::open(&certs_only, &[&bob], &options, &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "DER_MALFORMED");
}

#[test]
fn limits_are_typed_errors() {
    // Recipients: checked before any key is wrapped.
    let bob = certs("pki/bob-p256.pem").remove(0);
    let many: Vec<_> =
        std::iter::repeat_n(&bob, cachet::cms::envelope::MAX_RECIPIENTS + 1).collect();
    let err = envelope::encrypt_message(
        MESSAGE,
        &many,
        &EncryptOptions::default(),
        &mut common::rng(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
    // Nesting: one signed layer more than open unwraps.
    let alice = identity("alice-p256");
    let o = SignOptions {
        opaque: true,
        digest: cachet::algorithms::DigestAlgorithm::Sha256,
        rsa_pss: false,
        time: AT,
    };
    let mut m = MESSAGE.to_vec();
    for _ in 0..=envelope::MAX_LAYERS {
        m = smime::sign_message(&m, &[&alice], &o, &mut common::rng()).unwrap();
    }
    let anchors = anchors();
    let options = common::verify_options(&anchors);
    let err = envelope::open(&m, &[], &options, &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
    // Size: a message over the limit is refused before it is parsed.
    let huge = vec![b'a'; cachet::smime::MAX_MESSAGE_SIZE + 1];
    let err = envelope::decrypt_message(&huge, &[&alice], &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
}

/// Recipients named by subject key identifier (KTRI v2, KARI rKeyId): we decrypt them, and so
/// does OpenSSL.
#[test]
fn recipients_by_subject_key_identifier() {
    use std::io::Write;
    for (who, oaep) in [
        ("bob-rsa", false),
        ("bob-rsa", true),
        ("bob-p256", false),
        ("alice-p384", false),
    ] {
        let cert = certs(&format!("pki/{who}.pem")).remove(0);
        let options = EncryptOptions {
            by_key_id: true,
            rsa_oaep: oaep,
            ..Default::default()
        };
        let enc =
            envelope::encrypt_message(MESSAGE, &[&cert], &options, &mut common::rng()).unwrap();
        let text = String::from_utf8(enc.clone()).unwrap();
        let der =
            cachet::mime::base64_decode(text.split_once("\r\n\r\n").unwrap().1.as_bytes()).unwrap();
        let ski = cachet::x509::subject_key_id(&cert).unwrap();
        assert!(
            der.windows(ski.len()).any(|w| w == ski.as_slice()),
            "{who}: the SKI names the recipient"
        );
        let id = identity(who);
        let dec = envelope::decrypt_message(&enc, &[&id], &mut common::rng()).unwrap();
        assert!(dec.message.ends_with(b"Hello Bob.\r\n"));
        let pki = |f: &str| format!("{}/tests/vectors/pki/{f}", env!("CARGO_MANIFEST_DIR"));
        let mut child = std::process::Command::new("openssl")
            .args([
                "cms",
                "-decrypt",
                "-inkey",
                &pki(&format!("{who}.key")),
                "-recip",
                &pki(&format!("{who}.pem")),
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("openssl (run .ci/setup)");
        child.stdin.take().unwrap().write_all(&enc).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{who}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.ends_with(b"Hello Bob.\r\n"));
    }
}

/// X25519 recipients (RFC 8418): every content cipher, alone and among RSA and EC recipients,
/// named by issuerAndSerialNumber or subjectKeyIdentifier.
#[test]
fn x25519_recipients_round_trip() {
    let carol = identity("carol-x25519");
    assert_eq!(carol.key.algorithm_name(), "X25519");
    for cipher in CIPHERS {
        for to in [
            &["carol-x25519"][..],
            &["bob-rsa", "carol-x25519", "bob-p256", "alice-p384"][..],
        ] {
            let enc = encrypt(MESSAGE, to, cipher, false);
            for who in to {
                let id = identity(who);
                let dec = envelope::decrypt_message(&enc, &[&id], &mut common::rng()).unwrap();
                assert_eq!(dec.cipher, cipher);
                assert_eq!(dec.authenticated, cipher.is_authenticated());
                assert!(dec.message.ends_with(b"Hello Bob.\r\n"), "{who}");
            }
            let report = open(&enc, "carol-x25519");
            assert_eq!(report.authenticated, cipher.is_authenticated());
        }
    }
    let cert = certs("pki/carol-x25519.pem").remove(0);
    let options = EncryptOptions {
        by_key_id: true,
        ..Default::default()
    };
    let enc = envelope::encrypt_message(MESSAGE, &[&cert], &options, &mut common::rng()).unwrap();
    let dec = envelope::decrypt_message(&enc, &[&carol], &mut common::rng()).unwrap();
    assert!(dec.message.ends_with(b"Hello Bob.\r\n"));
    // An X25519 identity cannot sign.
    let o = SignOptions {
        opaque: false,
        digest: cachet::algorithms::DigestAlgorithm::Sha256,
        rsa_pss: false,
        time: AT,
    };
    let err = smime::sign_message(MESSAGE, &[&carol], &o, &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "KEY_UNSUPPORTED");
    // Not a recipient: an RSA-only message names no X25519 key.
    let enc = encrypt(MESSAGE, &["bob-rsa"], ContentCipher::Aes256Gcm, false);
    let err = envelope::decrypt_message(&enc, &[&carol], &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "NOT_RECIPIENT");
}

/// The key inside carol-x25519.p12 (written by OpenSSL) loads and decrypts.
#[test]
fn x25519_identity_from_pkcs12() {
    let p12 = std::fs::read(format!(
        "{}/tests/vectors/pki/carol-x25519.p12",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let carol = cachet::Identity::load(&p12, None, Some("test"), &[]).unwrap();
    assert_eq!(carol.key.algorithm_name(), "X25519");
    assert_eq!(carol.chain.len(), 1, "inter-ca travels in the .p12");
    let enc = encrypt(MESSAGE, &["carol-x25519"], ContentCipher::Aes128Gcm, false);
    let dec = envelope::decrypt_message(&enc, &[&carol], &mut common::rng()).unwrap();
    assert!(dec.message.ends_with(b"Hello Bob.\r\n"));
}

/// The wrong X25519 key for carol's certificate, or a tampered ephemeral key, wrapped key or
/// content: one opaque DECRYPTION_FAILED.
#[test]
fn x25519_wrong_key_or_tampering_fails_opaquely() {
    let carol = identity("carol-x25519");
    // PrivateKeyInfo { 0, { id-X25519 }, OCTET STRING { OCTET STRING (32 bytes of 0x42) } }
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[0x42; 32]);
    let mallory = cachet::Identity {
        key: cachet::keys::PrivateKey::from_pkcs8_der(&der).unwrap(),
        certificate: carol.certificate.clone(),
        chain: vec![],
        unwrapped: vec![],
    };
    for cipher in CIPHERS {
        let enc = encrypt(MESSAGE, &["carol-x25519"], cipher, false);
        let err = envelope::decrypt_message(&enc, &[&mallory], &mut common::rng()).unwrap_err();
        assert_eq!(err.code(), "DECRYPTION_FAILED", "{}", cipher.name());
        let text = String::from_utf8(enc).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let der = cachet::mime::base64_decode(body.as_bytes()).unwrap();
        // The 32-byte ephemeral key follows its BIT STRING header (03 21 00).
        let eph = der
            .windows(3)
            .position(|w| w == [0x03, 0x21, 0x00])
            .unwrap()
            + 3;
        // The wrapped key (24 or 40 bytes: AES-128/256 wrap) comes after it.
        let wrapped = eph
            + 32
            + der[eph + 32..]
                .windows(2)
                .position(|w| w == [0x04, 0x18] || w == [0x04, 0x28])
                .unwrap()
            + 2;
        for pos in [eph + 5, wrapped + 3, der.len() - 3] {
            let mut bad = der.clone();
            bad[pos] ^= 0x01;
            let msg = format!(
                "{head}\r\n\r\n{}",
                String::from_utf8(cachet::mime::base64_encode_lines(&bad)).unwrap()
            );
            match envelope::decrypt_message(msg.as_bytes(), &[&carol], &mut common::rng()) {
                Err(e) => assert_eq!(e.code(), "DECRYPTION_FAILED", "{} at {pos}", cipher.name()),
                Ok(d) => assert!(
                    !d.authenticated && pos == der.len() - 3,
                    "{} at {pos}: only a CBC last block may change unnoticed",
                    cipher.name()
                ),
            }
        }
    }
}

/// The one-step external encryption (`finishExternal`): DER framed around the caller's
/// ciphertext and base64 over the pieces gives the same message as building the DER whole, for
/// GCM and CBC and lengths on both sides of the DER length-encoding steps.
#[test]
fn framed_external_encryption_is_the_whole_der() {
    use aes_gcm::aead::{Aead, KeyInit};
    use der::{Decode, Encode};
    let bob = identity("bob-rsa");
    let bob_cert = certs("pki/bob-rsa.pem").remove(0);
    let carol_cert = certs("pki/bob-p256.pem").remove(0);
    for size in [10usize, 100, 200, 70_000] {
        let body = "x".repeat(size);
        let plain = format!("From: a@example.org\r\nSubject: s\r\n\r\n{body}\r\n");
        let (outer, entity) = envelope::split_message(plain.as_bytes()).unwrap();
        for gcm in [true, false] {
            let cek = [3u8; 32];
            let (iv, data, options) = if gcm {
                let nonce = [5u8; 12];
                let data = aes_gcm::Aes256Gcm::new_from_slice(&cek)
                    .unwrap()
                    .encrypt(&nonce.into(), entity.as_slice())
                    .unwrap();
                (nonce.to_vec(), data, EncryptOptions::default())
            } else {
                use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
                let iv = [6u8; 16];
                let data = cbc::Encryptor::<aes::Aes256>::new_from_slices(&cek, &iv)
                    .unwrap()
                    .encrypt_padded_vec::<cbc::cipher::block_padding::Pkcs7>(&entity);
                let options = EncryptOptions {
                    cipher: ContentCipher::Aes256Cbc,
                    ..EncryptOptions::default()
                };
                (iv.to_vec(), data, options)
            };
            let message = envelope::encrypt_message_external(
                &outer,
                &cek,
                &iv,
                &data,
                &[&bob_cert, &carol_cert],
                &options,
                &mut common::rng(),
            )
            .unwrap();
            // The DER decodes as a ContentInfo and re-encodes to the same bytes (it is DER).
            let text = std::str::from_utf8(&message).unwrap();
            let b64: String = text
                .split("\r\n\r\n")
                .nth(1)
                .unwrap()
                .split_whitespace()
                .collect();
            let der = cachet::mime::base64_decode(b64.as_bytes()).unwrap();
            let info = cms::content_info::ContentInfo::from_der(&der).unwrap();
            assert_eq!(info.to_der().unwrap(), der, "size {size} gcm {gcm}");
            let d = envelope::decrypt_message(&message, &[&bob], &mut common::rng()).unwrap();
            assert_eq!(d.authenticated, gcm);
            assert!(d
                .message
                .ends_with(&entity[entity.len().saturating_sub(40)..]));
        }
    }
}

/// The split used for WebCrypto: content encrypted outside the core (here with the aes-gcm crate
/// standing in for WebCrypto) is wrapped by the core, decrypts like any other message, and the
/// core hands back exactly the key, nonce and bytes an outside decryption needs.
#[test]
fn external_content_round_trip_and_failures() {
    use aes_gcm::aead::{Aead, KeyInit};
    let bob = identity("bob-rsa");
    let bob_cert = certs("pki/bob-rsa.pem").remove(0);
    let (outer, entity) = envelope::split_message(MESSAGE).unwrap();
    let cek = [7u8; 32];
    let nonce = [9u8; 12];
    let data = aes_gcm::Aes256Gcm::new_from_slice(&cek)
        .unwrap()
        .encrypt(&nonce.into(), entity.as_slice())
        .unwrap();
    let options = EncryptOptions::default();
    let enc_entity = envelope::encrypt_entity_external(
        &cek,
        &nonce,
        &data,
        &[&bob_cert],
        &options,
        &mut common::rng(),
    )
    .unwrap();
    let message = envelope::join(&outer, &enc_entity);
    let d = envelope::decrypt_message(&message, &[&bob], &mut common::rng()).unwrap();
    assert_eq!(d.cipher, ContentCipher::Aes256Gcm);
    assert!(d.authenticated);
    assert!(d.message.ends_with(&entity[entity.len() - 20..]));

    let found = envelope::external_content(&message, &[&bob], &mut common::rng())
        .unwrap()
        .expect("AES-GCM AuthEnvelopedData for bob");
    assert_eq!(found.cipher, ContentCipher::Aes256Gcm);
    assert_eq!(found.keys.len(), 1);
    assert_eq!(found.keys[0].as_slice(), &cek);
    assert_eq!(found.iv, nonce);
    assert_eq!(found.data(), data);
    assert!(found.aad.is_empty());

    let plain = envelope::decrypted_message(&message, &entity, found.cipher).unwrap();
    assert_eq!(plain.message, d.message);
    let verify = VerifyOptions {
        trust_anchors: &[],
        certificates: &[],
        crls: &[],
        time: AT,
    };
    let first = envelope::FirstLayer::Decrypted {
        content: &entity,
        cipher: found.cipher,
    };
    let r =
        envelope::open_after(&message, Some(first), &[&bob], &verify, &mut common::rng()).unwrap();
    assert!(matches!(
        r.layers.as_slice(),
        [Layer::Encrypted {
            authenticated: true,
            ..
        }]
    ));
    let r = envelope::open_after(
        &message,
        Some(envelope::FirstLayer::Failed),
        &[&bob],
        &verify,
        &mut common::rng(),
    )
    .unwrap();
    assert!(matches!(
        r.layers.as_slice(),
        [Layer::Undecryptable {
            code: "DECRYPTION_FAILED"
        }]
    ));
    assert!(!r.authenticated);

    // CBC: the IV and the padded ciphertext, which the content key decrypts to the entity.
    let cbc = encrypt(MESSAGE, &["bob-rsa"], ContentCipher::Aes256Cbc, false);
    let found = envelope::external_content(&cbc, &[&bob], &mut common::rng())
        .unwrap()
        .expect("AES-CBC EnvelopedData for bob");
    assert_eq!(found.cipher, ContentCipher::Aes256Cbc);
    assert_eq!(found.iv.len(), 16);
    assert_eq!(found.data().len() % 16, 0);
    {
        use cbc::cipher::{block_padding::Pkcs7, BlockModeDecrypt, KeyIvInit};
        let plain = cbc::Decryptor::<aes::Aes256>::new_from_slices(&found.keys[0], &found.iv)
            .unwrap()
            .decrypt_padded_vec::<Pkcs7>(&found.data())
            .unwrap();
        let (_, entity) = envelope::split_message(MESSAGE).unwrap();
        assert_eq!(plain, entity);
    }
    // And CBC content encrypted outside is EnvelopedData that decrypts (not authenticated).
    let cbc_options = EncryptOptions {
        cipher: ContentCipher::Aes128Cbc,
        ..EncryptOptions::default()
    };
    let data = {
        use cbc::cipher::{block_padding::Pkcs7, BlockModeEncrypt, KeyIvInit};
        cbc::Encryptor::<aes::Aes128>::new_from_slices(&cek[..16], &[3u8; 16])
            .unwrap()
            .encrypt_padded_vec::<Pkcs7>(&entity)
    };
    let enc_entity = envelope::encrypt_entity_external(
        &cek[..16],
        &[3u8; 16],
        &data,
        &[&bob_cert],
        &cbc_options,
        &mut common::rng(),
    )
    .unwrap();
    let d = envelope::decrypt_message(
        &envelope::join(&outer, &enc_entity),
        &[&bob],
        &mut common::rng(),
    )
    .unwrap();
    assert_eq!(d.cipher, ContentCipher::Aes128Cbc);
    assert!(!d.authenticated);
    // Not for outside decryption: ChaCha20, a message for someone else, a signed message.
    let chacha = encrypt(
        MESSAGE,
        &["bob-rsa"],
        ContentCipher::ChaCha20Poly1305,
        false,
    );
    assert!(
        envelope::external_content(&chacha, &[&bob], &mut common::rng())
            .unwrap()
            .is_none()
    );
    let other = encrypt(MESSAGE, &["bob-p256"], ContentCipher::Aes256Gcm, false);
    assert!(
        envelope::external_content(&other, &[&bob], &mut common::rng())
            .unwrap()
            .is_none()
    );
    assert!(
        envelope::external_content(MESSAGE, &[&bob], &mut common::rng())
            .unwrap()
            .is_none()
    );
    // Bad inputs from the outside are API_MISUSE, never a panic.
    for (k, n, t) in [
        (&cek[..16], &nonce[..], &data[..]),
        (&cek[..], &nonce[..8], &data[..]),
        (&cek[..], &nonce[..], &data[..10]),
    ] {
        let e =
            envelope::encrypt_entity_external(k, n, t, &[&bob_cert], &options, &mut common::rng())
                .unwrap_err();
        assert_eq!(e.code(), "API_MISUSE");
    }
    let chacha_options = EncryptOptions {
        cipher: ContentCipher::ChaCha20Poly1305,
        ..EncryptOptions::default()
    };
    let e = envelope::encrypt_entity_external(
        &cek,
        &nonce,
        &data,
        &[&bob_cert],
        &chacha_options,
        &mut common::rng(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "API_MISUSE");
    // CBC data that is not whole blocks.
    let e = envelope::encrypt_entity_external(
        &cek,
        &[3u8; 16],
        &data[..20],
        &[&bob_cert],
        &EncryptOptions {
            cipher: ContentCipher::Aes256Cbc,
            ..EncryptOptions::default()
        },
        &mut common::rng(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "API_MISUSE");
}

/// `split_message_in_place` names the body where it is exactly when the message is CRLF and its
/// entity needs no re-encoding, and its entity is always `split_message`'s, byte for byte.
#[test]
fn split_in_place_is_split_message() {
    let mut messages: Vec<(String, Vec<u8>)> = vec![
        ("MESSAGE".into(), MESSAGE.to_vec()),
        (
            "no content type".into(),
            b"From: a@example.org\r\nSubject: s\r\n\r\nplain\r\ntext\r\n".to_vec(),
        ),
        (
            "8-bit body".into(),
            "From: a@example.org\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nh\u{e9}\r\n"
                .as_bytes()
                .to_vec(),
        ),
        (
            "LF".into(),
            b"From: a@example.org\nContent-Type: text/plain\n\nhi\n".to_vec(),
        ),
        (
            "multipart".into(),
            b"From: a@example.org\r\nSubject: m\r\nContent-Type: multipart/mixed; boundary=b\r\n\
              \r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: \
              application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n"
                .to_vec(),
        ),
        (
            "multipart, a long line".into(),
            format!(
                "From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
                 Content-Type: text/plain\r\n\r\n{}\r\n--b--\r\n",
                "y".repeat(1200)
            )
            .into_bytes(),
        ),
    ];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "eml") {
            messages.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
    let mut in_place = 0;
    for (name, m) in &messages {
        let Ok((outer, entity)) = envelope::split_message(m) else {
            assert!(envelope::split_message_in_place(m).is_err(), "{name}");
            continue;
        };
        let split = envelope::split_message_in_place(m).unwrap();
        assert_eq!(split.outer, outer, "{name}");
        let mut joined = split.head.clone();
        if let Some(body) = split.body.clone() {
            joined.extend_from_slice(&m[body]);
            in_place += 1;
        }
        assert_eq!(joined, entity, "{name}");
    }
    let kept = |i: usize| {
        envelope::split_message_in_place(&messages[i].1)
            .unwrap()
            .body
            .is_some()
    };
    assert!(
        kept(0) && kept(1) && kept(4),
        "canonical CRLF bodies are kept where they are"
    );
    assert!(
        !kept(2) && !kept(3) && !kept(5),
        "8-bit, LF and long lines are re-encoded"
    );
    assert!(in_place > 10, "{in_place} of {}", messages.len());
}

/// A large envelope's ciphertext can stay with the caller: `locate_content` finds it from the
/// front of the DER, and the hollow encoding (everything but the ciphertext) reads as the whole
/// does: same keys, IV, AAD and tag. BER (indefinite lengths) and short prefixes are not located.
#[test]
fn hollow_envelope_reads_as_the_whole() {
    use cachet::cms::envelope::{encrypt, external_content, hollow, locate_content, EncryptParams};
    use cachet::cms::recipient::RsaTransport;
    let bob = identity("bob-rsa");
    let carol = identity("bob-p256");
    let recipients = [
        certs("pki/bob-rsa.pem").remove(0),
        certs("pki/bob-p256.pem").remove(0),
    ];
    let refs: Vec<_> = recipients.iter().collect();
    let mut rng = common::rng();
    for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes128Cbc] {
        // Content lengths whose DER lengths take one to four bytes.
        for size in [0usize, 100, 200, 70_000, 16_777_300] {
            let params = EncryptParams {
                cipher,
                rsa: RsaTransport::Pkcs1v15,
                by_key_id: size % 2 == 1,
            };
            let plain = vec![0x5a; size];
            let der = encrypt(&plain, &refs, &params, &mut rng).unwrap();
            let prefix = &der[..der.len().min(4096)];
            let at = locate_content(prefix).unwrap_or_else(|| panic!("{cipher:?} {size}"));
            let hollowed = hollow(&at, &der[..at.content.start], &der[at.content.end..]).unwrap();
            assert_eq!(der.len() - hollowed.len() > at.content.len(), size > 0);
            for id in [&bob, &carol] {
                let whole = external_content(&der, &[id], &mut rng).unwrap().unwrap();
                let part = external_content(&hollowed, &[id], &mut rng)
                    .unwrap()
                    .unwrap();
                assert_eq!(&der[at.content.clone()], whole.ciphertext.as_slice());
                assert!(part.ciphertext.is_empty());
                assert_eq!(part.cipher, whole.cipher);
                assert_eq!(part.iv, whole.iv);
                assert_eq!(part.aad, whole.aad);
                assert_eq!(part.tag, whole.tag);
                let keys = |c: &cachet::cms::envelope::ExternalContent| {
                    c.keys.iter().map(|k| k.to_vec()).collect::<Vec<_>>()
                };
                assert_eq!(keys(&part), keys(&whole));
            }
            // Not enough of the front, or the wrong head for the position.
            assert!(locate_content(&der[..at.content.start - 1]).is_none());
            assert!(hollow(&at, &der[..at.content.start - 1], &[]).is_err());
            // BER: the outer ContentInfo with an indefinite length.
            let rest = if der[1] < 0x80 {
                &der[2..]
            } else {
                &der[2 + usize::from(der[1] & 0x7f)..]
            };
            let mut ber = vec![0x30, 0x80];
            ber.extend_from_slice(rest);
            ber.extend_from_slice(&[0, 0]);
            assert!(locate_content(&ber[..ber.len().min(4096)]).is_none());
        }
    }
    // Other structures: SignedData, garbage.
    let signed = common::sign(MESSAGE, &identity("alice-rsa"));
    assert!(locate_content(&signed).is_none());
    assert!(locate_content(b"").is_none());
    assert!(locate_content(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
}

/// Signed but not encrypted, detached or opaque: `NOT_ENCRYPTED` (opaque signed data used to be
/// `CMS_MALFORMED`, as if a SignedData were a broken EnvelopedData).
#[test]
fn signed_only_is_not_encrypted() {
    let alice = identity("alice-rsa");
    let bob = identity("bob-rsa");
    for opaque in [false, true] {
        let signed = common::sign_with(
            MESSAGE,
            &alice,
            opaque,
            cachet::algorithms::DigestAlgorithm::Sha256,
            false,
        );
        let err = envelope::decrypt_message(&signed, &[&bob], &mut common::rng()).unwrap_err();
        assert_eq!(err.code(), "NOT_ENCRYPTED", "opaque: {opaque}");
    }
    // A pkcs7-mime body that is no CMS at all is still malformed.
    let junk = b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\nMAMCAQA=\r\n";
    let err = envelope::decrypt_message(junk, &[&bob], &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "CMS_MALFORMED");
}

/// The `encryptedKey` of the first RecipientInfo of an EnvelopedData message (a KTRI).
/// The DER of a base64 S/MIME message's body.
fn body_der(message: &[u8]) -> Vec<u8> {
    use base64ct::Encoding;
    let text = std::str::from_utf8(message).unwrap();
    let body: String = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    base64ct::Base64::decode_vec(&body).unwrap()
}

fn first_encrypted_key(message: &[u8]) -> Vec<u8> {
    use der::Decode;
    let der = body_der(message);
    let ci = cms::content_info::ContentInfo::from_der(&der).unwrap();
    let ed: cms::enveloped_data::EnvelopedData = ci.content.decode_as().unwrap();
    match ed.recip_infos.0.iter().next().unwrap() {
        cms::enveloped_data::RecipientInfo::Ktri(k) => k.enc_key.as_bytes().to_vec(),
        other => panic!("not a KTRI: {other:?}"),
    }
}

#[test]
fn rsa_key_transport_decrypted_outside_the_core() {
    use cachet::cms::recipient::Transport;
    use cachet::keys::PrivateKey;
    // What the JS shim does with WebCrypto's RSA-OAEP and Node's raw RSA: the core names the RSA
    // key-transport RecipientInfos it may decrypt elsewhere; the results come back in `unwrapped`.
    let mut bob = identity("bob-rsa");
    let enc = encrypt(
        MESSAGE,
        &["bob-p256", "bob-rsa"],
        ContentCipher::Aes256Gcm,
        true,
    );
    let requests = envelope::transport_requests(&enc, &bob).unwrap();
    assert_eq!(requests.len(), 1, "bob-rsa's RecipientInfo only");
    assert_eq!(
        requests[0].scheme,
        Transport::Oaep(cachet::algorithms::DigestAlgorithm::Sha256)
    );
    let v15 = encrypt(MESSAGE, &["bob-rsa"], ContentCipher::Aes256Cbc, false);
    let raw = envelope::transport_requests(&v15, &bob).unwrap();
    assert_eq!(raw.len(), 1);
    assert_eq!(
        raw[0].scheme,
        Transport::RawRsa,
        "PKCS#1 v1.5: the raw block"
    );
    assert!(
        envelope::transport_requests(&enc, &identity("bob-p256"))
            .unwrap()
            .is_empty(),
        "none for EC"
    );
    assert!(
        envelope::transport_requests(MESSAGE, &bob)
            .unwrap()
            .is_empty(),
        "none for plain mail"
    );
    // The DER of a large message without its ciphertext (decrypted in place) names the same.
    for message in [&enc, &v15] {
        let der = body_der(message);
        let p = cachet::cms::envelope::locate_content(&der).unwrap();
        let (head, tail) = (&der[..p.content.start], &der[p.content.end..]);
        let hollow = envelope::transport_requests_hollow(&p, head, tail, &bob).unwrap();
        assert_eq!(hollow, envelope::transport_requests(message, &bob).unwrap());
    }
    // The engine's key is taken: the right one decrypts...
    let PrivateKey::Rsa(key) = &bob.key else {
        panic!("bob-rsa is RSA")
    };
    let key = key.clone();
    let encrypted_key = requests[0].encrypted_key.clone();
    let cek = key
        .decrypt(rsa::Oaep::<sha2::Sha256>::new(), &encrypted_key)
        .unwrap();
    let hello = Ok(true);
    assert_eq!(
        outside(&mut bob, &enc, &encrypted_key, Some(cek), false),
        hello
    );
    // ...and a wrong one, or a failure there, is DECRYPTION_FAILED: the core does not decrypt
    // that RecipientInfo again.
    for wrong in [Some(vec![7u8; 32]), None] {
        let got = outside(&mut bob, &enc, &encrypted_key, wrong, false);
        assert_eq!(got, Err("DECRYPTION_FAILED"));
    }
    // PKCS#1 v1.5: a key from outside is never taken (only a raw block is), so implicit
    // rejection and the padding check stay in the core.
    let v15_key = first_encrypted_key(&v15);
    let got = outside(&mut bob, &v15, &v15_key, Some(vec![7u8; 32]), false);
    assert_eq!(got, hello);
    // The raw block (what Node's RSA_NO_PADDING gives) decrypts; the same block altered in one
    // byte, or a failure there, is DECRYPTION_FAILED.
    let m = rsa::BoxedUint::from_be_slice(&v15_key, 2048).unwrap();
    let block = rsa::hazmat::rsa_decrypt_and_check(&*key, Some(&mut common::rng()), &m)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    assert_eq!(block.len(), 256);
    assert_eq!(&block[..2], &[0, 2]);
    let got = outside(&mut bob, &v15, &v15_key, Some(block.clone()), true);
    assert_eq!(got, hello);
    let mut altered = block.clone();
    altered[200] ^= 1;
    for wrong in [Some(altered), None] {
        let got = outside(&mut bob, &v15, &v15_key, wrong, true);
        assert_eq!(got, Err("DECRYPTION_FAILED"));
    }
    // A raw block is never taken for an RSAES-OAEP RecipientInfo.
    let got = outside(&mut bob, &enc, &encrypted_key, Some(block), true);
    assert_eq!(got, hello);
}

/// Decrypt `message` for `bob` with what another engine made of `encrypted_key` (`padded`: a
/// raw RSA block): whether the text is the one sent, or the error code.
fn outside(
    bob: &mut cachet::Identity,
    message: &[u8],
    encrypted_key: &[u8],
    key: Option<Vec<u8>>,
    padded: bool,
) -> Result<bool, &'static str> {
    bob.unwrapped = vec![cachet::keys::Unwrapped {
        encrypted_key: encrypted_key.to_vec(),
        key: key.map(zeroize::Zeroizing::new),
        padded,
    }];
    envelope::decrypt_message(message, &[bob], &mut common::rng())
        .map(|d| String::from_utf8(d.message).unwrap().contains("Hello Bob."))
        .map_err(|e| e.code())
}
