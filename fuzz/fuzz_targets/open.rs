//! A whole message through `open` (every signed/encrypted layer), `verify_message`,
//! `decrypt_message`, and the WebCrypto split (`external_content`, then `open_after` and
//! `decrypted_message` with the bytes themselves as the "plaintext" and as a failed layer), with
//! fixed identities, anchors and time. The bytes as a large decrypted plaintext read in pieces
//! (`open_stand_in`) must open as they do whole whenever that answers.
#![no_main]

use cachet::mime::skeleton::Skeleton;
use cachet::smime::envelope::{self, FirstLayer};
use cachet::smime::Detached;
use libfuzzer_sys::fuzz_target;

/// `open_stand_in` of `plaintext` (pieces of a size the input picks) against `open_after`.
fn stand_in_agrees(plaintext: &[u8], options: &cachet::smime::VerifyOptions<'_>) {
    const HEADER: &[u8] = b"From: Alice <alice@example.org>\r\nSubject: x\r\nMIME-Version: 1.0\r\n\
        Content-Type: application/pkcs7-mime; smime-type=enveloped-data\r\n\r\n";
    let cipher = cachet::cms::cipher::ContentCipher::Aes256Gcm;
    let piece = 1 + usize::from(plaintext.last().copied().unwrap_or(0)) % 61;
    let mut skeleton = Skeleton::new();
    for p in plaintext.chunks(piece) {
        if !skeleton.feed(p) {
            break;
        }
    }
    let Some(read) = skeleton.finish() else {
        return;
    };
    let found = Detached::find(&read);
    let digests: Vec<_> = found
        .iter()
        .flat_map(|f| {
            f.digests
                .iter()
                .filter_map(|d| Some((*d, d.digest(plaintext.get(f.content.clone())?)?)))
        })
        .collect();
    let Ok(Some((report, range))) =
        envelope::open_stand_in(HEADER, cipher, &read, found.as_ref(), options, &digests)
    else {
        return;
    };
    let first = FirstLayer::Decrypted {
        content: plaintext,
        cipher,
    };
    let whole = envelope::open_after(HEADER, Some(first), &[], options, &mut cachet_fuzz::rng())
        .expect("the stand-in opened what the whole plaintext does not");
    let view = |r: &envelope::OpenReport| {
        let layers: Vec<String> = r
            .layers
            .iter()
            .map(|l| match l {
                envelope::Layer::Signed { signers, .. } => format!(
                    "{:?}",
                    signers
                        .iter()
                        .map(|s| (s.status, s.code))
                        .collect::<Vec<_>>()
                ),
                other => envelope::layer_type(other).to_string(),
            })
            .collect();
        format!(
            "{layers:?} {} {} {:?}",
            r.authenticated, r.signed_valid, r.protected
        )
    };
    assert_eq!(view(&report), view(&whole));
    assert_eq!(plaintext.get(range), Some(whole.content.as_slice()));
}

fuzz_target!(|data: &[u8]| {
    let ids: Vec<_> = cachet_fuzz::identities().iter().collect();
    let options = cachet_fuzz::verify_options();
    let _ = cachet::smime::envelope::open(data, &ids, &options, &mut cachet_fuzz::rng());
    let _ = cachet::smime::verify_message(data, &options);
    let _ = cachet::smime::envelope::decrypt_message(data, &ids, &mut cachet_fuzz::rng());
    stand_in_agrees(data, &options);
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
