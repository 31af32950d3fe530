//! Multiple-signer mix-ups: one good signer must not make a message with a bad one valid, and
//! each signer is reported on its own.

use cachet::smime::SignerStatus;

use crate::common::{self, identity, verify, MESSAGE};
use crate::support::{join, open, sign_options, split};

fn statuses(r: &cachet::smime::VerifyReport) -> Vec<(&'static str, &'static str)> {
    r.signers
        .iter()
        .map(|s| {
            common::assert_listed(s.code, s.status.as_str());
            (s.status.as_str(), s.code)
        })
        .collect()
}

#[test]
fn valid_and_untrusted_signer() {
    let alice = identity("alice-rsa");
    let mallory = identity("untrusted-leaf");
    for opaque in [false, true] {
        let msg = cachet::smime::sign_message(
            MESSAGE,
            &[&alice, &mallory],
            &sign_options(opaque),
            &mut common::rng(),
        )
        .unwrap();
        let r = verify(&msg);
        let s = statuses(&r);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(s.contains(&("valid", "SIG_VALID")), "{s:?}");
        assert!(s.iter().any(|(st, _)| *st == "untrusted"), "{s:?}");
        assert!(!r.all_valid(), "one bad signer spoils the message");
        let o = open(&msg, "bob-rsa");
        assert!(!o.signed_valid);
    }
}

/// Two signers, the last one's signature value corrupted (it ends the DER): one valid, one
/// invalid, reported separately; the message is not valid.
#[test]
fn valid_and_forged_signature() {
    let alice = identity("alice-rsa");
    let alice2 = identity("alice-p256");
    let msg = cachet::smime::sign_message(
        MESSAGE,
        &[&alice, &alice2],
        &sign_options(true),
        &mut common::rng(),
    )
    .unwrap();
    let (head, mut der) = split(&msg);
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let r = verify(&join(&head, &der));
    let s = statuses(&r);
    assert_eq!(s.len(), 2);
    assert_eq!(
        r.signers
            .iter()
            .filter(|x| x.status == SignerStatus::Valid)
            .count(),
        1,
        "{s:?}"
    );
    assert!(s.contains(&("invalid-signature", "SIG_INVALID")), "{s:?}");
    assert!(!r.all_valid());
    let o = open(&join(&head, &der), "bob-rsa");
    assert!(!o.signed_valid);
    // The content itself still verifies under the good signer: authenticated, but not valid.
    assert!(o.authenticated);
}

/// A valid signature by a certificate for another address than From: (bob signs alice's mail).
#[test]
fn signer_certificate_for_another_address() {
    let alice = identity("alice-rsa");
    let bob = identity("bob-rsa");
    let msg = cachet::smime::sign_message(
        MESSAGE,
        &[&alice, &bob],
        &sign_options(false),
        &mut common::rng(),
    )
    .unwrap();
    let r = verify(&msg);
    let s = statuses(&r);
    assert!(s.contains(&("valid", "SIG_VALID")));
    assert!(
        s.contains(&("address-mismatch", "ADDRESS_MISMATCH")),
        "{s:?}"
    );
    assert!(!r.all_valid());
    let bob_only =
        cachet::smime::sign_message(MESSAGE, &[&bob], &sign_options(false), &mut common::rng())
            .unwrap();
    assert_eq!(
        common::verdict(&verify(&bob_only)),
        ("address-mismatch", "ADDRESS_MISMATCH")
    );
}
