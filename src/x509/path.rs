//! Certification path building and validation (RFC 5280 §6, the parts S/MIME needs) and the
//! S/MIME signer policy (RFC 8550 §4.4).
//!
//! Builds paths from the leaf towards a trust anchor by name (issuer = subject, and
//! authorityKeyIdentifier = subjectKeyIdentifier when both are present), trying every candidate
//! depth first. It checks signatures, validity at the given time, basicConstraints, keyUsage
//! keyCertSign and pathLenConstraint, and rejects unhandled critical extensions.
//!
//! It does not check revocation (CRLs, OCSP), certificate policies, name constraints (a CA
//! carrying them is rejected as [`PathProblem::UnhandledCriticalExtension`] when critical) or
//! EKU nesting on CAs, and compares names by their DER encoding, not with RFC 4518 matching.
//! Signatures are checked over the re-encoded TBSCertificate: a certificate that encodes a date
//! before 2050 as GeneralizedTime (which RFC 5280 forbids) fails as [`PathProblem::BadSignature`].
//!
//! Trust anchors are trusted as they are: their own signature, basicConstraints and pathLen are
//! not checked, only their validity period. A certificate counts as an anchor when its subject
//! and public key equal an anchor's.
//!
//! SHA-1 and MD5: a certificate below the anchor signed with either (or with RSA under 1024
//! bits) gets [`PathProblem::WeakSignature`], even when the signature is correct; the anchor's
//! own (self-)signature is never looked at, so old roots signed with SHA-1 still work.

use alloc::string::String;
use alloc::vec::Vec;

use const_oid::db::rfc5280 as ext_oid;
use der::Encode as _;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use x509_cert::Certificate;

use crate::algorithms::{verify_signature, SignatureError};
use crate::time::UnixTime;

/// Longest path considered, leaf and anchor included.
pub const MAX_PATH_LENGTH: usize = 8;

/// Most issuer candidates examined in one [`validate`] call (each costs a signature check).
const MAX_STEPS: usize = 256;

/// The result of [`validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathReport {
    /// The path found, leaf first; it ends with the anchor when one was reached. On failure, the
    /// path that came closest (see [`validate`]).
    pub chain: Vec<Certificate>,
    /// `None` when `chain` is a valid path from the leaf to a trust anchor.
    pub problem: Option<PathProblem>,
}

/// What is wrong with the best path found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathProblem {
    /// No path reaches a trust anchor.
    Untrusted,
    /// A certificate on the path expired before the verification time.
    Expired,
    /// A certificate on the path is not yet valid at the verification time.
    NotYetValid,
    /// A signature on the path does not verify with its issuer's key.
    BadSignature,
    /// An issuer on the path is not a CA (no basicConstraints CA:true, or keyUsage without
    /// keyCertSign).
    NotCa,
    /// A CA's pathLenConstraint is exceeded.
    PathLength,
    /// A certificate below the anchor is signed with MD5 or SHA-1, or by an RSA key under 1024
    /// bits.
    WeakSignature,
    /// A signature algorithm Cachet does not verify (the OID or name).
    UnsupportedAlgorithm(String),
    /// A certificate could not be re-encoded, or its signature is not a whole number of bytes.
    Malformed,
    /// A certificate below the anchor has a critical extension Cachet does not process (the
    /// OID), such as nameConstraints.
    UnhandledCriticalExtension(String),
}

impl PathProblem {
    /// A stable code for reports: `CERT_UNTRUSTED`, `CERT_EXPIRED`, `CERT_NOT_YET_VALID`,
    /// `CERT_BAD_SIGNATURE`, `CERT_NOT_CA`, `CERT_PATH_LENGTH`, `CERT_WEAK_SIGNATURE`,
    /// `CERT_UNSUPPORTED_ALGORITHM`, `CERT_MALFORMED`, `CERT_UNHANDLED_CRITICAL_EXTENSION`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Untrusted => "CERT_UNTRUSTED",
            Self::Expired => "CERT_EXPIRED",
            Self::NotYetValid => "CERT_NOT_YET_VALID",
            Self::BadSignature => "CERT_BAD_SIGNATURE",
            Self::NotCa => "CERT_NOT_CA",
            Self::PathLength => "CERT_PATH_LENGTH",
            Self::WeakSignature => "CERT_WEAK_SIGNATURE",
            Self::UnsupportedAlgorithm(_) => "CERT_UNSUPPORTED_ALGORITHM",
            Self::Malformed => "CERT_MALFORMED",
            Self::UnhandledCriticalExtension(_) => "CERT_UNHANDLED_CRITICAL_EXTENSION",
        }
    }

    /// Problems that say "this issuer did not sign this": they outweigh the others on a path.
    fn is_forgery(&self) -> bool {
        matches!(self, Self::BadSignature | Self::Malformed)
    }
}

/// A certificate with its DER, for identity comparisons.
struct Node<'a> {
    cert: &'a Certificate,
    der: Vec<u8>,
    anchor: bool,
}

/// A finished attempt.
struct Outcome {
    chain: Vec<usize>,
    problem: Option<PathProblem>,
    reached_anchor: bool,
}

impl Outcome {
    /// Higher is a better explanation: a path to an anchor over one that stops short, and on
    /// those, anything over a forged link.
    fn rank(&self) -> u8 {
        match (&self.problem, self.reached_anchor) {
            (None, true) => 4,
            (Some(p), true) if !p.is_forgery() => 3,
            (_, true) => 2,
            (_, false) => 1,
        }
    }
}

struct Search<'a> {
    nodes: Vec<Node<'a>>,
    time: UnixTime,
    steps: usize,
    best: Option<Outcome>,
}

/// Validate `leaf` at `time`: find a path to one of `anchors` through `intermediates` (any
/// order; unrelated certificates are ignored).
///
/// Every candidate issuer is tried (depth first, at most [`MAX_PATH_LENGTH`] certificates, never
/// the same certificate twice, so circular certificates cannot loop). The first path without a
/// problem wins. When none is clean, the report holds the best failure: a path that reached an
/// anchor with a problem such as [`PathProblem::Expired`] beats one that reached it through a
/// bad signature, which beats [`PathProblem::Untrusted`] (reported with the longest path
/// built). On a path, the first problem from the leaf up is reported, except that a bad
/// signature outweighs problems found below it.
///
/// A leaf that is itself an anchor is accepted (chain of one) if valid at `time`.
#[must_use]
pub fn validate(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    time: UnixTime,
) -> PathReport {
    let Ok(leaf_der) = leaf.to_der() else {
        return PathReport {
            chain: alloc::vec![leaf.clone()],
            problem: Some(PathProblem::Malformed),
        };
    };
    let is_anchor = |cert: &Certificate| {
        let tbs = cert.tbs_certificate();
        anchors.iter().any(|a| {
            let a = a.tbs_certificate();
            a.subject() == tbs.subject()
                && a.subject_public_key_info() == tbs.subject_public_key_info()
        })
    };
    let mut nodes = alloc::vec![Node {
        cert: leaf,
        der: leaf_der,
        anchor: is_anchor(leaf)
    }];
    for cert in anchors.iter().chain(intermediates) {
        let Ok(der) = cert.to_der() else { continue };
        if !nodes.iter().skip(1).any(|n| n.der == der) {
            nodes.push(Node {
                cert,
                der,
                anchor: is_anchor(cert),
            });
        }
    }
    let mut search = Search {
        nodes,
        time,
        steps: 0,
        best: None,
    };
    let mut chain = alloc::vec![0];
    let problem = search.cert_problem(0);
    search.extend(&mut chain, problem);
    let best = search.best.unwrap_or(Outcome {
        chain: alloc::vec![0],
        problem: Some(PathProblem::Untrusted),
        reached_anchor: false,
    });
    let problem = if best.reached_anchor {
        best.problem
    } else {
        Some(PathProblem::Untrusted)
    };
    PathReport {
        chain: best
            .chain
            .iter()
            .filter_map(|&i| search.nodes.get(i).map(|n| n.cert.clone()))
            .collect(),
        problem,
    }
}

impl Search<'_> {
    /// Record an attempt; returns true when it is a clean path (search over).
    fn record(&mut self, chain: &[usize], problem: Option<PathProblem>, reached: bool) -> bool {
        let outcome = Outcome {
            chain: chain.to_vec(),
            problem,
            reached_anchor: reached,
        };
        let better = match &self.best {
            None => true,
            Some(best) => {
                outcome.rank() > best.rank()
                    || (outcome.rank() == 1 && best.rank() == 1 && chain.len() > best.chain.len())
            }
        };
        let done = outcome.rank() == 4;
        if better {
            self.best = Some(outcome);
        }
        done
    }

    /// Extend the path `chain` (indexes into `nodes`) upwards. Returns true when a clean path
    /// was found.
    fn extend(&mut self, chain: &mut Vec<usize>, problem: Option<PathProblem>) -> bool {
        let Some(&last) = chain.last() else {
            return false;
        };
        let Some(cur) = self.nodes.get(last) else {
            return false;
        };
        if cur.anchor {
            return self.record(chain, problem, true);
        }
        if chain.len() >= MAX_PATH_LENGTH {
            return self.record(chain, problem, false);
        }
        let cur_cert = cur.cert;
        let aki = super::authority_key_id(cur_cert);
        let candidates: Vec<usize> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, n)| {
                !chain.contains(i)
                    && !chain
                        .iter()
                        .any(|&c| self.nodes.get(c).is_some_and(|o| o.der == n.der))
                    && n.cert.tbs_certificate().subject() == cur_cert.tbs_certificate().issuer()
                    && match (&aki, super::subject_key_id(n.cert)) {
                        (Some(a), Some(s)) => *a == s,
                        _ => true,
                    }
            })
            .map(|(i, _)| i)
            .collect();
        if candidates.is_empty() {
            return self.record(chain, problem, false);
        }
        for candidate in candidates {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return self.record(chain, problem, false);
            }
            let link = self.link_problem(chain, candidate);
            let next = match (problem.clone(), link) {
                (Some(p), Some(l)) if l.is_forgery() && !p.is_forgery() => Some(l),
                (Some(p), _) => Some(p),
                (None, l) => l.or_else(|| self.cert_problem(candidate)),
            };
            chain.push(candidate);
            let found = self.extend(chain, next);
            chain.pop();
            if found {
                return true;
            }
        }
        false
    }

    /// Problems of a certificate on its own: validity at `time`; for non-anchors, unhandled
    /// critical extensions.
    fn cert_problem(&self, index: usize) -> Option<PathProblem> {
        let node = self.nodes.get(index)?;
        let validity = node.cert.tbs_certificate().validity();
        if self.time < UnixTime::from_x509(&validity.not_before) {
            return Some(PathProblem::NotYetValid);
        }
        if self.time > UnixTime::from_x509(&validity.not_after) {
            return Some(PathProblem::Expired);
        }
        if node.anchor {
            return None;
        }
        let known = [
            ext_oid::ID_CE_BASIC_CONSTRAINTS,
            ext_oid::ID_CE_KEY_USAGE,
            ext_oid::ID_CE_EXT_KEY_USAGE,
            ext_oid::ID_CE_SUBJECT_ALT_NAME,
            ext_oid::ID_CE_ISSUER_ALT_NAME,
            ext_oid::ID_CE_SUBJECT_KEY_IDENTIFIER,
            ext_oid::ID_CE_AUTHORITY_KEY_IDENTIFIER,
            // Policies are not processed; like most S/MIME clients, accept them.
            ext_oid::ID_CE_CERTIFICATE_POLICIES,
            ext_oid::ID_CE_POLICY_MAPPINGS,
            ext_oid::ID_CE_POLICY_CONSTRAINTS,
            ext_oid::ID_CE_INHIBIT_ANY_POLICY,
        ];
        node.cert
            .tbs_certificate()
            .extensions()
            .into_iter()
            .flatten()
            .find(|e| e.critical && !known.contains(&e.extn_id))
            .map(|e| PathProblem::UnhandledCriticalExtension(alloc::format!("{}", e.extn_id)))
    }

    /// Problems of the link from the last certificate of `chain` to `issuer`: the signature,
    /// and for a non-anchor issuer, CA:true, keyCertSign and its pathLenConstraint.
    fn link_problem(&self, chain: &[usize], issuer: usize) -> Option<PathProblem> {
        let subject = self.nodes.get(*chain.last()?)?.cert;
        let issuer = self.nodes.get(issuer)?;
        if let Some(p) = signature_problem(subject, issuer.cert) {
            return Some(p);
        }
        if issuer.anchor {
            return None;
        }
        let tbs = issuer.cert.tbs_certificate();
        let Ok(Some((_, bc))) = tbs.get_extension::<BasicConstraints>() else {
            return Some(PathProblem::NotCa);
        };
        if !bc.ca {
            return Some(PathProblem::NotCa);
        }
        match tbs.get_extension::<KeyUsage>() {
            Ok(None) => {}
            Ok(Some((_, ku))) if ku.key_cert_sign() => {}
            _ => return Some(PathProblem::NotCa),
        }
        if let Some(max) = bc.path_len_constraint {
            // Non-self-issued intermediates below this CA (the leaf does not count).
            let below = chain
                .iter()
                .skip(1)
                .filter_map(|&i| self.nodes.get(i))
                .filter(|n| {
                    let t = n.cert.tbs_certificate();
                    t.subject() != t.issuer()
                })
                .count();
            if below > usize::from(max) {
                return Some(PathProblem::PathLength);
            }
        }
        None
    }
}

/// Verify `cert`'s signature with `issuer`'s public key.
fn signature_problem(cert: &Certificate, issuer: &Certificate) -> Option<PathProblem> {
    let Ok(tbs) = cert.tbs_certificate().to_der() else {
        return Some(PathProblem::Malformed);
    };
    let Some(signature) = cert.signature().as_bytes() else {
        return Some(PathProblem::Malformed);
    };
    let spki = issuer.tbs_certificate().subject_public_key_info();
    match verify_signature(spki, cert.signature_algorithm(), None, &tbs, signature) {
        Ok(v) if v.digest.is_some_and(|d| d.is_weak()) => Some(PathProblem::WeakSignature),
        Ok(_) => None,
        Err(SignatureError::Invalid) => Some(PathProblem::BadSignature),
        Err(SignatureError::KeyTooSmall) => Some(PathProblem::WeakSignature),
        Err(SignatureError::Unsupported(what)) if what == "md5" || what == "md2" => {
            Some(PathProblem::WeakSignature)
        }
        Err(SignatureError::Unsupported(what)) => Some(PathProblem::UnsupportedAlgorithm(what)),
    }
}

/// Why a certificate may not sign email (RFC 8550 §4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsageProblem {
    /// keyUsage is present without digitalSignature or nonRepudiation (or is malformed).
    KeyUsage,
    /// extendedKeyUsage is present without emailProtection or anyExtendedKeyUsage (or is
    /// malformed).
    ExtendedKeyUsage,
}

/// May `leaf` sign email? keyUsage, if present, needs digitalSignature or nonRepudiation;
/// extendedKeyUsage, if present, needs emailProtection or anyExtendedKeyUsage (RFC 8550 §4.4).
/// Absent extensions allow everything.
///
/// # Errors
/// The first [`UsageProblem`] found, keyUsage first.
pub fn check_signer_usage(leaf: &Certificate) -> Result<(), UsageProblem> {
    let tbs = leaf.tbs_certificate();
    match tbs.get_extension::<KeyUsage>() {
        Ok(None) => {}
        Ok(Some((_, ku))) if ku.digital_signature() || ku.non_repudiation() => {}
        _ => return Err(UsageProblem::KeyUsage),
    }
    match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(None) => {}
        Ok(Some((_, eku)))
            if eku.0.iter().any(|oid| {
                *oid == ext_oid::ID_KP_EMAIL_PROTECTION || *oid == ext_oid::ANY_EXTENDED_KEY_USAGE
            }) => {}
        _ => return Err(UsageProblem::ExtendedKeyUsage),
    }
    Ok(())
}
