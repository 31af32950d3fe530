//! Large messages read in pieces (`mime::skeleton`): the stand-in answers what the whole message
//! answers. For signing and encryption, the split (unit tests in `src/mime/skeleton.rs`); for a
//! detached signature, where the signed content is and what verifying with its digests reports,
//! checked here against the whole message: signed here and by other clients, altered, with
//! every digest, and with pieces cut anywhere.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use cachet::algorithms::DigestAlgorithm;
use cachet::cms::cipher::ContentCipher;
use cachet::mime::compose::{compose, Attachment, ComposeOptions};
use cachet::mime::skeleton::{Skeleton, StandIn};
use cachet::smime::envelope::{self, EncryptOptions, FirstLayer, OpenReport};
use cachet::smime::protect::Policy;
use cachet::smime::seal::{prepare, SealOptions};
use cachet::smime::{self, Detached, SignOptions, VerifyOptions, VerifyReport};
use common::{anchors, identity, sign_with, AT};

fn read(message: &[u8], piece: usize) -> Option<StandIn> {
    let mut s = Skeleton::new();
    for p in message.chunks(piece.max(1)) {
        if !s.feed(p) {
            break;
        }
    }
    s.finish()
}

fn stand_in(message: &[u8], piece: usize) -> Option<(StandIn, Detached)> {
    let read = read(message, piece)?;
    let found = Detached::find(&read)?;
    Some((read, found))
}

fn options(anchors: &[x509_cert::Certificate]) -> VerifyOptions<'_> {
    VerifyOptions {
        trust_anchors: anchors,
        certificates: &[],
        crls: &[],
        time: AT,
    }
}

/// What a report says, content aside (the stand-in leaves it to the caller).
fn summary(r: &VerifyReport) -> Vec<(String, String, Option<String>, String)> {
    r.signers
        .iter()
        .map(|s| {
            (
                s.status.as_str().to_string(),
                s.code.to_string(),
                s.email.clone(),
                s.digest_algorithm.clone(),
            )
        })
        .chain([(
            format!("opaque={}", r.opaque),
            String::new(),
            r.from.clone(),
            String::new(),
        )])
        .collect()
}

/// The stand-in agrees with the whole message: same content location, same digests, same
/// report (the digests made over the message's own bytes, as WebCrypto would). Returns whether
/// it answered for every piece size.
fn agrees(message: &[u8]) -> bool {
    let anchors = anchors();
    let whole = smime::detached_content(message);
    let mut answered = true;
    for piece in [1, 5, 77, 4096, 65536, message.len()] {
        let Some((read, s)) = stand_in(message, piece) else {
            answered = false;
            continue;
        };
        let (start, end, names) = whole
            .clone()
            .expect("a stand-in where the message has none");
        assert_eq!(s.content, start..end, "piece {piece}");
        assert_eq!(s.digests, names);
        let digests: Vec<(DigestAlgorithm, Vec<u8>)> = names
            .iter()
            .map(|d| (*d, d.digest(&message[start..end]).unwrap()))
            .collect();
        let mine = s.verify(&read, &options(&anchors), &digests).unwrap();
        let theirs = smime::verify_message(message, &options(&anchors)).unwrap();
        assert_eq!(summary(&mine), summary(&theirs), "piece {piece}");
        assert!(mine.content.is_empty());
        // Without a digest for every signer it refuses (never hashes its stand-in bytes).
        if !digests.is_empty() {
            let err = s
                .verify(&read, &options(&anchors), &digests[1..])
                .unwrap_err();
            assert_eq!(err.code(), "API_MISUSE");
        }
    }
    answered
}

/// A large message: text and a base64 attachment.
fn large(lines: usize) -> Vec<u8> {
    let b64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
        .repeat(lines);
    format!(
        "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: Large\r\n\
         Date: Tue, 01 Jan 2030 00:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b-1\"\r\n\r\n--b-1\r\n\
         Content-Type: text/plain\r\n\r\nSee the attachment.\r\n--b-1\r\n\
         Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         {b64}\r\n--b-1--\r\n"
    )
    .into_bytes()
}

#[test]
fn signed_here_every_key_and_digest() {
    for (name, digest) in [
        ("alice-rsa", DigestAlgorithm::Sha256),
        ("alice-p256", DigestAlgorithm::Sha384),
        ("alice-p384", DigestAlgorithm::Sha512),
        ("alice-ed25519", DigestAlgorithm::Sha512),
    ] {
        let signed = sign_with(&large(2000), &identity(name), false, digest, false);
        assert!(agrees(&signed), "{name}: the stand-in gave up");
    }
}

#[test]
fn altered_content_and_wrong_signer_agree() {
    let signed = sign_with(
        &large(500),
        &identity("alice-rsa"),
        false,
        DigestAlgorithm::Sha256,
        false,
    );
    // One character of the attachment changed: content-altered, both ways.
    let text = String::from_utf8(signed).unwrap();
    let at = text.find("QUJD").unwrap() + 20_000;
    let mut altered = text.clone().into_bytes();
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    assert!(agrees(&altered));
    let theirs = smime::verify_message(&altered, &options(&anchors())).unwrap();
    let original = smime::verify_message(text.as_bytes(), &options(&anchors())).unwrap();
    assert_eq!(
        theirs.signers[0].status.as_str(),
        "content-altered",
        "{original:?}"
    );
    // From: another address than the signer's.
    let spoofed = text.replacen(
        "From: Alice <alice@example.org>",
        "From: Eve <eve@example.org>",
        1,
    );
    assert!(agrees(spoofed.as_bytes()));
}

#[test]
fn opaque_and_unsigned_messages_have_no_stand_in() {
    let opaque = sign_with(
        &large(100),
        &identity("alice-p256"),
        true,
        DigestAlgorithm::Sha256,
        false,
    );
    assert!(stand_in(&opaque, 4096).is_none());
    assert!(stand_in(&large(100), 4096).is_none());
    // Line ends to convert: the whole message is read (and converted) instead.
    let signed = sign_with(
        &large(100),
        &identity("alice-p256"),
        false,
        DigestAlgorithm::Sha256,
        false,
    );
    let lf: Vec<u8> = String::from_utf8(signed)
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    assert!(stand_in(&lf, 4096).is_none());
}

/// Every message in the test vectors (Outlook, Thunderbird, OpenSSL, BouncyCastle, ...), as
/// stored (most with LF line ends).
fn vectors() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from("tests/vectors")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                dirs.push(path);
            } else if matches!(
                path.extension().and_then(|x| x.to_str()),
                Some("eml" | "msg")
            ) {
                out.push(std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn messages_of_other_clients_agree() {
    let mut answered = 0;
    for message in vectors() {
        let message = cachet::mime::to_crlf(&message).into_owned();
        if smime::detached_content(&message).is_some() && agrees(&message) {
            answered += 1;
        }
    }
    assert!(
        answered >= 5,
        "only {answered} signed vectors answered by the stand-in"
    );
}

#[test]
fn messages_of_other_clients_split_alike() {
    let mut answered = 0;
    for message in vectors() {
        splits_alike(&message);
        if splits_alike(&cachet::mime::to_crlf(&message)) {
            answered += 1;
        }
    }
    assert!(
        answered > 20,
        "only {answered} vectors answered by the skeleton"
    );
}

/// A large message as a web mail composes it: text and an attachment.
fn composed(attachment: usize) -> Vec<u8> {
    let o = ComposeOptions {
        from: "Alice <alice@example.org>".into(),
        to: vec!["Bob <bob@example.org>".into()],
        subject: "Quarterly numbers".into(),
        text: Some("Hello Bob,\nthe numbers are attached.\n".into()),
        attachments: vec![Attachment {
            filename: "n.bin".into(),
            content_type: "application/octet-stream".into(),
            data: (0..attachment).map(|i| (i * 7 % 251) as u8).collect(),
        }],
        time: AT,
        ..Default::default()
    };
    compose(&o, &mut common::rng()).unwrap()
}

/// What an open report says, content aside.
fn open_summary(r: &OpenReport) -> String {
    let layers: Vec<String> = r
        .layers
        .iter()
        .map(|l| match l {
            envelope::Layer::Signed { signers, opaque } => format!(
                "signed opaque={opaque} {:?}",
                signers
                    .iter()
                    .map(|s| (s.status.as_str(), s.code, s.email.clone()))
                    .collect::<Vec<_>>()
            ),
            other => envelope::layer_type(other).to_string(),
        })
        .collect();
    format!(
        "{layers:?} authenticated={} signed_valid={} headers={:?} protected={:?}",
        r.authenticated,
        r.signed_valid,
        String::from_utf8_lossy(&r.headers),
        r.protected
    )
}

/// Digests of the signed content `found` locates in `plaintext`, as WebCrypto would make them.
fn digests_of(found: Option<&Detached>, plaintext: &[u8]) -> Vec<(DigestAlgorithm, Vec<u8>)> {
    found
        .iter()
        .flat_map(|f| {
            f.digests
                .iter()
                .map(|d| (*d, d.digest(&plaintext[f.content.clone()]).unwrap()))
        })
        .collect()
}

/// Open the decrypted `plaintext` of a message with header section `header` from its stand-in
/// and whole; they must agree. Returns whether the stand-in answered for every piece size.
fn opens_alike(header: &[u8], plaintext: &[u8]) -> bool {
    let anchors = anchors();
    let cipher = ContentCipher::Aes256Gcm;
    let whole = envelope::open_after(
        header,
        Some(FirstLayer::Decrypted {
            content: plaintext,
            cipher,
        }),
        &[],
        &options(&anchors),
        &mut common::rng(),
    )
    .unwrap();
    let mut answered = true;
    for piece in [3, 4096, plaintext.len()] {
        let read = read(plaintext, piece).expect("a CRLF plaintext is read");
        let found = Detached::find(&read);
        let digests = digests_of(found.as_ref(), plaintext);
        let opened = envelope::open_stand_in(
            header,
            cipher,
            &read,
            found.as_ref(),
            &options(&anchors),
            &digests,
        )
        .unwrap();
        let Some((report, range)) = opened else {
            answered = false;
            continue;
        };
        assert_eq!(open_summary(&report), open_summary(&whole), "piece {piece}");
        assert_eq!(&plaintext[range], whole.content.as_slice(), "piece {piece}");
        assert!(report.content.is_empty());
    }
    answered
}

/// The outer header section (as an encrypted message has it) and the entity `seal` encrypts.
fn sealed_payload(header_protection: bool, sign: bool, legacy_display: bool) -> (Vec<u8>, Vec<u8>) {
    let alice = identity("alice-rsa");
    let bob_cert = common::certs("pki/bob-rsa.pem").remove(0);
    let signers = [&alice];
    let options = SealOptions {
        signers: if sign { &signers } else { &[] },
        sign: SignOptions {
            opaque: false,
            digest: DigestAlgorithm::Sha256,
            rsa_pss: false,
            time: AT,
        },
        recipients: &[&bob_cert],
        encrypt: EncryptOptions::default(),
        header_protection,
        policy: Policy::Baseline,
        legacy_display,
    };
    let (outer, entity) = prepare(&composed(300_000), &options, &mut common::rng()).unwrap();
    let mut header = outer;
    header.extend_from_slice(
        b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=authEnveloped-data\r\n\r\n",
    );
    (header, entity)
}

#[test]
fn open_of_a_large_decrypted_message_agrees_with_the_whole_plaintext() {
    for (hp, sign, legacy) in [
        (true, true, true),
        (true, true, false),
        (false, true, false),
        (true, false, true),
        (false, false, false),
    ] {
        let (header, plaintext) = sealed_payload(hp, sign, legacy);
        assert!(
            opens_alike(&header, &plaintext),
            "hp={hp} sign={sign}: the stand-in gave up"
        );
    }
}

#[test]
fn open_stand_in_agrees_on_altered_content_and_leaves_nested_layers_to_the_whole_path() {
    let (header, plaintext) = sealed_payload(true, true, true);
    // An attachment byte changed after signing: content-altered both ways.
    let mut altered = plaintext.clone();
    let at = altered.len() / 2;
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    assert!(opens_alike(&header, &altered));
    // A signed layer inside a signed layer: the whole plaintext is opened.
    let inner = sign_with(
        &composed(1000),
        &identity("alice-p256"),
        false,
        DigestAlgorithm::Sha256,
        false,
    );
    let outer = sign_with(
        &inner,
        &identity("alice-rsa"),
        false,
        DigestAlgorithm::Sha256,
        false,
    );
    let start = String::from_utf8_lossy(&outer)
        .find("Content-Type: multipart/signed")
        .unwrap();
    let nested = &outer[start..];
    let read = read(nested, 4096).unwrap();
    let found = Detached::find(&read).unwrap();
    let digests = digests_of(Some(&found), nested);
    let anchors = anchors();
    let open = |digests: &[(DigestAlgorithm, Vec<u8>)]| {
        envelope::open_stand_in(
            &header,
            ContentCipher::Aes256Gcm,
            &read,
            Some(&found),
            &options(&anchors),
            digests,
        )
    };
    assert!(
        open(&digests).unwrap().is_none(),
        "a nested layer is left to the whole path"
    );
    assert!(!opens_alike(&header, nested));
    // A missing digest is refused.
    assert_eq!(open(&[]).unwrap_err().code(), "API_MISUSE");
}

// ---- the split for signing and encryption ----

/// The skeleton's split of `message` fed in `piece`-byte pieces.
fn split_by_pieces(message: &[u8], piece: usize) -> Option<smime::SplitEntity> {
    let mut s = Skeleton::new();
    for p in message.chunks(piece.max(1)) {
        if !s.feed(p) {
            break;
        }
    }
    envelope::split_skeleton(s).unwrap()
}

/// Whenever the skeleton answers, it answers as the whole-message split does; returns
/// whether it answered for every piece size tried.
fn splits_alike(message: &[u8]) -> bool {
    let whole = envelope::split_message_in_place(message);
    let mut answered = true;
    for piece in [1, 2, 3, 7, 64, 1000, 4096, message.len()] {
        match split_by_pieces(message, piece) {
            Some(s) => {
                let w = whole
                    .as_ref()
                    .expect("the skeleton split what the parser refuses");
                assert_eq!(s.outer, w.outer, "outer, piece {piece}");
                assert_eq!(s.head, w.head, "head, piece {piece}");
                assert_eq!(s.body, w.body, "body, piece {piece}");
            }
            None => answered = false,
        }
    }
    answered
}

fn b64_lines(n: usize) -> String {
    "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n".repeat(n)
}

fn mixed(text: &str, attachment_cte: &str, attachment: &str) -> String {
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npreamble\r\n--b1\r\n\
         Content-Type: text/plain\r\n\r\n{text}\r\n--b1\r\nContent-Type: application/pdf\r\n\
         Content-Transfer-Encoding: {attachment_cte}\r\n\r\n{attachment}\r\n--b1--\r\n"
    )
}

#[test]
fn answers_as_the_whole_message_split_for_canonical_messages() {
    let cases = [
        // A "--" line in a text leaf (kept, with the lines after it up to an empty one).
        mixed("Hello\r\n--\r\nAlice\r\n\r\nPS", "base64", &b64_lines(500)),
        format!(
            "Subject: x\r\nContent-Type: application/octet-stream\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}",
            b64_lines(300)
        ),
        // No entity fields: a text/plain default is made (us-ascii).
        format!("Subject: plain\r\n\r\n{}", b64_lines(200)),
        // Nested multipart, an epilogue, a part without a closing delimiter.
        format!(
            "Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\n\
             Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\n\
             Content-Type: text/plain\r\n\r\nhi\r\n--inner\r\nContent-Type: text/html\r\n\r\n\
             <p>hi</p>\r\n--inner--\r\n--outer\r\nContent-Type: image/png\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}--outer--\r\nepilogue\r\n",
            b64_lines(100)
        ),
        format!(
            "Subject: no end\r\n\r\n{}last line without CRLF",
            b64_lines(50)
        ),
    ];
    for (i, m) in cases.iter().enumerate() {
        assert!(splits_alike(m.as_bytes()), "case {i}: the skeleton gave up");
    }
}

#[test]
fn gives_up_or_agrees_where_the_entity_must_be_reencoded() {
    let long = "y".repeat(1200);
    let cases = [
        // 8-bit text, a long line, trailing white space, "From " at a line start, a NUL:
        // each needs encoding in a 7bit leaf, not in a base64 one.
        mixed("caf\u{e9}", "base64", &b64_lines(10)),
        mixed(&long, "base64", &b64_lines(10)),
        mixed("trailing \r\nspace", "base64", &b64_lines(10)),
        mixed("From me\r\nto you", "base64", &b64_lines(10)),
        mixed("nul \0 byte", "base64", &b64_lines(10)),
        mixed("fine", "7bit", &format!("{}caf\u{e9}", b64_lines(10))),
        mixed("fine", "base64", &format!("{long}\r\n{}", b64_lines(10))),
        // Dirty lines where nothing is checked: preamble (here: 8-bit) and a base64 leaf.
        mixed("fine", "base64", &format!("trailing \r\n{}", b64_lines(10)))
            .replace("preamble", "pr\u{e9}ambule"),
        // No entity fields and 8-bit text: a utf-8 default is made.
        format!("Subject: s\r\n\r\ncaf\u{e9}\r\n{}", b64_lines(10)),
        format!("Subject: s\r\n\r\ntrailing \r\n{}", b64_lines(10)),
        // A delimiter with long transport padding, a long part header line.
        mixed("fine", "base64", &b64_lines(10)).replace(
            "--b1\r\nContent-Type: application/pdf",
            &format!("--b1{}\r\nContent-Type: application/pdf", " ".repeat(1100)),
        ),
        mixed("fine", "base64", &b64_lines(10)).replace(
            "application/pdf",
            &format!("application/pdf; name=\"{long}\""),
        ),
        // Malformed structure: a boundary too long, nesting too deep.
        format!(
            "Content-Type: multipart/mixed; boundary={}\r\n\r\n--{}\r\n\r\nx\r\n",
            "b".repeat(201),
            "b".repeat(201)
        ),
    ];
    for m in &cases {
        splits_alike(m.as_bytes());
    }
    // The 8-bit text leaf and the no-fields 8-bit body: no answer (re-encoding is needed).
    assert!(split_by_pieces(cases[0].as_bytes(), 64).is_none());
    assert!(split_by_pieces(cases[8].as_bytes(), 64).is_none());
    // A dirty preamble or base64 leaf is kept as it is, as the whole split keeps it.
    assert!(splits_alike(cases[7].as_bytes()));
}

#[test]
fn line_ends_other_than_crlf_are_given_up_on() {
    for m in [
        "Subject: s\r\n\r\nbare LF\nhere\r\n",
        "Subject: s\r\n\r\nbare CR\rhere\r\n",
        "Subject: s\nX: y\n\nLF only\n",
        "Subject: s\r\n\r\nends in CR\r",
    ] {
        for piece in [1, 2, 5, 100] {
            assert!(
                split_by_pieces(m.as_bytes(), piece).is_none(),
                "{m:?} {piece}"
            );
        }
    }
}

#[test]
fn a_large_stand_in_is_given_up_on() {
    // Many "--" lines: all kept, past the limit.
    let mut m = vec![];
    m.extend_from_slice(b"Subject: s\r\n\r\n");
    while m.len() < cachet::mime::skeleton::MAX_SKELETON + 1000 {
        m.extend_from_slice(b"-- a signature separator, kept\r\n\r\n");
    }
    assert!(split_by_pieces(&m, 1 << 20).is_none());
}

// ---- seal: header protection from a stand-in ------------------------------------------------

/// Every way `seal` protects: header protection off; on, signed only; on, encrypted with each
/// policy, with and without the Legacy Display Element.
fn protect_variants() -> Vec<(bool, bool, Policy, bool)> {
    let mut out = vec![
        (false, false, Policy::Baseline, true),
        (false, true, Policy::Baseline, true),
        (true, false, Policy::Baseline, true),
    ];
    for policy in [Policy::Baseline, Policy::Shy, Policy::NoConfidentiality] {
        for legacy in [true, false] {
            out.push((true, true, policy, legacy));
        }
    }
    out
}

/// Whenever the stand-in answers, its payload (`prefix` and the message from `start` on) and
/// outer header are those of the whole message, for every variant and piece size; returns
/// whether it answered for all of them.
fn protects_alike(message: &[u8]) -> bool {
    let alice = identity("alice-rsa");
    let bob = common::certs("pki/bob-rsa.pem").remove(0);
    let mut answered = true;
    for (hp, encrypt, policy, legacy) in protect_variants() {
        let signers = [&alice];
        let recipients = [&bob];
        let options = SealOptions {
            signers: &signers,
            sign: SignOptions {
                opaque: false,
                digest: DigestAlgorithm::Sha256,
                rsa_pss: false,
                time: AT,
            },
            recipients: if encrypt { &recipients } else { &[] },
            encrypt: EncryptOptions::default(),
            header_protection: hp,
            policy,
            legacy_display: legacy,
        };
        let whole = cachet::smime::seal::protect_payload(message, &options);
        for piece in [1, 3, 64, 4096, message.len()] {
            let Some(read) = read(message, piece) else {
                answered = false;
                continue;
            };
            let got =
                cachet::smime::seal::protect_payload_stand_in(&read, encrypt, &options).unwrap();
            let Some(cachet::smime::protect::Spliced {
                outer,
                prefix,
                start,
            }) = got
            else {
                answered = false;
                continue;
            };
            let (w_outer, w_payload) = whole
                .as_ref()
                .expect("the stand-in protected what the whole path refuses");
            let what =
                format!("hp {hp}, encrypt {encrypt}, {policy:?}, legacy {legacy}, piece {piece}");
            assert_eq!(&outer, w_outer, "outer: {what}");
            assert_eq!(
                [&prefix[..], &message[start..]].concat(),
                *w_payload,
                "payload: {what}"
            );
        }
    }
    answered
}

fn single(fields: &str, body: &str) -> String {
    format!("From: Alice <a@example.org>\r\nTo: b@example.org\r\nSubject: Numbers\r\n{fields}\r\n{body}")
}

#[test]
fn seal_protects_a_stand_in_as_the_whole_message() {
    let text = "Hello Bob,\r\n\r\nthe numbers follow.\r\n".repeat(200);
    let qp = "caf=C3=A9 and a long line that goes on=\r\n and on\r\n".repeat(200);
    let answered = [
        // What a web mail sends: text and an attachment.
        composed(300_000),
        // One text part: 7-bit, quoted-printable; a preamble before the first part.
        single("Content-Type: text/plain; charset=utf-8\r\n", &text).into_bytes(),
        single(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
            &qp,
        )
        .into_bytes(),
        mixed(&text, "base64", &b64_lines(500)).into_bytes(),
        // A non-ASCII Subject into a quoted-printable part: the element is encoded in front.
        format!(
            "From: a@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: text/plain\r\n\
             Content-Transfer-Encoding: quoted-printable\r\n\r\n{qp}"
        )
        .into_bytes(),
    ];
    for (i, m) in answered.iter().enumerate() {
        assert!(protects_alike(m), "case {i}: the stand-in gave up");
    }
    // Where the element changes more than the part's start, the whole message is protected
    // (still agreeing wherever the stand-in answers, e.g. without the element).
    let whole_path = [
        // 8-bit text is re-encoded for signing.
        single(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
            &"Gr\u{fc}\u{df}e\r\n".repeat(300),
        ),
        single("Content-Type: text/html\r\n", &"<html><body><p>hi</p></body></html>\r\n".repeat(50)),
        single(
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n",
            &b64_lines(100),
        ),
        // A non-ASCII Subject into a 7-bit part: re-encoded to quoted-printable.
        format!(
            "From: a@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\nContent-Type: text/plain\r\n\r\n{text}"
        ),
        // Every alternative takes the element.
        format!(
            "From: a@example.org\r\nSubject: s\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n\
             --a\r\nContent-Type: text/plain\r\n\r\n{text}\r\n--a\r\nContent-Type: text/plain\r\n\r\n{text}\r\n--a--\r\n"
        ),
    ];
    for (i, m) in whole_path.iter().enumerate() {
        assert!(
            !protects_alike(m.as_bytes()),
            "case {i}: the stand-in answered for every variant"
        );
    }
}

#[test]
fn seal_protects_messages_of_other_clients_as_the_whole_message() {
    let mut answered = 0;
    for message in vectors() {
        protects_alike(&message);
        if protects_alike(&cachet::mime::to_crlf(&message)) {
            answered += 1;
        }
    }
    assert!(
        answered > 10,
        "only {answered} vectors answered by the stand-in"
    );
}
