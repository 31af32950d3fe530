//! Private key, PKCS#12 and identity import against OpenSSL fixtures and real PKCS#12 files
//! (tests/vectors/keys/, see SOURCES.md and make.sh there).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]

use std::time::{Duration, Instant};

use cachet::keys::pkcs12;
use cachet::{Identity, PrivateKey};
use der::{Decode, Encode};
use pkcs8::DecodePublicKey;
use signature::{Signer, Verifier};
use x509_cert::Certificate;

fn vector(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn certificate(name: &str) -> Certificate {
    let pem = vector(name);
    let block = cachet::pem::decode_all(&pem).unwrap().remove(0);
    Certificate::from_der(&block.der).unwrap()
}

/// Sign with `key`, verify with the public key of `cert`: proves the key is the certificate's.
fn assert_signs(key: &PrivateKey, cert: &Certificate) {
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let msg = b"Cachet proves key possession";
    match key {
        PrivateKey::Rsa(k) => {
            let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new((**k).clone());
            let sig = signer.sign(msg);
            let public = rsa::RsaPublicKey::from_public_key_der(&spki).unwrap();
            let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(public);
            verifier.verify(msg, &sig).unwrap();
            assert!(verifier.verify(b"another message", &sig).is_err());
        }
        PrivateKey::P256(k) => {
            let sig: p256::ecdsa::Signature = k.sign(msg);
            let public = p256::ecdsa::VerifyingKey::from_public_key_der(&spki).unwrap();
            public.verify(msg, &sig).unwrap();
            assert!(public.verify(b"another message", &sig).is_err());
        }
        PrivateKey::P384(k) => {
            let sig: p384::ecdsa::Signature = k.sign(msg);
            let public = p384::ecdsa::VerifyingKey::from_public_key_der(&spki).unwrap();
            public.verify(msg, &sig).unwrap();
            assert!(public.verify(b"another message", &sig).is_err());
        }
        PrivateKey::Ed25519(k) => {
            let sig = k.sign(msg);
            let public = ed25519_dalek::VerifyingKey::from_public_key_der(&spki).unwrap();
            public.verify(msg, &sig).unwrap();
            assert!(public.verify(b"another message", &sig).is_err());
        }
        PrivateKey::X25519(k) => {
            // Key agreement only: the certificate's key is the private key's public key.
            let public = x25519_dalek::PublicKey::from(k);
            let cert_key = cert.tbs_certificate().subject_public_key_info();
            assert_eq!(
                cert_key.subject_public_key.as_bytes(),
                Some(public.as_bytes().as_slice())
            );
        }
    }
}

const KEYS: &[(&str, Option<&str>, &str, &str)] = &[
    ("rsa2048.key.pem", None, "rsa2048.crt.pem", "RSA"),
    ("rsa2048.key.der", None, "rsa2048.crt.pem", "RSA"),
    ("rsa2048.enc.pem", Some("secret"), "rsa2048.crt.pem", "RSA"),
    (
        "rsa2048.enc-3des.pem",
        Some("secret"),
        "rsa2048.crt.pem",
        "RSA",
    ),
    ("rsa2048.pkcs1.pem", None, "rsa2048.crt.pem", "RSA"),
    ("rsa2048.pkcs1.der", None, "rsa2048.crt.pem", "RSA"),
    ("p256.key.pem", None, "p256.crt.pem", "P-256"),
    ("p256.key.der", None, "p256.crt.pem", "P-256"),
    ("p256.enc.pem", Some("secret"), "p256.crt.pem", "P-256"),
    ("p256.scrypt.pem", Some("secret"), "p256.crt.pem", "P-256"),
    ("p256.sec1.pem", None, "p256.crt.pem", "P-256"),
    ("p384.key.pem", None, "p384.crt.pem", "P-384"),
    ("p384.key.der", None, "p384.crt.pem", "P-384"),
    ("p384.enc.pem", Some("secret"), "p384.crt.pem", "P-384"),
    ("p384.enc-sha1.der", Some("secret"), "p384.crt.pem", "P-384"),
    ("p384.sec1.der", None, "p384.crt.pem", "P-384"),
    ("ed25519.key.pem", None, "ed25519.crt.pem", "Ed25519"),
    ("ed25519.key.der", None, "ed25519.crt.pem", "Ed25519"),
    (
        "ed25519.enc.pem",
        Some("secret"),
        "ed25519.crt.pem",
        "Ed25519",
    ),
];

#[test]
fn every_key_format_parses_and_matches_its_certificate() {
    for (file, password, cert_file, alg) in KEYS {
        let key =
            PrivateKey::parse(&vector(file), *password).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(key.algorithm_name(), *alg, "{file}");
        let cert = certificate(cert_file);
        let spki = cert.tbs_certificate().subject_public_key_info();
        assert!(key.matches(spki), "{file}");
        assert_eq!(&key.public_key_info().unwrap(), spki, "{file}");
        assert_signs(&key, &cert);
        // Round trip through the PKCS#8 form the key store will keep.
        let again = PrivateKey::parse(&key.to_pkcs8_der().unwrap(), None).unwrap();
        assert!(again.matches(spki), "{file}");
        // Debug never shows key material.
        assert_eq!(format!("{key:?}"), format!("PrivateKey({alg}, redacted)"));
        assert_eq!(key.rsa_bits(), (*alg == "RSA").then_some(2048));
    }
}

#[test]
fn keys_do_not_match_other_certificates() {
    let rsa = PrivateKey::parse(&vector("rsa2048.key.pem"), None).unwrap();
    let p256 = PrivateKey::parse(&vector("p256.key.pem"), None).unwrap();
    let leaf = PrivateKey::parse(&vector("chain-leaf.key.pem"), None).unwrap();
    for cert in [
        "p256.crt.pem",
        "p384.crt.pem",
        "ed25519.crt.pem",
        "chain-leaf.crt.pem",
    ] {
        assert!(!rsa.matches(
            certificate(cert)
                .tbs_certificate()
                .subject_public_key_info()
        ));
    }
    assert!(!p256.matches(
        certificate("chain-leaf.crt.pem")
            .tbs_certificate()
            .subject_public_key_info()
    ));
    assert!(!leaf.matches(
        certificate("p256.crt.pem")
            .tbs_certificate()
            .subject_public_key_info()
    ));
}

#[test]
fn encrypted_keys_need_the_right_password() {
    for file in [
        "rsa2048.enc.pem",
        "p256.scrypt.pem",
        "p384.enc-sha1.der",
        "ed25519.enc.pem",
        "rsa2048.enc-3des.pem",
    ] {
        let data = vector(file);
        assert_eq!(
            PrivateKey::parse(&data, None).unwrap_err().code(),
            "PASSWORD_REQUIRED",
            "{file}"
        );
        assert_eq!(
            PrivateKey::parse(&data, Some("wrong")).unwrap_err().code(),
            "BAD_PASSWORD",
            "{file}"
        );
        assert_eq!(
            PrivateKey::parse(&data, Some("")).unwrap_err().code(),
            "BAD_PASSWORD",
            "{file}"
        );
    }
}

#[test]
fn unsupported_and_malformed_keys() {
    let dsa = PrivateKey::parse(&vector("dsa.key.pem"), None).unwrap_err();
    assert_eq!(dsa.code(), "KEY_UNSUPPORTED");
    let k1 = PrivateKey::parse(&vector("secp256k1.key.pem"), None).unwrap_err();
    assert_eq!(k1.code(), "KEY_UNSUPPORTED");
    assert!(k1.to_string().contains("secp256k1"), "{k1}");
    assert_eq!(
        PrivateKey::parse(b"", None).unwrap_err().code(),
        "KEY_MALFORMED"
    );
    assert_eq!(
        PrivateKey::parse(b"\x30\x00", None).unwrap_err().code(),
        "KEY_MALFORMED"
    );
    assert_eq!(
        PrivateKey::parse(
            b"-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
            None
        )
        .unwrap_err()
        .code(),
        "PEM_MALFORMED"
    );
    // A certificate is not a key.
    assert_eq!(
        PrivateKey::parse(&vector("p256.crt.pem"), None)
            .unwrap_err()
            .code(),
        "KEY_MALFORMED"
    );
}

#[test]
fn truncated_and_corrupted_keys_are_errors() {
    for file in ["p256.key.der", "p384.enc-sha1.der", "rsa2048.pkcs1.der"] {
        let data = vector(file);
        for n in (0..data.len()).step_by(7) {
            assert!(
                PrivateKey::parse(data.get(..n).unwrap(), Some("secret")).is_err(),
                "{file} {n}"
            );
        }
        for i in (0..data.len()).step_by(11) {
            let mut bad = data.clone();
            bad[i] ^= 0x5a;
            let _ = PrivateKey::parse(&bad, Some("secret"));
        }
    }
}

const P12S: &[(&str, &str, &str)] = &[
    ("rsa2048.p12", "secret", "RSA"),
    ("p256.p12", "secret", "P-256"),
    ("p384.p12", "secret", "P-384"),
    ("ed25519.p12", "secret", "Ed25519"),
    ("rsa2048.legacy.p12", "secret", "RSA"),
    ("p256.legacy.p12", "secret", "P-256"),
    ("p256.nomac.p12", "secret", "P-256"),
    ("p384.noenc.p12", "secret", "P-384"),
    ("p384.rc2-128.p12", "secret", "P-384"),
    ("rsa2048.descert.p12", "secret", "RSA"),
    ("chain.p12", "secret", "P-256"),
    ("ed25519.sha384mac.p12", "secret", "Ed25519"),
    ("p256.sha512mac.p12", "secret", "P-256"),
    ("p256.utf8pw.p12", "pässwörd", "P-256"),
    ("p256.utf8pw.legacy.p12", "pässwörd", "P-256"),
    ("Alice.p12", "nss", "RSA"),
    ("Bob.p12", "nss", "RSA"),
    ("Dave.p12", "nss", "RSA"),
    ("Fran.p12", "nss", "RSA"),
    ("Fran-ec.p12", "nss", "P-384"),
    ("johndoe.p12", "", "RSA"),
];

#[test]
fn every_pkcs12_imports_with_key_and_certificate() {
    for (file, password, alg) in P12S {
        let p12 = pkcs12::parse(&vector(file), password).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(p12.keys.len(), 1, "{file}");
        assert!(!p12.certificates.is_empty(), "{file}");
        assert_eq!(p12.keys.len(), p12.key_attributes.len());
        assert_eq!(p12.certificates.len(), p12.certificate_attributes.len());
        let key = &p12.keys[0];
        assert_eq!(key.algorithm_name(), *alg, "{file}");
        let leaf = p12
            .certificates
            .iter()
            .find(|c| key.matches(c.tbs_certificate().subject_public_key_info()))
            .unwrap_or_else(|| panic!("{file}: no certificate matches the key"));
        assert_signs(key, leaf);

        let id = Identity::load(&vector(file), None, Some(password), &[]).unwrap();
        assert_eq!(&id.certificate, leaf, "{file}");
        assert_eq!(id.chain.len(), p12.certificates.len() - 1, "{file}");
        assert!(!id.chain.contains(leaf));
    }
}

#[test]
fn pkcs12_attributes_tie_key_and_certificate() {
    let p12 = pkcs12::parse(&vector("p256.p12"), "secret").unwrap();
    assert_eq!(p12.key_attributes[0].friendly_name.as_deref(), Some("p256"));
    let id = p12.key_attributes[0].local_key_id.as_ref().unwrap();
    assert_eq!(
        p12.certificate_attributes[0].local_key_id.as_ref(),
        Some(id)
    );
    let alice = pkcs12::parse(&vector("Alice.p12"), "nss").unwrap();
    assert_eq!(
        alice.key_attributes[0].friendly_name.as_deref(),
        Some("Alice")
    );
}

#[test]
fn pkcs12_chain_is_in_issuer_order() {
    let id = Identity::load(&vector("chain.p12"), None, Some("secret"), &[]).unwrap();
    assert_eq!(id.certificate, certificate("chain-leaf.crt.pem"));
    assert_eq!(id.chain, vec![certificate("chain-ca.crt.pem")]);
}

#[test]
fn pkcs12_wrong_or_missing_password() {
    for (file, password, _) in P12S {
        let data = vector(file);
        let wrong = if password.is_empty() { "x" } else { "wrong" };
        let err = pkcs12::parse(&data, wrong).unwrap_err();
        assert_eq!(err.code(), "BAD_PASSWORD", "{file}");
        let err = Identity::load(&data, None, Some(wrong), &[]).unwrap_err();
        assert_eq!(err.code(), "BAD_PASSWORD", "{file}");
        if !password.is_empty() {
            let err = Identity::load(&data, None, None, &[]).unwrap_err();
            assert_eq!(err.code(), "PASSWORD_REQUIRED", "{file}");
        }
    }
    // The empty password works without being given.
    assert!(Identity::load(&vector("johndoe.p12"), None, None, &[]).is_ok());
}

#[test]
fn truncated_pkcs12_is_an_error_not_a_panic() {
    for file in ["p256.legacy.p12", "Fran-ec.p12", "p256.nomac.p12"] {
        let data = vector(file);
        let step = (data.len() / 200).max(1);
        for n in (0..data.len()).step_by(step) {
            assert!(
                pkcs12::parse(data.get(..n).unwrap(), "secret").is_err(),
                "{file} {n}"
            );
        }
    }
}

#[test]
fn corrupted_pkcs12_is_an_error_not_a_panic() {
    // With a MAC every flipped byte in the authenticated content is BAD_PASSWORD; without one
    // (nomac) the parser meets the corruption itself.
    for file in ["p256.legacy.p12", "p256.nomac.p12", "Alice.p12"] {
        let data = vector(file);
        let password = if file == "Alice.p12" { "nss" } else { "secret" };
        let step = (data.len() / 300).max(1);
        for i in (0..data.len()).step_by(step) {
            for mask in [0x01, 0x80, 0xff] {
                let mut bad = data.clone();
                bad[i] ^= mask;
                let _ = pkcs12::parse(&bad, password);
            }
        }
    }
}

/// Rebuild DER with the element at `path` (child indexes from the top) replaced by `new`.
fn replace(der: &[u8], path: &[usize], new: &[u8]) -> Vec<u8> {
    let Some((&first, rest)) = path.split_first() else {
        return new.to_vec();
    };
    let outer = cachet::ber::read_tlv(der).unwrap().0;
    let kids = cachet::ber::children(outer.value).unwrap();
    let mut content = Vec::new();
    for (i, kid) in kids.iter().enumerate() {
        if i == first {
            content.extend(replace(kid.raw, rest, new));
        } else {
            content.extend_from_slice(kid.raw);
        }
    }
    tlv(outer.tag, &content)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[test]
fn absurd_iteration_counts_are_refused_quickly() {
    let huge = [0x02, 0x04, 0x7f, 0xff, 0xff, 0xff];
    let start = Instant::now();

    // PFX.macData.iterations
    let p12 = vector("p256.p12");
    let patched = replace(&p12, &[2, 2], &huge);
    assert_eq!(
        pkcs12::parse(&patched, "secret").unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    // A 9-byte INTEGER does not wrap around.
    let bigger = [0x02, 0x09, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x01];
    let patched = replace(&p12, &[2, 2], &bigger);
    assert_eq!(
        pkcs12::parse(&patched, "secret").unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );

    // EncryptedPrivateKeyInfo.algorithm(PBES2).parameters.kdf(PBKDF2).parameters.iterationCount
    let key = vector("p384.enc-sha1.der");
    let patched = replace(&key, &[0, 1, 0, 1, 1], &huge);
    assert_eq!(
        PrivateKey::parse(&patched, Some("secret"))
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );

    let scrypt = cachet::pem::decode_all(&vector("p256.scrypt.pem"))
        .unwrap()
        .remove(0)
        .der;
    // scrypt N = 0 and N = 3 are malformed, not a panic inside the pkcs5 crate.
    for n in [[0x02, 0x01, 0x00], [0x02, 0x01, 0x03]] {
        let patched = replace(&scrypt, &[0, 1, 0, 1, 1], &n);
        assert_eq!(
            PrivateKey::parse(&patched, Some("secret"))
                .unwrap_err()
                .code(),
            "KEY_MALFORMED"
        );
    }

    // scrypt N = 2^30
    let patched = replace(&scrypt, &[0, 1, 0, 1, 1], &[0x02, 0x04, 0x40, 0, 0, 0]);
    assert_eq!(
        PrivateKey::parse(&patched, Some("secret"))
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );

    // Legacy PBE, with the MAC dropped so that decryption is reached: the RC2-40 certificate
    // bag's iteration count, inside the authSafe's OCTET STRING.
    let legacy = vector("p256.legacy.p12");
    let pfx = cachet::ber::read_tlv(&legacy).unwrap().0;
    let kids = cachet::ber::children(pfx.value).unwrap();
    let auth_safe_info = kids[1];
    let octets =
        cachet::ber::children(cachet::ber::children(auth_safe_info.value).unwrap()[1].value)
            .unwrap()[0];
    let inner = replace(
        &cachet::ber::to_der(octets.value).unwrap(),
        &[0, 1, 0, 1, 1, 1, 1],
        &huge,
    );
    let new_octets = tlv(0x04, &inner);
    let new_info = replace(auth_safe_info.raw, &[1, 0], &new_octets);
    let mut content = kids[0].raw.to_vec();
    content.extend(new_info);
    let nomac = tlv(0x30, &content);
    assert_eq!(
        pkcs12::parse(&nomac, "secret").unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    // The same surgery without the patch still parses: the test reaches what it means to.
    let inner = cachet::ber::to_der(octets.value).unwrap();
    let new_info = replace(auth_safe_info.raw, &[1, 0], &tlv(0x04, &inner));
    let mut content = kids[0].raw.to_vec();
    content.extend(new_info);
    assert_eq!(
        pkcs12::parse(&tlv(0x30, &content), "secret")
            .unwrap()
            .keys
            .len(),
        1
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn identity_from_key_and_certificate_files() {
    let id = Identity::load(
        &vector("p256.key.pem"),
        Some(&vector("p256.crt.pem")),
        None,
        &[certificate("chain-ca.crt.pem")],
    )
    .unwrap();
    assert_eq!(id.certificate, certificate("p256.crt.pem"));
    assert_eq!(id.chain, vec![certificate("chain-ca.crt.pem")]);

    // Several certificates: the first matching one is the leaf, the others are the chain.
    let mut bundle = vector("chain-ca.crt.pem");
    bundle.extend(vector("chain-leaf.crt.pem"));
    let id = Identity::load(&vector("chain-leaf.key.pem"), Some(&bundle), None, &[]).unwrap();
    assert_eq!(id.certificate, certificate("chain-leaf.crt.pem"));
    assert_eq!(id.chain, vec![certificate("chain-ca.crt.pem")]);

    // Key and certificate in one PEM file, and a chain from the PEM file too.
    let mut both = vector("chain-leaf.key.pem");
    both.extend(vector("chain-ca.crt.pem"));
    both.extend(vector("chain-leaf.crt.pem"));
    let id = Identity::load(&both, None, None, &[]).unwrap();
    assert_eq!(id.certificate, certificate("chain-leaf.crt.pem"));
    assert_eq!(id.chain, vec![certificate("chain-ca.crt.pem")]);

    // DER certificate, encrypted key.
    let der = certificate("rsa2048.crt.pem").to_der().unwrap();
    let id = Identity::load(&vector("rsa2048.enc.pem"), Some(&der), Some("secret"), &[]).unwrap();
    assert_eq!(id.key.algorithm_name(), "RSA");

    let err = Identity::load(
        &vector("p256.key.pem"),
        Some(&vector("p384.crt.pem")),
        None,
        &[],
    );
    assert_eq!(err.unwrap_err().code(), "KEY_CERT_MISMATCH");
    let err = Identity::load(&vector("p256.key.pem"), None, None, &[]);
    assert_eq!(err.unwrap_err().code(), "CERT_MISSING");
    let err = Identity::load(
        &vector("p256.enc.pem"),
        Some(&vector("p256.crt.pem")),
        None,
        &[],
    );
    assert_eq!(err.unwrap_err().code(), "PASSWORD_REQUIRED");

    // Neither a key nor a PKCS#12.
    let err = Identity::load(&[0x30, 0x03, 0x02, 0x01, 0x05], None, None, &[]);
    assert_eq!(err.unwrap_err().code(), "KEY_MALFORMED");
    let err = Identity::load(b"hello", None, None, &[]);
    assert_eq!(err.unwrap_err().code(), "KEY_MALFORMED");

    // A PKCS#12 whose certificate is overridden by the given one.
    let err = Identity::load(
        &vector("p256.p12"),
        Some(&vector("p384.crt.pem")),
        Some("secret"),
        &[],
    );
    assert_eq!(err.unwrap_err().code(), "KEY_CERT_MISMATCH");
    let id = Identity::load(
        &vector("p256.p12"),
        Some(&vector("p256.crt.pem")),
        Some("secret"),
        &[],
    );
    assert_eq!(id.unwrap().certificate, certificate("p256.crt.pem"));
}
