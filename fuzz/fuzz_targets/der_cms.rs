//! DER/BER and CMS: BER normalisation, ContentInfo/SignedData parsing and verification, a
//! decryption attempt with fixed identities (and their RSAES-OAEP requests), and the in-place
//! path for large envelopes (the encrypted content located from the front, the rest read
//! without it).
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
        // The RSAES-OAEP RecipientInfos WebCrypto could decrypt (the JS shim asks first).
        for id in &ids {
            let _ = cachet::cms::envelope::transport_requests(data, id);
        }
    }
    if let Some(at) = cachet::cms::envelope::locate_content(data) {
        let head = data.get(..at.content.start).unwrap_or_default();
        let tail = data.get(at.content.end..).unwrap_or_default();
        if let Ok(hollowed) = cachet::cms::envelope::hollow(&at, head, tail) {
            let ids: Vec<_> = cachet_fuzz::identities().iter().collect();
            let _ =
                cachet::cms::envelope::external_content(&hollowed, &ids, &mut cachet_fuzz::rng());
        }
    }
});
