//! Digest and signature algorithms: identifiers, digests, signature verification.
