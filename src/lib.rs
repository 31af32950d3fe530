//! Cachet: S/MIME for the web.
//!
//! A pure-Rust S/MIME core (RFC 8551, CMS per RFC 5652) that compiles to WebAssembly. Time,
//! randomness and trust anchors are inputs: the core reads no clock and touches no storage.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

extern crate alloc;

pub mod algorithms;
pub mod ber;
pub mod cms;
pub mod error;
pub mod keys;
pub mod mime;
pub mod pem;
pub mod smime;
pub mod time;
pub mod x509;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)] // public only so that tests/wasm.rs can call the boundary as JavaScript does
#[allow(clippy::missing_errors_doc)]
pub mod wasm;

pub use error::{Error, Result};
pub use keys::{Identity, PrivateKey};
pub use time::UnixTime;
