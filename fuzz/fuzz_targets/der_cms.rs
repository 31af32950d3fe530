//! DER/BER and CMS: BER normalisation, ContentInfo/SignedData parsing and verification, a
//! decryption attempt with fixed identities (and their RSA key-transport requests), and the
//! in-place path for large envelopes (the encrypted content located from the front, the rest
//! read without it, whose requests must be those of the whole envelope).
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
        // The RSA RecipientInfos WebCrypto or Node could decrypt (the JS shim asks first).
        for id in &ids {
            let _ = cachet::cms::envelope::transport_requests(data, id);
        }
    }
    if let Some(at) = cachet::cms::envelope::locate_content(data) {
        let head = data.get(..at.content.start).unwrap_or_default();
        let tail = data.get(at.content.end..).unwrap_or_default();
        let ids: Vec<_> = cachet_fuzz::identities().iter().collect();
        for id in &ids {
            let hollow = cachet::smime::envelope::transport_requests_hollow(&at, head, tail, id);
            if let (Ok(h), Ok(w)) = (hollow, cachet::cms::envelope::transport_requests(data, id)) {
                assert_eq!(h, w, "requests of the hollowed envelope");
            }
        }
        if let Ok(hollowed) = cachet::cms::envelope::hollow(&at, head, tail) {
            let _ =
                cachet::cms::envelope::external_content(&hollowed, &ids, &mut cachet_fuzz::rng());
        }
    }
});
