//! The one error type of the test kit: why a database could not be had, and what to set.

use crate::Engine;

/// Why a test database could not be had (`Clone`: one failure to start a server is kept and
/// given to every test of the process). Messages name the variable to set; they never show
/// a URL's user info or query (only host and port).
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No URL is set and no container could be started.
    #[error(
        "no {engine} server for the tests: {url_var} is not set, and no container could be \
         started from the image {image} ({reason}). Set {url_var} to a server (e.g. {example}), \
         or make a container engine reachable (DOCKER_HOST; `cargo xtask engine start` starts \
         one) that has or can pull {image} (`cargo xtask images` builds local images; \
         {image_var} names another image)"
    )]
    NoServer {
        /// The engine.
        engine: Engine,
        /// The variable that would name a server.
        url_var: &'static str,
        /// The variable that names the image.
        image_var: &'static str,
        /// The image that was tried.
        image: String,
        /// An example server URL.
        example: &'static str,
        /// What went wrong with the container.
        reason: String,
    },
    /// The server the URL variable names cannot be reached.
    #[error(
        "the {engine} server that {url_var} names ({address}) cannot be reached: {reason}; \
         start it, correct {url_var}, or unset it to use a container"
    )]
    Unreachable {
        /// The engine.
        engine: Engine,
        /// The variable holding the URL.
        url_var: &'static str,
        /// Host and port of the URL (no user info).
        address: String,
        /// The connection error.
        reason: String,
    },
    /// The URL variable does not hold a URL.
    #[error("{url_var} is not a URL ({reason}); set it to e.g. {example}")]
    InvalidUrl {
        /// The engine.
        engine: Engine,
        /// The variable holding the URL.
        url_var: &'static str,
        /// An example server URL.
        example: &'static str,
        /// The parse error.
        reason: String,
    },
    /// Creating the test database failed.
    #[error("creating the {engine} test database {name} failed: {reason}")]
    CreateDatabase {
        /// The engine.
        engine: Engine,
        /// The database's name.
        name: String,
        /// The SQL error.
        reason: String,
    },
    /// The emulator image could not be started.
    #[error(
        "the vaultref emulator container could not be started from the image {image} ({reason}); \
         build it with `cargo xtask images vaultref` in a reachable container engine \
         (DOCKER_HOST; `cargo xtask engine start`), or name another image in {image_var}"
    )]
    NoEmulator {
        /// The variable naming the image.
        image_var: &'static str,
        /// The image that was tried.
        image: String,
        /// What went wrong.
        reason: String,
    },
    /// A temporary folder for SQLite could not be made.
    #[error("creating a temporary folder for the SQLite test database failed: {0}")]
    TempDir(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The engine whose database could not be had; `None` for the emulator.
    #[must_use]
    pub fn engine(&self) -> Option<Engine> {
        match self {
            Self::NoServer { engine, .. }
            | Self::Unreachable { engine, .. }
            | Self::InvalidUrl { engine, .. }
            | Self::CreateDatabase { engine, .. } => Some(*engine),
            Self::TempDir(_) => Some(Engine::Sqlite),
            Self::NoEmulator { .. } => None,
        }
    }
}
