//! Private keys: PKCS#8 (plain and encrypted), PKCS#1, SEC1, PEM or DER.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cachet::keys::PrivateKey::parse(data, None);
    let _ = cachet::keys::PrivateKey::parse(data, Some("password"));
});
