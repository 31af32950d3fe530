//! Regression tests for known S/MIME attacks, one module per attack family (tests/security/).
//! Each asserts what Cachet reports, through the public API. The Bleichenbacher/Marvin timing
//! measurement is a benchmark (benches/marvin.rs), not a test: tests assert, benchmarks measure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

mod common;

#[path = "security/support.rs"]
mod support;

#[path = "security/efail.rs"]
mod efail;
#[path = "security/header_protection.rs"]
mod header_protection;
#[path = "security/limits.rs"]
mod limits;
#[path = "security/oracle.rs"]
mod oracle;
#[path = "security/signers.rs"]
mod signers;
#[path = "security/spoofing.rs"]
mod spoofing;
#[path = "security/wrapping.rs"]
mod wrapping;
