//! vaultref's Airflow side: what Airflow's `AzureKeyVaultBackend` reads, read and written the
//! same way, through vaultref-core's [`Resolver`](vaultref_core::Resolver) cache.
//!
//! - [`AirflowSettings`]: the backend's configuration as users write it
//!   (`AIRFLOW__SECRETS__BACKEND_KWARGS`, `[secrets]` / `[core]` of airflow.cfg), credentials
//!   chosen as the backend chooses them.
//! - [`AirflowNaming`]: secret names exactly as the backend builds them ([`NamePlan`]).
//! - [`AirflowConnection`]: connections in Airflow's URI and JSON forms ([`ConnectionForm`]).
//! - [`AirflowBackend`]: lookups (a missing secret or an invalid name is "no value", as in
//!   Airflow), writes that report the name collisions Airflow allows, and listing.
//! - Errors: one [`Error`] enum; the vault's own failures arrive as vaultref-core's error
//!   ([`Error::Core`]), unchanged.
//!
//! Module map: `settings`, `naming`, `connection` (over `pyurl` and `pyjson`, which follow
//! Python's `urllib.parse` and `json`), `backend`, `error`. OpenMetadata's own `airflow`
//! loader (its `[openmetadata_secrets_manager]` section of airflow.cfg) is vaultref-core's
//! `ConsumerVault`: that is OpenMetadata's configuration, not Airflow's secrets.
//!
//! ```
//! use vaultref_airflow::{AirflowConnection, AirflowKind, AirflowNaming, NameCandidate, NamePlan};
//!
//! // Names exactly as the backend builds them: '_' becomes the separator.
//! let naming = AirflowNaming::default();
//! let NamePlan::Names(names) = naming.plan(AirflowKind::Connection, "my_db", None) else {
//!     unreachable!("the default naming looks connections up")
//! };
//! assert!(matches!(&names[0], NameCandidate::Valid(n) if n.as_str() == "airflow-connections-my-db"));
//!
//! // A connection in Airflow's URI form, read as Airflow reads it.
//! let connection = AirflowConnection::parse("postgres://user:pw@db.example:5432/app")?;
//! assert_eq!(connection.host.as_deref(), Some("db.example"));
//! # Ok::<(), vaultref_airflow::Error>(())
//! ```

mod backend;
mod connection;
mod error;
mod naming;
mod pyjson;
mod pyurl;
mod settings;

pub use backend::{AirflowBackend, ListedSecret, TAG_ID, TAG_KIND, TAG_TEAM};
pub use connection::{AirflowConnection, ConnectionForm};
pub use error::{Error, Result};
pub use naming::{AirflowKind, AirflowNaming, NameCandidate, NamePlan, TEAM_SEPARATOR};
pub use settings::{AirflowCredential, AirflowSettings, BACKEND_CLASS, DEFAULT_CACHE_TTL_SECONDS};

/// The README's examples, compiled and run as doc tests so that they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
