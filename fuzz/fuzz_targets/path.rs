//! Certificate path validation over certificates parsed from the input: the first is the leaf,
//! the rest intermediates; the test PKI's root and the input's last certificate are anchors.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(certs) = cachet::x509::parse_certificates(data) else {
        return;
    };
    let Some((leaf, rest)) = certs.split_first() else {
        return;
    };
    let mut anchors = cachet_fuzz::anchors().to_vec();
    anchors.extend(rest.last().cloned());
    let mut pool = rest.to_vec();
    pool.extend_from_slice(cachet_fuzz::intermediates());
    let _ = cachet::x509::path::validate(leaf, &pool, &anchors, cachet_fuzz::AT);
    let _ = cachet::x509::path::validate(leaf, rest, rest, cachet_fuzz::AT);
});
