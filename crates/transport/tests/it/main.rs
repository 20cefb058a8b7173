//! vaultref-transport against real sockets: refused ports, untrusted certificates, dropped
//! connections and slow answers from the emulator, names that do not resolve.

// Helpers outside #[test] functions panic on setup failures too.
#![allow(clippy::unwrap_used)]

mod failures;
mod retry_log;
