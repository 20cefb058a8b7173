//! Integration tests of vaultref-airflow through its public API: the backend against the
//! emulator over TLS, configured only as Airflow is.

// clippy.toml allows unwrap in #[test] functions only; the helpers here are test code too, and
// a panic is how they report a broken fixture.
#![allow(clippy::unwrap_used)]

mod backend;
