//! Revocation by certificate revocation lists (RFC 5280 §5, §6.3) the caller supplies.
//!
//! Nothing is fetched: no CRL distribution points, no OCSP. A CRL counts only when its signature
//! verifies with the key of the certificate's issuer in the validated chain and it was issued
//! before the verification time. Delta CRLs and indirect CRLs are not handled.

use der::Encode;
use x509_cert::crl::CertificateList;
use x509_cert::Certificate;

use crate::algorithms;
use crate::time::UnixTime;

/// The index in `chain` (leaf first, anchor last) of the first certificate a CRL revokes at
/// `time`, if any.
#[must_use]
pub fn revoked(chain: &[Certificate], crls: &[CertificateList], time: UnixTime) -> Option<usize> {
    chain.windows(2).position(|pair| {
        let [cert, issuer] = pair else { return false };
        crls.iter().any(|crl| revokes(crl, cert, issuer, time))
    })
}

fn revokes(
    crl: &CertificateList,
    cert: &Certificate,
    issuer: &Certificate,
    time: UnixTime,
) -> bool {
    let tbs = &crl.tbs_cert_list;
    if &tbs.issuer != cert.tbs_certificate().issuer()
        || tbs.issuer != *issuer.tbs_certificate().subject()
        || UnixTime::from_x509(&tbs.this_update) > time
    {
        return false;
    }
    let Ok(tbs_der) = tbs.to_der() else {
        return false;
    };
    let Some(signature) = crl.signature.as_bytes() else {
        return false;
    };
    let spki = issuer.tbs_certificate().subject_public_key_info();
    if algorithms::verify_signature(spki, &crl.signature_algorithm, None, &tbs_der, signature)
        .is_err()
    {
        return false;
    }
    let serial = cert.tbs_certificate().serial_number();
    tbs.revoked_certificates.iter().flatten().any(|entry| {
        &entry.serial_number == serial && UnixTime::from_x509(&entry.revocation_date) <= time
    })
}
