//! Resource limits: every documented limit (README "Limits") is hit with a typed
//! `INPUT_TOO_LARGE` (or the error its parser documents), never a panic or an unbounded
//! allocation.

use cachet::cms::cipher::ContentCipher;
use cachet::mime::{self, Entity};
use cachet::smime::envelope::{self, EncryptOptions};

use crate::common::{self, anchors, identity, verify_options, AT, MESSAGE};
use crate::support::{cert, sign_options};

#[test]
fn message_size() {
    let huge = vec![b'a'; cachet::smime::MAX_MESSAGE_SIZE + 1];
    let a = anchors();
    let bob = identity("bob-p256");
    let code = |r: cachet::Result<()>| r.unwrap_err().code();
    assert_eq!(
        code(cachet::smime::verify_message(&huge, &verify_options(&a)).map(drop)),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(envelope::open(&huge, &[&bob], &verify_options(&a), &mut common::rng()).map(drop)),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(envelope::decrypt_message(&huge, &[&bob], &mut common::rng()).map(drop)),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(
            cachet::smime::sign_message(&huge, &[&bob], &sign_options(false), &mut common::rng())
                .map(drop)
        ),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(cachet::cms::verify::parse(&huge).map(drop)),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        code(cachet::cms::envelope::decrypt(&huge, &[&bob], &mut common::rng()).map(drop)),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn header_fields() {
    let mut msg = "X-A: b\r\n".repeat(mime::MAX_HEADER_FIELDS + 1);
    msg.push_str("\r\nbody");
    assert_eq!(
        Entity::parse(msg.as_bytes()).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    let a = anchors();
    assert_eq!(
        cachet::smime::verify_message(msg.as_bytes(), &verify_options(&a))
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
    let ok = "X-A: b\r\n".repeat(mime::MAX_HEADER_FIELDS);
    assert!(
        Entity::parse(ok.as_bytes()).is_ok(),
        "the limit itself is allowed"
    );
}

#[test]
fn multipart_parts() {
    let body = "--b\r\n\r\nx\r\n".repeat(mime::MAX_PARTS + 1) + "--b--\r\n";
    assert_eq!(
        mime::split_multipart(body.as_bytes(), "b")
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
    let ok = "--b\r\n\r\nx\r\n".repeat(mime::MAX_PARTS) + "--b--\r\n";
    assert_eq!(
        mime::split_multipart(ok.as_bytes(), "b").unwrap().len(),
        mime::MAX_PARTS
    );
}

fn nested_multipart(depth: usize) -> String {
    let mut inner = String::from("Content-Type: text/plain\r\n\r\nleaf\r\n");
    for i in 0..depth {
        inner = format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n{inner}\r\n--b{i}--\r\n"
        );
    }
    inner
}

#[test]
fn mime_nesting_depth() {
    let alice = identity("alice-p256");
    let sign = |m: &str| {
        cachet::smime::sign_message(
            m.as_bytes(),
            &[&alice],
            &sign_options(false),
            &mut common::rng(),
        )
    };
    assert!(sign(&nested_multipart(mime::MAX_DEPTH)).is_ok());
    assert_eq!(
        sign(&nested_multipart(mime::MAX_DEPTH + 2))
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn ber_nesting_depth() {
    // SEQUENCE { SEQUENCE { ... } } with indefinite lengths, deeper than ber::MAX_DEPTH.
    let depth = cachet::ber::MAX_DEPTH + 2;
    let mut der = vec![];
    for _ in 0..depth {
        der.extend_from_slice(&[0x30, 0x80]);
    }
    for _ in 0..depth {
        der.extend_from_slice(&[0, 0]);
    }
    assert_eq!(
        cachet::ber::to_der(&der).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        cachet::cms::verify::parse(&der).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn smime_layers() {
    let mut msg = MESSAGE.to_vec();
    let bob = cert("bob-p256");
    for _ in 0..=envelope::MAX_LAYERS {
        msg = envelope::encrypt_message(
            &msg,
            &[&bob],
            &EncryptOptions {
                cipher: ContentCipher::Aes128Gcm,
                ..Default::default()
            },
            &mut common::rng(),
        )
        .unwrap();
    }
    let id = identity("bob-p256");
    let a = anchors();
    let err = envelope::open(&msg, &[&id], &verify_options(&a), &mut common::rng()).unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
}

#[test]
fn recipients() {
    let bob = cert("bob-p256");
    let many: Vec<_> =
        std::iter::repeat_n(&bob, cachet::cms::envelope::MAX_RECIPIENTS + 1).collect();
    let err = envelope::encrypt_message(
        MESSAGE,
        &many,
        &EncryptOptions::default(),
        &mut common::rng(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
    let o = cachet::mime::compose::ComposeOptions {
        from: "a@example.org".into(),
        to: vec!["b@example.org".into(); cachet::mime::compose::MAX_RECIPIENTS + 1],
        time: AT,
        ..Default::default()
    };
    assert_eq!(
        cachet::mime::compose::compose(&o, &mut common::rng())
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn certificates_per_input() {
    let one = common::pki("alice-rsa.pem");
    let many = one.repeat(cachet::x509::MAX_CERTIFICATES + 1);
    assert_eq!(
        cachet::x509::parse_certificates(&many).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    // DER back to back.
    let der = cachet::pem::decode_all(&one).unwrap().remove(0).der;
    let many = der.repeat(cachet::x509::MAX_CERTIFICATES + 1);
    assert_eq!(
        cachet::x509::parse_certificates(&many).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
}

#[test]
fn signers_per_signed_data() {
    let alice = identity("alice-p256");
    let signers: Vec<_> =
        std::iter::repeat_n(&alice, cachet::cms::verify::MAX_SIGNERS + 1).collect();
    let msg =
        cachet::smime::sign_message(MESSAGE, &signers, &sign_options(true), &mut common::rng())
            .unwrap();
    let a = anchors();
    assert_eq!(
        cachet::smime::verify_message(&msg, &verify_options(&a))
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
}

/// RSA below 2048 bits: signing and encrypting to it are refused; a 1024-bit signature verifies
/// but is reported `weak-algorithm` / `KEY_TOO_SMALL`, never valid.
#[test]
fn rsa_modulus_size() {
    let key = common::vector("corpus/kmail-kde/keys/unittest-cert.key");
    let cert = common::vector("corpus/kmail-kde/keys/unittest-cert.pem");
    let weak = cachet::Identity::load(&key, Some(&cert), None, &[]).unwrap();
    assert_eq!(weak.key.rsa_bits(), Some(1024));
    let err =
        cachet::smime::sign_message(MESSAGE, &[&weak], &sign_options(false), &mut common::rng())
            .unwrap_err();
    assert_eq!(err.code(), "KEY_UNSUPPORTED");
    // Nor does a content key go to it: encrypting to the 1024-bit certificate is refused (its
    // key store entry says it cannot encrypt), whichever RSA key transport.
    let weak_cert = &common::certs("corpus/kmail-kde/keys/unittest-cert.pem")[0];
    for rsa_oaep in [false, true] {
        let options = cachet::smime::envelope::EncryptOptions {
            rsa_oaep,
            ..Default::default()
        };
        let err = cachet::smime::envelope::encrypt_message(
            MESSAGE,
            &[weak_cert],
            &options,
            &mut common::rng(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "KEY_UNSUPPORTED");
    }
    assert!(!cachet::keys::store::certificate_info(weak_cert).can_encrypt);
    let strong = &common::certs("pki/alice-rsa4096.pem")[0];
    assert!(cachet::keys::store::certificate_info(strong).can_encrypt);
    cachet::smime::envelope::encrypt_message(
        MESSAGE,
        &[strong],
        &Default::default(),
        &mut common::rng(),
    )
    .unwrap();
    let msg = common::vector("corpus/kmail-kde/messages/smime-opaque-sign.mbox");
    let trust = common::certs("corpus/kmail-kde/keys/unittest-cert.pem");
    let r = common::verify_at(&msg, &trust, &trust, cachet::UnixTime(1_357_833_000));
    assert_eq!(common::verdict(&r), ("weak-algorithm", "KEY_TOO_SMALL"));
    // 2048 bits is enough.
    let alice = identity("alice-rsa");
    let ok =
        cachet::smime::sign_message(MESSAGE, &[&alice], &sign_options(false), &mut common::rng())
            .unwrap();
    assert_eq!(
        common::verdict(&common::verify(&ok)),
        ("valid", "SIG_VALID")
    );
}

#[test]
fn header_size() {
    // One 2 MiB header line (a 100 MB one fails the same way, as fast: the scan is linear).
    let mut msg = b"Subject: ".to_vec();
    msg.resize(mime::MAX_HEADER_SIZE * 2, b'a');
    msg.extend_from_slice(b"\r\n\r\nbody");
    assert_eq!(Entity::parse(&msg).unwrap_err().code(), "INPUT_TOO_LARGE");
    let a = anchors();
    assert_eq!(
        cachet::smime::verify_message(&msg, &verify_options(&a))
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
    // Folded over many lines counts the same.
    let folded = format!(
        "Subject: x\r\n{}\r\nbody",
        " y\r\n".repeat(mime::MAX_HEADER_SIZE / 4 + 1)
    );
    assert_eq!(
        Entity::parse(folded.as_bytes()).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    // A large body is not a large header.
    let mut big_body = b"Subject: x\r\n\r\n".to_vec();
    big_body.resize(mime::MAX_HEADER_SIZE * 2, b'b');
    assert!(Entity::parse(&big_body).is_ok());
}

/// DER TLV with a definite length.
fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

const OID_SIGNED_DATA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
];
const OID_ENVELOPED_DATA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03,
];
const OID_DATA: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
];

/// ContentInfo { signedData, SignedData { 1, {}, {data}, [0] certs, signers } }
fn signed_data(certificates: &[u8], signer_infos: &[u8]) -> Vec<u8> {
    let mut sd = vec![0x02, 0x01, 0x01];
    sd.extend(tlv(0x31, &[]));
    sd.extend(tlv(0x30, OID_DATA));
    sd.extend(tlv(0xa0, certificates));
    sd.extend(tlv(0x31, signer_infos));
    let mut ci = OID_SIGNED_DATA.to_vec();
    ci.extend(tlv(0xa0, &tlv(0x30, &sd)));
    tlv(0x30, &ci)
}

/// A million certificates (or signers, or recipients) are refused before any is decoded.
#[test]
fn million_element_sets_are_refused_before_decoding() {
    let million_empty = [0x30u8, 0x00].repeat(1_000_000);
    let der = signed_data(&million_empty, &[]);
    assert_eq!(
        cachet::cms::verify::parse(&der).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    assert_eq!(
        cachet::x509::parse_certificates(&der).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    let der = signed_data(&[], &million_empty);
    assert_eq!(
        cachet::cms::verify::parse(&der).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    // Real certificates, just over the limit: the same.
    let cert = cachet::pem::decode_all(&common::pki("alice-rsa.pem"))
        .unwrap()
        .remove(0)
        .der;
    let der = signed_data(&cert.repeat(cachet::cms::verify::MAX_CERTIFICATES + 1), &[]);
    assert_eq!(
        cachet::cms::verify::parse(&der).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    let der = signed_data(&cert.repeat(cachet::x509::MAX_CERTIFICATES + 1), &[]);
    assert_eq!(
        cachet::x509::parse_certificates(&der).unwrap_err().code(),
        "INPUT_TOO_LARGE"
    );
    // ...and at the limit they are read.
    let der = signed_data(&cert.repeat(3), &[]);
    assert_eq!(cachet::x509::parse_certificates(&der).unwrap().len(), 3);
    // EnvelopedData { 0, recipientInfos (a million), ... }
    let mut ed = vec![0x02, 0x01, 0x00];
    ed.extend(tlv(0x31, &million_empty));
    ed.extend(tlv(0x30, OID_DATA));
    let mut ci = OID_ENVELOPED_DATA.to_vec();
    ci.extend(tlv(0xa0, &tlv(0x30, &ed)));
    let der = tlv(0x30, &ci);
    let bob = identity("bob-p256");
    assert_eq!(
        cachet::cms::envelope::decrypt(&der, &[&bob], &mut common::rng())
            .unwrap_err()
            .code(),
        "INPUT_TOO_LARGE"
    );
}

/// Split the contents of a DER constructed value into its elements (definite lengths).
fn children(mut contents: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![];
    while !contents.is_empty() {
        let first = contents[1] as usize;
        let (len, header) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7f;
            (
                contents[2..2 + n]
                    .iter()
                    .fold(0usize, |a, b| a << 8 | *b as usize),
                2 + n,
            )
        };
        out.push(contents[..header + len].to_vec());
        contents = &contents[header + len..];
    }
    out
}

fn contents_of(whole: &[u8]) -> &[u8] {
    let first = whole[1] as usize;
    let header = if first < 0x80 { 2 } else { 2 + (first & 0x7f) };
    &whole[header..]
}

/// KDF iteration counts past 10,000,000 are refused before the KDF runs: in a PKCS#12 MAC, and
/// in an encrypted PKCS#8 key (PBES2/PBKDF2).
#[test]
fn kdf_iteration_counts() {
    let p12 = common::pki("alice-p256.p12");
    let password = "test"; // tests/vectors/pki/README.md
    assert!(cachet::keys::pkcs12::parse(&p12, password).is_ok());
    // PFX ::= SEQUENCE { version, authSafe, macData SEQUENCE { mac, salt, iterations } }
    let mut pfx = children(contents_of(&p12));
    let mut mac = children(contents_of(&pfx[2]));
    mac[2] = tlv(0x02, &[0x7f, 0xff, 0xff, 0xff]);
    pfx[2] = tlv(0x30, &mac.concat());
    let forged = tlv(0x30, &pfx.concat());
    let started = std::time::Instant::now();
    let err = cachet::keys::pkcs12::parse(&forged, password).unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
    assert!(
        started.elapsed().as_secs() < 30,
        "refused before running the KDF"
    );
    // EncryptedPrivateKeyInfo with PBES2 { PBKDF2 { salt, 2^31-1 }, aes256-CBC { iv } }
    const PBES2: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d,
    ];
    const PBKDF2: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c,
    ];
    const AES256_CBC: &[u8] = &[
        0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a,
    ];
    let kdf_params = [tlv(0x04, &[1; 8]), tlv(0x02, &[0x7f, 0xff, 0xff, 0xff])].concat();
    let kdf = tlv(0x30, &[PBKDF2.to_vec(), tlv(0x30, &kdf_params)].concat());
    let enc = tlv(0x30, &[AES256_CBC.to_vec(), tlv(0x04, &[2; 16])].concat());
    let alg = tlv(
        0x30,
        &[PBES2.to_vec(), tlv(0x30, &[kdf, enc].concat())].concat(),
    );
    let epki = tlv(0x30, &[alg, tlv(0x04, &[3; 48])].concat());
    let err = cachet::keys::PrivateKey::parse(&epki, Some("password")).unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
    // scrypt { salt, N = 2^20, r = 8, p = 1 }: 1 GiB of memory, over the 64 MiB limit.
    const SCRYPT: &[u8] = &[
        0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x04, 0x0b,
    ];
    let scrypt_params = [
        tlv(0x04, &[1; 8]),
        tlv(0x02, &[0x10, 0x00, 0x00]),
        tlv(0x02, &[0x08]),
        tlv(0x02, &[0x01]),
    ]
    .concat();
    let kdf = tlv(0x30, &[SCRYPT.to_vec(), tlv(0x30, &scrypt_params)].concat());
    let enc = tlv(0x30, &[AES256_CBC.to_vec(), tlv(0x04, &[2; 16])].concat());
    let alg = tlv(
        0x30,
        &[PBES2.to_vec(), tlv(0x30, &[kdf, enc].concat())].concat(),
    );
    let epki = tlv(0x30, &[alg, tlv(0x04, &[3; 48])].concat());
    let err = cachet::keys::PrivateKey::parse(&epki, Some("password")).unwrap_err();
    assert_eq!(err.code(), "INPUT_TOO_LARGE");
}

/// Two CAs that issued each other, offered hundreds of times: path building stops (at most
/// `MAX_PATH_LENGTH` certificates, a bounded number of steps) with a typed problem.
#[test]
fn path_building_is_bounded() {
    let leaf = common::certs("pki/loop-leaf.pem").remove(0);
    let mut pool = vec![];
    for _ in 0..300 {
        pool.extend(common::certs("pki/loop-ca-a.pem"));
        pool.extend(common::certs("pki/loop-ca-b.pem"));
    }
    let started = std::time::Instant::now();
    let report = cachet::x509::path::validate(&leaf, &pool, &anchors(), AT);
    assert_eq!(
        report.problem,
        Some(cachet::x509::path::PathProblem::Untrusted)
    );
    assert!(report.chain.len() <= cachet::x509::path::MAX_PATH_LENGTH);
    assert!(started.elapsed().as_secs() < 60);
}

/// 50 MB pathological inputs, each parsed once: every parser is linear, so each takes well under
/// a second or two in a debug build. Ignored (a measurement, not a test of the default command):
/// `cargo test --test security -- --ignored --nocapture pathological`.
#[test]
#[ignore = "measurement: run explicitly"]
fn pathological_50mb_inputs_are_linear() {
    const N: usize = 50 * 1024 * 1024;
    let a = anchors();
    let time = |name: &str, f: &dyn Fn() -> Option<&'static str>| {
        let start = std::time::Instant::now();
        let code = f();
        let secs = start.elapsed().as_secs_f64();
        println!("{name:<48} {secs:>7.2} s  {code:?}");
        assert!(secs < 120.0, "{name}: {secs} s");
    };
    let lines = {
        let mut b = b"--b\r\n\r\n".to_vec();
        b.extend("\r\n".repeat(N / 2).as_bytes());
        b.extend_from_slice(b"--b--\r\n");
        b
    };
    time("split_multipart, 25M empty lines", &|| {
        mime::split_multipart(&lines, "b").err().map(|e| e.code())
    });
    let near = "--bX\r\n".repeat(N / 6);
    time("split_multipart, 8M near-delimiters", &|| {
        mime::split_multipart(near.as_bytes(), "b")
            .err()
            .map(|e| e.code())
    });
    let signed = format!(
        "From: a@example.org\r\nContent-Type: multipart/signed; boundary=b\r\n\r\n--b\r\n{near}"
    );
    time("verify_message, multipart/signed of them", &|| {
        cachet::smime::verify_message(signed.as_bytes(), &verify_options(&a))
            .err()
            .map(|e| e.code())
    });
    let lf = vec![b'\n'; N];
    time("to_crlf, 50M bare LF", &|| {
        assert_eq!(mime::to_crlf(&lf).len(), 2 * N);
        None
    });
    let folded = format!("Subject: x\r\n{}", " y\r\n".repeat(N / 4));
    time("Entity::parse, 12M folded header lines", &|| {
        Entity::parse(folded.as_bytes()).err().map(|e| e.code())
    });
    let one_line = "X".repeat(N);
    time("Entity::parse, one 50 MB line", &|| {
        Entity::parse(one_line.as_bytes()).err().map(|e| e.code())
    });
    let begins = "-----BEGIN ".repeat(N / 11);
    time("pem::decode_all, 4.7M BEGIN markers", &|| {
        cachet::pem::decode_all(begins.as_bytes())
            .err()
            .map(|e| e.code())
    });
    let label = format!("-----BEGIN {}-----", "A".repeat(N));
    time("pem::decode_all, 50 MB label", &|| {
        cachet::pem::decode_all(label.as_bytes())
            .err()
            .map(|e| e.code())
    });
    let b64 = "QUJD\r\n".repeat(N / 6);
    time("base64_decode, 50 MB", &|| {
        mime::base64_decode(b64.as_bytes()).err().map(|e| e.code())
    });
    let nested = [0x30u8, 0x80].repeat(N / 2);
    time("ber::to_der, 25M nested indefinite", &|| {
        cachet::ber::to_der(&nested).err().map(|e| e.code())
    });
    let qp = "=\r\n".repeat(N / 3);
    time("qp_decode, 16M soft breaks", &|| {
        let _ = mime::qp_decode(qp.as_bytes());
        None
    });
}
