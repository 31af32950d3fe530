//! What Cachet writes, it reads: any input `sign_message`, `encrypt_message` or `seal` takes as a
//! message comes out as a message `open` reads, whose outer layers are the ones written (a
//! signature that holds cryptographically, an encryption layer the recipient decrypts); what the
//! input held inside (its own layers, for other keys, or malformed) is reported as it is.
//! (tests/js/hostile.test.mjs found the first such message: `seal` of a part that only claimed
//! to be enveloped-data, which `open` then refused whole.) Signs and encrypts with bob-p256
//! (fast) at the test PKI's time.
#![no_main]

use cachet::algorithms::DigestAlgorithm;
use cachet::cms::cipher::ContentCipher;
use cachet::smime::envelope::{self, EncryptOptions, Layer};
use cachet::smime::protect::Policy;
use cachet::smime::seal::{self, SealOptions};
use cachet::smime::{self, SignOptions, SignerStatus};
use libfuzzer_sys::fuzz_target;

/// `open` reads `written`, and its outer layers are the ones written (`wrote`: "signed",
/// "encrypted", outermost first) with intact signatures; what was inside the input (its own
/// layers, for other keys or malformed) may follow, reported as it is.
fn reads_back(written: &[u8], wrote: &[&str], what: &str) {
    let bob = &cachet_fuzz::identities()[1];
    let report = envelope::open(
        written,
        &[bob],
        &cachet_fuzz::verify_options(),
        &mut cachet_fuzz::rng(),
    )
    .unwrap_or_else(|e| panic!("{what}: open refused what was written: {}", e.code()));
    assert!(
        report.layers.len() >= wrote.len(),
        "{what}: {} layers",
        report.layers.len()
    );
    for (layer, want) in report.layers.iter().zip(wrote) {
        match (layer, *want) {
            (Layer::Signed { signers, .. }, "signed") => assert!(
                !signers.is_empty()
                    && signers.iter().all(|s| !matches!(
                        s.status,
                        SignerStatus::InvalidSignature | SignerStatus::ContentAltered
                    )),
                "{what}: the signature does not hold: {:?}",
                signers
                    .iter()
                    .map(|s| (s.status, s.code))
                    .collect::<Vec<_>>()
            ),
            (Layer::Encrypted { .. }, "encrypted") => {}
            (other, want) => panic!(
                "{what}: {} where {want} was written",
                envelope::layer_type(other)
            ),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let bob = &cachet_fuzz::identities()[1];
    let recipients = [&bob.certificate];
    // The first byte picks the variant: opaque signing, the content cipher, header protection,
    // its policy and the legacy display element.
    let pick = data.first().copied().unwrap_or(0);
    let opaque = pick & 1 == 1;
    let sign = SignOptions {
        opaque,
        digest: DigestAlgorithm::Sha256,
        rsa_pss: false,
        time: cachet_fuzz::AT,
    };
    let mut rng = cachet_fuzz::rng();
    if let Ok(signed) = smime::sign_message(data, &[bob], &sign, &mut rng) {
        reads_back(&signed, &["signed"], "sign_message");
    }
    let encrypt = EncryptOptions {
        cipher: [
            ContentCipher::Aes256Gcm,
            ContentCipher::Aes128Cbc,
            ContentCipher::ChaCha20Poly1305,
            ContentCipher::Aes256Cbc,
        ][usize::from(pick >> 1) & 3],
        ..EncryptOptions::default()
    };
    if let Ok(encrypted) = envelope::encrypt_message(data, &recipients, &encrypt, &mut rng) {
        reads_back(&encrypted, &["encrypted"], "encrypt_message");
    }
    let options = SealOptions {
        signers: &[bob],
        sign,
        recipients: &recipients,
        encrypt,
        header_protection: pick & 8 == 0,
        policy: [Policy::Baseline, Policy::Shy, Policy::NoConfidentiality]
            [usize::from(pick >> 4) % 3],
        legacy_display: pick & 64 == 0,
    };
    if let Ok(sealed) = seal::seal(data, &options, &mut rng) {
        reads_back(&sealed, &["encrypted", "signed"], "seal");
    }
});
