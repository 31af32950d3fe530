//! Fixtures shared by the fuzz targets: the test PKI's identities and anchors, loaded once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use cachet::{x509, Identity, UnixTime};
use x509_cert::Certificate;

/// The test PKI's verification time (tests/vectors/pki/README.md): 2030-01-01.
pub const AT: UnixTime = UnixTime(1_893_456_000);

const INTER: &[u8] = include_bytes!("../../tests/vectors/pki/inter-ca.pem");
const ROOT: &[u8] = include_bytes!("../../tests/vectors/pki/root-ca.pem");

fn load(key: &[u8], cert: &[u8]) -> Identity {
    let chain = x509::parse_certificates(INTER).expect("fixture");
    Identity::load(key, Some(cert), None, &chain).expect("fixture")
}

/// bob-rsa and bob-p256: recipients of the seed messages.
pub fn identities() -> &'static [Identity] {
    static IDS: OnceLock<Vec<Identity>> = OnceLock::new();
    IDS.get_or_init(|| {
        vec![
            load(
                include_bytes!("../../tests/vectors/pki/bob-rsa.key"),
                include_bytes!("../../tests/vectors/pki/bob-rsa.pem"),
            ),
            load(
                include_bytes!("../../tests/vectors/pki/bob-p256.key"),
                include_bytes!("../../tests/vectors/pki/bob-p256.pem"),
            ),
        ]
    })
}

/// The test PKI's root (and intermediate) as trust anchors.
pub fn anchors() -> &'static [Certificate] {
    static A: OnceLock<Vec<Certificate>> = OnceLock::new();
    A.get_or_init(|| x509::parse_certificates(ROOT).expect("fixture"))
}

/// The test PKI's intermediate CA.
pub fn intermediates() -> &'static [Certificate] {
    static I: OnceLock<Vec<Certificate>> = OnceLock::new();
    I.get_or_init(|| x509::parse_certificates(INTER).expect("fixture"))
}

/// The operating system's random number generator (only decryption's blinding uses it).
pub fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// The verification options every target uses.
pub fn verify_options() -> cachet::smime::VerifyOptions<'static> {
    cachet::smime::VerifyOptions {
        trust_anchors: anchors(),
        certificates: intermediates(),
        crls: &[],
        time: AT,
    }
}
