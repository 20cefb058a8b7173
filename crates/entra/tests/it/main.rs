//! Integration tests of vaultref-entra against the emulator, over real sockets on 127.0.0.1.

// Helpers outside #[test] functions panic on setup failures too, and print skip notes.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod cache;
mod chain;
mod client_secret;
mod managed_identity;
mod python_interop;
mod retry;
mod support;
mod tls;
mod workload_identity;
