//! The one error type of the emulator crate.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the emulator could not start or persist its state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound.
    #[error("could not listen on {addr}: {source}; choose another port (0 picks a free one)")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: io::Error,
    },
    /// The self-signed CA or the server certificate could not be made or loaded.
    #[error("could not create the emulator's TLS certificates: {0}")]
    Certificate(String),
    /// A file the emulator writes (CA certificate, federated token, state) could not be written.
    #[error("could not write {path}: {source}; check that the directory exists and is writable")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The persisted state in the state directory could not be read.
    #[error(
        "could not read the emulator state from {path}: {reason}; fix or delete the file, or use another --state-dir"
    )]
    State {
        /// The state file.
        path: PathBuf,
        /// Why it could not be used.
        reason: String,
    },
    /// A fault written as data (`--fault`, the admin endpoint) that cannot be used; the
    /// message says what to fix.
    #[error("invalid fault: {0}; see \"Faults from any language\" in docs/emulator.md")]
    InvalidFault(String),
    /// A vault name that Key Vault would not accept.
    #[error("invalid vault name {0:?}: use 3 to 24 characters from 0-9, a-z, A-Z and '-'")]
    InvalidVaultName(String),
}

/// The emulator's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
