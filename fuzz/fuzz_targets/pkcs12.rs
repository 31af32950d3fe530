//! PKCS#12 files with a fixed password, and Identity::load on them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cachet::keys::pkcs12::parse(data, "password");
    let _ = cachet::Identity::load(data, None, Some("password"), &[]);
});
