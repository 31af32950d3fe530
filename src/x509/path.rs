//! Certification path building and validation (RFC 5280 §6, the parts S/MIME needs) and the
//! S/MIME signer policy (RFC 8550 §4.4).

use alloc::vec::Vec;

use x509_cert::Certificate;

use crate::time::UnixTime;

/// The result of path validation.
#[derive(Clone, Debug)]
pub struct PathReport {
    /// Leaf first, anchor last when one was reached.
    pub chain: Vec<Certificate>,
    /// The problem found, `None` when the path is valid.
    pub problem: Option<PathProblem>,
}

/// What is wrong with a path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathProblem {
    /// No path to a trust anchor.
    Untrusted,
    /// A certificate had expired.
    Expired,
    /// A certificate was not yet valid.
    NotYetValid,
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature,
    /// An issuer is not a CA.
    NotCa,
    /// A pathLenConstraint is exceeded.
    PathLength,
    /// A certificate is signed with MD5 or SHA-1.
    WeakSignature,
    /// An algorithm Cachet does not implement.
    UnsupportedAlgorithm(alloc::string::String),
    /// A certificate could not be decoded.
    Malformed,
}

/// Why a certificate may not sign mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageProblem {
    /// keyUsage lacks digitalSignature and nonRepudiation.
    KeyUsage,
    /// extendedKeyUsage lacks emailProtection and anyExtendedKeyUsage.
    ExtendedKeyUsage,
}

/// Build and validate a path from `leaf` to one of `anchors`.
#[must_use]
pub fn validate(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    time: UnixTime,
) -> PathReport {
    let _ = (intermediates, anchors, time);
    PathReport {
        chain: alloc::vec![leaf.clone()],
        problem: Some(PathProblem::Untrusted),
    }
}

/// May this certificate sign mail (RFC 8550 §4.4)?
///
/// # Errors
/// The [`UsageProblem`] found.
pub fn check_signer_usage(leaf: &Certificate) -> Result<(), UsageProblem> {
    let _ = leaf;
    Ok(())
}
