//! The core and the wasm boundary, compiled to wasm32 and run by wasm-bindgen's test runner in
//! Node and in headless Chromium (see `tests/wasm/run`). On the host this file is empty.
//!
//! Fixtures: `tests/vectors/pki/` (password `test`, verification time 2030-01-01T00:00:00Z).
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use cachet::smime::{self, SignOptions, SignerStatus, VerifyOptions};
use cachet::algorithms::DigestAlgorithm;
use cachet::{Identity, UnixTime};
use wasm_bindgen_test::wasm_bindgen_test;

const ROOT: &[u8] = include_bytes!("vectors/pki/root-ca.pem");
const ALICE_RSA: &[u8] = include_bytes!("vectors/pki/alice-rsa.p12");
const ALICE_P256: &[u8] = include_bytes!("vectors/pki/alice-p256.p12");
/// 2030-01-01T00:00:00Z, inside every valid fixture's validity.
const AT: UnixTime = UnixTime(1_893_456_000);

const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: Bob <bob@example.org>\r\n\
Subject: wasm round trip\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
Signed inside WebAssembly.\r\n";

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn identity(p12: &[u8]) -> Identity {
    Identity::load(p12, None, Some("test"), &[]).expect("the fixture loads")
}

fn sign(p12: &[u8], opaque: bool, digest: DigestAlgorithm) -> Vec<u8> {
    let id = identity(p12);
    let options = SignOptions { opaque, digest, rsa_pss: false, time: AT };
    smime::sign_message(MESSAGE, &[&id], &options, &mut rng()).expect("signing works")
}

fn verify(message: &[u8]) -> smime::VerifyReport {
    let anchors = cachet::x509::parse_certificates(ROOT).expect("the root parses");
    let options = VerifyOptions { trust_anchors: &anchors, certificates: &[], time: AT };
    smime::verify_message(message, &options).expect("the message is processed")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[wasm_bindgen_test]
fn rsa_detached_round_trip() {
    let signed = sign(ALICE_RSA, false, DigestAlgorithm::Sha256);
    assert!(contains(&signed, b"multipart/signed"));
    let report = verify(&signed);
    assert!(!report.opaque);
    assert!(report.all_valid(), "{:?}", report.signers.first().map(|s| (s.status, s.code)));
    assert_eq!(report.signers.len(), 1);
    assert_eq!(report.signers[0].email.as_deref(), Some("alice@example.org"));
    assert_eq!(report.signers[0].signing_time, Some(AT));
    assert!(contains(&report.content, b"Signed inside WebAssembly."));
}

#[wasm_bindgen_test]
fn p256_opaque_round_trip() {
    let signed = sign(ALICE_P256, true, DigestAlgorithm::Sha384);
    assert!(contains(&signed, b"application/pkcs7-mime"));
    assert!(!contains(&signed, b"Signed inside WebAssembly."), "opaque hides the text in base64");
    let report = verify(&signed);
    assert!(report.opaque);
    assert!(report.all_valid(), "{:?}", report.signers.first().map(|s| (s.status, s.code)));
    assert_eq!(report.signers[0].signature_algorithm, "ecdsa");
    assert!(contains(&report.content, b"Signed inside WebAssembly."));
}

#[wasm_bindgen_test]
fn tampered_content_is_reported_not_thrown() {
    let signed = sign(ALICE_RSA, false, DigestAlgorithm::Sha256);
    let text = b"Signed inside WebAssembly.";
    let at = signed.windows(text.len()).position(|w| w == text).expect("the text is in clear");
    let mut tampered = signed.clone();
    tampered[at] = b'Z';
    let report = verify(&tampered);
    assert!(!report.all_valid());
    assert_eq!(report.signers[0].status, SignerStatus::ContentAltered);
}

#[wasm_bindgen_test]
fn wrong_password_has_its_code() {
    let err = Identity::load(ALICE_RSA, None, Some("wrong"), &[]).unwrap_err();
    assert_eq!(err.code(), "BAD_PASSWORD");
}
