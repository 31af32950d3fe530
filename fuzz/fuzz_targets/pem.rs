//! PEM armour.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cachet::pem::is_pem(data);
    let _ = cachet::pem::decode_all(data);
    let _ = cachet::pem::pem_or_der(data);
});
