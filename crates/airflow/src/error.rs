//! The crate's one error enum.

use crate::naming::AirflowKind;

/// What can go wrong with Airflow's secrets: its settings, its names and connections, and
/// (from vaultref-core) the vault itself. Messages say what to fix and never hold a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A connection value neither of Airflow's forms can read (the value is never quoted).
    #[error("invalid Airflow connection: {problem}")]
    InvalidConnection {
        /// What is wrong and what to write instead.
        problem: String,
    },

    /// The kind's prefix is null, so Airflow never looks this kind up in the vault.
    #[error(
        "{kind} lookups are off: {kwarg} is null in AIRFLOW__SECRETS__BACKEND_KWARGS; give it a \
         prefix to store {kind}s in the vault",
        kwarg = kind.prefix_kwarg()
    )]
    KindDisabled {
        /// The kind.
        kind: AirflowKind,
    },

    /// The name built for the id is not a Key Vault name, so Airflow never looks it up.
    #[error(
        "{kind} id `{id}` gives the secret name `{name}`, which Key Vault cannot hold (1 to 127 \
         letters, digits and '-'), so Airflow never looks it up: use letters, digits, '-' and \
         '_' in ids, and a prefix and sep of letters, digits and '-'"
    )]
    InvalidName {
        /// The kind.
        kind: AirflowKind,
        /// The id or key.
        id: String,
        /// The name the backend builds for it.
        name: String,
    },

    /// In multi-team mode, an id whose normalised form holds the team separator.
    #[error(
        "{kind} id `{id}` becomes `{normalized}`, which holds the team separator `--`: with \
         [core] multi_team on, Airflow refuses it as ambiguous; choose an id without `--` or `__`"
    )]
    AmbiguousTeamId {
        /// The kind.
        kind: AirflowKind,
        /// The id or key.
        id: String,
        /// The id after `_` → sep.
        normalized: String,
    },

    /// Writing would replace the secret of another id that maps to the same name.
    #[error(
        "{kind} `{id}` would be stored as `{name}`, which holds {existing}: Airflow maps both to \
         one name ('_' becomes the separator and Key Vault ignores case), so one would silently \
         replace the other; choose another id, or delete `{name}` first if the old one is gone"
    )]
    NameCollision {
        /// The kind written.
        kind: AirflowKind,
        /// The id written.
        id: String,
        /// The shared secret name.
        name: String,
        /// What the secret holds, e.g. "connection `a-b`".
        existing: String,
    },

    /// A setting of the backend's (its keyword arguments, `[core]` / `[secrets]` options) is
    /// missing or invalid; `key` names where it is set.
    #[error("{key} {problem}")]
    Config {
        /// The variable or keyword argument, e.g. `AIRFLOW__SECRETS__BACKEND_KWARGS vault_url`.
        key: String,
        /// What is wrong and what to write instead.
        problem: String,
    },

    /// airflow.cfg exists but cannot be read.
    #[error("cannot read the configuration file {path}: {source}")]
    ConfigRead {
        /// Where Airflow's configuration was looked for.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The vault, its credential or a secret name (vaultref-core's error, as it is).
    #[error(transparent)]
    Core(#[from] vaultref_core::Error),
}

impl Error {
    pub(crate) fn config(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Config {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

/// The result of this crate's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;
