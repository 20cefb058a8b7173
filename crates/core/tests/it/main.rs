//! Integration tests of vaultref-core through its public API: the in-memory provider, and the
//! Key Vault provider, the resolver and the loaders against the emulator over TLS.

// clippy.toml allows unwrap in #[test] functions only; the helpers here are test code too, and
// a panic is how they report a broken fixture.
#![allow(clippy::unwrap_used)]

mod custody;
mod from_config;
mod resolve;
mod store;
mod support;
mod vault;
