//! Key-wrap and padding oracles (Bleichenbacher 1998, Jager et al. 2012 for CMS): every failure
//! after a RecipientInfo is chosen -- a modified wrapped key (RSA v1.5, RSA-OAEP, ECDH + AES key
//! wrap), a modified GCM tag, broken CBC padding, a v1.5 block with invalid padding -- is the
//! same `DECRYPTION_FAILED`. Timing: benches/marvin.rs.

use cachet::cms::cipher::ContentCipher;
use rsa::pkcs8::DecodePublicKey;

use crate::common::{self, MESSAGE};
use crate::support::{cert, ciphertext, decrypt_code, encrypt, join, replace, split, wrapped_key};

const CIPHERS: [ContentCipher; 3] = [
    ContentCipher::Aes256Gcm,
    ContentCipher::Aes128Gcm,
    ContentCipher::Aes256Cbc,
];

#[test]
fn modified_wrapped_keys_fail_alike() {
    for (who, oaep) in [
        ("bob-rsa", false),
        ("bob-rsa", true),
        ("bob-p256", false),
        ("alice-p384", false),
    ] {
        for cipher in CIPHERS {
            let enc = encrypt(MESSAGE, who, cipher, oaep);
            assert_eq!(decrypt_code(&enc, who), "OK");
            let (head, der) = split(&enc);
            let key = wrapped_key(&der);
            for pos in [0, key.len() / 2, key.len() - 1] {
                for flip in [0x01, 0x80] {
                    let mut bad = key.clone();
                    bad[pos] ^= flip;
                    let msg = join(&head, &replace(&der, &key, &bad));
                    let code = decrypt_code(&msg, who);
                    // RSA recipients continue with a random content key (RFC 3218); under CBC
                    // that key passes the padding check about once in 256: garbage then, never
                    // another error. ECDH (key wrap integrity) and GCM always fail.
                    let cbc_luck = code == "OK" && !cipher.is_authenticated() && who == "bob-rsa";
                    assert!(
                        code == "DECRYPTION_FAILED" || cbc_luck,
                        "{who} oaep={oaep} {cipher:?} byte {pos}: {code}"
                    );
                }
            }
        }
    }
}

#[test]
fn modified_gcm_tag_fails_alike() {
    for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes128Gcm] {
        let enc = encrypt(MESSAGE, "bob-p256", cipher, false);
        let (head, der) = split(&enc);
        let tag = crate::support::envelope(&der).mac.unwrap();
        assert_eq!(tag.len(), 16);
        for pos in [0, 15] {
            let mut bad = tag.clone();
            bad[pos] ^= 0x01;
            let msg = join(&head, &replace(&der, &tag, &bad));
            assert_eq!(decrypt_code(&msg, "bob-p256"), "DECRYPTION_FAILED");
        }
    }
}

/// Corrupt the last byte of the second-to-last block: the padding byte becomes > 16.
#[test]
fn broken_cbc_padding_fails_alike() {
    for cipher in [ContentCipher::Aes128Cbc, ContentCipher::Aes256Cbc] {
        for who in ["bob-rsa", "bob-p256"] {
            let enc = encrypt(MESSAGE, who, cipher, false);
            let (head, der) = split(&enc);
            let ct = ciphertext(&der);
            let mut bad = ct.clone();
            let n = bad.len();
            bad[n - 17] ^= 0xff;
            let msg = join(&head, &replace(&der, &ct, &bad));
            assert_eq!(decrypt_code(&msg, who), "DECRYPTION_FAILED");
            // A replaced last block decrypts to noise: the same error, except when the noise
            // happens to end in valid padding (about once in 256; CBC cannot tell).
            let short = join(&head, &replace(&der, &ct[n - 16..], &[0u8; 16]));
            let code = decrypt_code(&short, who);
            assert!(code == "DECRYPTION_FAILED" || code == "OK", "{code}");
        }
    }
}

/// Chosen RSA v1.5 blocks: valid padding around a wrong CEK, valid padding around a CEK of the
/// wrong length, and invalid padding. All three reach content decryption (implicit rejection)
/// and fail there with the same code; none errors earlier.
#[test]
fn rsa_v15_invalid_padding_is_indistinguishable_from_a_wrong_key() {
    use rand_core::Rng;
    let public = rsa::RsaPublicKey::from_public_key_der(
        &der::Encode::to_der(cert("bob-rsa").tbs_certificate().subject_public_key_info()).unwrap(),
    )
    .unwrap();
    let mut rng = common::rng();
    for cipher in CIPHERS {
        let enc = encrypt(MESSAGE, "bob-rsa", cipher, false);
        let (head, der) = split(&enc);
        let key = wrapped_key(&der);
        assert_eq!(key.len(), 256);
        let mut wrong_cek = vec![0u8; cipher.key_len()];
        rng.fill_bytes(&mut wrong_cek);
        let valid_wrong = public
            .encrypt(&mut rng, rsa::Pkcs1v15Encrypt, &wrong_cek)
            .unwrap();
        let valid_short = public
            .encrypt(&mut rng, rsa::Pkcs1v15Encrypt, &wrong_cek[..5])
            .unwrap();
        let mut invalid = vec![0u8; 256];
        rng.fill_bytes(&mut invalid[1..]); // below the modulus, random padding: invalid
        let zeros = vec![0u8; 256];
        let codes: Vec<&str> = [valid_wrong, valid_short, invalid, zeros]
            .iter()
            .map(|block| decrypt_code(&join(&head, &replace(&der, &key, block)), "bob-rsa"))
            .collect();
        // With CBC a random content key passes the padding check about once in 256 tries
        // (RFC 3218 §2.3.2 accepts this): garbage then, marked unauthenticated, but never a
        // different error. GCM always fails.
        let ok = |c: &&str| *c == "DECRYPTION_FAILED" || (!cipher.is_authenticated() && *c == "OK");
        assert!(codes.iter().all(ok), "{cipher:?}: {codes:?}");
        // Through open: the same layer code (or, for CBC, an unauthenticated layer).
        let bad = join(&head, &replace(&der, &key, &[0u8; 256]));
        let r = crate::support::open(&bad, "bob-rsa");
        use cachet::smime::envelope::Layer;
        let fine = match &r.layers[..] {
            [Layer::Undecryptable {
                code: "DECRYPTION_FAILED",
            }] => true,
            [Layer::Encrypted {
                authenticated: false,
                ..
            }, ..] => !cipher.is_authenticated(),
            _ => false,
        };
        assert!(fine, "{cipher:?}: {:?}", r.layers);
    }
}

/// ECDH: the originator's ephemeral public key modified (an invalid point, or another valid one
/// giving a wrong key-encryption key): the same error.
#[test]
fn modified_ephemeral_key_fails_alike() {
    use cms::enveloped_data::{OriginatorIdentifierOrKey, RecipientInfo};
    for who in ["bob-p256", "alice-p384"] {
        for cipher in CIPHERS {
            let enc = encrypt(MESSAGE, who, cipher, false);
            let (head, der) = split(&enc);
            let RecipientInfo::Kari(k) = &crate::support::envelope(&der).recipients[0] else {
                panic!("expected KARI")
            };
            let OriginatorIdentifierOrKey::OriginatorKey(key) = &k.originator else {
                panic!("expected an ephemeral key")
            };
            let point = key.public_key.raw_bytes().to_vec();
            for (pos, flip) in [(0, 0x01), (5, 0x01), (point.len() - 1, 0x01)] {
                let mut bad = point.clone();
                bad[pos] ^= flip;
                let msg = join(&head, &replace(&der, &point, &bad));
                assert_eq!(
                    decrypt_code(&msg, who),
                    "DECRYPTION_FAILED",
                    "{who} {cipher:?} {pos}"
                );
            }
        }
    }
}
