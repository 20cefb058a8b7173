//! What the configuration-driven commands share: the async runtime, the vault client, the
//! entity store and the secrets manager the configuration describes, the `--catalog` option,
//! and writing to stdout and stderr (`--config` and the other global options are `context`'s).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use vaultref_core::{
    Catalog, Config, EntityType, Environment, KeyVaultBackend, SecretsManager, connect_backend,
};
use vaultref_store::{LayoutKind, Store};

/// A runtime for one command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The Key Vault `config` points at: its `secretsManagerConfiguration.parameters` when they
/// name a vault, else the vault the `secretsManagerLoader` (`env`, `airflow`) finds.
pub(crate) fn key_vault(config: &Config, env: &Environment) -> Result<KeyVaultBackend> {
    Ok(KeyVaultBackend::for_consumers(config, env)?)
}

/// Writes `bytes` to stdout as they are and flushes.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Writes one line of text to stdout.
pub(crate) fn print_line(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}

/// Writes one line of text to stderr (progress and notes; failures go through `main`).
pub(crate) fn note(text: &str) {
    // If stderr is gone there is nobody left to tell.
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// `--catalog FILE`: a custom secret-field catalog added to the built-in one (and to the
/// configuration's `secretFieldCatalog`).
#[derive(clap::Args)]
pub(crate) struct CatalogArg {
    /// A custom secret-field catalog (the built-in catalog's JSON format) for custom
    /// connection types and in-house fields (docs/compatibility.md).
    #[arg(
        id = "catalog",
        long = "catalog",
        value_name = "FILE",
        env = "VAULTREF_CATALOG"
    )]
    pub(crate) path: Option<PathBuf>,
}

/// The manager the configuration describes, writing to its vault in managed mode for the
/// deployment of `store` (whose database the ownership tag names), discovering secrets with
/// the built-in catalog plus the configuration's and `extra_catalog`.
pub(crate) fn manager(
    config: &Config,
    env: &Environment,
    store: &Store,
    extra_catalog: Option<&std::path::Path>,
) -> Result<SecretsManager> {
    let catalog = Catalog::for_config(config, extra_catalog)?;
    let backend = connect_backend(config, env)?;
    Ok(
        SecretsManager::builder_from_config(config, backend, Arc::new(catalog))?
            .deployment(store.identity())
            .build()?,
    )
}

/// Context for reading a database that may not have the entity tables yet.
pub(crate) const NO_TABLES: &str =
    "cannot read the entity tables (a new database gets them from `vaultref entities import`)";

/// The store the configuration's `database` block names.
pub(crate) async fn store(config: &Config) -> Result<Store> {
    Store::from_config(config)
        .await
        .context("cannot open the entity store (check the configuration's database block)")
}

/// The store, refusing a database without any entity table: reading it would find nothing and
/// succeed, although the configuration most likely names the wrong database.
pub(crate) async fn store_with_tables(config: &Config) -> Result<Store> {
    let store = store(config).await?;
    let layout = store.layout().await.context(NO_TABLES)?;
    if matches!(layout.kind(), LayoutKind::Empty) {
        store.close().await;
        bail!(
            "the database {} has no entity tables: a new database gets them from `vaultref \
             entities import`; or point database at OpenMetadata's database",
            store.redacted_url()
        );
    }
    Ok(store)
}

/// Every entity type with a table of its own, once.
pub(crate) fn entity_types() -> Vec<EntityType> {
    vaultref_store::entity_types_with_tables()
}
