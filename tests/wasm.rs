//! The core and the wasm boundary, compiled to wasm32 and run by wasm-bindgen's test runner in
//! Node and in headless Chromium (see `tests/wasm/run`). On the host this file is empty.
//!
//! Fixtures: `tests/vectors/pki/` (password `test`, verification time 2030-01-01T00:00:00Z).
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use cachet::algorithms::DigestAlgorithm;
use cachet::smime::{self, SignOptions, SignerStatus, VerifyOptions};
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
    let options = SignOptions {
        opaque,
        digest,
        rsa_pss: false,
        time: AT,
    };
    smime::sign_message(MESSAGE, &[&id], &options, &mut rng()).expect("signing works")
}

fn verify(message: &[u8]) -> smime::VerifyReport {
    let anchors = cachet::x509::parse_certificates(ROOT).expect("the root parses");
    let options = VerifyOptions {
        trust_anchors: &anchors,
        certificates: &[],
        crls: &[],
        time: AT,
    };
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
    assert!(
        report.all_valid(),
        "{:?}",
        report.signers.first().map(|s| (s.status, s.code))
    );
    assert_eq!(report.signers.len(), 1);
    assert_eq!(
        report.signers[0].email.as_deref(),
        Some("alice@example.org")
    );
    assert_eq!(report.signers[0].signing_time, Some(AT));
    assert!(contains(&report.content, b"Signed inside WebAssembly."));
}

#[wasm_bindgen_test]
fn p256_opaque_round_trip() {
    let signed = sign(ALICE_P256, true, DigestAlgorithm::Sha384);
    assert!(contains(&signed, b"application/pkcs7-mime"));
    assert!(
        !contains(&signed, b"Signed inside WebAssembly."),
        "opaque hides the text in base64"
    );
    let report = verify(&signed);
    assert!(report.opaque);
    assert!(
        report.all_valid(),
        "{:?}",
        report.signers.first().map(|s| (s.status, s.code))
    );
    assert_eq!(report.signers[0].signature_algorithm, "ecdsa");
    assert!(contains(&report.content, b"Signed inside WebAssembly."));
}

#[wasm_bindgen_test]
fn tampered_content_is_reported_not_thrown() {
    let signed = sign(ALICE_RSA, false, DigestAlgorithm::Sha256);
    let text = b"Signed inside WebAssembly.";
    let at = signed
        .windows(text.len())
        .position(|w| w == text)
        .expect("the text is in clear");
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

// ---- real messages (tests/vectors/signed.tsv): verification alone, no private key needed ------

const TB_CA: &[u8] = include_bytes!("vectors/corpus/thunderbird-nss/keys/TestCA.pem");
const TB_SIGNED: &[u8] =
    include_bytes!("vectors/corpus/thunderbird-nss/messages/alice.dsig.SHA256.multipart.eml");
const TB_BAD: &[u8] =
    include_bytes!("vectors/corpus/thunderbird-nss/messages/alice.dsig.SHA256.multipart.bad.eml");
const TB_OPAQUE: &[u8] =
    include_bytes!("vectors/corpus/thunderbird-nss/messages/alice.sig.SHA512.opaque.eml");
/// 2026-02-01T00:00:00Z, the time signed.tsv verifies the Thunderbird messages at.
const TB_AT: UnixTime = UnixTime(1_769_904_000);

fn verify_tb(message: &[u8]) -> smime::VerifyReport {
    let anchors = cachet::x509::parse_certificates(TB_CA).expect("the CA parses");
    let options = VerifyOptions {
        trust_anchors: &anchors,
        certificates: &[],
        crls: &[],
        time: TB_AT,
    };
    smime::verify_message(message, &options).expect("the message is processed")
}

#[wasm_bindgen_test]
fn thunderbird_messages_verify_in_wasm() {
    let report = verify_tb(TB_SIGNED);
    assert!(
        report.all_valid(),
        "{:?}",
        report.signers.first().map(|s| (s.status, s.code))
    );
    assert!(!report.opaque);
    let report = verify_tb(TB_OPAQUE);
    assert!(
        report.all_valid(),
        "{:?}",
        report.signers.first().map(|s| (s.status, s.code))
    );
    assert!(report.opaque);
    let report = verify_tb(TB_BAD);
    assert_eq!(report.signers[0].status, SignerStatus::ContentAltered);
}

// ---- the boundary, called as the JS shim calls it: values and errors as JS sees them ----------

mod boundary {
    use cachet::wasm;
    use js_sys::{Array, Reflect, Uint8Array};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn get(value: &JsValue, key: &str) -> JsValue {
        Reflect::get(value, &key.into()).expect("a plain object")
    }

    fn bytes(data: &[u8]) -> JsValue {
        Uint8Array::from(data).into()
    }

    /// The thrown value is a real JS `Error` named `CachetError`; returns its `code`.
    fn code(err: &JsValue) -> String {
        let error = err
            .dyn_ref::<js_sys::Error>()
            .expect("a JS Error is thrown");
        assert_eq!(String::from(error.name()), "CachetError");
        get(err, "code").as_string().expect("code is a string")
    }

    fn ms(t: cachet::UnixTime) -> f64 {
        t.0 as f64 * 1000.0
    }

    #[wasm_bindgen_test]
    fn wrong_types_are_api_misuse_in_js() {
        let anchors = Array::of1(&JsValue::from_str("not bytes"));
        let err =
            wasm::verify_message(b"x", anchors, Array::new(), Array::new(), 0.0, Array::new())
                .unwrap_err();
        assert_eq!(code(&err), "API_MISUSE");
        assert!(get(&err, "detail")
            .as_string()
            .is_some_and(|d| d.contains("trustAnchors")));
    }

    #[wasm_bindgen_test]
    fn unsigned_mail_is_not_signed_in_js() {
        let message = b"From: a@example.org\r\nSubject: plain\r\n\r\nhello\r\n";
        let err = wasm::verify_message(
            message,
            Array::new(),
            Array::new(),
            Array::new(),
            0.0,
            Array::new(),
        )
        .unwrap_err();
        assert_eq!(code(&err), "NOT_SIGNED");
    }

    #[wasm_bindgen_test]
    fn wrong_password_is_bad_password_in_js() {
        let err = wasm::load_identity(super::ALICE_RSA, None, Some("wrong".into()), Array::new())
            .err()
            .expect("a wrong password is refused");
        assert_eq!(code(&err), "BAD_PASSWORD");
    }

    #[wasm_bindgen_test]
    fn error_codes_match_the_core() {
        let codes = wasm::error_codes();
        assert_eq!(codes.length() as usize, cachet::error::CODES.len());
        for (i, (name, _)) in cachet::error::CODES.iter().enumerate() {
            let pair: Array = codes
                .get(u32::try_from(i).unwrap())
                .dyn_into()
                .expect("a [code, text] pair");
            assert_eq!(pair.get(0).as_string().as_deref(), Some(*name));
        }
    }

    #[wasm_bindgen_test]
    fn thunderbird_report_as_js_sees_it() {
        let anchors = Array::of1(&bytes(super::TB_CA));
        let report = wasm::verify_message(
            super::TB_SIGNED,
            anchors,
            Array::new(),
            Array::new(),
            ms(super::TB_AT),
            Array::new(),
        )
        .expect("processed");
        assert_eq!(get(&report, "opaque").as_bool(), Some(false));
        let signers: Array = get(&report, "signers").dyn_into().expect("an array");
        assert_eq!(signers.length(), 1);
        let signer = signers.get(0);
        assert_eq!(get(&signer, "status").as_string().as_deref(), Some("valid"));
        assert_eq!(
            get(&signer, "code").as_string().as_deref(),
            Some("SIG_VALID")
        );
        assert!(get(&signer, "certificate").is_instance_of::<Uint8Array>());
        assert!(get(&report, "content").is_instance_of::<Uint8Array>());
    }

    #[wasm_bindgen_test]
    fn sign_then_verify_through_the_boundary() {
        let identity =
            wasm::load_identity(super::ALICE_P256, None, Some("test".into()), Array::new())
                .map_err(|e| code(&e))
                .expect("the identity loads");
        assert_eq!(identity.emails(), vec![String::from("alice@example.org")]);
        let signed = wasm::sign_message(
            super::MESSAGE,
            &identity,
            false,
            "sha256",
            false,
            ms(super::AT),
        )
        .map_err(|e| code(&e))
        .expect("signing works");
        let anchors = Array::of1(&bytes(super::ROOT));
        let report = wasm::verify_message(
            &signed,
            anchors,
            Array::new(),
            Array::new(),
            ms(super::AT),
            Array::new(),
        )
        .map_err(|e| code(&e))
        .expect("processed");
        let signer = Array::from(&get(&report, "signers")).get(0);
        assert_eq!(get(&signer, "status").as_string().as_deref(), Some("valid"));
        assert_eq!(
            get(&signer, "email").as_string().as_deref(),
            Some("alice@example.org")
        );
        let err = wasm::sign_message(super::MESSAGE, &identity, false, "md4", false, 0.0)
            .expect_err("an unknown digest is refused");
        assert_eq!(code(&err), "API_MISUSE");
    }
}
