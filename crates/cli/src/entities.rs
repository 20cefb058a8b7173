//! `vaultref entities import --config FILE [PATH]` and `vaultref entities export --config FILE
//! [--reveal]`: entities as JSON Lines, one `{"entityType": "<type>", "entity": {...}}` a line.
//!
//! Import applies the configured provider's store path to each entity before writing its row
//! (managed mode: secrets go to the vault first, the row gets `fernet:` tokens of the
//! `secret:` references; `db`: the row gets `fernet:` tokens of the values), creating the
//! store's tables when missing. A line that fails is reported on stderr with its number and the
//! others are still imported; any failure exits 1. Export writes every row as stored, or with
//! `--reveal` Fernet-decrypted and with `secret:` references read from the vault.

use std::{
    io::{BufReader, Read},
    path::PathBuf,
    sync::Arc,
};

use anyhow::{Context as _, Result, anyhow, bail};
use futures::TryStreamExt as _;
use serde_json::{Value, json};
use vaultref_core::{
    Config, EntityType, Environment, Resolver, ResolverOptions, SchemaRegistry, SecretsManager,
    connect_backend, consumer_backend,
};
use vaultref_fernet::Zeroizing;
use vaultref_store::{DEFAULT_PAGE_SIZE, Store, Upserted, table_name};

use vaultref_transport::describe_size;

use crate::input::{BoundedLines, Line, MAX_ENTITY_LINE_BYTES};
use crate::setup::{self, ConfigArg};

/// Options of `vaultref entities`.
#[derive(clap::Args)]
pub(crate) struct EntitiesArgs {
    #[command(subcommand)]
    command: EntitiesCommand,
}

#[derive(clap::Subcommand)]
enum EntitiesCommand {
    /// Store entities from JSON Lines (PATH, or stdin), applying the configured provider.
    Import {
        #[command(flatten)]
        config: ConfigArg,
        /// The JSON Lines file; stdin when absent or `-`.
        #[arg(value_name = "PATH")]
        path: Option<PathBuf>,
    },
    /// Print every stored entity as JSON Lines (secrets as stored unless --reveal).
    Export {
        #[command(flatten)]
        config: ConfigArg,
        /// Decrypt `fernet:` values and read `secret:` references from the vault.
        #[arg(long)]
        reveal: bool,
    },
}

pub(crate) fn run(args: EntitiesArgs) -> Result<()> {
    let env = Environment::from_process();
    let runtime = setup::runtime()?;
    match args.command {
        EntitiesCommand::Import { config, path } => {
            let loaded = config.load(&env)?;
            let input: Box<dyn Read> = match &path {
                Some(path) if path.as_os_str() != "-" => Box::new(
                    std::fs::File::open(path)
                        .with_context(|| format!("cannot open {}", path.display()))?,
                ),
                _ => Box::new(std::io::stdin()),
            };
            runtime.block_on(import(&loaded, &env, input))
        }
        EntitiesCommand::Export { config, reveal } => {
            let loaded = config.load(&env)?;
            runtime.block_on(export(&loaded, &env, reveal))
        }
    }
}

/// The manager the configuration describes, writing to its vault in managed mode.
pub(crate) fn manager(config: &Config, env: &Environment) -> Result<SecretsManager> {
    let backend = connect_backend(config, env)?;
    Ok(SecretsManager::from_config(
        config,
        backend,
        Arc::new(SchemaRegistry::builtin()),
    )?)
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

/// Every entity type with a table of its own, once.
pub(crate) fn entity_types() -> Vec<EntityType> {
    let mut seen = std::collections::BTreeSet::new();
    EntityType::all()
        .iter()
        .copied()
        .filter(|t| seen.insert(table_name(*t)))
        .collect()
}

async fn import(config: &Config, env: &Environment, input: Box<dyn Read>) -> Result<()> {
    let manager = manager(config, env)?;
    let store = store(config).await?;
    store
        .migrate()
        .await
        .context("cannot create the entity tables")?;
    // Names owned by stored entities are claimed first, so an imported entity whose secret
    // name collides with one of them is refused before anything is written.
    for entity_type in entity_types() {
        let mut rows = store.stream(entity_type, DEFAULT_PAGE_SIZE);
        while let Some(row) = rows.try_next().await? {
            if let Err(err) = manager.claim_existing(entity_type, &row.entity) {
                setup::note(&format!("warning: stored {err}"));
            }
        }
    }
    let (mut imported, mut failed, mut written) = (0_usize, 0_usize, 0_usize);
    // Split on bytes: a line that is not UTF-8 (or too long) fails alone, like any other bad line.
    let lines = BoundedLines::new(BufReader::new(input), MAX_ENTITY_LINE_BYTES);
    for (index, line) in lines.enumerate() {
        let number = index + 1;
        let Line::Bytes(bytes) = line.with_context(|| format!("cannot read line {number}"))? else {
            failed += 1;
            setup::note(&format!(
                "line {number}: failed: longer than {}, the most an entity line may hold",
                describe_size(MAX_ENTITY_LINE_BYTES)
            ));
            continue;
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            failed += 1;
            setup::note(&format!(
                "line {number}: failed: not UTF-8 text: write the JSON Lines in UTF-8"
            ));
            continue;
        };
        let line = text.strip_suffix('\r').unwrap_or(text);
        if line.trim().is_empty() {
            continue;
        }
        match import_line(&manager, &store, line).await {
            Ok((entity_type, name, upserted, secrets)) => {
                imported += 1;
                written += secrets;
                let how = match upserted {
                    Upserted::Inserted => "inserted",
                    _ => "replaced",
                };
                setup::note(&format!(
                    "line {number}: {entity_type} `{name}` {how} ({secrets} secret(s) written to the vault)"
                ));
            }
            Err(err) => {
                failed += 1;
                setup::note(&format!("line {number}: failed: {err:#}"));
            }
        }
    }
    store.close().await;
    setup::print_line(&format!(
        "imported {imported} entit{}, {written} secret(s) written to the vault, {failed} failed",
        if imported == 1 { "y" } else { "ies" }
    ))?;
    if failed > 0 {
        bail!("{failed} line(s) failed: fix them (see above) and import those lines again");
    }
    Ok(())
}

async fn import_line(
    manager: &SecretsManager,
    store: &Store,
    line: &str,
) -> Result<(EntityType, String, Upserted, usize)> {
    let mut record: Value = serde_json::from_str(line).map_err(|e| {
        anyhow!(
            "not JSON ({e}): write one {{\"entityType\": ..., \"entity\": {{...}}}} object a line"
        )
    })?;
    let entity_type: EntityType = record
        .get("entityType")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("no \"entityType\" string: add the entity's type"))?
        .parse()?;
    let mut entity = record
        .get_mut("entity")
        .map(Value::take)
        .filter(Value::is_object)
        .ok_or_else(|| anyhow!("no \"entity\" object: put the entity document there"))?;
    let name = entity
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let outcome = manager.store_entity(entity_type, &mut entity).await?;
    let (_, upserted) = store.upsert(entity_type, entity).await?;
    Ok((entity_type, name, upserted, outcome.written.len()))
}

async fn export(config: &Config, env: &Environment, reveal: bool) -> Result<()> {
    let store = store(config).await?;
    let (manager, resolver) = if reveal {
        let manager = manager(config, env)?;
        // Without a vault, revealing only decrypts.
        let resolver = connect_backend(config, env)?
            .map(Ok)
            .or_else(|| {
                (config.secrets_manager_loader != vaultref_core::LoaderKind::Noop)
                    .then(|| consumer_backend(config, env))
            })
            .transpose()?
            .map(|backend| Resolver::new(backend, ResolverOptions::default()));
        (Some(manager), resolver)
    } else {
        (None, None)
    };
    for entity_type in entity_types() {
        for mut row in store.list(entity_type).await.context(NO_TABLES)? {
            if let Some(manager) = &manager {
                let what = format!("{} `{}`", row.entity_type, row.name);
                match &resolver {
                    Some(resolver) => {
                        manager
                            .reveal_entity(row.entity_type, &mut row.entity, resolver)
                            .await
                            .with_context(|| format!("cannot reveal {what}"))?;
                    }
                    None => manager
                        .decrypt_entity(row.entity_type, &mut row.entity)
                        .with_context(|| format!("cannot reveal {what}"))?,
                }
            }
            let mut line = Zeroizing::new(
                json!({"entityType": row.entity_type.as_str(), "entity": row.entity}).to_string(),
            );
            line.push('\n');
            setup::write_stdout(line.as_bytes())?;
        }
    }
    store.close().await;
    Ok(())
}
