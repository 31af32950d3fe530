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
//! `WeakSignature` is only reported for a path with no other problem, so a caller can treat it
//! as a warning without hiding anything else.

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

/// The problem of a path that had `current` and now meets `new`: the first one from the leaf
/// up, except that a forgery outweighs everything and [`PathProblem::WeakSignature`] gives way
/// to everything (so that it is only reported on paths that are otherwise valid).
fn merge(current: Option<PathProblem>, new: Option<PathProblem>) -> Option<PathProblem> {
    match (current, new) {
        (None, new) => new,
        (Some(current), None) => Some(current),
        (Some(current), Some(new)) => {
            let new_wins = (new.is_forgery() && !current.is_forgery())
                || (current == PathProblem::WeakSignature && new != PathProblem::WeakSignature);
            Some(if new_wins { new } else { current })
        }
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
            (None, true) => 5,
            (Some(PathProblem::WeakSignature), true) => 4,
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
/// signature outweighs every other problem and [`PathProblem::WeakSignature`] is reported only
/// when the path has no other problem: callers may treat it as a warning.
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
        let done = outcome.rank() == 5;
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
            let next = merge(merge(problem.clone(), link), self.cert_problem(candidate));
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

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::type_complexity
)]
mod tests {
    use super::*;
    use crate::x509::tests::{pki, read};

    /// 2030-01-01T00:00:00Z, the fixtures' verification time.
    const T2030: UnixTime = UnixTime(1_893_456_000);

    fn certs(stems: &[&str]) -> Vec<Certificate> {
        stems.iter().map(|s| pki(s)).collect()
    }

    fn check(leaf: &str, intermediates: &[&str], time: UnixTime) -> PathReport {
        validate(
            &pki(leaf),
            &certs(intermediates),
            &certs(&["root-ca"]),
            time,
        )
    }

    /// Every intermediate the fixtures have, in an unhelpful order.
    const ALL: &[&str] = &[
        "other-root-ca",
        "sub-ca",
        "alice-rsa",
        "loop-ca-a",
        "inter-ca",
    ];

    #[test]
    fn valid_leaves_chain_to_the_root() {
        for leaf in [
            "alice-rsa",
            "alice-rsa4096",
            "alice-p256",
            "alice-p384",
            "alice-ed25519",
            "bob-rsa",
            "bob-p256",
            "no-eku",
            "any-eku",
            "legacy-email",
            "eku-server",
            "ku-keyenc",
            "no-email",
            "mixed-case",
        ] {
            for intermediates in [&["inter-ca"][..], ALL] {
                let report = check(leaf, intermediates, T2030);
                assert_eq!(report.problem, None, "{leaf}");
                assert_eq!(
                    report.chain,
                    certs(&[leaf, "inter-ca", "root-ca"]),
                    "{leaf}"
                );
            }
        }
    }

    #[test]
    fn each_negative_gets_its_problem() {
        let cases: &[(&str, &[&str], PathProblem, usize)] = &[
            ("expired", &["inter-ca"], PathProblem::Expired, 3),
            ("not-yet-valid", &["inter-ca"], PathProblem::NotYetValid, 3),
            (
                "untrusted-leaf",
                &["other-root-ca", "inter-ca"],
                PathProblem::Untrusted,
                2,
            ),
            ("untrusted-leaf", &[], PathProblem::Untrusted, 1),
            (
                "pathlen-leaf",
                &["sub-ca", "inter-ca"],
                PathProblem::PathLength,
                4,
            ),
            (
                "not-ca-issued",
                &["alice-rsa", "inter-ca"],
                PathProblem::NotCa,
                4,
            ),
            ("sha1-leaf", &[], PathProblem::WeakSignature, 2),
            ("alice-rsa", &[], PathProblem::Untrusted, 1),
            (
                "loop-leaf",
                &["loop-ca-a", "loop-ca-b"],
                PathProblem::Untrusted,
                3,
            ),
            (
                "nc-leaf",
                &["nc-ca"],
                PathProblem::UnhandledCriticalExtension("2.5.29.30".into()),
                3,
            ),
        ];
        for (leaf, intermediates, problem, len) in cases {
            for list in [*intermediates, ALL] {
                if list == ALL
                    && (intermediates.is_empty() || ["nc-leaf", "loop-leaf"].contains(leaf))
                {
                    continue;
                }
                let report = check(leaf, list, T2030);
                assert_eq!(report.problem.as_ref(), Some(problem), "{leaf} {list:?}");
                assert_eq!(report.chain.len(), *len, "{leaf} {list:?}");
                assert_eq!(report.chain[0], pki(leaf));
            }
        }
    }

    #[test]
    fn validity_is_checked_for_every_certificate_at_the_given_time() {
        // 2024: before everything.
        assert_eq!(
            check("alice-rsa", &["inter-ca"], UnixTime(1_704_067_200)).problem,
            Some(PathProblem::NotYetValid)
        );
        // 2036: the leaf expired.
        assert_eq!(
            check("alice-rsa", &["inter-ca"], UnixTime(2_082_758_400)).problem,
            Some(PathProblem::Expired)
        );
        // 2039-06: not-yet-valid's own window has passed, the intermediate is still valid.
        assert_eq!(
            check("not-yet-valid", &["inter-ca"], UnixTime(2_191_000_000)).problem,
            Some(PathProblem::Expired)
        );
        // 2037: within not-yet-valid's window.
        assert_eq!(
            check("not-yet-valid", &["inter-ca"], UnixTime(2_114_380_800)).problem,
            None
        );
        // A weak signature gives way to any other problem: sha1-leaf expired in 2035.
        assert_eq!(
            check("sha1-leaf", &[], UnixTime(2_082_758_400)).problem,
            Some(PathProblem::Expired)
        );
        // The anchor's own validity counts: root-ca ends 2045-01-01.
        let root = pki("root-ca");
        let after_2045 = UnixTime(2_366_841_600 + 1);
        assert_eq!(
            validate(&root, &[], core::slice::from_ref(&root), after_2045).problem,
            Some(PathProblem::Expired)
        );
        assert_eq!(
            validate(
                &root,
                &[],
                core::slice::from_ref(&root),
                UnixTime(2_366_841_600)
            )
            .problem,
            None
        );
    }

    #[test]
    fn anchors_are_taken_as_they_are() {
        let root = pki("root-ca");
        let inter = pki("inter-ca");
        // A leaf that is an anchor.
        let r = validate(&root, &[], core::slice::from_ref(&root), T2030);
        assert_eq!((r.problem, r.chain.len()), (None, 1));
        // An intermediate as the anchor: its CA checks and the root are not needed.
        let r = validate(
            &pki("alice-p256"),
            &[],
            core::slice::from_ref(&inter),
            T2030,
        );
        assert_eq!(r.problem, None);
        assert_eq!(r.chain, vec![pki("alice-p256"), inter.clone()]);
        // Several anchors, the right one last.
        let anchors = certs(&["other-root-ca", "inter-ca", "root-ca"]);
        let r = validate(&pki("bob-rsa"), &[], &anchors, T2030);
        assert_eq!(r.problem, None);
        assert_eq!(r.chain.len(), 2);
        // The SHA-1 signature of a corpus root on itself does not matter.
        let carl = crate::x509::parse_certificates(&read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/certs/CarlRSASelf.cer"
        )))
        .unwrap();
        let alice = crate::x509::parse_certificates(&read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/certs/AliceRSASignByCarl.cer"
        )))
        .unwrap();
        // Alice's certificate (1999..2039) is itself SHA-1 signed: weak, below the anchor.
        let r = validate(&alice[0], &[], &carl, T2030);
        assert_eq!(r.problem, Some(PathProblem::WeakSignature));
        assert_eq!(r.chain.len(), 2);
        let r = validate(&carl[0], &[], &carl, T2030);
        assert_eq!(r.problem, None);
    }

    #[test]
    fn forged_signature_is_reported_over_untrusted() {
        let mut der = pki("alice-p256").to_der().unwrap();
        // The last byte belongs to the ECDSA signature's `s`.
        *der.last_mut().unwrap() ^= 0x01;
        let forged = crate::x509::parse_certificates(&der).unwrap().remove(0);
        let r = validate(&forged, &certs(&["inter-ca"]), &certs(&["root-ca"]), T2030);
        assert_eq!(r.problem, Some(PathProblem::BadSignature));
        assert_eq!(r.chain.len(), 3);
        // A forged link plus an expired leaf: the forgery is what gets reported.
        let r = validate(
            &forged,
            &certs(&["inter-ca"]),
            &certs(&["root-ca"]),
            UnixTime(2_082_758_400),
        );
        assert_eq!(r.problem, Some(PathProblem::BadSignature));
        // With the real intermediate also present under another name order, still bad: there
        // is no other key that signed it.
        let r = validate(
            &forged,
            &certs(ALL),
            &certs(&["other-root-ca", "root-ca"]),
            T2030,
        );
        assert_eq!(r.problem, Some(PathProblem::BadSignature));
    }

    /// Copies of inter-ca with another serial number: same name and key (so the leaf's
    /// signature verifies with them), broken signature from the root.
    fn inter_variants(n: usize) -> Vec<Certificate> {
        let der = pki("inter-ca").to_der().unwrap();
        // serialNumber INTEGER 0x1002 (make.py's second serial).
        let at = der
            .windows(4)
            .position(|w| w == [0x02, 0x02, 0x10, 0x02])
            .unwrap();
        (0..n)
            .map(|i| {
                let mut d = der.clone();
                d[at + 2] = 0x20 + u8::try_from(i / 256).unwrap();
                d[at + 3] = u8::try_from(i % 256).unwrap();
                crate::x509::parse_certificates(&d).unwrap().remove(0)
            })
            .collect()
    }

    #[test]
    fn every_candidate_is_tried_within_a_budget() {
        let leaf = pki("alice-p256");
        let anchors = certs(&["root-ca"]);
        // Decoys first, the real intermediate last: still found.
        let mut list = inter_variants(50);
        list.push(pki("inter-ca"));
        let r = validate(&leaf, &list, &anchors, T2030);
        assert_eq!(r.problem, None);
        assert_eq!(r.chain[1], pki("inter-ca"));
        // Only decoys: the best failure is the bad signature on a path to the anchor.
        let r = validate(&leaf, &inter_variants(5), &anchors, T2030);
        assert_eq!(r.problem, Some(PathProblem::BadSignature));
        assert_eq!(r.chain.len(), 3);
        // Too many decoys: the search stops (bounded work) and reports what it saw.
        let mut list = inter_variants(400);
        list.push(pki("inter-ca"));
        let r = validate(&leaf, &list, &anchors, T2030);
        assert_eq!(r.problem, Some(PathProblem::BadSignature));
    }

    #[test]
    fn circular_certificates_terminate() {
        let mut intermediates = Vec::new();
        for _ in 0..40 {
            intermediates.extend(certs(&["loop-ca-a", "loop-ca-b", "sub-ca"]));
        }
        let r = validate(
            &pki("loop-leaf"),
            &intermediates,
            &certs(&["root-ca"]),
            T2030,
        );
        assert_eq!(r.problem, Some(PathProblem::Untrusted));
        assert_eq!(r.chain, certs(&["loop-leaf", "loop-ca-a", "loop-ca-b"]));
        // Even when the loop CA is the leaf.
        let r = validate(
            &pki("loop-ca-a"),
            &intermediates,
            &certs(&["root-ca"]),
            T2030,
        );
        assert_eq!(r.problem, Some(PathProblem::Untrusted));
    }

    /// The BouncyCastle SignedMailValidator set: the certificates inside each signature,
    /// checked against validator.root.crt at the message's signing time.
    #[test]
    fn bouncycastle_validator_set() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/certs/");
        let root =
            crate::x509::parse_certificates(&read(&format!("{dir}validator.root.crt"))).unwrap();
        let fake = crate::x509::parse_certificates(&read(&format!("{dir}validator.fakeRoot.crt")))
            .unwrap();
        // (message, signing time, path problem, usage, has an address)
        let cases: &[(
            &str,
            &str,
            Option<PathProblem>,
            Result<(), UsageProblem>,
            bool,
        )] = &[
            (
                "validMail",
                "2006-09-04T09:36:14Z",
                Some(PathProblem::WeakSignature),
                Ok(()),
                true,
            ),
            (
                "expired",
                "2006-09-01T09:08:35Z",
                Some(PathProblem::Expired),
                Ok(()),
                true,
            ),
            (
                "notYetValid",
                "2006-08-28T15:04:01Z",
                Some(PathProblem::NotYetValid),
                Ok(()),
                true,
            ),
            (
                "keyUsage",
                "2006-08-28T12:52:38Z",
                Some(PathProblem::WeakSignature),
                Err(UsageProblem::KeyUsage),
                true,
            ),
            (
                "extKeyUsage",
                "2006-08-28T15:01:37Z",
                Some(PathProblem::WeakSignature),
                Err(UsageProblem::ExtendedKeyUsage),
                true,
            ),
            (
                "noEmail",
                "2006-08-28T15:02:56Z",
                Some(PathProblem::WeakSignature),
                Ok(()),
                false,
            ),
            (
                "shortKey",
                "2006-08-28T15:05:26Z",
                Some(PathProblem::WeakSignature),
                Ok(()),
                true,
            ),
            (
                "longValidity",
                "2006-09-01T12:01:23Z",
                Some(PathProblem::WeakSignature),
                Ok(()),
                true,
            ),
            // Revoked per the CRL, which Cachet does not check.
            (
                "revoked",
                "2006-09-01T10:49:05Z",
                Some(PathProblem::WeakSignature),
                Ok(()),
                true,
            ),
        ];
        for (name, time, problem, usage, has_address) in cases {
            let certs = crate::x509::parse_certificates(&read(&format!(
                "{dir}validator/validator.{name}.p7s"
            )))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(certs.len(), 2, "{name}");
            assert!(certs.contains(&root[0]), "{name}");
            let leaf = certs.iter().find(|c| **c != root[0]).unwrap();
            let time = UnixTime::parse_rfc3339(time).unwrap();
            let report = validate(leaf, &certs, &root, time);
            assert_eq!(report.problem.as_ref(), problem.as_ref(), "{name}");
            assert_eq!(report.chain.len(), 2, "{name}");
            assert_eq!(check_signer_usage(leaf), *usage, "{name}");
            assert_eq!(
                crate::x509::address_matches(leaf, "arminha@student.ethz.ch"),
                *has_address,
                "{name}"
            );
            // Trusting the fake root (same name, other key and key identifier) gets nowhere.
            let report = validate(leaf, &certs, &fake, time);
            assert_eq!(report.problem, Some(PathProblem::Untrusted), "{name}");
        }
    }

    #[test]
    fn signer_usage_policy() {
        for ok in [
            "alice-rsa",
            "alice-p256",
            "alice-ed25519",
            "no-eku",
            "any-eku",
            "legacy-email",
        ] {
            assert_eq!(check_signer_usage(&pki(ok)), Ok(()), "{ok}");
        }
        assert_eq!(
            check_signer_usage(&pki("eku-server")),
            Err(UsageProblem::ExtendedKeyUsage)
        );
        assert_eq!(
            check_signer_usage(&pki("ku-keyenc")),
            Err(UsageProblem::KeyUsage)
        );
        // A CA certificate: keyCertSign+cRLSign only.
        assert_eq!(
            check_signer_usage(&pki("root-ca")),
            Err(UsageProblem::KeyUsage)
        );
    }

    #[test]
    fn problem_codes_are_distinct() {
        let all = [
            PathProblem::Untrusted,
            PathProblem::Expired,
            PathProblem::NotYetValid,
            PathProblem::BadSignature,
            PathProblem::NotCa,
            PathProblem::PathLength,
            PathProblem::WeakSignature,
            PathProblem::UnsupportedAlgorithm(String::new()),
            PathProblem::Malformed,
            PathProblem::UnhandledCriticalExtension(String::new()),
        ];
        let mut codes: Vec<_> = all.iter().map(PathProblem::code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
