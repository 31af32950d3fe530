//! DER/BER and CMS: BER normalisation, ContentInfo/SignedData parsing and verification, and a
//! decryption attempt with fixed identities.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cachet::ber::to_der(data);
    if let Ok(parsed) = cachet::cms::verify::parse(data) {
        let content = parsed.content.clone().unwrap_or_default();
        let _ = cachet::cms::verify::verify_signers(
            &parsed,
            &content,
            &cachet_fuzz::verify_options(),
            Some("alice@example.org"),
        );
    }
    if cachet::cms::envelope::is_enveloped(data) {
        let ids: Vec<_> = cachet_fuzz::identities().iter().collect();
        let _ = cachet::cms::envelope::decrypt(data, &ids, &mut cachet_fuzz::rng());
    }
});
