//! The Airflow side: what Airflow's `AzureKeyVaultBackend` reads, read and written the same
//! way, through the [`Resolver`](crate::Resolver)'s cache.
//!
//! - [`AirflowSettings`]: the backend's configuration as users write it
//!   (`AIRFLOW__SECRETS__BACKEND_KWARGS`, `[secrets]` / `[core]` of airflow.cfg), credentials
//!   chosen as the backend chooses them.
//! - [`AirflowNaming`]: secret names exactly as the backend builds them ([`NamePlan`]).
//! - [`AirflowConnection`]: connections in Airflow's URI and JSON forms ([`ConnectionForm`]).
//! - [`AirflowBackend`]: lookups (a missing secret or an invalid name is "no value", as in
//!   Airflow), writes that report the name collisions Airflow allows, and listing.
//!
//! Module map: `settings`, `naming`, `connection` (over `pyurl` and `pyjson`, which follow
//! Python's `urllib.parse` and `json`), `backend`.

mod backend;
mod connection;
mod naming;
mod pyjson;
mod pyurl;
mod settings;

pub use backend::{AirflowBackend, ListedSecret, TAG_ID, TAG_KIND, TAG_TEAM};
pub use connection::{AirflowConnection, ConnectionForm};
pub use naming::{AirflowKind, AirflowNaming, NameCandidate, NamePlan, TEAM_SEPARATOR};
pub use settings::{AirflowCredential, AirflowSettings, BACKEND_CLASS, DEFAULT_CACHE_TTL_SECONDS};

/// What can go wrong with Airflow's secrets, beyond the vault itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AirflowError {
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
}
