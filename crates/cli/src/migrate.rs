//! `vaultref migrate-secrets --config FILE [--dry-run]` and `vaultref rotate-fernet-key
//! --config FILE [--dry-run]`: vaultref-store's operations over the configured database.
//!
//! One progress line per entity on stderr, a summary on stdout, exit 1 when any entity failed
//! (the others are done; running again is safe).

use anyhow::{Context as _, Result, bail};
use vaultref_core::Environment;
use vaultref_store::{
    EntityResult, EntityStatus, EntityType, MigrateOptions, MigrationReport, Progress,
    migrate_secrets, rotate_fernet_key,
};

use crate::entities::{NO_TABLES, manager, refuse_in_memory, store};
use crate::setup::{self, ConfigArg};

/// Options of `vaultref migrate-secrets` and `vaultref rotate-fernet-key`.
#[derive(clap::Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Say what would change without writing to the vault or the database.
    #[arg(long)]
    dry_run: bool,
}

/// Which operation.
#[derive(Clone, Copy)]
pub(crate) enum Operation {
    MigrateSecrets,
    RotateFernetKey,
}

/// Progress lines on stderr.
struct StderrProgress {
    operation: Operation,
}

impl Progress for StderrProgress {
    fn entity_type_started(&self, entity_type: EntityType, rows: u64) {
        if rows > 0 {
            setup::note(&format!("{entity_type}: {rows} row(s)"));
        }
    }

    fn entity_done(&self, result: &EntityResult) {
        let what = match &result.status {
            EntityStatus::Unchanged => "unchanged".to_owned(),
            EntityStatus::Updated { .. }
                if matches!(self.operation, Operation::RotateFernetKey) =>
            {
                "re-encrypted".to_owned()
            }
            EntityStatus::Updated { written } => {
                format!("updated ({} secret(s) written to the vault)", written.len())
            }
            EntityStatus::WouldUpdate { to_write } => {
                format!("would be updated ({} secret(s) to write)", to_write.len())
            }
            EntityStatus::Failed { error } => format!("FAILED: {error}"),
            _ => "done".to_owned(),
        };
        // A row whose document does not parse has no name to show.
        let who = if result.name.is_empty() {
            format!("row {}", result.id)
        } else {
            format!("`{}`", result.name)
        };
        setup::note(&format!("  {} {who}: {what}", result.entity_type));
    }
}

pub(crate) fn run(operation: Operation, args: &MigrateArgs) -> Result<()> {
    let env = Environment::from_process();
    let config = args.config.load(&env)?;
    if matches!(operation, Operation::MigrateSecrets) && !args.dry_run {
        refuse_in_memory(&config, "migrate-secrets", ", or use --dry-run")?;
    }
    let options = MigrateOptions::default().with_dry_run(args.dry_run);
    let runtime = setup::runtime()?;
    let progress = StderrProgress { operation };
    let report = runtime.block_on(async {
        let store = store(&config).await?;
        let report = match operation {
            Operation::MigrateSecrets => {
                let manager = manager(&config, &env, &store, None)?;
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
    })?;
    summary(operation, &report)
}

fn summary(operation: Operation, report: &MigrationReport) -> Result<()> {
    let name = match operation {
        Operation::MigrateSecrets => "migrate-secrets",
        Operation::RotateFernetKey => "rotate-fernet-key",
    };
    let failed = report.failed().count();
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
    setup::print_line(&line)?;
    if let Some(rotation) = report
        .rotation
        .filter(vaultref_store::RotationSummary::nothing_rotated)
    {
        setup::note(&format!(
            "note: nothing was re-encrypted: all {} fernet: value(s) are already under the first \
             of the {} keys. If you meant to move to a new key, it must come first \
             (FERNET_KEY=<new>,<old>); keep every key until a run re-encrypts the values, or \
             the rows under a dropped key can no longer be read",
            rotation.under_first_key, rotation.keys
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
