//! Bleichenbacher/Marvin timing measurement of RSA PKCS#1 v1.5 key transport: does decrypting
//! an EnvelopedData take measurably different time when the RSA block has valid padding (around
//! a wrong key) than when its padding is invalid? A benchmark, not a test: it prints statistics
//! and asserts nothing. Run: `cargo bench --bench marvin` (MARVIN_SAMPLES per class, default
//! 3000).
//!
//! Three classes, interleaved in random order so drift hits each alike:
//! - `valid`: PKCS#1 v1.5 padding around a random 32-byte key (wrong key; fails at the GCM tag),
//! - `short`: valid padding around a 5-byte key (wrong length: replaced by a random key),
//! - `invalid`: a random block below the modulus (invalid padding: implicit rejection).
//!
//! Reported: median, quartiles, mean of the central 80 %, and Welch's t of each class against
//! `valid` on the trimmed samples (|t| > 4.5 is the usual "leak" threshold of dudect/TVLA).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::needless_range_loop,
    missing_docs
)]

use std::time::Instant;

use cachet::cms::cipher::ContentCipher;
use cachet::smime::envelope::{encrypt_entity, EncryptOptions};
use cachet::{x509, Identity};
use der::{Decode, Encode};
use rand_core::Rng;
use rsa::pkcs8::DecodePublicKey;

fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/pki/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn wrapped_key(der_bytes: &[u8]) -> Vec<u8> {
    let info = cms::content_info::ContentInfo::from_der(der_bytes).unwrap();
    let inner = info.content.to_der().unwrap();
    let d = cms::authenveloped_data::AuthEnvelopedData::from_der(&inner).unwrap();
    match d.recip_infos.0.iter().next().unwrap() {
        cms::enveloped_data::RecipientInfo::Ktri(k) => k.enc_key.as_bytes().to_vec(),
        _ => panic!("expected KTRI"),
    }
}

fn with_key(der_bytes: &[u8], old: &[u8], new: &[u8]) -> Vec<u8> {
    let at = der_bytes.windows(old.len()).position(|w| w == old).unwrap();
    let mut out = der_bytes.to_vec();
    out[at..at + old.len()].copy_from_slice(new);
    out
}

struct Stats {
    median: f64,
    q1: f64,
    q3: f64,
    mean: f64,
    var: f64,
    n: f64,
}

fn stats(samples: &[f64]) -> Stats {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let q = |p: f64| s[((s.len() - 1) as f64 * p) as usize];
    // Central 80 %: drop the scheduler's outliers on a shared machine.
    let lo = s.len() / 10;
    let trimmed = &s[lo..s.len() - lo];
    let n = trimmed.len() as f64;
    let mean = trimmed.iter().sum::<f64>() / n;
    let var = trimmed.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Stats {
        median: q(0.5),
        q1: q(0.25),
        q3: q(0.75),
        mean,
        var,
        n,
    }
}

fn welch_t(a: &Stats, b: &Stats) -> f64 {
    (a.mean - b.mean) / (a.var / a.n + b.var / b.n).sqrt()
}

fn main() {
    let samples: usize = std::env::var("MARVIN_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let chain = x509::parse_certificates(&read("inter-ca.pem")).unwrap();
    let bob = Identity::load(
        &read("bob-rsa.key"),
        Some(&read("bob-rsa.pem")),
        None,
        &chain,
    )
    .unwrap();
    let bob_cert = x509::parse_certificates(&read("bob-rsa.pem"))
        .unwrap()
        .remove(0);
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let entity = encrypt_entity(
        b"Content-Type: text/plain\r\n\r\nHello Bob.\r\n",
        &[&bob_cert],
        &EncryptOptions {
            cipher: ContentCipher::Aes256Gcm,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    let body = entity
        .split(|b| *b == b'\n')
        .skip_while(|l| l != b"\r")
        .skip(1);
    let b64: Vec<u8> = body.flatten().copied().collect();
    let der_bytes = cachet::mime::base64_decode(&b64).unwrap();
    let key = wrapped_key(&der_bytes);
    let public = rsa::RsaPublicKey::from_public_key_der(
        &bob_cert
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap(),
    )
    .unwrap();

    let names = ["valid", "short", "invalid"];
    let mut inputs: [Vec<Vec<u8>>; 3] = Default::default();
    for _ in 0..samples {
        let mut cek = [0u8; 32];
        rng.fill_bytes(&mut cek);
        let valid = public
            .encrypt(&mut rng, rsa::Pkcs1v15Encrypt, &cek)
            .unwrap();
        let short = public
            .encrypt(&mut rng, rsa::Pkcs1v15Encrypt, &cek[..5])
            .unwrap();
        let mut invalid = vec![0u8; key.len()];
        rng.fill_bytes(&mut invalid[1..]);
        for (i, block) in [valid, short, invalid].into_iter().enumerate() {
            inputs[i].push(with_key(&der_bytes, &key, &block));
        }
    }
    // Warm up, then interleave the classes in a random order per round.
    for class in &inputs {
        for input in class.iter().take(20) {
            let _ = cachet::cms::envelope::decrypt(input, &[&bob], &mut rng);
        }
    }
    let mut times: [Vec<f64>; 3] = Default::default();
    for i in 0..samples {
        let mut order = [0usize, 1, 2];
        let r = rng.next_u32() as usize;
        order.swap(0, r % 3);
        order.swap(1, 1 + (r / 3) % 2);
        for class in order {
            let input = &inputs[class][i];
            let start = Instant::now();
            let result = cachet::cms::envelope::decrypt(input, &[&bob], &mut rng);
            let elapsed = start.elapsed().as_nanos() as f64 / 1000.0;
            assert_eq!(result.unwrap_err().code(), "DECRYPTION_FAILED");
            times[class].push(elapsed);
        }
    }
    println!("Marvin: RSA-2048 PKCS#1 v1.5 KTRI + AES-256-GCM EnvelopedData decrypt, {samples} samples per class (µs)");
    println!(
        "{:<8} {:>10} {:>10} {:>10} {:>12} {:>12}",
        "class", "q1", "median", "q3", "mean(80%)", "t vs valid"
    );
    let s: Vec<Stats> = times.iter().map(|t| stats(t)).collect();
    for (i, st) in s.iter().enumerate() {
        let t = if i == 0 {
            String::from("-")
        } else {
            format!("{:.2}", welch_t(st, &s[0]))
        };
        println!(
            "{:<8} {:>10.1} {:>10.1} {:>10.1} {:>12.1} {:>12}",
            names[i], st.q1, st.median, st.q3, st.mean, t
        );
    }
    let worst = s[1..]
        .iter()
        .map(|st| welch_t(st, &s[0]).abs())
        .fold(0.0, f64::max);
    println!(
        "max |t| = {worst:.2} ({})",
        if worst > 4.5 {
            "above 4.5: a difference is measurable at this sample size"
        } else {
            "below 4.5: no difference measurable at this sample size"
        }
    );
}
