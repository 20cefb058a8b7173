//! vaultref's SQL entity store and the operations that move secrets in it.
//!
//! - The store: [`Store`] holds OpenMetadata's entity tables (one per [`EntityType`],
//!   named by [`table_name`]: an id, a name and the entity as a JSON document) on PostgreSQL,
//!   MySQL/MariaDB or SQLite ([`Flavour`]), over one sqlx `Any` pool. [`Store::connect`]
//!   takes a sqlx URL, [`Store::connect_database`] the configuration's `database` block
//!   (OpenMetadata's JDBC form converted by [`database_url`]); [`Store::migrate`] creates the
//!   tables for standalone use (and fits them to OpenMetadata's identities);
//!   [`Store::layout`] tells whose tables a database holds ([`Layout`], [`LayoutKind`]:
//!   OpenMetadata's by release, or vaultref's own). On OpenMetadata's tables the store writes
//!   only the document and its `nameHash` / `fqnHash` (computed as OpenMetadata does), leaves
//!   generated columns to the database, and reads a table a release lacks as empty. Rows are
//!   [`StoredEntity`]s, with the exact text read: [`Store::upsert`] and [`Store::find`] by
//!   identity (exact names; pipelines by fully qualified name), [`Store::get`],
//!   [`Store::list_page`] and [`Store::stream`] (keyset paging for large tables). Every row
//!   write is compare-and-set against the text read; [`database_identity`] names the
//!   deployment in vaultref's ownership tag.
//! - Entities: [`import_entity`] stores one document through the store path (plan, row in a
//!   transaction, vault writes with the row locked, commit; re-planned when another writer
//!   changed the row; nothing left of a failure), after [`register_stored_rows`];
//!   [`release_secrets`] deletes what rows let go of once every row was looked at again;
//!   [`delete_entity`] deletes an entity's row, then its computed secrets (OpenMetadata's
//!   hard delete; refused on OpenMetadata's own tables).
//! - The operations: [`migrate_secrets`] runs the configured provider's store path over every
//!   service, bot user, ingestion pipeline and workflow ([`MigrateOptions`], dry runs
//!   included; soft-deleted entities skipped unless asked for, as OpenMetadata does), and [`rotate_fernet_key`] re-encrypts every `fernet:` value under the first
//!   key ([`RotationSummary`]). Both continue past a failed entity (or row that does not
//!   parse) and say what happened to each in a
//!   [`MigrationReport`] of [`EntityResult`]s; a [`Progress`] observer hears about every
//!   entity as it is done.
//!
//! Errors: one [`Error`] enum; messages say what to fix and never show a secret or a database
//! password ([`redact_url`]).
//!
//! ```
//! use serde_json::json;
//! use vaultref_core::{ProviderKind, SecretsManager};
//! use vaultref_fernet::KeyRing;
//! use vaultref_store::{EntityType, MigrateOptions, NoProgress, Store, migrate_secrets};
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let store = Store::connect("sqlite::memory:").await?;
//! store.migrate().await?;
//! store.upsert(EntityType::DatabaseService, json!({"name": "mysql-test", "serviceType": "Mysql",
//!     "connection": {"config": {"type": "Mysql", "authType": {"password": "s3cret"}}}})).await?;
//!
//! // Non-managed mode: the plaintext password is Fernet-encrypted in place.
//! let keys = KeyRing::parse("jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=")?;
//! let manager = SecretsManager::builder(ProviderKind::Db, keys, "openmetadata").build()?;
//! let report = migrate_secrets(&store, &manager, &MigrateOptions::default(), &NoProgress).await?;
//! assert!(report.is_success());
//! assert_eq!(report.updated(), 1);
//! let row = store.get(EntityType::DatabaseService, "mysql-test").await?.expect("stored");
//! let password = row.entity["connection"]["config"]["authType"]["password"].as_str();
//! assert!(password.is_some_and(|p| p.starts_with("fernet:")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod delete;
mod error;
mod layout;
mod migrate;
mod scan;
mod store;
mod tables;
mod url;
mod write;

pub use crate::{
    delete::{Deleted, delete_entity},
    error::{Error, Result},
    layout::{Layout, LayoutKind},
    migrate::{
        EntityResult, EntityStatus, MigrateOptions, MigrationReport, NoProgress, Progress,
        RotationSummary, migrate_secrets, rotate_fernet_key,
    },
    scan::{Finding, Problem, ScanReport, scan},
    store::{
        DEFAULT_PAGE_SIZE, EntityVersion, Store, StoredEntity, Upserted, entity_types_with_tables,
        table_name,
    },
    url::{Flavour, database_identity, database_url, redact_url},
    write::{Imported, import_entity, register_stored_rows, release_secrets},
};
pub use vaultref_core::EntityType;

/// The README's examples, compiled and run as doc tests so that they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
