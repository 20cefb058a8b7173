//! `vaultref migrate-secrets --config FILE [--dry-run]` and `vaultref rotate-fernet-key
//! --config FILE [--dry-run]`: vaultref-store's operations over the configured database.
//!
//! One progress line per entity on stderr, a summary on stdout, exit 1 when any entity failed
//! (the others are done; running again is safe). Soft-deleted entities are skipped, as
//! OpenMetadata skips them, unless `--include-deleted`; tables the database's OpenMetadata
//! release lacks are notes, not errors.

use anyhow::{Context as _, Result, bail};
use serde_json::json;
use vaultref_store::{
    EntityResult, EntityStatus, EntityType, MigrateOptions, MigrationReport, Progress,
    migrate_secrets, rotate_fernet_key,
};

use crate::context::Context;
use crate::hints::with_hint;
use crate::output;
use crate::progress::Tracker;
use crate::setup;
use crate::setup::{NO_TABLES, manager, store_with_tables};

/// Options of `vaultref migrate-secrets` and `vaultref rotate-fernet-key`.
#[derive(clap::Args)]
pub(crate) struct MigrateArgs {
    /// Say what would change without writing to the vault or the database.
    #[arg(long)]
    dry_run: bool,
    /// Include soft-deleted entities (`"deleted": true`), which are skipped by default as
    /// OpenMetadata's own migration skips them.
    #[arg(long)]
    include_deleted: bool,
}

/// Which operation.
#[derive(Clone, Copy)]
pub(crate) enum Operation {
    MigrateSecrets,
    RotateFernetKey,
}

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::MigrateSecrets => "migrate-secrets",
            Self::RotateFernetKey => "rotate-fernet-key",
        }
    }
}

/// Progress on stderr (`progress::Tracker`). Entity lines are printed as each entity is done
/// (a log that follows the run, and what the fault tests watch), in the store's order: table by
/// table, by id within a table (ids are what no other writer changes; see `Store::stream`).
struct EntityProgress {
    operation: Operation,
    tracker: Tracker,
}

impl EntityProgress {
    /// Closes the current table's stage.
    fn flush(&self) {
        self.tracker.finish();
    }
}

impl Progress for EntityProgress {
    fn entity_type_started(&self, entity_type: EntityType, rows: u64) {
        self.flush();
        if rows > 0 {
            self.tracker.start(entity_type.as_str(), Some(rows));
        }
    }

    fn entity_done(&self, result: &EntityResult) {
        self.tracker.tick();
        let what = status_text(self.operation, &result.status);
        // A row whose document does not parse has no name to show.
        let who = if result.name.is_empty() {
            format!("row {}", result.id)
        } else {
            format!("`{}`", result.name)
        };
        let line = format!("  {} {who}: {what}", result.entity_type);
        self.tracker.item(&line, result.is_failed());
    }
}

fn status_text(operation: Operation, status: &EntityStatus) -> String {
    match status {
        EntityStatus::Unchanged => "unchanged".to_owned(),
        EntityStatus::Updated { .. } if matches!(operation, Operation::RotateFernetKey) => {
            "re-encrypted".to_owned()
        }
        EntityStatus::Updated { written } => {
            format!("updated ({} secret(s) written to the vault)", written.len())
        }
        EntityStatus::WouldUpdate { to_write } => {
            format!("would be updated ({} secret(s) to write)", to_write.len())
        }
        EntityStatus::SkippedDeleted => {
            "skipped: soft-deleted (--include-deleted to include)".to_owned()
        }
        EntityStatus::Failed { error } => format!("FAILED: {error}"),
        _ => "done".to_owned(),
    }
}

/// The word for a status in `--output json`.
fn status_word(status: &EntityStatus) -> &'static str {
    match status {
        EntityStatus::Unchanged => "unchanged",
        EntityStatus::Updated { .. } => "updated",
        EntityStatus::WouldUpdate { .. } => "would_update",
        EntityStatus::SkippedDeleted => "skipped_deleted",
        EntityStatus::Failed { .. } => "failed",
        _ => "done",
    }
}

pub(crate) fn run(operation: Operation, args: &MigrateArgs, ctx: &Context) -> Result<()> {
    let env = &ctx.env;
    let config = ctx.load_config()?;
    if matches!(operation, Operation::MigrateSecrets) && !args.dry_run {
        ctx.refuse_in_memory(&config, "migrate-secrets", ", or use --dry-run")?;
    }
    let options = MigrateOptions::default()
        .with_dry_run(args.dry_run)
        .with_include_deleted(args.include_deleted);
    let runtime = setup::runtime()?;
    let progress = EntityProgress {
        operation,
        tracker: Tracker::new(ctx),
    };
    let report = runtime.block_on(async {
        let store = store_with_tables(&config).await?;
        let report = match operation {
            Operation::MigrateSecrets => {
                let manager = manager(&config, env, &store, None)?;
                migrate_secrets(&store, &manager, &options, &progress)
                    .await
                    .context(NO_TABLES)?
            }
            Operation::RotateFernetKey => {
                rotate_fernet_key(&store, &config.fernet_key, &options, &progress)
                    .await
                    .context(NO_TABLES)?
            }
        };
        store.close().await;
        anyhow::Ok(report)
    });
    progress.flush();
    summary(operation, &report?, ctx)
}

fn summary(operation: Operation, report: &MigrationReport, ctx: &Context) -> Result<()> {
    let name = operation.name();
    let failed = report.failed().count();
    let skipped_deleted = report.skipped_deleted();
    let verb = if report.dry_run {
        "would update"
    } else {
        "updated"
    };
    let mut line = format!(
        "{name}{}: {} entities, {verb} {}, unchanged {}, failed {failed}",
        if report.dry_run { " (dry run)" } else { "" },
        report.entities.len(),
        report.updated(),
        report.unchanged(),
    );
    // Said only when it happened: the usual line stays as scripts and docs know it.
    if skipped_deleted > 0 {
        line.push_str(&format!(", skipped {skipped_deleted} soft-deleted"));
    }
    if matches!(operation, Operation::MigrateSecrets) {
        line.push_str(&format!(
            ", {} secret(s) {} to the vault",
            report.secrets_written().len(),
            if report.dry_run {
                "to write"
            } else {
                "written"
            }
        ));
    }
    let migrate = matches!(operation, Operation::MigrateSecrets);
    let entities: Vec<_> = report
        .entities
        .iter()
        .map(|e| {
            json!({
                "entity_type": e.entity_type.as_str(),
                "id": e.id,
                "name": e.name,
                "status": status_word(&e.status),
                "secrets": match &e.status {
                    EntityStatus::Updated { written } => written.len(),
                    EntityStatus::WouldUpdate { to_write } => to_write.len(),
                    _ => 0,
                },
                "error": match &e.status {
                    EntityStatus::Failed { error } => Some(with_hint(&error.to_string())),
                    _ => None,
                },
            })
        })
        .collect();
    output::result(
        ctx,
        &line,
        &json!({
            "operation": name,
            "dry_run": report.dry_run,
            "entities": report.entities.len(),
            "updated": report.updated(),
            "unchanged": report.unchanged(),
            "failed": failed,
            "skipped_deleted": skipped_deleted,
            "missing_tables": report.missing_tables,
            "secrets_written": if migrate { Some(report.secrets_written().len()) } else { None },
            "results": entities,
        }),
    )?;
    for table in &report.missing_tables {
        ctx.note(&format!(
            "note: no table {table}: this release has no such entities"
        ));
    }
    if skipped_deleted > 0 {
        ctx.note(&format!(
            "note: {skipped_deleted} soft-deleted entit{} skipped (OpenMetadata skips them \
             too); run {name} --include-deleted to include them",
            if skipped_deleted == 1 {
                "y was"
            } else {
                "ies were"
            }
        ));
        if matches!(operation, Operation::RotateFernetKey) {
            ctx.note(
                "note: the skipped soft-deleted entities stay under the old key: keep it in \
                 the key list until a run with --include-deleted re-encrypts them (or they are \
                 deleted for good), or they can no longer be read if restored",
            );
        }
    }
    if let Some(rotation) = report
        .rotation
        .filter(vaultref_store::RotationSummary::nothing_rotated)
    {
        ctx.note(&format!(
            "note: nothing was re-encrypted: all {} fernet: value(s) are already under the first \
             of the {} keys. If you meant to move to a new key, it must come first \
             ({}=<new>,<old>); keep every key until a run re-encrypts the values, or \
             the rows under a dropped key can no longer be read",
            rotation.under_first_key,
            rotation.keys,
            ctx.setting("FERNET_KEY", "fernetConfiguration.fernetKey")
        ));
    }
    if failed > 0 {
        bail!(
            "{failed} entit{} failed (see the FAILED lines above): fix them and run {name} again \
             (entities already done are left as they are)",
            if failed == 1 { "y" } else { "ies" }
        );
    }
    Ok(())
}
