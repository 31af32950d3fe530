//! `seal`: sign and/or encrypt a whole message in one step, with RFC 9788 header protection.

use alloc::vec::Vec;

use x509_cert::Certificate;

use crate::error::{Error, Result};
use crate::keys::Identity;
use crate::mime;
use crate::smime::envelope::{self, EncryptOptions};
use crate::smime::protect::{self, Mode, Policy};
use crate::smime::{self, SignOptions};

/// What `seal` does.
#[derive(Clone, Debug)]
pub struct SealOptions<'a> {
    /// Sign with these identities (none: do not sign).
    pub signers: &'a [&'a Identity],
    /// How to sign.
    pub sign: SignOptions,
    /// Encrypt to these certificates (none: do not encrypt).
    pub recipients: &'a [&'a Certificate],
    /// How to encrypt.
    pub encrypt: EncryptOptions,
    /// Protect the header fields (RFC 9788); on by default in the JS API and the CLI.
    pub header_protection: bool,
    /// What an encrypted message shows outside (RFC 9788 §3; `hcp_baseline` by default).
    pub policy: Policy,
    /// Add the Legacy Display Element when the policy hides a field a mail client shows.
    pub legacy_display: bool,
}

/// Sign, then encrypt, a message, protecting its header fields. Neither signing nor encrypting
/// is `API_MISUSE`.
///
/// # Errors
/// Those of [`smime::sign_message`] and [`envelope::encrypt_message`].
pub fn seal<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    options: &SealOptions<'_>,
    rng: &mut R,
) -> Result<Vec<u8>> {
    let (outer, mut entity) = prepare(message, options, rng)?;
    if !options.recipients.is_empty() {
        entity = envelope::encrypt_entity(&entity, options.recipients, &options.encrypt, rng)?;
    }
    Ok(envelope::join(&outer, &entity))
}

/// The first half of [`seal`]: header protection and the signature. Returns the outer header
/// fields and the entity to encrypt (or, signing only, the signed entity), which
/// [`envelope::join`] puts together once it is encrypted (e.g. by WebCrypto, see
/// [`envelope::encrypt_entity_external`]).
///
/// # Errors
/// As [`seal`].
pub fn prepare<R: rand_core::CryptoRng + ?Sized>(
    message: &[u8],
    options: &SealOptions<'_>,
    rng: &mut R,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let (outer, mut entity) = protect_payload(message, options)?;
    if !options.signers.is_empty() {
        entity = smime::sign_entity(&entity, options.signers, &options.sign, rng)?;
    }
    Ok((outer, entity))
}

/// The first step of [`seal`]: header protection only. Returns the outer header fields and the
/// payload to sign (by [`smime::sign_entity`], or with a digest and signature made elsewhere by
/// [`smime::sign_entity_with`]) and then to encrypt.
///
/// # Errors
/// As [`seal`].
pub fn protect_payload(message: &[u8], options: &SealOptions<'_>) -> Result<(Vec<u8>, Vec<u8>)> {
    let sign = !options.signers.is_empty();
    let encrypt = !options.recipients.is_empty();
    if !sign && !encrypt {
        return Err(Error::misuse("seal needs signers, recipients, or both"));
    }
    smime::check_size(message)?;
    let message = mime::to_crlf(message);
    let mode = if encrypt { Mode::Cipher } else { Mode::Clear };
    if options.header_protection {
        protect::protect(&message, mode, options.policy, options.legacy_display)
    } else {
        smime::split_for_signing(&message)
    }
}

/// [`protect_payload`] for a message read in pieces (see [`mime::skeleton`]), never whole here:
/// the outer header fields, and the payload as `prefix` followed by the message from offset
/// `start` to its end. `encrypt`: the message is to be encrypted (signed only otherwise), and
/// `options`' signers and recipients are not looked at. `None` when the stand-in cannot say (see
/// [`protect::protect_stand_in`]): the caller protects the whole message, which also reports any
/// error in it.
///
/// # Errors
/// `INPUT_TOO_LARGE` for a message over the size limit.
pub fn protect_payload_stand_in(
    stand_in: &mime::skeleton::StandIn,
    encrypt: bool,
    options: &SealOptions<'_>,
) -> Result<Option<protect::Spliced>> {
    if stand_in.total > smime::MAX_MESSAGE_SIZE {
        return Err(Error::InputTooLarge {
            what: "message size",
            limit: smime::MAX_MESSAGE_SIZE,
        });
    }
    if options.header_protection {
        let mode = if encrypt { Mode::Cipher } else { Mode::Clear };
        return protect::protect_stand_in(stand_in, mode, options.policy, options.legacy_display)
            .or(Ok(None));
    }
    Ok(
        envelope::split_stand_in(stand_in).map(|split| protect::Spliced {
            outer: split.outer,
            prefix: split.head,
            start: split.body.map_or(stand_in.total, |b| b.start),
        }),
    )
}
