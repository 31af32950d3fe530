//! Shared helpers for the integration tests: fixture loading, a fixed time, randomness.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use cachet::smime::{SignOptions, VerifyOptions, VerifyReport};
use cachet::{algorithms::DigestAlgorithm, x509, Identity, UnixTime};
use x509_cert::Certificate;

/// The time the test PKI is verified at (tests/vectors/pki/README.md).
pub const AT: UnixTime = UnixTime(1_893_456_000); // 2030-01-01T00:00:00Z

pub fn vector(path: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(path);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn pki(name: &str) -> Vec<u8> {
    vector(&format!("pki/{name}"))
}

pub fn certs(path: &str) -> Vec<Certificate> {
    x509::parse_certificates(&vector(path)).unwrap()
}

pub fn anchors() -> Vec<Certificate> {
    certs("pki/root-ca.pem")
}

/// Load `pki/<name>.key` + `pki/<name>.pem` with `inter-ca` as the chain.
pub fn identity(name: &str) -> Identity {
    let chain = certs("pki/inter-ca.pem");
    Identity::load(
        &pki(&format!("{name}.key")),
        Some(&pki(&format!("{name}.pem"))),
        None,
        &chain,
    )
    .unwrap()
}

pub const MESSAGE: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: Bob <bob@example.org>\r\n\
Subject: Hello\r\n\
Date: Tue, 01 Jan 2030 00:00:00 +0000\r\n\
Message-ID: <1@example.org>\r\n\
\r\n\
Hello Bob.\r\n";

pub fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

pub fn sign_with(
    message: &[u8],
    id: &Identity,
    opaque: bool,
    digest: DigestAlgorithm,
    pss: bool,
) -> Vec<u8> {
    let options = SignOptions {
        opaque,
        digest,
        rsa_pss: pss,
        time: AT,
    };
    cachet::smime::sign_message(message, &[id], &options, &mut rng()).unwrap()
}

pub fn sign(message: &[u8], id: &Identity) -> Vec<u8> {
    sign_with(message, id, false, DigestAlgorithm::Sha256, false)
}

pub fn verify_at(
    message: &[u8],
    anchors: &[Certificate],
    extra: &[Certificate],
    time: UnixTime,
) -> VerifyReport {
    let options = VerifyOptions {
        trust_anchors: anchors,
        certificates: extra,
        crls: &[],
        time,
    };
    cachet::smime::verify_message(message, &options).unwrap()
}

pub fn verify(message: &[u8]) -> VerifyReport {
    verify_at(message, &anchors(), &[], AT)
}

/// The single signer's (status, code).
pub fn verdict(report: &VerifyReport) -> (&'static str, &'static str) {
    assert_eq!(report.signers.len(), 1, "expected one signer: {report:?}");
    assert_listed(report.signers[0].code, report.signers[0].status.as_str());
    (report.signers[0].status.as_str(), report.signers[0].code)
}

/// Every report code a test sees must be in the documented table, with its status.
pub fn assert_listed(code: &str, status: &str) {
    assert!(
        cachet::cms::verify::REPORT_CODES
            .iter()
            .any(|(c, s, _)| *c == code && *s == status),
        "{code}/{status} is not in REPORT_CODES"
    );
}

/// Verification against `anchors` at [`AT`], no extra certificates or CRLs.
pub fn verify_options(anchors: &[Certificate]) -> VerifyOptions<'_> {
    VerifyOptions {
        trust_anchors: anchors,
        certificates: &[],
        crls: &[],
        time: AT,
    }
}

/// `open` of `message` with the identity `who`'s key, the test PKI trusted, at [`AT`].
pub fn open_result(
    message: &[u8],
    who: &str,
) -> cachet::Result<cachet::smime::envelope::OpenReport> {
    let id = identity(who);
    let anchors = anchors();
    let options = verify_options(&anchors);
    cachet::smime::envelope::open(message, &[&id], &options, &mut rng())
}

pub fn open(message: &[u8], who: &str) -> cachet::smime::envelope::OpenReport {
    open_result(message, who).unwrap()
}

/// The code of the error `open` gives for `message` (which must fail).
pub fn open_error(message: &[u8], who: &str) -> &'static str {
    open_result(message, who).unwrap_err().code()
}

/// The type of each layer `open` reported, outermost first.
pub fn types(report: &cachet::smime::envelope::OpenReport) -> Vec<&'static str> {
    report
        .layers
        .iter()
        .map(cachet::smime::envelope::layer_type)
        .collect()
}
