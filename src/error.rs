//! Errors: "could not process".
//!
//! A message that was processed but whose signature does not hold is *not* an error: it is a
//! report (see [`crate::verify`]). An [`Error`] means Cachet could not process its input at all.
//! Every variant maps to a stable code ([`Error::code`]) that crosses into JavaScript as
//! `CachetError.code`. Codes are API: new ones may be added, none is ever renamed or reused.
//!
//! Messages never carry keys, passwords or plaintext.

use alloc::string::String;
use core::fmt;

/// Everything that can stop Cachet from processing its input.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// DER (or BER) could not be decoded. `detail` says where, when known.
    DerMalformed {
        /// What was being decoded and, when known, the byte offset.
        detail: String,
    },
    /// PEM armour was found but could not be decoded.
    PemMalformed,
    /// A MIME message or entity could not be parsed.
    MimeMalformed {
        /// What was wrong.
        detail: &'static str,
    },
    /// The message is not an S/MIME signed message (nothing to verify).
    NotSigned,
    /// The password given for a PKCS#12 file or encrypted key is wrong.
    BadPassword,
    /// A password is needed (encrypted key or PKCS#12) and none was given.
    PasswordRequired,
    /// A PKCS#12 file's structure is not as RFC 7292 describes.
    Pkcs12Malformed {
        /// What was wrong.
        detail: &'static str,
    },
    /// A PKCS#12 file holds no private key (or no certificate for it).
    Pkcs12NoKey,
    /// A private key could not be decoded.
    KeyMalformed,
    /// The private key does not belong to the certificate given with it.
    KeyCertificateMismatch,
    /// A key algorithm or size Cachet does not support (e.g. RSA-1024 for signing).
    KeyUnsupported {
        /// The key algorithm (OID or name).
        algorithm: String,
    },
    /// A certificate could not be decoded.
    CertificateMalformed,
    /// A certificate was required and none was given or found.
    CertificateMissing,
    /// A CMS structure is not as RFC 5652 describes.
    CmsMalformed {
        /// What was wrong.
        detail: &'static str,
    },
    /// An algorithm Cachet does not implement.
    UnsupportedAlgorithm {
        /// The algorithm's OID.
        oid: String,
    },
    /// Decryption failed. One code for every cause, so that the error reveals nothing.
    Decryption,
    /// The message is encrypted, but not to any of the certificates given.
    NotRecipient,
    /// The message is not encrypted (nothing to decrypt).
    NotEncrypted,
    /// A limit was exceeded (message size, nesting, count).
    InputTooLarge {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: usize,
    },
    /// The caller used the API wrongly (unknown option, bad value, wrong type).
    ApiMisuse {
        /// What was wrong.
        detail: String,
    },
    /// Random number generation failed.
    Random,
    /// A bug in Cachet: an invariant did not hold. Please report it.
    Internal {
        /// Which invariant.
        detail: &'static str,
    },
    /// Key store: the storage quota is exhausted; nothing was written.
    StoreQuota,
    /// Key store: a record could not be read back (its id is the detail).
    StoreCorrupted {
        /// The id of the record.
        id: String,
    },
    /// Key store: the identity is locked (unlock it first) or the store was closed.
    StoreLocked,
    /// Key store: no record with that id, address or fingerprint.
    StoreNotFound,
    /// Key store: another tab holds an older version of the database open.
    StoreBlocked,
    /// Key store: the storage backend failed (I/O error, transaction aborted).
    StoreFailed {
        /// What failed.
        detail: String,
    },
    /// Encryption was asked for, but some recipients have no usable certificate. Raised by the
    /// JavaScript `seal` before anything is sent; listed here so the code table is one list.
    RecipientNoCertificate {
        /// The addresses, comma-separated.
        addresses: String,
    },
    /// Submission (raised by the JavaScript `submit`; listed here so the code table is one
    /// list): the server refused the credentials (HTTP 401/403).
    SubmitAuth,
    /// Submission: the server could not be reached (refused, DNS, reset, CORS).
    SubmitNetwork,
    /// Submission: the server failed (HTTP 5xx, `serverFail`, a JMAP method error).
    SubmitServer,
    /// Submission: the message could not be uploaded or imported (too large, not accepted).
    SubmitUpload,
    /// Submission: the server refused to send it (forbidden sender, invalid recipients).
    SubmitRejected,
    /// Submission: the JMAP session is unusable (not found, no mail submission, no account).
    SubmitSession,
}

/// Every code [`Error::code`] can return, in a stable order. The README table is generated from
/// this list and a snapshot test pins it.
pub const CODES: &[(&str, &str)] = &[
    ("DER_MALFORMED", "DER/BER could not be decoded"),
    ("PEM_MALFORMED", "PEM armour could not be decoded"),
    (
        "MIME_MALFORMED",
        "a MIME message or entity could not be parsed",
    ),
    ("NOT_SIGNED", "the message carries no S/MIME signature"),
    (
        "BAD_PASSWORD",
        "the password for a PKCS#12 file or encrypted key is wrong",
    ),
    (
        "PASSWORD_REQUIRED",
        "the key or PKCS#12 file is encrypted and no password was given",
    ),
    (
        "P12_MALFORMED",
        "a PKCS#12 file is not as RFC 7292 describes",
    ),
    (
        "P12_NO_KEY",
        "a PKCS#12 file holds no private key with its certificate",
    ),
    ("KEY_MALFORMED", "a private key could not be decoded"),
    (
        "KEY_CERT_MISMATCH",
        "the private key does not belong to the certificate",
    ),
    (
        "KEY_UNSUPPORTED",
        "a key algorithm or size Cachet does not support",
    ),
    ("CERT_MALFORMED", "a certificate could not be decoded"),
    (
        "CERT_MISSING",
        "a required certificate was not given or found",
    ),
    (
        "CMS_MALFORMED",
        "a CMS structure is not as RFC 5652 describes",
    ),
    (
        "CMS_UNSUPPORTED_ALGORITHM",
        "an algorithm Cachet does not implement",
    ),
    (
        "DECRYPTION_FAILED",
        "decryption failed (one code for every cause)",
    ),
    (
        "INPUT_TOO_LARGE",
        "a size, count or nesting limit was exceeded",
    ),
    (
        "API_MISUSE",
        "the API was called wrongly (unknown option, bad value)",
    ),
    ("RANDOM_FAILED", "the system random number generator failed"),
    ("INTERNAL", "a bug in Cachet: please report it"),
    (
        "NOT_RECIPIENT",
        "the message is not encrypted to any of the keys given",
    ),
    ("NOT_ENCRYPTED", "the message is not S/MIME encrypted"),
    (
        "STORE_QUOTA",
        "the key store's storage quota is exhausted; nothing was written",
    ),
    (
        "STORE_CORRUPTED",
        "a key store record could not be read back",
    ),
    (
        "STORE_LOCKED",
        "the identity is locked (unlock it first) or the key store is closed",
    ),
    (
        "STORE_NOT_FOUND",
        "no key store record matches the id, address or fingerprint",
    ),
    (
        "STORE_BLOCKED",
        "another tab holds an older version of the key store open",
    ),
    ("STORE_FAILED", "the key store's storage backend failed"),
    (
        "RECIPIENT_NO_CERTIFICATE",
        "no usable encryption certificate for some recipients (listed in detail); nothing was sent",
    ),
    (
        "SUBMIT_AUTH",
        "submission: the server refused the credentials (HTTP 401/403)",
    ),
    (
        "SUBMIT_NETWORK",
        "submission: the server could not be reached; nothing was sent",
    ),
    (
        "SUBMIT_SERVER",
        "submission: the server failed (HTTP 5xx, serverFail, a method error); nothing was sent",
    ),
    (
        "SUBMIT_UPLOAD",
        "submission: the message could not be uploaded or imported (too large, refused)",
    ),
    (
        "SUBMIT_REJECTED",
        "submission: the server refused to send it (forbidden sender, invalid recipients)",
    ),
    (
        "SUBMIT_SESSION",
        "submission: the JMAP session is unusable (not found, no submission capability or account)",
    ),
];

impl Error {
    /// The stable code of this error, one of [`CODES`].
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::DerMalformed { .. } => "DER_MALFORMED",
            Self::PemMalformed => "PEM_MALFORMED",
            Self::MimeMalformed { .. } => "MIME_MALFORMED",
            Self::NotSigned => "NOT_SIGNED",
            Self::BadPassword => "BAD_PASSWORD",
            Self::PasswordRequired => "PASSWORD_REQUIRED",
            Self::Pkcs12Malformed { .. } => "P12_MALFORMED",
            Self::Pkcs12NoKey => "P12_NO_KEY",
            Self::KeyMalformed => "KEY_MALFORMED",
            Self::KeyCertificateMismatch => "KEY_CERT_MISMATCH",
            Self::KeyUnsupported { .. } => "KEY_UNSUPPORTED",
            Self::CertificateMalformed => "CERT_MALFORMED",
            Self::CertificateMissing => "CERT_MISSING",
            Self::CmsMalformed { .. } => "CMS_MALFORMED",
            Self::UnsupportedAlgorithm { .. } => "CMS_UNSUPPORTED_ALGORITHM",
            Self::Decryption => "DECRYPTION_FAILED",
            Self::InputTooLarge { .. } => "INPUT_TOO_LARGE",
            Self::ApiMisuse { .. } => "API_MISUSE",
            Self::Random => "RANDOM_FAILED",
            Self::Internal { .. } => "INTERNAL",
            Self::NotRecipient => "NOT_RECIPIENT",
            Self::NotEncrypted => "NOT_ENCRYPTED",
            Self::StoreQuota => "STORE_QUOTA",
            Self::StoreCorrupted { .. } => "STORE_CORRUPTED",
            Self::StoreLocked => "STORE_LOCKED",
            Self::StoreNotFound => "STORE_NOT_FOUND",
            Self::StoreBlocked => "STORE_BLOCKED",
            Self::StoreFailed { .. } => "STORE_FAILED",
            Self::RecipientNoCertificate { .. } => "RECIPIENT_NO_CERTIFICATE",
            Self::SubmitAuth => "SUBMIT_AUTH",
            Self::SubmitNetwork => "SUBMIT_NETWORK",
            Self::SubmitServer => "SUBMIT_SERVER",
            Self::SubmitUpload => "SUBMIT_UPLOAD",
            Self::SubmitRejected => "SUBMIT_REJECTED",
            Self::SubmitSession => "SUBMIT_SESSION",
        }
    }

    /// Extra machine-readable detail (byte offset, OID, limit), when there is one.
    #[must_use]
    pub fn detail(&self) -> Option<String> {
        match self {
            Self::DerMalformed { detail }
            | Self::ApiMisuse { detail }
            | Self::StoreFailed { detail }
            | Self::RecipientNoCertificate { addresses: detail } => Some(detail.clone()),
            Self::StoreCorrupted { id } => Some(id.clone()),
            Self::MimeMalformed { detail }
            | Self::Pkcs12Malformed { detail }
            | Self::CmsMalformed { detail }
            | Self::Internal { detail } => Some(String::from(*detail)),
            Self::KeyUnsupported { algorithm } => Some(algorithm.clone()),
            Self::UnsupportedAlgorithm { oid } => Some(oid.clone()),
            Self::InputTooLarge { what, limit } => Some(alloc::format!("{what} > {limit}")),
            _ => None,
        }
    }

    /// Shorthand for [`Error::ApiMisuse`].
    pub fn misuse(detail: impl Into<String>) -> Self {
        Self::ApiMisuse {
            detail: detail.into(),
        }
    }

    /// Shorthand for [`Error::UnsupportedAlgorithm`].
    pub fn unsupported(oid: impl fmt::Display) -> Self {
        Self::UnsupportedAlgorithm {
            oid: alloc::format!("{oid}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = CODES
            .iter()
            .find(|(code, _)| *code == self.code())
            .map_or("error", |(_, text)| *text);
        match self.detail() {
            Some(detail) => write!(f, "{}: {what} ({detail})", self.code()),
            None => write!(f, "{}: {what}", self.code()),
        }
    }
}

impl std::error::Error for Error {}

impl From<der::Error> for Error {
    fn from(err: der::Error) -> Self {
        let detail = match err.position() {
            Some(pos) => alloc::format!("{} at byte {}", err.kind(), u32::from(pos)),
            None => alloc::format!("{}", err.kind()),
        };
        Self::DerMalformed { detail }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_complete() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, _) in CODES {
            assert!(seen.insert(*code), "duplicate code {code}");
        }
        let samples = [
            Error::PemMalformed,
            Error::Decryption,
            Error::misuse("x"),
            Error::unsupported("1.2.3"),
            Error::Internal { detail: "x" },
            Error::StoreQuota,
            Error::StoreCorrupted { id: "x".into() },
            Error::StoreLocked,
            Error::StoreNotFound,
            Error::StoreBlocked,
            Error::StoreFailed { detail: "x".into() },
            Error::RecipientNoCertificate {
                addresses: "x".into(),
            },
            Error::SubmitAuth,
            Error::SubmitNetwork,
            Error::SubmitServer,
            Error::SubmitUpload,
            Error::SubmitRejected,
            Error::SubmitSession,
        ];
        for e in samples {
            assert!(seen.contains(e.code()));
        }
    }

    /// Codes are API: this snapshot must only ever grow.
    #[test]
    fn code_snapshot() {
        let codes: alloc::vec::Vec<&str> = CODES.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            codes.join(" "),
            "DER_MALFORMED PEM_MALFORMED MIME_MALFORMED NOT_SIGNED BAD_PASSWORD \
             PASSWORD_REQUIRED P12_MALFORMED P12_NO_KEY KEY_MALFORMED KEY_CERT_MISMATCH \
             KEY_UNSUPPORTED CERT_MALFORMED CERT_MISSING CMS_MALFORMED CMS_UNSUPPORTED_ALGORITHM \
             DECRYPTION_FAILED INPUT_TOO_LARGE API_MISUSE RANDOM_FAILED INTERNAL NOT_RECIPIENT NOT_ENCRYPTED \
             STORE_QUOTA STORE_CORRUPTED STORE_LOCKED STORE_NOT_FOUND STORE_BLOCKED STORE_FAILED \
             RECIPIENT_NO_CERTIFICATE \
             SUBMIT_AUTH SUBMIT_NETWORK SUBMIT_SERVER SUBMIT_UPLOAD SUBMIT_REJECTED SUBMIT_SESSION"
        );
    }
}
