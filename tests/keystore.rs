//! The key store's core against OpenSSL: keys protected at rest and PKCS#12 exports (modern and
//! legacy) are read by `openssl pkcs8` / `openssl pkcs12`, and every PKCS#12 fixture survives an
//! import → protect → unlock → export → import round trip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use cachet::keys::store::{self, ExportOptions};
use cachet::Identity;
use der::Encode;

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn read(path: &str) -> Vec<u8> {
    let path = format!("{}/tests/vectors/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Run openssl with `input` on stdin; returns (success, stdout, stderr).
fn openssl(args: &[&str], input: &[u8]) -> (bool, Vec<u8>, String) {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl is on PATH (.ci/setup installs it)");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn alice() -> Identity {
    Identity::load(&read("pki/alice-rsa.p12"), None, Some("test"), &[]).unwrap()
}

#[test]
fn openssl_reads_a_protected_key() {
    let id = alice();
    let protected = store::protect_key(&id.key, "s3cret phrase", 2000, &mut rng()).unwrap();
    let (ok, out, err) = openssl(
        &[
            "pkcs8",
            "-inform",
            "DER",
            "-outform",
            "DER",
            "-passin",
            "pass:s3cret phrase",
        ],
        &protected,
    );
    assert!(ok, "{err}");
    // OpenSSL writes RSA keys as PKCS#1: compare the keys, not the encodings.
    let key = cachet::PrivateKey::parse(&out, None).unwrap();
    assert!(*key.to_pkcs8_der().unwrap() == *id.key.to_pkcs8_der().unwrap());
    let (ok, _, _) = openssl(
        &["pkcs8", "-inform", "DER", "-passin", "pass:wrong"],
        &protected,
    );
    assert!(!ok);
}

#[test]
fn openssl_reads_our_pkcs12_exports() {
    let id = alice();
    let leaf_pem = cachet::pem::encode("CERTIFICATE", &id.certificate.to_der().unwrap());
    let want_key = id.key.to_pkcs8_der().unwrap();
    for legacy in [false, true] {
        let options = ExportOptions {
            legacy,
            iterations: if legacy { 2048 } else { 10_000 },
            friendly_name: Some("Alice".into()),
        };
        let p12 = store::export_pkcs12(&id, "export pw", &options, &mut rng()).unwrap();
        let mut args = vec!["pkcs12", "-info", "-passin", "pass:export pw", "-noenc"];
        if legacy {
            args.push("-legacy");
        }
        let (ok, out, err) = openssl(&args, &p12);
        assert!(ok, "legacy={legacy}: {err}");
        let text = String::from_utf8_lossy(&out);
        if legacy {
            assert!(err.contains("MAC: sha1"), "{err}");
            assert!(err.contains("pbeWithSHA1And3-KeyTripleDES-CBC"), "{err}");
        } else {
            assert!(err.contains("MAC: sha256"), "{err}");
            assert!(err.contains("PBES2, PBKDF2, AES-256-CBC"), "{err}");
        }
        assert!(text.contains(leaf_pem.trim()), "leaf certificate missing");
        assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 2, "{text}");
        assert!(text.contains("friendlyName: Alice"), "{text}");
        // The key OpenSSL decrypted is ours.
        let (ok, key_der, err) = openssl(&["pkcs8", "-topk8", "-nocrypt", "-outform", "DER"], &out);
        assert!(ok, "{err}");
        assert!(key_der == *want_key, "OpenSSL decrypted another key");
        // A wrong password fails the MAC.
        let mut bad = args.clone();
        bad[3] = "pass:nope";
        assert!(!openssl(&bad, &p12).0);
    }
}

/// Every PKCS#12 fixture: import, protect at rest, unlock, export (modern and legacy), import.
#[test]
fn every_fixture_survives_the_store() {
    let mut files: Vec<(String, &str)> = Vec::new();
    for (dir, password) in [("keys", "secret"), ("pki", "test")] {
        let path = format!("{}/tests/vectors/{dir}", env!("CARGO_MANIFEST_DIR"));
        for entry in std::fs::read_dir(path).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".p12") {
                let password = match name.as_str() {
                    "Alice.p12" | "Bob.p12" | "Dave.p12" | "Fran.p12" | "Fran-ec.p12" => "nss",
                    "johndoe.p12" => "",
                    "p256.utf8pw.p12" | "p256.utf8pw.legacy.p12" => "pässwörd",
                    _ => password,
                };
                files.push((format!("{dir}/{name}"), password));
            }
        }
    }
    assert!(files.len() >= 25, "{}", files.len());
    for (file, password) in files {
        let id = Identity::load(&read(&file), None, Some(password), &[])
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let cert = id.certificate.to_der().unwrap();
        let protected = store::protect_key(&id.key, "at rest", 1000, &mut rng()).unwrap();
        let unlocked = Identity::load(&protected, Some(&cert), Some("at rest"), &id.chain)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(unlocked.certificate, id.certificate, "{file}");
        assert_eq!(unlocked.chain, id.chain, "{file}");
        for legacy in [false, true] {
            let options = ExportOptions {
                legacy,
                iterations: 1000,
                friendly_name: None,
            };
            let p12 = store::export_pkcs12(&unlocked, "backup", &options, &mut rng()).unwrap();
            let back = Identity::load(&p12, None, Some("backup"), &[])
                .unwrap_or_else(|e| panic!("{file} legacy={legacy}: {e}"));
            assert_eq!(back.certificate, id.certificate, "{file}");
            assert_eq!(
                *back.key.to_pkcs8_der().unwrap(),
                *id.key.to_pkcs8_der().unwrap(),
                "{file}"
            );
        }
    }
}
