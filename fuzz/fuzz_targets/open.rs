//! A whole message through `open` (every signed/encrypted layer), `verify_message` and
//! `decrypt_message`, with fixed identities, anchors and time.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ids: Vec<_> = cachet_fuzz::identities().iter().collect();
    let options = cachet_fuzz::verify_options();
    let _ = cachet::smime::envelope::open(data, &ids, &options, &mut cachet_fuzz::rng());
    let _ = cachet::smime::verify_message(data, &options);
    let _ = cachet::smime::envelope::decrypt_message(data, &ids, &mut cachet_fuzz::rng());
});
