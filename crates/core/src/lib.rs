//! vaultref's secrets-manager core, wire-compatible with OpenMetadata's.
//!
//! - Configuration: [`Config`] reads OpenMetadata's `openmetadata.yaml` shape after
//!   `${VAR}` / `${VAR:-default}` substitution from an injected [`Environment`]
//!   ([`substitute_variables`], linear in the text), read with a cap ([`read_config_file`],
//!   [`MAX_CONFIG_BYTES`]); endpoint URLs must be https off loopback and carry no user info;
//!   [`ProviderKind`], [`KeyVaultConfig`], [`LoaderKind`],
//!   [`DatabaseConfig`]; tags as OpenMetadata parses them ([`parse_tags`]).
//! - Secret naming: [`SecretIdBuilder`] builds ids exactly as OpenMetadata's `buildSecretId`
//!   ([`NamingScheme::Azure`], [`NamingScheme::Default`]); [`SecretName`] is the validated Key
//!   Vault name (vaultref-keyvault's, the one type of the workspace; [`secret_name`] gives
//!   core's error, which describes a bad name without echoing it); [`LongNamePolicy`] says
//!   whether long names are refused or shortened ([`shortened_secret_name`]).
//! - Secret-field discovery: the [`Catalog`], generated from OpenMetadata's own models by
//!   `cargo xtask om-catalog` (every field typed `CustomSecretStr`, every `oneOf` branch),
//!   plus custom entries ([`Catalog::merge`], [`Catalog::load_file`]), finds the
//!   [`SecretField`]s of an entity, fail-closed: an unknown connection type, or a field that
//!   looks secret and is not classified, is refused, never stored in plaintext
//!   ([`SecretsManager::discover_fields`], [`SecretsManager::mask_entity`]).
//! - The vault seam: [`SecretBackend`] (set / get / read / delete / recover, failures classified by
//!   [`BackendErrorKind`]); the `managed-azure-kv` / `azure-kv` provider [`KeyVaultBackend`]
//!   (over vaultref-keyvault, credentials from vaultref-entra; [`connect_backend`] builds it
//!   from a [`Config`]) and the `in-memory` provider [`InMemoryBackend`];
//!   [`RateLimitedBackend`] spaces writes and deletes (`rateLimitPermitsPerSecond`), with time
//!   injected through [`Timer`] ([`TokioTimer`] in production). [`Timer`], [`Clock`] (the
//!   resolver's cache expiry) and [`Environment`] are vaultref-transport's, re-exported.
//! - The store, read and delete paths: [`SecretsManager`] applies a provider's rules to an
//!   [`EntityType`]'s JSON document: [`SecretsManager::plan_store`] checks everything without
//!   I/O and yields a [`StorePlan`], [`SecretsManager::apply`] writes the vault and sets the
//!   `fernet:` database values ([`StoreOutcome`]); [`SecretsManager::decrypt_entity`] is the
//!   read path ([`SecretsManager::reveal_entity`] also reads the vault),
//!   [`SecretsManager::delete_entity_secrets`] the hard-delete path. Every vault write, delete,
//!   recovery and put-back is an [`AuditEvent`] for an [`AuditSink`] ([`TracingAuditSink`] by
//!   default).
//! - Nothing lost, nothing overwritten: every secret written carries [`OWNER_TAG`] naming the
//!   deployment; [`SecretsManager::write_secrets`] reads each secret first ([`VaultSecret`]),
//!   refuses another deployment's, and [`SecretsManager::undo_writes`] puts them back after a
//!   failure ([`PutBack`]); [`SecretsManager::register_stored`] records who owns which name
//!   (keyed by [`EntityKey`], pipelines by fully qualified name) and which names rows reference
//!   ([`References`]); [`SecretsManager::release_secrets`] deletes only what this deployment
//!   wrote and no row references ([`Release`], [`ReleaseOutcome`]). A [`Document`] keeps the
//!   text it was read from and is edited in place ([`JsonPath`], [`changes`]), so numbers and
//!   key order come back as stored.
//! - Migration policy: [`migration_order`], [`holds_secrets`], [`SecretsManager::equivalent`],
//!   [`FernetRotation`] ([`Rotation`]).
//! - The consumer side: [`Resolver`] replaces `secret:` references ([`reference_name`]) in JSON
//!   or YAML documents with vault values: each distinct name read once, concurrently within a
//!   bound, through a TTL cache with bounded stale serving and negative caching
//!   ([`ResolverOptions`], [`UnresolvedPolicy`], [`ResolveReport`]); [`ConsumerVault`] applies
//!   the `env` / `airflow` loaders to find the vault and its [`ConsumerCredential`]
//!   ([`KeyVaultBackend::from_consumer`] connects to it; [`consumer_backend`] picks the vault
//!   a configuration gives consumers); [`WorkflowSecrets`] reads the provider and loader an
//!   OpenMetadata workflow file names for its ingestion.
//! - Airflow's own secrets (what its `AzureKeyVaultBackend` reads) are the crate
//!   vaultref-airflow, built on this one: [`KeyVaultBackend::connect`],
//!   [`Error::from_key_vault`], [`parse_http_url`] and [`parse_ini`] are public for it.
//!
//! Errors: one [`Error`] enum, whose messages say what to fix and never contain secret values.
//!
//! ```
//! use std::sync::Arc;
//! use serde_json::json;
//! use vaultref_core::{EntityType, InMemoryBackend, ProviderKind, SecretsManager};
//! use vaultref_fernet::KeyRing;
//!
//! # tokio::runtime::Runtime::new()?.block_on(async {
//! let keys = KeyRing::parse("jJ/9sz0g0OHxsfxOoSfdFdmk3ysNmPRnH3TUAbz3IHA=")?;
//! let vault = Arc::new(InMemoryBackend::new());
//! let manager = SecretsManager::builder(ProviderKind::InMemory, keys.clone(), "openmetadata")
//!     .backend(vault.clone())
//!     .build()?;
//! let mut service = json!({"name": "mysql-test", "serviceType": "Mysql",
//!     "connection": {"config": {"type": "Mysql", "authType": {"password": "s3cret"}}}});
//! manager.store_entity(EntityType::DatabaseService, &mut service).await?;
//!
//! // The vault holds the password; the database gets a Fernet token of the reference.
//! assert_eq!(vault.names()[0].as_str(), "openmetadata-database-mysql-test-authtype-password");
//! let stored = service["connection"]["config"]["authType"]["password"].as_str().unwrap();
//! assert_eq!(
//!     keys.decrypt_if_tokenized(stored)?.as_str(),
//!     "secret:openmetadata-database-mysql-test-authtype-password"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod audit;
mod backend;
mod catalog;
mod config;
mod config_check;
mod document;
mod entity;
mod env;
mod error;
mod identity;
mod inspect;
mod keyvault;
mod loader;
mod manager;
mod migration;
mod naming;
mod ratelimit;
mod reference;
mod resolve;
mod workflow;

pub use crate::{
    audit::{
        AUDIT_TARGET, AuditAction, AuditEvent, AuditSink, RecordingAuditSink, TracingAuditSink,
        audit_secret_change,
    },
    backend::{InMemoryBackend, SecretAttributes, SecretBackend, VaultSecret},
    catalog::{Catalog, SecretField, replace_coverage_table},
    config::{
        Config, DEFAULT_RATE_LIMIT_PERMITS_PER_SECOND, DatabaseConfig, KeyVaultConfig, LoaderKind,
        MAX_CONFIG_BYTES, OWNER_TAG, ProviderKind, SecretsManagerConfig, parse_http_url,
        parse_tags, read_config_file,
    },
    config_check::{ConfigCheck, Finding, Severity, credential_description},
    document::{Document, JsonPath, PathStep, changes, key_path},
    entity::EntityType,
    env::{Environment, ignored_variables, referenced_variables, substitute_variables},
    error::{BackendErrorKind, EntityRef, Error, FieldRef, PutBack, Result},
    identity::EntityKey,
    inspect::AtRest,
    keyvault::{KeyVaultBackend, WaitOptions, connect_backend, consumer_backend},
    loader::{
        AIRFLOW_SECTION, ConsumerCredential, ConsumerVault, KEY_VAULT_DNS_SUFFIX_VAR,
        airflow_config_path, parse_ini,
    },
    manager::{
        References, Release, ReleaseOutcome, SecretsManager, SecretsManagerBuilder, StoreOutcome,
        StorePlan, VaultWrites,
    },
    migration::{FernetRotation, Rotation, holds_secrets, migration_order},
    naming::{
        LongNamePolicy, MAX_SECRET_NAME_LEN, NamingScheme, SecretIdBuilder, SecretName,
        secret_name, shortened_secret_name,
    },
    ratelimit::RateLimitedBackend,
    reference::{SECRET_PREFIX, is_reference, reference_name, reference_to},
    resolve::{
        ResolveReport, Resolver, ResolverOptions, UnresolvedPolicy, replace_references_by_names,
    },
    workflow::{WorkflowProvider, WorkflowSecrets},
};
pub use vaultref_transport::{Clock, SystemClock, Timer, TokioTimer};

/// The README's examples, compiled and run as doc tests so that they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
