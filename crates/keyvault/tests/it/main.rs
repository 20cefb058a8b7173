//! Integration tests of vaultref-keyvault against the emulator over real sockets, with TLS and
//! the authentication challenge on.

// Helpers outside #[test] functions panic on setup failures too.
#![allow(clippy::unwrap_used)]

mod auth;
mod errors;
mod lifecycle;
mod operations;
mod paging;
mod retry;
mod support;
