//! Every encrypted message of the real-client corpus decrypts and opens to its expected layers
//! (table: tests/vectors/encrypted.tsv).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cachet::smime::envelope::{self, Layer};
use cachet::smime::VerifyOptions;
use cachet::{x509, Identity, UnixTime};

fn describe(layer: &Layer) -> String {
    match layer {
        Layer::Signed { signers, .. } => format!(
            "signed:{}",
            signers
                .iter()
                .map(|s| s.status.as_str())
                .collect::<Vec<_>>()
                .join("+")
        ),
        Layer::Undecryptable { code } => format!("undecryptable:{code}"),
        other => format!(
            "{}:{}",
            envelope::layer_type(other),
            match other {
                Layer::Encrypted { cipher, .. } => cipher.name(),
                _ => "",
            }
        ),
    }
}

#[test]
fn corpus_encrypted_messages() {
    let table = String::from_utf8(common::vector("encrypted.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, key, cert, password, trust, at, layers, contains, ..] = cols[..] else {
            panic!("bad table line: {line}");
        };
        count += 1;
        let read = |p: &str| common::vector(&format!("corpus/{p}"));
        let cert_data = (cert != "-").then(|| read(cert));
        let password = (password != "-").then_some(password);
        let id = Identity::load(&read(key), cert_data.as_deref(), password, &[])
            .unwrap_or_else(|e| panic!("{file}: loading {key}: {e}"));
        let anchors = if trust == "-" {
            vec![]
        } else {
            x509::parse_certificates(&read(trust)).unwrap()
        };
        let options = VerifyOptions {
            trust_anchors: &anchors,
            certificates: &anchors,
            crls: &[],
            time: UnixTime::parse_rfc3339(at).unwrap(),
        };
        match envelope::open(&read(file), &[&id], &options, &mut common::rng()) {
            Ok(report) => {
                let got: Vec<String> = report.layers.iter().map(describe).collect();
                let got = got.join(",");
                let text = String::from_utf8_lossy(&report.content);
                if got != layers || !text.contains(contains) {
                    failures.push(format!(
                        "{file}: expected {layers} containing {contains:?}, got {got} with {:?}",
                        text.chars().take(300).collect::<String>()
                    ));
                }
            }
            Err(e) => failures.push(format!("{file}: expected {layers}, got error {e}")),
        }
    }
    assert!(count >= 25, "table too short: {count}");
    assert!(
        failures.is_empty(),
        "{} of {count} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
