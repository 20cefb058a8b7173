//! `vaultref entities import --config FILE [PATH]` and `vaultref entities export --config FILE
//! [--reveal]`: entities as JSON Lines, one `{"entityType": "<type>", "entity": {...}}` a line.
//!
//! Import applies the configured provider's store path to each entity as vaultref-store's
//! `import_entity` does (managed mode: secrets go to the vault first, the row gets `fernet:`
//! tokens of the `secret:` references; `db`: the row gets `fernet:` tokens of the values),
//! creating the store's tables when missing; the entity's text is kept as given except for
//! its secret fields. A line that fails has no effect, is reported on stderr with its number,
//! and the others are still imported; any failure exits 1. Secrets that replaced rows no
//! longer reference are released at the end (each delete reported). Export writes every row
//! as stored, or with `--reveal` Fernet-decrypted and with `secret:` references read from the
//! vault the configuration names (whatever the provider); a row that cannot be read or
//! revealed is reported and left out, and the command exits 1 at the end. `entities delete
//! TYPE NAME [--dry-run]` deletes one entity's row, then the secrets computed for it (never a
//! user's own `secret:` reference), as OpenMetadata's hard delete does; refused on
//! OpenMetadata's own tables, where OpenMetadata must delete it.

use std::{
    io::{BufReader, Read},
    path::PathBuf,
    sync::Arc,
};

use anyhow::{Context as _, Result, anyhow, bail};
use futures::StreamExt as _;
use serde_json::{Value, json};
use vaultref_core::{
    Config, Document, EntityKey, EntityType, Environment, LoaderKind, Resolver, ResolverOptions,
    SecretBackend, SecretName, SecretsManager, changes, consumer_backend,
};
use vaultref_fernet::Zeroizing;
use vaultref_store::{
    DEFAULT_PAGE_SIZE, Imported, Store, StoredEntity, Upserted, delete_entity, import_entity,
    register_stored_rows, release_secrets,
};

use vaultref_transport::describe_size;

use crate::context::Context;
use crate::hints::with_hint;
use crate::input::{BoundedLines, Line, MAX_ENTITY_LINE_BYTES};
use crate::output;
use crate::progress::Tracker;
use crate::setup::{self, CatalogArg, NO_TABLES, entity_types, manager, store, store_with_tables};

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
        /// The JSON Lines file; stdin when absent or `-`.
        #[arg(value_name = "PATH")]
        path: Option<PathBuf>,
        #[command(flatten)]
        catalog: CatalogArg,
    },
    /// Print every stored entity as JSON Lines (secrets as stored unless --reveal).
    Export {
        /// Decrypt `fernet:` values and read `secret:` references from the vault.
        #[arg(long, conflicts_with = "masked")]
        reveal: bool,
        /// Show every secret field as OpenMetadata's API shows it to readers without
        /// permission (`*********`).
        #[arg(long)]
        masked: bool,
        #[command(flatten)]
        catalog: CatalogArg,
    },
    /// Delete an entity's row, then the secrets computed for its secret fields (never a
    /// user's own `secret:` reference), as OpenMetadata's hard delete does.
    Delete {
        /// The entity type (databaseService, user, bot, ingestionPipeline, workflow, ...).
        #[arg(value_name = "TYPE")]
        entity_type: String,
        /// Its name; an ingestion pipeline by its fully qualified name (`service.pipeline`).
        #[arg(value_name = "NAME")]
        name: String,
        /// Say what would be deleted (the row, the candidate secrets) without deleting.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        catalog: CatalogArg,
    },
}

pub(crate) fn run(args: EntitiesArgs, ctx: &Context) -> Result<()> {
    let env = &ctx.env;
    let runtime = setup::runtime()?;
    match args.command {
        EntitiesCommand::Import { path, catalog } => {
            let loaded = ctx.load_config()?;
            let input: Box<dyn Read> = match &path {
                Some(path) if path.as_os_str() != "-" => Box::new(
                    std::fs::File::open(path)
                        .with_context(|| format!("cannot open {}", path.display()))?,
                ),
                _ => Box::new(std::io::stdin()),
            };
            runtime.block_on(import(ctx, &loaded, input, &catalog))
        }
        EntitiesCommand::Export {
            reveal,
            masked,
            catalog,
        } => {
            let loaded = ctx.load_config()?;
            let view = match (reveal, masked) {
                (true, _) => View::Revealed,
                (_, true) => View::Masked,
                _ => View::AsStored,
            };
            runtime.block_on(export(&loaded, env, view, &catalog))
        }
        EntitiesCommand::Delete {
            entity_type,
            name,
            dry_run,
            catalog,
        } => {
            let loaded = ctx.load_config()?;
            let key = entity_key(&entity_type, &name)?;
            runtime.block_on(delete(ctx, &loaded, &key, dry_run, &catalog))
        }
    }
}

async fn import(
    ctx: &Context,
    config: &Config,
    input: Box<dyn Read>,
    catalog: &CatalogArg,
) -> Result<()> {
    let env = &ctx.env;
    ctx.refuse_in_memory(config, "entities import", "")?;
    let store = store(config).await?;
    store
        .migrate()
        .await
        .context("cannot create the entity tables")?;
    let manager = manager(config, env, &store, catalog.path.as_deref())?;
    // Stored entities are registered first: an imported entity whose secret name collides with
    // one of theirs is refused before anything is written, and no secret they reference is
    // deleted.
    for err in register_stored_rows(&store, &manager)
        .await
        .context(NO_TABLES)?
    {
        ctx.warn(&format!("stored {err}"));
    }
    let (mut imported, mut failed, mut written) = (0_usize, 0_usize, 0_usize);
    let mut results = Vec::new();
    let tracker = Tracker::new(ctx);
    tracker.start("import", None);
    let mut released = Vec::new();
    // Split on bytes: a line that is not UTF-8 (or too long) fails alone, like any other bad line.
    let lines = BoundedLines::new(BufReader::new(input), MAX_ENTITY_LINE_BYTES);
    for (index, line) in lines.enumerate() {
        let number = index + 1;
        let Line::Bytes(bytes) = line.with_context(|| format!("cannot read line {number}"))? else {
            failed += 1;
            let why = format!(
                "longer than {}, the most an entity line may hold",
                describe_size(MAX_ENTITY_LINE_BYTES)
            );
            tracker.tick();
            tracker.item(&format!("line {number}: failed: {why}"), true);
            results.push(json!({"line": number, "status": "failed", "error": why}));
            continue;
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            failed += 1;
            let why = "not UTF-8 text: write the JSON Lines in UTF-8";
            tracker.tick();
            tracker.item(&format!("line {number}: failed: {why}"), true);
            results.push(json!({"line": number, "status": "failed", "error": why}));
            continue;
        };
        let line = text.strip_suffix('\r').unwrap_or(text);
        if line.trim().is_empty() {
            continue;
        }
        tracker.tick();
        match import_line(&manager, &store, line).await {
            Ok((entity_type, done)) => {
                imported += 1;
                written += done.written.len();
                let how = match done.upserted {
                    Upserted::Inserted => "inserted",
                    _ => "replaced",
                };
                tracker.item(
                    &format!(
                        "line {number}: {entity_type} `{}` {how} ({} secret(s) written to the \
                         vault)",
                        done.key.fqn(),
                        done.written.len()
                    ),
                    false,
                );
                results.push(json!({
                    "line": number,
                    "entity_type": entity_type.as_str(),
                    "name": done.key.fqn(),
                    "status": how,
                    "secrets": done.written.len(),
                }));
                released.extend(done.released);
            }
            Err(err) => {
                failed += 1;
                let why = with_hint(&format!("{err:#}"));
                tracker.item(&format!("line {number}: failed: {why}"), true);
                results.push(json!({"line": number, "status": "failed", "error": why}));
            }
        }
    }
    // Only now, every row written: secrets no row references any more, that this deployment
    // wrote, are deleted; each release is reported.
    let releases = release_secrets(&store, &manager, released)
        .await
        .context("cannot read the entity tables again before deleting secrets")?;
    store.close().await;
    tracker.finish();
    let mut deleted = 0;
    for release in &releases {
        ctx.note(&release.to_string());
        if matches!(release.outcome, vaultref_core::ReleaseOutcome::Deleted) {
            deleted += 1;
        }
    }
    let release_failures = releases.iter().filter(|r| r.is_failed()).count();
    output::result(
        ctx,
        &format!(
            "imported {imported} entit{}, {written} secret(s) written to the vault, {deleted} \
             secret(s) deleted from it, {failed} failed",
            if imported == 1 { "y" } else { "ies" }
        ),
        &json!({
            "imported": imported,
            "secrets_written": written,
            "secrets_deleted": deleted,
            "failed": failed,
            "lines": results,
            "releases": releases.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
    )?;
    if failed > 0 {
        bail!("{failed} line(s) failed: fix them (see above) and import those lines again");
    }
    if release_failures > 0 {
        bail!(
            "{release_failures} secret(s) could not be deleted (see above): delete them with \
             `vaultref secret delete NAME` once nothing needs them"
        );
    }
    Ok(())
}

async fn import_line(
    manager: &SecretsManager,
    store: &Store,
    line: &str,
) -> Result<(EntityType, Imported)> {
    let record = Document::parse(line).map_err(|e| {
        anyhow!(
            "not JSON ({e}): write one {{\"entityType\": ..., \"entity\": {{...}}}} object a line"
        )
    })?;
    let entity_type: EntityType = record
        .value()
        .get("entityType")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("no \"entityType\" string: add the entity's type"))?
        .parse()?;
    // The entity's own text, so that what vaultref does not own comes back as written.
    let entity = record
        .member("entity")
        .filter(|entity| entity.value().is_object())
        .ok_or_else(|| anyhow!("no \"entity\" object: put the entity document there"))?;
    Ok((
        entity_type,
        import_entity(store, manager, entity_type, &entity).await?,
    ))
}

/// The identity `entities delete TYPE NAME` names: the name, or a pipeline's fully qualified
/// name (quoted parts as OpenMetadata writes them).
fn entity_key(entity_type: &str, name: &str) -> Result<EntityKey> {
    let entity_type: EntityType = entity_type.parse()?;
    let document = if entity_type == EntityType::IngestionPipeline {
        json!({"name": name, "fullyQualifiedName": name})
    } else {
        json!({ "name": name })
    };
    EntityKey::of(entity_type, &document).ok_or_else(|| anyhow!("the entity's NAME is empty"))
}

async fn delete(
    ctx: &Context,
    config: &Config,
    key: &EntityKey,
    dry_run: bool,
    catalog: &CatalogArg,
) -> Result<()> {
    let store = store_with_tables(config).await?;
    let manager = manager(config, &ctx.env, &store, catalog.path.as_deref())?;
    let deleted = delete_entity(&store, &manager, key, dry_run).await;
    store.close().await;
    let Some(deleted) = deleted.context(NO_TABLES)? else {
        bail!(
            "no {key} in the database: check the type and the name (`vaultref entities export` \
             lists them; an ingestion pipeline is named by its fully qualified name, \
             service.pipeline)"
        );
    };
    let names: Vec<&str> = deleted.secrets.iter().map(SecretName::as_str).collect();
    for release in &deleted.released {
        ctx.note(&release.to_string());
    }
    let secrets_deleted = deleted
        .released
        .iter()
        .filter(|r| matches!(r.outcome, vaultref_core::ReleaseOutcome::Deleted))
        .count();
    let text = if dry_run {
        format!(
            "would delete {key} (row {}) and, where this deployment wrote them and no other row \
             references them, its {} computed secret(s){}{}",
            deleted.id,
            names.len(),
            if names.is_empty() { "" } else { ": " },
            names.join(", ")
        )
    } else {
        format!(
            "deleted {key} (row {}), {secrets_deleted} secret(s) deleted from the vault",
            deleted.id
        )
    };
    output::result(
        ctx,
        &text,
        &json!({
            "entity_type": key.entity_type().as_str(),
            "name": key.fqn(),
            "id": deleted.id,
            "dry_run": dry_run,
            "secrets": names,
            "secrets_deleted": secrets_deleted,
            "releases": deleted.released.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
    )?;
    let failures = deleted.released.iter().filter(|r| r.is_failed()).count();
    if failures > 0 {
        bail!(
            "{failures} secret(s) could not be deleted (see above): the row is gone; delete them \
             with `vaultref secret delete NAME`"
        );
    }
    Ok(())
}

/// What `--reveal` needs: the manager (to decrypt) and the vault references point to.
struct Reveal {
    manager: SecretsManager,
    resolver: Option<Resolver>,
    /// `--masked`: mask instead of revealing.
    masked: bool,
}

/// How `export` shows secret fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    AsStored,
    Revealed,
    Masked,
}

async fn export(
    config: &Config,
    env: &Environment,
    view: View,
    catalog: &CatalogArg,
) -> Result<()> {
    let store = store_with_tables(config).await?;
    let reveal = match view {
        View::AsStored => None,
        View::Revealed | View::Masked => Some(Reveal {
            manager: manager(config, env, &store, catalog.path.as_deref())?,
            resolver: if view == View::Revealed {
                reveal_vault(config, env)?
                    .map(|backend| Resolver::new(backend, ResolverOptions::default()))
            } else {
                None
            },
            masked: view == View::Masked,
        }),
    };
    let mut failed = 0_usize;
    for entity_type in entity_types() {
        let mut rows = store.stream(entity_type, DEFAULT_PAGE_SIZE);
        while let Some(row) = rows.next().await {
            let row = match row {
                Ok(row) => row,
                Err(err @ vaultref_store::Error::InvalidDocument { .. }) => {
                    failed += 1;
                    setup::note(&format!("cannot export: {err}"));
                    continue;
                }
                Err(err) => return Err(err).context(NO_TABLES),
            };
            let text = match &reveal {
                None => Zeroizing::new(row.text.clone()),
                Some(reveal) => match revealed(reveal, &row).await {
                    Ok(text) => text,
                    Err(err) => {
                        failed += 1;
                        setup::note(&format!(
                            "cannot {} {} `{}`: {err:#}",
                            if reveal.masked { "mask" } else { "reveal" },
                            row.entity_type,
                            row.name
                        ));
                        continue;
                    }
                },
            };
            let mut line = Zeroizing::new(format!(
                "{{\"entityType\":\"{}\",\"entity\":",
                row.entity_type.as_str()
            ));
            line.push_str(&text);
            line.push_str("}\n");
            setup::write_stdout(line.as_bytes())?;
        }
    }
    store.close().await;
    if failed > 0 {
        bail!(
            "{failed} entit{} could not be exported (see above); the others were",
            if failed == 1 { "y" } else { "ies" }
        );
    }
    Ok(())
}

/// The vault `--reveal` reads references from: the one `secretsManagerConfiguration.parameters`
/// name, whatever the provider (a deployment rolled back to `db` still reads the vault it
/// used), else the one the `secretsManagerLoader` finds; none when neither names one.
fn reveal_vault(config: &Config, env: &Environment) -> Result<Option<Arc<dyn SecretBackend>>> {
    if config.secrets_manager.key_vault.is_none()
        && config.secrets_manager_loader == LoaderKind::Noop
    {
        return Ok(None);
    }
    Ok(Some(consumer_backend(config, env)?))
}

/// The row's text with its secret fields decrypted and their `secret:` references replaced by
/// the vault's values; everything else exactly as stored.
async fn revealed(reveal: &Reveal, row: &StoredEntity) -> Result<Zeroizing<String>> {
    let mut entity = row.entity.clone();
    if reveal.masked {
        reveal.manager.mask_entity(row.entity_type, &mut entity)?;
        let edits = changes(&row.entity, &entity);
        return Ok(Zeroizing::new(row.document().edited(&edits)?.into_text()));
    }
    // What the catalog cannot classify is shown as stored, and said (never silently).
    if let Ok((_, unclassified)) = reveal.manager.discover_fields(row.entity_type, &row.entity) {
        for field in unclassified {
            setup::note(&format!(
                "warning: {field} looks secret but the secret-field catalog does not classify it"
            ));
        }
    }
    match &reveal.resolver {
        Some(resolver) => {
            reveal
                .manager
                .reveal_entity(row.entity_type, &mut entity, resolver)
                .await?;
        }
        None => {
            reveal
                .manager
                .decrypt_entity(row.entity_type, &mut entity)?;
            if let Some((name, field)) = reveal
                .manager
                .references(row.entity_type, &entity)
                .names
                .into_iter()
                .next()
            {
                bail!(
                    "{field} references secret `{name}`, and the configuration names no vault \
                     to read it from: set secretsManagerConfiguration.parameters (vaultName or \
                     vaultUrl, and the credentials) to the vault it is in"
                );
            }
        }
    }
    let edits = changes(&row.entity, &entity);
    Ok(Zeroizing::new(row.document().edited(&edits)?.into_text()))
}
