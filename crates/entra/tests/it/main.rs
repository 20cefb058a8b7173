//! Integration tests of vaultref-entra against the emulator, over real sockets on 127.0.0.1.

// Helpers outside #[test] functions panic on setup failures too.
#![allow(clippy::unwrap_used)]

mod cache;
mod chain;
mod client_secret;
mod managed_identity;
mod retry;
mod support;
mod tls;
mod workload_identity;
