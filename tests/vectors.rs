//! Every signed message of the real-client corpus gives its expected verdict
//! (table: tests/vectors/signed.tsv; files and their sources: tests/vectors/corpus/SOURCES.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use cachet::smime::VerifyOptions;
use cachet::{x509, UnixTime};

#[test]
fn corpus_signed_messages() {
    let table = String::from_utf8(common::vector("signed.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, trust, extra, at, status, code, ..] = cols[..] else {
            panic!("bad table line: {line}");
        };
        count += 1;
        let load = |list: &str, crl: bool| -> Vec<Vec<u8>> {
            list.split(',')
                .filter(|s| *s != "-" && s.starts_with("crl:") == crl)
                .map(|s| common::vector(&format!("corpus/{}", s.trim_start_matches("crl:"))))
                .collect()
        };
        let anchors: Vec<_> = load(trust, false)
            .iter()
            .flat_map(|d| x509::parse_certificates(d).unwrap())
            .collect();
        let extras: Vec<_> = load(extra, false)
            .iter()
            .flat_map(|d| x509::parse_certificates(d).unwrap())
            .collect();
        let crls: Vec<_> = load(extra, true)
            .iter()
            .flat_map(|d| x509::parse_crls(d).unwrap())
            .collect();
        let options = VerifyOptions {
            trust_anchors: &anchors,
            certificates: &extras,
            crls: &crls,
            time: UnixTime::parse_rfc3339(at).unwrap(),
        };
        let message = common::vector(&format!("corpus/{file}"));
        match cachet::smime::verify_message(&message, &options) {
            Ok(report) => {
                for s in &report.signers {
                    common::assert_listed(s.code, s.status.as_str());
                }
                let got: Vec<(&str, &str)> = report
                    .signers
                    .iter()
                    .map(|s| (s.status.as_str(), s.code))
                    .collect();
                if got != [(status, code)] {
                    let reasons: Vec<&str> =
                        report.signers.iter().map(|s| s.reason.as_str()).collect();
                    failures.push(format!(
                        "{file}: expected {status}/{code}, got {got:?} ({reasons:?})"
                    ));
                }
            }
            Err(e) => failures.push(format!("{file}: expected {status}/{code}, got error {e}")),
        }
    }
    assert!(count >= 30, "table too short: {count}");
    assert!(
        failures.is_empty(),
        "{} of {count} vectors failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
