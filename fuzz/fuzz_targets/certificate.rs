//! Certificates: PEM, DER, concatenated DER, PKCS#7 bundles; and what Cachet reads from them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(certs) = cachet::x509::parse_certificates(data) {
        for c in &certs {
            let _ = cachet::x509::email_addresses(c);
            let _ = cachet::x509::address_matches(c, "alice@example.org");
            let _ = cachet::x509::subject(c);
            let _ = cachet::x509::issuer(c);
            let _ = cachet::x509::key_identifiers(c);
            let _ = cachet::x509::path::check_signer_usage(c);
        }
    }
    let _ = cachet::x509::parse_crls(data);
});
