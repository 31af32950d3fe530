//! Certification path building and validation (RFC 5280 §6, the parts S/MIME needs) and the
//! S/MIME signer policy (RFC 8550 §4.4).
