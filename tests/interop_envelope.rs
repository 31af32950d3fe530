//! Interop of S/MIME encryption with real peers, both ways: OpenSSL (`openssl cms`), NSS
//! (`cmsutil`), gpgsm and BouncyCastle 1.72 (through `tests/interop/BcEnvelope.java`) decrypt what
//! Cachet encrypts, Cachet decrypts what they encrypt, a signed-then-encrypted message opens in
//! OpenSSL, Ed25519 signatures cross both ways with BouncyCastle, and a flipped GCM tag is rejected
//! by the peers too. See tests/interop/README.md for what each peer can and cannot do.
//!
//! A missing peer (binary, JDK or BouncyCastle jar) FAILS the test with a hint to run `.ci/setup`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
#[path = "interop/peers.rs"]
mod peers;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use cachet::algorithms::DigestAlgorithm;
use cachet::cms::cipher::ContentCipher;
use cachet::smime::envelope::{self, DecryptedMessage, EncryptOptions, Layer};
use cachet::smime::{SignOptions, VerifyOptions};
use peers::{
    b64_decode, b64_lines, content_type, describe, head_body, message, now, openssl,
    openssl_verify, pki_path, read, replace_once, require, run, run_ok, tool, wrap_detached,
    wrap_opaque, Gpgsm, Nss, Scratch, ENTITY, HEADERS,
};
use sha1::Digest;

// ---- fixtures -------------------------------------------------------------------------------

/// The ciphers Cachet encrypts with.
const CIPHERS: [ContentCipher; 4] = [
    ContentCipher::Aes256Gcm,
    ContentCipher::Aes128Gcm,
    ContentCipher::Aes256Cbc,
    ContentCipher::Aes128Cbc,
];

/// A recipient kind: (certificate name, RSA-OAEP, label, key-encryption OID on the wire).
type Recipient = (&'static str, bool, &'static str, &'static str);

const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const RSAES_OAEP: &str = "1.2.840.113549.1.1.7";
const STD_DH_SHA1KDF: &str = "1.3.133.16.840.63.0.2";
const STD_DH_SHA256KDF: &str = "1.3.132.1.11.1";
const STD_DH_SHA384KDF: &str = "1.3.132.1.11.2";

/// Every recipient kind Cachet encrypts to. Cachet picks the KDF by curve (RFC 5753 / 8551).
const RECIPIENTS: [Recipient; 4] = [
    ("bob-rsa", false, "rsa-v1.5", RSA_ENCRYPTION),
    ("bob-rsa", true, "rsa-oaep", RSAES_OAEP),
    ("bob-p256", false, "ecdh-p256", STD_DH_SHA256KDF),
    ("alice-p384", false, "ecdh-p384", STD_DH_SHA384KDF),
];

fn cipher_oid(cipher: ContentCipher) -> &'static str {
    match cipher {
        ContentCipher::Aes128Cbc => "2.16.840.1.101.3.4.1.2",
        ContentCipher::Aes256Cbc => "2.16.840.1.101.3.4.1.42",
        ContentCipher::Aes128Gcm => "2.16.840.1.101.3.4.1.6",
        ContentCipher::Aes256Gcm => "2.16.840.1.101.3.4.1.46",
        ContentCipher::DesEde3Cbc => "1.2.840.113549.3.7",
        ContentCipher::Aes192Cbc => "2.16.840.1.101.3.4.1.22",
        ContentCipher::Aes192Gcm => "2.16.840.1.101.3.4.1.26",
        ContentCipher::ChaCha20Poly1305 => "1.2.840.113549.1.9.16.3.18",
        other => panic!("no OID here for {other:?}"),
    }
}

/// The message a peer's decryption must give back through Cachet: outer header fields, then the
/// entity the peer encrypted.
fn expected_message() -> Vec<u8> {
    message()
}

// ---- Cachet ---------------------------------------------------------------------------------

fn encrypt_ours(to: &[&str], cipher: ContentCipher, rsa_oaep: bool) -> Vec<u8> {
    encrypt_message_ours(&message(), to, cipher, rsa_oaep)
}

fn encrypt_message_ours(
    message: &[u8],
    to: &[&str],
    cipher: ContentCipher,
    rsa_oaep: bool,
) -> Vec<u8> {
    let certs: Vec<_> = to
        .iter()
        .map(|n| common::certs(&format!("pki/{n}.pem")).remove(0))
        .collect();
    let refs: Vec<_> = certs.iter().collect();
    envelope::encrypt_message(
        message,
        &refs,
        &EncryptOptions {
            cipher,
            rsa_oaep,
            ..Default::default()
        },
        &mut common::rng(),
    )
    .unwrap_or_else(|e| panic!("Cachet could not encrypt to {to:?} with {cipher:?}: {e}"))
}

fn decrypt_ours(message: &[u8], name: &str) -> Result<DecryptedMessage, &'static str> {
    let id = common::identity(name);
    envelope::decrypt_message(message, &[&id], &mut common::rng()).map_err(|e| e.code())
}

/// Cachet decrypts a peer's message to exactly the outer headers plus [`ENTITY`].
fn assert_cachet_decrypts(what: &str, message: &[u8], name: &str, cipher: ContentCipher) {
    let d = decrypt_ours(message, name).unwrap_or_else(|code| {
        panic!(
            "Cachet cannot decrypt {what}: {code}\n{}",
            String::from_utf8_lossy(message)
        )
    });
    assert_eq!(
        String::from_utf8_lossy(&d.message),
        String::from_utf8_lossy(&expected_message()),
        "{what}: decrypted message"
    );
    assert_eq!(d.cipher, cipher, "{what}: cipher");
    assert_eq!(d.authenticated, cipher.is_authenticated(), "{what}");
}

/// (smime-type parameter, CMS bytes) of an `application/pkcs7-mime` message (CRLF, or OpenSSL's
/// bare LF).
fn pkcs7_body(msg: &[u8]) -> (String, Vec<u8>) {
    let crlf = String::from_utf8_lossy(msg)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    let (head, body) = head_body(crlf.as_bytes());
    let ct = content_type(&head);
    assert!(ct.contains("application/pkcs7-mime"), "{ct}");
    let smime_type = ct
        .split("smime-type=")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .expect("smime-type")
        .trim()
        .to_string();
    (smime_type, b64_decode(std::str::from_utf8(body).unwrap()))
}

/// Wrap a peer's bare EnvelopedData/AuthEnvelopedData into a message.
fn wrap_enveloped(der: &[u8], smime_type: &str) -> Vec<u8> {
    let mut m = HEADERS.to_vec();
    m.extend_from_slice(
        format!(
            "MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; \
             smime-type={smime_type}; name=\"smime.p7m\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n"
        )
        .as_bytes(),
    );
    m.extend_from_slice(&b64_lines(der));
    m
}

// ---- OpenSSL --------------------------------------------------------------------------------

/// `openssl cms -decrypt` of a whole S/MIME message with `name`'s key: (output, plaintext).
fn openssl_decrypt(dir: &Scratch, message: &[u8], name: &str) -> (Output, Vec<u8>) {
    openssl_decrypt_form(dir, message, "SMIME", name)
}

fn openssl_decrypt_form(dir: &Scratch, input: &[u8], form: &str, name: &str) -> (Output, Vec<u8>) {
    let input = dir.write("in", input);
    let output = dir.file("out");
    let out = run(openssl()
        .args(["cms", "-decrypt", "-binary", "-inform", form])
        .arg("-in")
        .arg(&input)
        .arg("-recip")
        .arg(pki_path(&format!("{name}.pem")))
        .arg("-inkey")
        .arg(pki_path(&format!("{name}.key")))
        .arg("-out")
        .arg(&output));
    (out, fs::read(&output).unwrap_or_default())
}

/// `openssl cms -cmsout -print` of a DER/BER CMS structure.
fn openssl_print(dir: &Scratch, der: &[u8]) -> String {
    let input = dir.write("der", der);
    let out = run_ok(
        openssl()
            .args(["cms", "-cmsout", "-print", "-inform", "DER"])
            .arg("-in")
            .arg(&input),
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `openssl cms -encrypt -binary` of [`ENTITY`] as S/MIME, with the outer headers added.
/// `recipients` are (name, per-recipient `-keyopt`s).
fn openssl_encrypt(dir: &Scratch, cipher: &str, recipients: &[(&str, &[&str])]) -> Vec<u8> {
    let input = dir.write("txt", ENTITY);
    let output = dir.file("eml");
    let mut cmd = openssl();
    cmd.args(["cms", "-encrypt", "-binary", "-outform", "SMIME", cipher])
        .arg("-in")
        .arg(&input)
        .arg("-out")
        .arg(&output);
    for (name, keyopts) in recipients {
        // -keyopt applies to the -recip before it.
        cmd.arg("-recip").arg(pki_path(&format!("{name}.pem")));
        for opt in *keyopts {
            cmd.args(["-keyopt", opt]);
        }
    }
    run_ok(&mut cmd);
    [HEADERS, &read(&output)].concat()
}

// ---- BouncyCastle ---------------------------------------------------------------------------

const BC_JARS: [&str; 3] = [
    "/usr/share/java/bcprov.jar",
    "/usr/share/java/bcpkix.jar",
    "/usr/share/java/bcutil.jar",
];

/// The compiled driver: target/tmp/bc-envelope-<sha1 of the source>/, built once (javac takes
/// about 2 s); concurrent builds go to their own directory and are renamed into place.
fn bc_classes() -> &'static Path {
    static CLASSES: OnceLock<PathBuf> = OnceLock::new();
    CLASSES.get_or_init(|| {
        for jar in BC_JARS {
            assert!(
                Path::new(jar).is_file(),
                "BouncyCastle jar {jar} is missing: run .ci/setup (it installs libbcprov-java, \
                 libbcpkix-java, libbcmail-java and a JDK)"
            );
        }
        require("javac");
        require("java");
        let source =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/BcEnvelope.java");
        let hash = hex::encode(sha1::Sha1::digest(read(&source)));
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let classes = root.join(format!("bc-envelope-{}", &hash[..16]));
        if classes.join("BcEnvelope.class").is_file() {
            return classes;
        }
        let building = root.join(format!(
            "bc-envelope-{}-{}",
            &hash[..16],
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&building);
        fs::create_dir_all(&building).unwrap();
        run_ok(
            tool("javac")
                .args(["-nowarn", "-cp", &BC_JARS.join(":"), "-d"])
                .arg(&building)
                .arg(&source),
        );
        if fs::rename(&building, &classes).is_err() {
            // Another test process won the race with the same source.
            let _ = fs::remove_dir_all(&building);
        }
        assert!(classes.join("BcEnvelope.class").is_file());
        classes
    })
}

/// Run a batch of driver jobs (one JVM); one `Ok(detail)` or `Err(exception)` per job.
fn bc_run(dir: &Scratch, jobs: &[Vec<String>]) -> Vec<Result<String, String>> {
    let classes = bc_classes();
    let lines: Vec<String> = jobs.iter().map(|j| j.join("\t")).collect();
    let file = dir.write("jobs", (lines.join("\n") + "\n").as_bytes());
    let cp = format!("{}:{}", BC_JARS.join(":"), classes.display());
    let out = run_ok(tool("java").args(["-cp", &cp, "BcEnvelope"]).arg(&file));
    let text = String::from_utf8_lossy(&out.stdout);
    let results: Vec<_> = text
        .lines()
        .map(|l| match l.split_once('\t') {
            Some(("ok", detail)) => Ok(detail.to_string()),
            Some((_, error)) => Err(error.to_string()),
            None => Err(l.to_string()),
        })
        .collect();
    assert_eq!(
        results.len(),
        jobs.len(),
        "one result per job: {}",
        describe(&out)
    );
    results
}

fn path_str(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

fn pki_str(file: &str) -> String {
    path_str(&pki_path(file))
}

/// A BouncyCastle `decrypt` job for `name`; the plaintext lands in the returned path.
fn bc_decrypt_job(dir: &Scratch, der: &[u8], name: &str) -> (Vec<String>, PathBuf) {
    let input = dir.write("der", der);
    let output = dir.file("out");
    let job = vec![
        "decrypt".into(),
        pki_str(&format!("{name}.pem")),
        pki_str(&format!("{name}.key")),
        path_str(&input),
        path_str(&output),
    ];
    (job, output)
}

/// A BouncyCastle `encrypt` job of [`ENTITY`]; recipients as `kind=name` (rsa, oaep, ecdh).
fn bc_encrypt_job(
    dir: &Scratch,
    cipher: &str,
    recipients: &[(&str, &str)],
) -> (Vec<String>, PathBuf) {
    let input = dir.write("txt", ENTITY);
    let output = dir.file("der");
    let mut job = vec![
        "encrypt".into(),
        cipher.into(),
        path_str(&input),
        path_str(&output),
    ];
    for (kind, name) in recipients {
        job.push(format!("{kind}={}", pki_str(&format!("{name}.pem"))));
    }
    (job, output)
}

// ---- the harness itself ---------------------------------------------------------------------

/// The BouncyCastle driver and OpenSSL agree with each other both ways (GCM, CBC, OAEP, ECDH), and
/// NSS and gpgsm decrypt what OpenSSL encrypts, so a failure below is about Cachet, not about how
/// the peers are driven. Needs no Cachet core.
#[test]
fn harness_peers_agree_without_cachet() {
    let dir = Scratch::new("enc-harness");
    let mut jobs = Vec::new();
    let mut bc_out = Vec::new();
    for cipher in ["aes256-gcm", "aes128-cbc"] {
        let (job, out) = bc_encrypt_job(
            &dir,
            cipher,
            &[
                ("rsa", "bob-rsa"),
                ("ecdh", "bob-p256"),
                ("oaep", "alice-rsa4096"),
            ],
        );
        jobs.push(job);
        bc_out.push(out);
    }
    let smime = openssl_encrypt(
        &dir,
        "-aes-256-gcm",
        &[
            ("bob-p256", &[]),
            ("alice-rsa4096", &["rsa_padding_mode:oaep"]),
        ],
    );
    let (_, der) = pkcs7_body(&smime);
    let mut outs = Vec::new();
    for name in ["bob-p256", "alice-rsa4096"] {
        let (job, out) = bc_decrypt_job(&dir, &der, name);
        jobs.push(job);
        outs.push(out);
    }
    let results = bc_run(&dir, &jobs);
    for r in &results {
        assert!(r.is_ok(), "BouncyCastle: {r:?}");
    }
    for out in &outs {
        assert_eq!(read(out), ENTITY, "BouncyCastle decrypts OpenSSL");
    }
    for der in &bc_out {
        for name in ["bob-rsa", "bob-p256", "alice-rsa4096"] {
            let (out, plain) = openssl_decrypt_form(&dir, &read(der), "DER", name);
            assert!(
                out.status.success(),
                "OpenSSL, BC's for {name}: {}",
                describe(&out)
            );
            assert_eq!(plain, ENTITY);
        }
    }

    let smime = openssl_encrypt(&dir, "-aes-256-cbc", &[("bob-rsa", &[])]);
    let (_, der) = pkcs7_body(&smime);
    let nss = Nss::new();
    nss.import("bob-rsa");
    assert_eq!(nss_decrypt(&nss, &der), ENTITY, "NSS decrypts OpenSSL");
    let gpgsm = Gpgsm::new();
    gpgsm.import_identity("bob-rsa");
    let (out, plain) = gpgsm_decrypt(&gpgsm, &der);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("[GNUPG:] DECRYPTION_OKAY"),
        "{}",
        describe(&out)
    );
    assert_eq!(plain, ENTITY, "gpgsm decrypts OpenSSL");
}

// ---- NSS and gpgsm --------------------------------------------------------------------------

/// `cmsutil -D` of an enveloped message with the database's key: the plaintext.
fn nss_decrypt(nss: &Nss, der: &[u8]) -> Vec<u8> {
    let input = nss.dir.write("p7m", der);
    let output = nss.dir.file("out");
    run_ok(
        tool("cmsutil")
            .arg("-D")
            .arg("-d")
            .arg(&nss.dir.dir)
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(&output),
    );
    read(&output)
}

/// `cmsutil -E -r nickname` of `entity` (NSS picks the cipher).
fn nss_encrypt(nss: &Nss, nickname: &str, entity: &[u8]) -> Vec<u8> {
    let input = nss.dir.write("txt", entity);
    let output = nss.dir.file("p7m");
    run_ok(
        tool("cmsutil")
            .args(["-E", "-r", nickname])
            .arg("-d")
            .arg(&nss.dir.dir)
            .arg("-i")
            .arg(&input)
            .arg("-o")
            .arg(&output),
    );
    read(&output)
}

/// `gpgsm --decrypt` with status lines on stdout: (output, plaintext). gpgsm may exit 2 after a
/// good decryption of a multi-recipient message, so callers read `DECRYPTION_OKAY`.
fn gpgsm_decrypt(gpgsm: &Gpgsm, der: &[u8]) -> (Output, Vec<u8>) {
    let input = gpgsm.home.write("p7m", der);
    let output = gpgsm.home.file("out");
    let out = run(gpgsm
        .cmd()
        .args(["--pinentry-mode", "loopback", "--passphrase-fd", "0"])
        .args(["--status-fd", "1", "--decrypt", "--output"])
        .arg(&output)
        .arg(&input)
        .stdin(gpgsm.passphrase()));
    (out, fs::read(&output).unwrap_or_default())
}

/// `gpgsm --encrypt` of [`ENTITY`] to a certificate fingerprint.
fn gpgsm_encrypt(gpgsm: &Gpgsm, fingerprint: &str, cipher: Option<&str>) -> Vec<u8> {
    let input = gpgsm.home.write("txt", ENTITY);
    let output = gpgsm.home.file("p7m");
    let mut cmd = gpgsm.cmd();
    if let Some(cipher) = cipher {
        cmd.args(["--cipher-algo", cipher]);
    }
    cmd.args(["--encrypt", "-r", &format!("0x{fingerprint}"), "--output"])
        .arg(&output)
        .arg(&input);
    run_ok(&mut cmd);
    read(&output)
}

// ---- ours -> peers --------------------------------------------------------------------------

/// OpenSSL decrypts every cipher × recipient kind to exactly the entity, and its parse shows the
/// algorithms we claim (OAEP is really OAEP, the KDF is the curve's).
#[test]
fn openssl_decrypts_ours() {
    let dir = Scratch::new("openssl-decrypt");
    for cipher in CIPHERS {
        for (name, oaep, label, key_oid) in RECIPIENTS {
            let what = format!("{} {label}", cipher.name());
            let enc = encrypt_ours(&[name], cipher, oaep);
            let (smime_type, der) = pkcs7_body(&enc);
            let want_type = if cipher.is_authenticated() {
                "authEnveloped-data"
            } else {
                "enveloped-data"
            };
            assert_eq!(smime_type, want_type, "{what}");
            let (out, plain) = openssl_decrypt(&dir, &enc, name);
            assert!(
                out.status.success(),
                "OpenSSL rejects {what}: {}",
                describe(&out)
            );
            assert_eq!(
                String::from_utf8_lossy(&plain),
                String::from_utf8_lossy(ENTITY),
                "{what}: OpenSSL's plaintext"
            );
            let printed = openssl_print(&dir, &der);
            for oid in [key_oid, cipher_oid(cipher)] {
                assert!(
                    printed.contains(&format!("({oid})")),
                    "{what}: {oid} in\n{printed}"
                );
            }
        }
    }
}

/// One message to RSA (v1.5 or OAEP), P-256 and P-384 recipients: OpenSSL decrypts it with each key.
#[test]
fn openssl_decrypts_ours_multi_recipient() {
    let dir = Scratch::new("openssl-multi");
    let to = ["bob-rsa", "bob-p256", "alice-p384", "alice-rsa4096"];
    for (cipher, oaep) in [
        (ContentCipher::Aes256Gcm, false),
        (ContentCipher::Aes128Cbc, true),
    ] {
        let enc = encrypt_ours(&to, cipher, oaep);
        for name in to {
            let (out, plain) = openssl_decrypt(&dir, &enc, name);
            assert!(
                out.status.success(),
                "{} oaep={oaep}, {name}: {}",
                cipher.name(),
                describe(&out)
            );
            assert_eq!(plain, ENTITY, "{} {name}", cipher.name());
        }
        // Someone else's key does not open it.
        let (out, _) = openssl_decrypt(&dir, &enc, "alice-rsa");
        assert!(!out.status.success(), "alice-rsa is not a recipient");
    }
}

/// NSS decrypts RSA v1.5 + AES-CBC (all it does).
#[test]
fn nss_decrypts_ours() {
    let nss = Nss::new();
    nss.import("bob-rsa");
    for cipher in [ContentCipher::Aes128Cbc, ContentCipher::Aes256Cbc] {
        let enc = encrypt_ours(&["bob-rsa"], cipher, false);
        let (_, der) = pkcs7_body(&enc);
        assert_eq!(
            String::from_utf8_lossy(&nss_decrypt(&nss, &der)),
            String::from_utf8_lossy(ENTITY),
            "NSS, {}",
            cipher.name()
        );
    }
}

/// gpgsm decrypts RSA v1.5 + AES-CBC, alone and among an EC recipient it cannot use.
#[test]
fn gpgsm_decrypts_ours() {
    let gpgsm = Gpgsm::new();
    gpgsm.import_identity("bob-rsa");
    for (cipher, to) in [
        (ContentCipher::Aes128Cbc, &["bob-rsa"][..]),
        (ContentCipher::Aes256Cbc, &["bob-rsa"]),
        (ContentCipher::Aes256Cbc, &["bob-p256", "bob-rsa"]),
    ] {
        let what = format!("{} to {to:?}", cipher.name());
        let enc = encrypt_ours(to, cipher, false);
        let (_, der) = pkcs7_body(&enc);
        let (out, plain) = gpgsm_decrypt(&gpgsm, &der);
        let status = String::from_utf8_lossy(&out.stdout);
        assert!(
            status.contains("[GNUPG:] DECRYPTION_OKAY") && !status.contains("DECRYPTION_FAILED"),
            "gpgsm, {what}: {}",
            describe(&out)
        );
        if to.len() == 1 {
            assert!(out.status.success(), "gpgsm, {what}: {}", describe(&out));
        }
        assert_eq!(plain, ENTITY, "gpgsm, {what}");
    }
}

/// BouncyCastle decrypts every cipher × recipient kind, and reports the algorithms we claim.
#[test]
fn bouncycastle_decrypts_ours() {
    let dir = Scratch::new("bc-decrypt");
    let mut jobs = Vec::new();
    let mut cases = Vec::new();
    for cipher in CIPHERS {
        for (name, oaep, label, key_oid) in RECIPIENTS {
            let enc = encrypt_ours(&[name], cipher, oaep);
            let (_, der) = pkcs7_body(&enc);
            let (job, out) = bc_decrypt_job(&dir, &der, name);
            jobs.push(job);
            cases.push((cipher, label, key_oid, out));
        }
    }
    let results = bc_run(&dir, &jobs);
    for ((cipher, label, key_oid, out), result) in cases.into_iter().zip(results) {
        let what = format!("{} {label}", cipher.name());
        let detail = result.unwrap_or_else(|e| panic!("BouncyCastle rejects {what}: {e}"));
        let kind = if cipher.is_authenticated() {
            "authEnveloped"
        } else {
            "enveloped"
        };
        assert_eq!(
            detail,
            format!("{kind} {} {key_oid}", cipher_oid(cipher)),
            "{what}"
        );
        assert_eq!(read(&out), ENTITY, "{what}: BouncyCastle's plaintext");
    }
}

// ---- peers -> ours --------------------------------------------------------------------------

/// Cachet decrypts OpenSSL's ciphers and key transports, ECDH with OpenSSL's default SHA-1 KDF
/// and with SHA-256, and `open` reports the layer.
#[test]
fn cachet_decrypts_openssl() {
    let dir = Scratch::new("openssl-encrypt");
    let ciphers = [
        ("-aes-128-cbc", ContentCipher::Aes128Cbc),
        ("-aes-256-cbc", ContentCipher::Aes256Cbc),
        ("-aes-128-gcm", ContentCipher::Aes128Gcm),
        ("-aes-256-gcm", ContentCipher::Aes256Gcm),
        ("-des3", ContentCipher::DesEde3Cbc),
    ];
    let oaep: &[&str] = &[
        "rsa_padding_mode:oaep",
        "rsa_oaep_md:sha256",
        "rsa_mgf1_md:sha256",
    ];
    let sha256kdf: &[&str] = &["ecdh_kdf_md:sha256"];
    let recipients: [(&str, &[&str], &str, &str); 7] = [
        ("bob-rsa", &[], "rsa-v1.5", RSA_ENCRYPTION),
        (
            "bob-rsa",
            &["rsa_padding_mode:oaep"],
            "rsa-oaep-sha1",
            RSAES_OAEP,
        ),
        ("alice-rsa4096", oaep, "rsa-oaep-sha256", RSAES_OAEP),
        ("bob-p256", &[], "ecdh-p256-sha1kdf", STD_DH_SHA1KDF),
        (
            "bob-p256",
            sha256kdf,
            "ecdh-p256-sha256kdf",
            STD_DH_SHA256KDF,
        ),
        ("alice-p384", &[], "ecdh-p384-sha1kdf", STD_DH_SHA1KDF),
        (
            "alice-p384",
            sha256kdf,
            "ecdh-p384-sha256kdf",
            STD_DH_SHA256KDF,
        ),
    ];
    for (flag, cipher) in ciphers {
        for (name, keyopts, label, key_oid) in recipients {
            let what = format!("openssl {flag} {label}");
            let message = openssl_encrypt(&dir, flag, &[(name, keyopts)]);
            // The peer really used what we asked for.
            let (_, der) = pkcs7_body(&message);
            let printed = openssl_print(&dir, &der);
            assert!(
                printed.contains(&format!("({key_oid})")),
                "{what}:\n{printed}"
            );
            // With 3DES, OpenSSL wraps the key for ECDH recipients with id-alg-CMS3DESwrap
            // (RFC 3217): see `openssl_des3_ecdh_uses_the_rfc3217_wrap`.
            assert_cachet_decrypts(&what, &message, name, cipher);
        }
    }

    // One message to all of them at once; and `open` reports the layer.
    let all: Vec<(&str, &[&str])> = vec![
        ("bob-rsa", &[]),
        ("alice-rsa4096", oaep),
        ("bob-p256", sha256kdf),
        ("alice-p384", &[]),
    ];
    let message = openssl_encrypt(&dir, "-aes-256-gcm", &all);
    for (name, _) in &all {
        assert_cachet_decrypts(
            &format!("openssl multi, {name}"),
            &message,
            name,
            ContentCipher::Aes256Gcm,
        );
    }
    let report = open_ours(&message, "bob-p256");
    assert!(
        matches!(
            report.layers[..],
            [Layer::Encrypted {
                cipher: ContentCipher::Aes256Gcm,
                authenticated: true
            }]
        ),
        "{report:?}"
    );
    assert!(report.authenticated);
    assert_eq!(report.content, ENTITY);
}

/// OpenSSL's other ways to address and write an envelope: recipients by subjectKeyIdentifier
/// (`-keyid`: KTRI `subjectKeyIdentifier`, KARI `rKeyId`) and streamed indefinite-length BER.
#[test]
fn cachet_decrypts_openssl_variants() {
    let dir = Scratch::new("openssl-encrypt-variants");
    for extra in [&["-keyid"][..], &["-stream"], &["-keyid", "-stream"]] {
        for (flag, cipher) in [
            ("-aes-256-gcm", ContentCipher::Aes256Gcm),
            ("-aes-128-cbc", ContentCipher::Aes128Cbc),
        ] {
            for name in ["bob-rsa", "bob-p256", "alice-p384"] {
                let what = format!("openssl {extra:?} {flag} {name}");
                let input = dir.write("txt", ENTITY);
                let output = dir.file("eml");
                run_ok(
                    openssl()
                        .args(["cms", "-encrypt", "-binary", "-outform", "SMIME", flag])
                        .args(extra)
                        .arg("-in")
                        .arg(&input)
                        .arg("-out")
                        .arg(&output)
                        .arg("-recip")
                        .arg(pki_path(&format!("{name}.pem"))),
                );
                let message = [HEADERS, &read(&output)].concat();
                let (_, der) = pkcs7_body(&message);
                if extra.contains(&"-stream") {
                    assert_eq!(&der[..2], &[0x30, 0x80], "{what}: BER");
                }
                if extra.contains(&"-keyid") {
                    let printed = openssl_print(&dir, &der);
                    assert!(
                        printed.contains("subjectKeyIdentifier"),
                        "{what}:\n{printed}"
                    );
                }
                assert_cachet_decrypts(&what, &message, name, cipher);
            }
        }
    }
}

/// Less common parameters Cachet reads: AES-192, OAEP with SHA-384/512 (and a SHA-1 MGF), ECDH
/// KDFs with SHA-224/384/512 and the cofactor-DH schemes.
#[test]
fn cachet_decrypts_openssl_parameters() {
    let dir = Scratch::new("openssl-encrypt-params");
    let cases: [(&str, ContentCipher, &str, &[&str], &str); 9] = [
        (
            "-aes-192-cbc",
            ContentCipher::Aes192Cbc,
            "bob-rsa",
            &[],
            RSA_ENCRYPTION,
        ),
        (
            "-aes-192-gcm",
            ContentCipher::Aes192Gcm,
            "bob-p256",
            &[],
            STD_DH_SHA1KDF,
        ),
        (
            "-aes-256-gcm",
            ContentCipher::Aes256Gcm,
            "bob-rsa",
            &[
                "rsa_padding_mode:oaep",
                "rsa_oaep_md:sha384",
                "rsa_mgf1_md:sha384",
            ],
            RSAES_OAEP,
        ),
        (
            "-aes-256-gcm",
            ContentCipher::Aes256Gcm,
            "alice-rsa4096",
            &[
                "rsa_padding_mode:oaep",
                "rsa_oaep_md:sha512",
                "rsa_mgf1_md:sha1",
            ],
            RSAES_OAEP,
        ),
        (
            "-aes-128-gcm",
            ContentCipher::Aes128Gcm,
            "bob-p256",
            &["ecdh_kdf_md:sha224"],
            "1.3.132.1.11.0",
        ),
        (
            "-aes-256-cbc",
            ContentCipher::Aes256Cbc,
            "alice-p384",
            &["ecdh_kdf_md:sha384"],
            STD_DH_SHA384KDF,
        ),
        (
            "-aes-256-gcm",
            ContentCipher::Aes256Gcm,
            "bob-p256",
            &["ecdh_kdf_md:sha512"],
            "1.3.132.1.11.3",
        ),
        (
            "-aes-256-gcm",
            ContentCipher::Aes256Gcm,
            "bob-p256",
            &["ecdh_cofactor_mode:1", "ecdh_kdf_md:sha256"],
            "1.3.132.1.14.1",
        ),
        (
            "-aes-128-cbc",
            ContentCipher::Aes128Cbc,
            "alice-p384",
            &["ecdh_cofactor_mode:1"],
            "1.3.133.16.840.63.0.3",
        ),
    ];
    for (flag, cipher, name, keyopts, key_oid) in cases {
        let what = format!("openssl {flag} {name} {keyopts:?}");
        let message = openssl_encrypt(&dir, flag, &[(name, keyopts)]);
        let (_, der) = pkcs7_body(&message);
        let printed = openssl_print(&dir, &der);
        assert!(
            printed.contains(&format!("({key_oid})")),
            "{what}:\n{printed}"
        );
        assert_cachet_decrypts(&what, &message, name, cipher);
    }
}

/// KNOWN GAP, pinned so it is not forgotten: `openssl cms -encrypt -des3` to an EC recipient wraps
/// the content key with id-alg-CMS3DESwrap, which Cachet does not implement, and Cachet reports it
/// as `DECRYPTION_FAILED` (the unsupported wrap OID is swallowed by the recipient loop). When the
/// core learns 3DES key wrap this test fails: then drop the exclusion in `cachet_decrypts_openssl`.
#[test]
fn openssl_des3_ecdh_uses_the_rfc3217_wrap() {
    let dir = Scratch::new("openssl-des3-ecdh");
    let message = openssl_encrypt(&dir, "-des3", &[("bob-p256", &[])]);
    let (out, plain) = openssl_decrypt(&dir, &message, "bob-p256");
    assert!(
        out.status.success() && plain == ENTITY,
        "{}",
        describe(&out)
    );
    assert_cachet_decrypts(
        "openssl des3 ecdh",
        &message,
        "bob-p256",
        ContentCipher::DesEde3Cbc,
    );
}

/// Cachet decrypts `cmsutil -E` (RSA v1.5, NSS's choice of cipher; BER).
#[test]
fn cachet_decrypts_nss() {
    let nss = Nss::new();
    nss.import("bob-rsa");
    let ber = nss_encrypt(&nss, "bob-rsa", ENTITY);
    assert_eq!(&ber[..2], &[0x30, 0x80], "NSS writes indefinite-length BER");
    let dir = Scratch::new("nss-encrypt");
    let printed = openssl_print(&dir, &ber);
    assert!(
        printed.contains(&format!("({RSA_ENCRYPTION})")),
        "{printed}"
    );
    let cipher = if printed.contains(&format!("({})", cipher_oid(ContentCipher::Aes256Cbc))) {
        ContentCipher::Aes256Cbc
    } else {
        ContentCipher::Aes128Cbc
    };
    assert!(
        printed.contains(&format!("({})", cipher_oid(cipher))),
        "{printed}"
    );
    assert_cachet_decrypts(
        "NSS",
        &wrap_enveloped(&ber, "enveloped-data"),
        "bob-rsa",
        cipher,
    );
}

/// Cachet decrypts `gpgsm --encrypt` (RSA v1.5, AES-128 by default and AES-256; BER).
#[test]
fn cachet_decrypts_gpgsm() {
    let gpgsm = Gpgsm::new();
    let fingerprint = hex::encode_upper(sha1::Sha1::digest(peers::pem_to_der(&read(&pki_path(
        "bob-rsa.pem",
    )))));
    run_ok(gpgsm.cmd().arg("--import").arg(pki_path("bob-rsa.pem")));
    for (algo, cipher) in [
        (None, ContentCipher::Aes128Cbc),
        (Some("AES256"), ContentCipher::Aes256Cbc),
    ] {
        let ber = gpgsm_encrypt(&gpgsm, &fingerprint, algo);
        assert_eq!(
            &ber[..2],
            &[0x30, 0x80],
            "gpgsm writes indefinite-length BER"
        );
        assert_cachet_decrypts(
            &format!("gpgsm {algo:?}"),
            &wrap_enveloped(&ber, "enveloped-data"),
            "bob-rsa",
            cipher,
        );
    }
}

/// Cachet decrypts BouncyCastle's EnvelopedData and AuthEnvelopedData for every recipient kind.
#[test]
fn cachet_decrypts_bouncycastle() {
    let dir = Scratch::new("bc-encrypt");
    let kinds = [
        ("rsa", "bob-rsa"),
        ("oaep", "alice-rsa4096"),
        ("ecdh", "bob-p256"),
        ("ecdh", "alice-p384"),
    ];
    let mut jobs = Vec::new();
    let mut cases = Vec::new();
    for cipher in CIPHERS {
        for (kind, name) in kinds {
            let (job, out) = bc_encrypt_job(&dir, cipher.name(), &[(kind, name)]);
            jobs.push(job);
            cases.push((cipher, kind, name, out));
        }
    }
    // With user keying material (RFC 5753 §7.2 SharedInfo.entityUInfo).
    for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes128Cbc] {
        for name in ["bob-p256", "alice-p384"] {
            let (job, out) = bc_encrypt_job(&dir, cipher.name(), &[("ecdh-ukm", name)]);
            jobs.push(job);
            cases.push((cipher, "ecdh-ukm", name, out));
        }
    }
    // And one message to all four.
    let (job, all) = bc_encrypt_job(&dir, "aes256-gcm", &kinds);
    jobs.push(job);
    for r in bc_run(&dir, &jobs) {
        assert!(r.is_ok(), "BouncyCastle could not encrypt: {r:?}");
    }
    for (cipher, kind, name, out) in cases {
        let smime_type = if cipher.is_authenticated() {
            "authEnveloped-data"
        } else {
            "enveloped-data"
        };
        let der = read(&out);
        if kind == "ecdh-ukm" {
            let printed = openssl_print(&dir, &der);
            assert!(
                printed.contains("ukm:") && !printed.contains("ukm: <ABSENT>"),
                "BouncyCastle wrote no ukm:\n{printed}"
            );
        }
        let message = wrap_enveloped(&der, smime_type);
        assert_cachet_decrypts(
            &format!("BouncyCastle {} {kind} {name}", cipher.name()),
            &message,
            name,
            cipher,
        );
    }
    let message = wrap_enveloped(&read(&all), "authEnveloped-data");
    for (kind, name) in kinds {
        assert_cachet_decrypts(
            &format!("BouncyCastle multi, {kind} {name}"),
            &message,
            name,
            ContentCipher::Aes256Gcm,
        );
    }
}

// ---- X25519 (RFC 8418), BouncyCastle only ----------------------------------------------------

/// The KeyAgreeRecipientInfo in `der` has an id-X25519 originator key and
/// dhSinglePass-stdDH-sha256kdf-scheme (as OpenSSL's parse shows it).
fn assert_x25519_kari(dir: &Scratch, der: &[u8], who: &str) {
    let printed = openssl_print(dir, der);
    assert!(
        printed.contains("algorithm: X25519 (1.3.101.110)"),
        "{who}: originator key is not X25519:\n{printed}"
    );
    assert!(
        printed.contains("dhSinglePass-stdDH-sha256kdf-scheme (1.3.132.1.11.1)"),
        "{who}: KDF:\n{printed}"
    );
}

/// The driver's X25519 (BC's own X25519 + X9.63 KDF agreement, reached through a provider alias)
/// round-trips by itself, and writes the RFC 8418 form: so a failure below is about Cachet.
#[test]
fn harness_bouncycastle_x25519_alone() {
    let dir = Scratch::new("bc-x25519-harness");
    let (job, der) = bc_encrypt_job(&dir, "aes128-cbc", &[("x25519", "carol-x25519")]);
    assert!(bc_run(&dir, &[job])[0].is_ok());
    assert_x25519_kari(&dir, &read(&der), "BouncyCastle");
    let (job, out) = bc_decrypt_job(&dir, &read(&der), "carol-x25519");
    let r = bc_run(&dir, &[job])
        .remove(0)
        .expect("BC decrypts its own X25519");
    assert_eq!(
        r,
        format!("enveloped 2.16.840.1.101.3.4.1.2 {STD_DH_SHA256KDF}")
    );
    assert_eq!(read(&out), ENTITY);
}

/// BouncyCastle opens Cachet's X25519 envelopes: every cipher, alone, by subjectKeyIdentifier,
/// and among RSA and EC recipients; and refuses one whose ephemeral key was altered.
#[test]
fn bouncycastle_decrypts_our_x25519() {
    let dir = Scratch::new("bc-x25519-decrypt");
    let mut jobs = Vec::new();
    let mut cases = Vec::new();
    let mixed = ["bob-rsa", "carol-x25519", "bob-p256", "alice-p384"];
    for cipher in CIPHERS {
        for to in [&["carol-x25519"][..], &mixed[..]] {
            let enc = encrypt_ours(to, cipher, false);
            let (_, der) = pkcs7_body(&enc);
            assert_x25519_kari(&dir, &der, "Cachet");
            for name in to {
                let (job, out) = bc_decrypt_job(&dir, &der, name);
                jobs.push(job);
                cases.push((cipher, *name, to.len(), out));
            }
        }
    }
    let cert = common::certs("pki/carol-x25519.pem").remove(0);
    let by_key_id = envelope::encrypt_message(
        &message(),
        &[&cert],
        &EncryptOptions {
            by_key_id: true,
            ..Default::default()
        },
        &mut common::rng(),
    )
    .unwrap();
    let (_, der) = pkcs7_body(&by_key_id);
    let (job, out) = bc_decrypt_job(&dir, &der, "carol-x25519");
    jobs.push(job);
    cases.push((ContentCipher::Aes256Gcm, "carol-x25519 by key id", 1, out));
    // The same message with one bit of the ephemeral public key flipped.
    let eph = der
        .windows(3)
        .position(|w| w == [0x03, 0x21, 0x00])
        .unwrap()
        + 3;
    let mut bad = der.clone();
    bad[eph + 7] ^= 0x01;
    let (bad_job, _) = bc_decrypt_job(&dir, &bad, "carol-x25519");
    jobs.push(bad_job);

    let mut results = bc_run(&dir, &jobs);
    let bad_result = results.pop().unwrap();
    assert!(
        bad_result.is_err(),
        "BouncyCastle accepted an altered ephemeral key"
    );
    let bad_message = wrap_enveloped(&bad, "authEnveloped-data");
    assert_eq!(
        decrypt_ours(&bad_message, "carol-x25519").unwrap_err(),
        "DECRYPTION_FAILED"
    );
    for ((cipher, name, count, out), result) in cases.into_iter().zip(results) {
        let what = format!("{} to {count} recipient(s), as {name}", cipher.name());
        let detail = result.unwrap_or_else(|e| panic!("BouncyCastle rejects {what}: {e}"));
        let kind = if cipher.is_authenticated() {
            "authEnveloped"
        } else {
            "enveloped"
        };
        if name.starts_with("carol") {
            assert_eq!(
                detail,
                format!("{kind} {} {STD_DH_SHA256KDF}", cipher_oid(cipher)),
                "{what}"
            );
        }
        assert_eq!(read(&out), ENTITY, "{what}: BouncyCastle's plaintext");
    }
}

/// Cachet opens BouncyCastle's X25519 envelopes: every cipher, with user keying material, and
/// one message to X25519, RSA and EC recipients.
#[test]
fn cachet_decrypts_bouncycastle_x25519() {
    let dir = Scratch::new("bc-x25519-encrypt");
    let mut jobs = Vec::new();
    let mut cases = Vec::new();
    for cipher in CIPHERS {
        for kind in ["x25519", "x25519-ukm"] {
            let (job, out) = bc_encrypt_job(&dir, cipher.name(), &[(kind, "carol-x25519")]);
            jobs.push(job);
            cases.push((cipher, kind, out));
        }
    }
    let kinds = [
        ("x25519", "carol-x25519"),
        ("rsa", "bob-rsa"),
        ("ecdh", "bob-p256"),
    ];
    let (job, all) = bc_encrypt_job(&dir, "aes128-gcm", &kinds);
    jobs.push(job);
    for r in bc_run(&dir, &jobs) {
        assert!(r.is_ok(), "BouncyCastle could not encrypt: {r:?}");
    }
    for (cipher, kind, out) in cases {
        let der = read(&out);
        assert_x25519_kari(&dir, &der, "BouncyCastle");
        if kind == "x25519-ukm" {
            let printed = openssl_print(&dir, &der);
            assert!(
                printed.contains("ukm:") && !printed.contains("ukm: <ABSENT>"),
                "BouncyCastle wrote no ukm:\n{printed}"
            );
        }
        let smime_type = if cipher.is_authenticated() {
            "authEnveloped-data"
        } else {
            "enveloped-data"
        };
        assert_cachet_decrypts(
            &format!("BouncyCastle {} {kind}", cipher.name()),
            &wrap_enveloped(&der, smime_type),
            "carol-x25519",
            cipher,
        );
    }
    let message = wrap_enveloped(&read(&all), "authEnveloped-data");
    for (kind, name) in kinds {
        assert_cachet_decrypts(
            &format!("BouncyCastle multi, {kind} {name}"),
            &message,
            name,
            ContentCipher::Aes128Gcm,
        );
    }
}

// ---- ChaCha20-Poly1305 (RFC 8103), BouncyCastle only -------------------------------------------

/// ChaCha20-Poly1305 AuthEnvelopedData both ways with BouncyCastle (its JCA cipher, driven by the
/// driver's RFC 8103 glue: BC 1.72's CMS has no AEAD builder for it), for RSA v1.5, OAEP, P-256,
/// P-384 and X25519 recipients, alone and all in one message; a flipped tag is refused by both.
#[test]
fn chacha20_poly1305_both_ways_with_bouncycastle() {
    let cipher = ContentCipher::ChaCha20Poly1305;
    let dir = Scratch::new("bc-chacha");
    let ours = [
        ("bob-rsa", false, RSA_ENCRYPTION),
        ("bob-rsa", true, RSAES_OAEP),
        ("bob-p256", false, STD_DH_SHA256KDF),
        ("alice-p384", false, STD_DH_SHA384KDF),
        ("carol-x25519", false, STD_DH_SHA256KDF),
    ];
    let mut jobs = Vec::new();
    let mut cases = Vec::new();
    for (name, oaep, key_oid) in ours {
        let enc = encrypt_ours(&[name], cipher, oaep);
        let (smime_type, der) = pkcs7_body(&enc);
        assert_eq!(smime_type, "authEnveloped-data");
        let printed = openssl_print(&dir, &der);
        assert!(
            printed.contains("algorithm: undefined (1.2.840.113549.1.9.16.3.18)"),
            "{printed}"
        );
        let (job, out) = bc_decrypt_job(&dir, &der, name);
        jobs.push(job);
        cases.push((name, Some(key_oid), out));
    }
    let all = ["bob-rsa", "bob-p256", "alice-p384", "carol-x25519"];
    let enc = encrypt_ours(&all, cipher, false);
    let (_, der) = pkcs7_body(&enc);
    for name in all {
        let (job, out) = bc_decrypt_job(&dir, &der, name);
        jobs.push(job);
        cases.push((name, None, out));
    }
    // Our message with the last byte (of the tag) flipped.
    let mut bad = der.clone();
    *bad.last_mut().unwrap() ^= 0x01;
    let (bad_job, _) = bc_decrypt_job(&dir, &bad, "bob-rsa");
    jobs.push(bad_job);
    // BouncyCastle's own, to each kind and to all.
    let kinds = [
        ("rsa", "bob-rsa"),
        ("oaep", "alice-rsa4096"),
        ("ecdh", "bob-p256"),
        ("ecdh", "alice-p384"),
        ("x25519", "carol-x25519"),
    ];
    let mut theirs = Vec::new();
    for (kind, name) in kinds {
        let (job, out) = bc_encrypt_job(&dir, cipher.name(), &[(kind, name)]);
        jobs.push(job);
        theirs.push((format!("{kind} {name}"), name, out));
    }
    let (job, all_out) = bc_encrypt_job(&dir, cipher.name(), &kinds);
    jobs.push(job);

    let mut results = bc_run(&dir, &jobs);
    let encrypted: Vec<_> = results.split_off(cases.len() + 1);
    for r in encrypted {
        assert!(r.is_ok(), "BouncyCastle could not encrypt: {r:?}");
    }
    let bad_result = results.pop().unwrap();
    assert!(bad_result.is_err(), "BouncyCastle accepted a flipped tag");
    let bad_message = wrap_enveloped(&bad, "authEnveloped-data");
    assert_eq!(
        decrypt_ours(&bad_message, "bob-rsa").unwrap_err(),
        "DECRYPTION_FAILED"
    );
    for ((name, key_oid, out), result) in cases.into_iter().zip(results) {
        let detail = result.unwrap_or_else(|e| panic!("BouncyCastle rejects ours for {name}: {e}"));
        if let Some(key_oid) = key_oid {
            assert_eq!(
                detail,
                format!("authEnveloped {} {key_oid}", cipher_oid(cipher)),
                "{name}"
            );
        }
        assert_eq!(read(&out), ENTITY, "{name}: BouncyCastle's plaintext");
    }
    for (what, name, out) in theirs {
        assert_cachet_decrypts(
            &format!("BouncyCastle chacha20-poly1305 {what}"),
            &wrap_enveloped(&read(&out), "authEnveloped-data"),
            name,
            cipher,
        );
    }
    let message = wrap_enveloped(&read(&all_out), "authEnveloped-data");
    for (kind, name) in kinds {
        assert_cachet_decrypts(
            &format!("BouncyCastle chacha20-poly1305 multi, {kind} {name}"),
            &message,
            name,
            cipher,
        );
    }
}

/// A multipart entity with a 300 KiB base64 attachment (deterministic bytes): big enough that
/// OpenSSL `-stream` and NSS cut the encrypted content into many BER chunks. 7-bit throughout, so
/// Cachet encrypts it byte for byte.
fn large_entity() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let bytes: Vec<u8> = (0..300 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect();
    let mut e = b"Content-Type: multipart/mixed; boundary=\"big\"\r\n\r\n\
--big\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob, see the attachment.\r\n\
--big\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    e.extend_from_slice(&b64_lines(&bytes));
    e.extend_from_slice(b"--big--\r\n");
    e
}

/// Large content both ways: our envelope opens in OpenSSL, BouncyCastle and NSS to exactly the
/// entity; OpenSSL's streamed (chunked BER) and NSS's envelopes open in Cachet.
#[test]
fn large_message_both_ways() {
    let dir = Scratch::new("large");
    let entity = large_entity();
    let message = [HEADERS, b"MIME-Version: 1.0\r\n", &entity].concat();
    let nss = Nss::new();
    nss.import("bob-rsa");
    let mut jobs = Vec::new();
    let mut outs = Vec::new();
    for (cipher, name) in [
        (ContentCipher::Aes256Gcm, "bob-p256"),
        (ContentCipher::Aes128Cbc, "bob-rsa"),
    ] {
        let what = format!("ours, {} to {name}", cipher.name());
        let enc = encrypt_message_ours(&message, &[name], cipher, false);
        let (out, plain) = openssl_decrypt(&dir, &enc, name);
        assert!(out.status.success(), "{what}: {}", describe(&out));
        assert!(plain == entity, "{what}: OpenSSL's plaintext differs");
        let (_, der) = pkcs7_body(&enc);
        if name == "bob-rsa" {
            assert!(
                nss_decrypt(&nss, &der) == entity,
                "{what}: NSS's plaintext differs"
            );
        }
        let (job, out) = bc_decrypt_job(&dir, &der, name);
        jobs.push(job);
        outs.push((what, out));
    }
    for ((what, out), result) in outs.into_iter().zip(bc_run(&dir, &jobs)) {
        assert!(result.is_ok(), "{what}: BouncyCastle: {result:?}");
        assert!(
            read(&out) == entity,
            "{what}: BouncyCastle's plaintext differs"
        );
    }

    let input = dir.write("txt", &entity);
    for (flag, cipher, name) in [
        ("-aes-256-gcm", ContentCipher::Aes256Gcm, "bob-p256"),
        ("-aes-256-cbc", ContentCipher::Aes256Cbc, "bob-rsa"),
    ] {
        let what = format!("openssl -stream {flag} to {name}");
        let output = dir.file("eml");
        run_ok(
            openssl()
                .args([
                    "cms", "-encrypt", "-binary", "-stream", "-outform", "SMIME", flag,
                ])
                .arg("-in")
                .arg(&input)
                .arg("-out")
                .arg(&output)
                .arg("-recip")
                .arg(pki_path(&format!("{name}.pem"))),
        );
        let peer = [HEADERS, &read(&output)].concat();
        let (_, der) = pkcs7_body(&peer);
        assert_eq!(&der[..2], &[0x30, 0x80], "{what}: indefinite-length BER");
        let d = decrypt_ours(&peer, name).unwrap_or_else(|c| panic!("{what}: {c}"));
        assert!(d.message == message, "{what}: Cachet's plaintext differs");
        assert_eq!(d.cipher, cipher, "{what}");
    }
    let peer = wrap_enveloped(&nss_encrypt(&nss, "bob-rsa", &entity), "enveloped-data");
    let d = decrypt_ours(&peer, "bob-rsa").unwrap_or_else(|c| panic!("NSS large: {c}"));
    assert!(
        d.message == message,
        "NSS large: Cachet's plaintext differs"
    );
}

// ---- signed and encrypted -------------------------------------------------------------------

fn open_ours(message: &[u8], name: &str) -> envelope::OpenReport {
    let id = common::identity(name);
    let anchors = common::anchors();
    let options = VerifyOptions {
        trust_anchors: &anchors,
        certificates: &[],
        crls: &[],
        time: now(),
    };
    envelope::open(message, &[&id], &options, &mut common::rng())
        .unwrap_or_else(|e| panic!("Cachet cannot open: {e}"))
}

/// Cachet signs (alice-rsa) then encrypts (to bob-rsa): OpenSSL decrypts, then verifies the inner
/// signed entity; Cachet's own `open` sees both layers.
#[test]
fn openssl_opens_our_signed_then_encrypted() {
    let dir = Scratch::new("sign-encrypt");
    let alice = common::identity("alice-rsa");
    for opaque in [false, true] {
        for cipher in [ContentCipher::Aes256Gcm, ContentCipher::Aes128Cbc] {
            let what = format!("opaque={opaque} {}", cipher.name());
            let options = SignOptions {
                opaque,
                digest: DigestAlgorithm::Sha256,
                rsa_pss: false,
                time: now(),
            };
            let signed =
                cachet::smime::sign_message(&message(), &[&alice], &options, &mut common::rng())
                    .unwrap();
            let enc = encrypt_message_ours(&signed, &["bob-rsa"], cipher, false);
            assert!(
                !String::from_utf8_lossy(&enc).contains("Hello Bob."),
                "{what}"
            );

            let (out, inner) = openssl_decrypt(&dir, &enc, "bob-rsa");
            assert!(out.status.success(), "{what}: {}", describe(&out));
            let inner_ct = String::from_utf8_lossy(&inner[..inner.len().min(200)]).to_lowercase();
            assert!(
                inner_ct.contains(if opaque {
                    "application/pkcs7-mime"
                } else {
                    "multipart/signed"
                }),
                "{what}: inner entity\n{inner_ct}"
            );
            let (out, content) = openssl_verify(&dir, &inner);
            assert!(
                out.status.success(),
                "{what}: OpenSSL verify: {}",
                describe(&out)
            );
            assert_eq!(content, ENTITY, "{what}: signed content");

            let report = open_ours(&enc, "bob-rsa");
            let types: Vec<_> = report.layers.iter().map(envelope::layer_type).collect();
            let outer = if cipher.is_authenticated() {
                "authEnveloped"
            } else {
                "enveloped"
            };
            assert_eq!(types, [outer, "signed"], "{what}");
            assert!(
                report.signed_valid && report.authenticated,
                "{what}: {report:?}"
            );
            assert_eq!(report.content, ENTITY, "{what}");
        }
    }
}

/// OpenSSL signs (alice-rsa, detached and opaque) then encrypts (to bob-rsa, GCM and CBC): Cachet's
/// `open` finds both layers, the signature valid and exactly the signed entity inside.
#[test]
fn cachet_opens_openssl_signed_then_encrypted() {
    let dir = Scratch::new("openssl-sign-encrypt");
    for opaque in [false, true] {
        for (flag, cipher) in [
            ("-aes-256-gcm", ContentCipher::Aes256Gcm),
            ("-aes-128-cbc", ContentCipher::Aes128Cbc),
        ] {
            let what = format!("opaque={opaque} {flag}");
            let input = dir.write("txt", ENTITY);
            let signed = dir.file("eml");
            let mut cmd = openssl();
            cmd.args([
                "cms", "-sign", "-binary", "-outform", "SMIME", "-md", "sha256",
            ])
            .arg("-in")
            .arg(&input)
            .arg("-signer")
            .arg(pki_path("alice-rsa.pem"))
            .arg("-inkey")
            .arg(pki_path("alice-rsa.key"))
            .arg("-certfile")
            .arg(pki_path("inter-ca.pem"))
            .arg("-out")
            .arg(&signed);
            if opaque {
                cmd.arg("-nodetach");
            }
            run_ok(&mut cmd);
            let encrypted = dir.file("eml");
            run_ok(
                openssl()
                    .args(["cms", "-encrypt", "-binary", "-outform", "SMIME", flag])
                    .arg("-in")
                    .arg(&signed)
                    .arg("-out")
                    .arg(&encrypted)
                    .arg("-recip")
                    .arg(pki_path("bob-rsa.pem")),
            );
            let message = [HEADERS, &read(&encrypted)].concat();
            let report = open_ours(&message, "bob-rsa");
            let types: Vec<_> = report.layers.iter().map(envelope::layer_type).collect();
            let outer = if cipher.is_authenticated() {
                "authEnveloped"
            } else {
                "enveloped"
            };
            assert_eq!(types, [outer, "signed"], "{what}: {report:?}");
            let Layer::Signed { signers, .. } = &report.layers[1] else {
                unreachable!()
            };
            assert_eq!(signers.len(), 1, "{what}");
            assert_eq!(
                (signers[0].status.as_str(), signers[0].code),
                ("valid", "SIG_VALID"),
                "{what}: {}",
                signers[0].reason
            );
            assert!(report.signed_valid && report.authenticated, "{what}");
            assert_eq!(
                String::from_utf8_lossy(&report.content),
                String::from_utf8_lossy(ENTITY),
                "{what}"
            );
        }
    }
}

// ---- Ed25519 with BouncyCastle --------------------------------------------------------------

const ED25519: &str = "1.3.101.112";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";

/// BouncyCastle verifies Cachet's Ed25519 signatures (detached and opaque) and rejects them
/// once the content is altered.
#[test]
fn bouncycastle_verifies_our_ed25519() {
    let dir = Scratch::new("bc-verify");
    let alice = common::identity("alice-ed25519");
    let mut jobs = Vec::new();
    let mut outs = Vec::new();
    for opaque in [false, true] {
        let options = SignOptions {
            opaque,
            digest: DigestAlgorithm::Sha512,
            rsa_pss: false,
            time: now(),
        };
        let signed =
            cachet::smime::sign_message(&message(), &[&alice], &options, &mut common::rng())
                .unwrap();
        let (content, der) = if opaque {
            let (smime_type, der) = pkcs7_body(&signed);
            assert_eq!(smime_type, "signed-data");
            (None, der)
        } else {
            let (part, der) = split_signed(&signed);
            assert_eq!(part, ENTITY);
            (Some(part), der)
        };
        let sig = dir.write("p7s", &der);
        for altered in [false, true] {
            let (sig, content) = match (&content, altered) {
                (Some(c), false) => (sig.clone(), path_str(&dir.write("txt", c))),
                (Some(c), true) => (
                    sig.clone(),
                    path_str(&dir.write("txt", &replace_once(c, b"Hello Bob.", b"Hello Eve."))),
                ),
                (None, false) => (sig.clone(), "-".to_string()),
                (None, true) => (
                    dir.write("p7s", &replace_once(&der, b"Hello Bob.", b"Hello Eve.")),
                    "-".to_string(),
                ),
            };
            let out = dir.file("out");
            jobs.push(vec![
                "verify".into(),
                path_str(&sig),
                content,
                path_str(&out),
            ]);
            outs.push((opaque, altered, out));
        }
    }
    let results = bc_run(&dir, &jobs);
    for ((opaque, altered, out), result) in outs.into_iter().zip(results) {
        let what = format!("opaque={opaque} altered={altered}");
        if altered {
            assert!(result.is_err(), "BouncyCastle accepts {what}: {result:?}");
            continue;
        }
        let detail = result.unwrap_or_else(|e| panic!("BouncyCastle rejects {what}: {e}"));
        assert!(
            detail.starts_with(&format!("{ED25519} {SHA512} "))
                && detail.contains("alice@example.org"),
            "{what}: {detail}"
        );
        if opaque {
            assert_eq!(read(&out), ENTITY, "{what}: BouncyCastle's signed content");
        }
    }
}

/// (signed part, signature bytes) of a `multipart/signed` message.
fn split_signed(msg: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (head, body) = head_body(msg);
    let ct = content_type(&head);
    let boundary = ct
        .split("boundary=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("quoted boundary");
    let text = body.to_vec();
    let open = format!("--{boundary}\r\n");
    let delimiter = format!("\r\n--{boundary}");
    let start = peers::find(&text, open.as_bytes()).unwrap() + open.len();
    let end = start + peers::find(&text[start..], delimiter.as_bytes()).unwrap();
    let part = text[start..end].to_vec();
    let rest = &text[end + delimiter.len()..];
    let (_, sig_body) = head_body(rest.strip_prefix(b"\r\n").unwrap());
    let sig_end = peers::find(sig_body, format!("--{boundary}--").as_bytes()).unwrap();
    (
        part,
        b64_decode(std::str::from_utf8(&sig_body[..sig_end]).unwrap()),
    )
}

/// Cachet finds BouncyCastle's Ed25519 signatures (detached and opaque) valid.
#[test]
fn cachet_verifies_bouncycastle_ed25519() {
    let dir = Scratch::new("bc-sign");
    let input = dir.write("txt", ENTITY);
    let mut jobs = Vec::new();
    let mut outs = Vec::new();
    for mode in ["detached", "opaque"] {
        let out = dir.file("p7s");
        jobs.push(vec![
            "sign".into(),
            pki_str("alice-ed25519.pem"),
            pki_str("alice-ed25519.key"),
            pki_str("inter-ca.pem"),
            path_str(&input),
            path_str(&out),
            mode.into(),
        ]);
        outs.push((mode, out));
    }
    let results = bc_run(&dir, &jobs);
    for ((mode, out), result) in outs.into_iter().zip(results) {
        let detail = result.unwrap_or_else(|e| panic!("BouncyCastle could not sign {mode}: {e}"));
        assert_eq!(detail, format!("{ED25519} {SHA512}"), "{mode}");
        let der = read(&out);
        let opaque = mode == "opaque";
        let message = if opaque {
            wrap_opaque(&der)
        } else {
            wrap_detached(ENTITY, &der, "sha-512")
        };
        let anchors = common::anchors();
        let options = VerifyOptions {
            trust_anchors: &anchors,
            certificates: &[],
            crls: &[],
            time: now(),
        };
        let report = cachet::smime::verify_message(&message, &options)
            .unwrap_or_else(|e| panic!("Cachet cannot process BouncyCastle's {mode}: {e}"));
        assert_eq!(report.signers.len(), 1, "{mode}: {report:?}");
        let s = &report.signers[0];
        assert_eq!(
            (s.status.as_str(), s.code),
            ("valid", "SIG_VALID"),
            "{mode}: {}",
            s.reason
        );
        assert_eq!(s.signature_algorithm, "ed25519", "{mode}");
        assert_eq!(s.digest_algorithm, "sha-512", "{mode}");
        assert_eq!(report.opaque, opaque, "{mode}");
        assert_eq!(report.content, ENTITY, "{mode}");

        // And the same signature over altered content is not valid.
        let bad = if opaque {
            wrap_opaque(&replace_once(&der, b"Hello Bob.", b"Hello Eve."))
        } else {
            replace_once(&message, b"Hello Bob.", b"Hello Eve.")
        };
        let report = cachet::smime::verify_message(&bad, &options).unwrap();
        assert_eq!(
            common::verdict(&report),
            ("content-altered", "CONTENT_ALTERED"),
            "{mode} altered"
        );
    }
}

// ---- negative interop -----------------------------------------------------------------------

/// A GCM message with one bit of its tag or of its ciphertext flipped: Cachet, OpenSSL and
/// BouncyCastle all refuse it, so our own tamper tests are not self-confirming.
#[test]
fn peers_reject_a_flipped_gcm_tag() {
    let dir = Scratch::new("gcm-tag");
    let mut jobs = Vec::new();
    let mut outs = Vec::new();
    for (name, oaep) in [("bob-rsa", false), ("bob-p256", false), ("bob-rsa", true)] {
        let what = format!("{name} oaep={oaep}");
        let enc = encrypt_ours(&[name], ContentCipher::Aes256Gcm, oaep);
        let (smime_type, der) = pkcs7_body(&enc);
        // Untouched, it opens (control).
        let (out, plain) = openssl_decrypt_form(&dir, &der, "DER", name);
        assert!(
            out.status.success() && plain == ENTITY,
            "{what}: {}",
            describe(&out)
        );
        // The mac OCTET STRING (16 bytes) ends our DER AuthEnvelopedData, right after the
        // encrypted content (no authAttrs): check that with OpenSSL's parse, then flip the last
        // byte of the tag, and the last byte of the ciphertext.
        let printed = openssl_print(&dir, &der);
        assert_eq!(
            mac_of(&printed),
            der[der.len() - 16..],
            "{what}: tag position"
        );
        assert!(
            printed.contains("authAttrs: \n      <ABSENT>")
                || printed.contains("authAttrs:\n      <ABSENT>"),
            "{what}: {printed}"
        );
        for (part, at) in [("tag", der.len() - 1), ("ciphertext", der.len() - 19)] {
            let what = format!("{what}, flipped {part}");
            let mut bad = der.clone();
            bad[at] ^= 0x01;
            let (out, _) = openssl_decrypt_form(&dir, &bad, "DER", name);
            // OpenSSL streams the plaintext out before it checks the tag: only its exit status
            // tells the caller not to trust the output.
            assert!(!out.status.success(), "OpenSSL accepts {what}");
            assert_eq!(
                decrypt_ours(&wrap_enveloped(&bad, &smime_type), name).map(|_| ()),
                Err("DECRYPTION_FAILED"),
                "Cachet, {what}"
            );
            let (job, out) = bc_decrypt_job(&dir, &bad, name);
            jobs.push(job);
            outs.push((what, out));
        }
    }
    for ((what, out), result) in outs.into_iter().zip(bc_run(&dir, &jobs)) {
        assert!(result.is_err(), "BouncyCastle accepts {what}: {result:?}");
        assert!(!fs::read(&out).is_ok_and(|p| p.windows(10).any(|w| w == b"Hello Bob.")));
    }
}

/// The `mac:` bytes of `openssl cms -cmsout -print` output.
fn mac_of(printed: &str) -> Vec<u8> {
    let mut lines = printed.lines().skip_while(|l| l.trim() != "mac:").skip(1);
    let line = lines.next().expect("a mac line");
    let hex: String = line
        .split(" - ")
        .nth(1)
        .expect("hex dump")
        .chars()
        .take(47)
        .filter(char::is_ascii_hexdigit)
        .collect();
    hex::decode(hex).unwrap()
}
