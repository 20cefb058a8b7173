//! The fault suite (issue 14): `vaultref migrate-secrets` through the built binary, against the
//! TLS emulator with faults injected, on SQLite (in tmpfs when there is one) and PostgreSQL.
//!
//! Every case imports the same entities in `db` mode (each with one secret whose value carries a
//! marker unique to this test process), migrates them to the vault under the fault, and then
//! checks the same three things:
//! - **nothing lost**: the end state (every row, its `fernet:` values opened, and every vault
//!   secret with its value) equals that of an undisturbed run of the same entities, which
//!   itself holds every value in the vault under the name its row references;
//! - **nothing in plaintext**: the marker is nowhere in the database file or the export, and
//!   no line the binary printed, logging at trace level (`VAULTREF_LOG=trace`), holds a secret
//!   value, the client secret, the Fernet key or an access token the vault was sent;
//! - the run's own contract: exit 0 and a summary with no failures, or, when the fault is
//!   meant to stop it, one `error:` line, no panic, and a later run that completes.
//!
//! Runs are kept short: the client's own write limit (`rateLimitPermitsPerSecond`) is out of
//! the way, SQLite lives in tmpfs (an fsync per row would dominate), and the Key Vault limits
//! run in compressed time (the same counts in shorter windows, see `docs/emulator.md`). Timing
//! is never asserted; only orderings the faults imply (a retry after a 429 comes after the wait
//! it asked for).

// The helpers below panic on setup failures, like the tests themselves.
#![allow(clippy::unwrap_used)]

mod database;
pub(crate) mod harness;
mod migration;
mod proxy;
