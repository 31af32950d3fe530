//! A whole message through `open` (every signed/encrypted layer), `verify_message`,
//! `decrypt_message`, and the WebCrypto split (`external_content`, then `open_after` and
//! `decrypted_message` with the bytes themselves as the "plaintext" and as a failed layer), with
//! fixed identities, anchors and time.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ids: Vec<_> = cachet_fuzz::identities().iter().collect();
    let options = cachet_fuzz::verify_options();
    let _ = cachet::smime::envelope::open(data, &ids, &options, &mut cachet_fuzz::rng());
    let _ = cachet::smime::verify_message(data, &options);
    let _ = cachet::smime::envelope::decrypt_message(data, &ids, &mut cachet_fuzz::rng());
    use cachet::smime::envelope::{self, FirstLayer};
    if let Ok(Some(found)) = envelope::external_content(data, &ids, &mut cachet_fuzz::rng()) {
        let data_of = found.data();
        let first = FirstLayer::Decrypted {
            content: &data_of,
            cipher: found.cipher,
        };
        let _ = envelope::open_after(data, Some(first), &ids, &options, &mut cachet_fuzz::rng());
        let _ = envelope::decrypted_message(data, &data_of, found.cipher);
    }
    let first = FirstLayer::Decrypted {
        content: data,
        cipher: cachet::cms::cipher::ContentCipher::Aes256Gcm,
    };
    let _ = envelope::open_after(data, Some(first), &ids, &options, &mut cachet_fuzz::rng());
    let _ = envelope::open_after(
        data,
        Some(FirstLayer::Failed),
        &ids,
        &options,
        &mut cachet_fuzz::rng(),
    );
});
